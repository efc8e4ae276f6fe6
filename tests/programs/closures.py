"""Closures, lambdas and comprehensions.

Covers: closures with nonlocal state, closure factories, lambdas (stored,
passed as sort keys, to map/filter/functools.reduce, defined in a loop and
in a comprehension so that several function objects share one code object),
functools.partial of a Python function (called through a C object), list,
dict and set comprehensions (separate frames before 3.12, inlined from 3.12
on), nested comprehensions, comprehensions calling functions and a
comprehension inside a closure.
"""
import functools


def make_counter():
    count = 0

    def increment(step=1):
        nonlocal count
        count += step
        return count

    return increment


def make_adder(n):
    return lambda x: x + n


def compose(*functions):
    def composed(x):
        for f in reversed(functions):
            x = f(x)
        return x

    return composed


def scale(x, factor):
    return x * factor


def square(x):
    return x * x


def make_filter(limit):
    def keep(values):
        return [v for v in values if v < limit]

    return keep


def main():
    counter = make_counter()
    for _ in range(5):
        counter()
    counter(step=3)

    add3 = make_adder(3)
    add3(1)
    twice = compose(add3, add3, make_adder(10))
    twice(0)

    multipliers = [lambda x, i=i: x * i for i in range(4)]
    [m(2) for m in multipliers]
    adders = []
    for i in range(3):
        adders.append(lambda x, i=i: x + i)
    [a(1) for a in adders]

    data = [5, 3, 8, 1, 9, 2]
    sorted(data, key=lambda v: -v)
    list(map(lambda v: v * 2, data))
    list(filter(lambda v: v % 2, data))
    functools.reduce(lambda a, b: a + b, data)

    triple = functools.partial(scale, factor=3)
    [triple(v) for v in data]

    [square(v) for v in data]
    {v: square(v) for v in data}
    {v % 3 for v in data}
    # a nested comprehension, the inner one on its own line (two on one line
    # share a pstats label: see same_line_functions.py)
    [
        [x * y for x in range(3)]
        for y in range(3)
    ]
    [(x, y) for x in range(3) for y in range(3) if x != y]
    {k: [square(v) for v in range(k)] for k in range(4)}

    make_filter(5)(data)
    # nested lambdas, one per line (lambdas sharing a line share a pstats
    # label: that case is in same_line_functions.py)
    curry = lambda a: (  # noqa: E731
        lambda b: (
            lambda c: a + b + c
        )
    )
    curry(1)(2)(3)
    return counter()


if __name__ == "__main__":
    main()
