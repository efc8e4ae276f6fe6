"""Functions that share a pstats label.

pstats keys a function by (filename, first line, name), but the profilers
count code objects.  Two code objects with the same label are therefore
reported under one key; cProfile.Profile.snapshot_stats() lets the last one
win for the function's own counts (it assigns, it does not add) while it
adds up the edges where they are the caller.  To keep cProfile's answer
independent of the order in which it lists its entries (memory order), the
colliding functions below are called the same number of times from the same
caller.

Also covers one code object behind many function objects (a function
defined in a loop), which is a single function for every profiler.
"""


def leaf(x):
    return x


def main():
    first, second = (lambda x: leaf(x) + 1), (lambda x: leaf(x) + 2)
    for i in range(3):
        first(i)
        second(i)

    # two comprehensions on one line: two <listcomp> code objects up to 3.11
    # (inlined into main from 3.12 on, so no collision there)
    [leaf(v) for v in "ab"] + [leaf(v) for v in "cd"]

    made = []
    for i in range(4):
        def inner(v, i=i):
            return leaf(v) + i
        made.append(inner)
    for f in made:
        f(1)
    return made


if __name__ == "__main__":
    main()
