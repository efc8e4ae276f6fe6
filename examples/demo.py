"""A small program with a clear hot spot, for `make demo`: which of these
three ways of finding words that are anagrams of each other is slow?"""
import collections
import itertools


def words(n):
    letters = "abcdefgh"
    return ["".join(p) for p in itertools.islice(itertools.permutations(letters, 5), n)]


def anagrams_quadratic(ws):
    groups = []
    for w in ws:
        for g in groups:
            if sorted(g[0]) == sorted(w):
                g.append(w)
                break
        else:
            groups.append([w])
    return groups


def anagrams_sorted_key(ws):
    groups = collections.defaultdict(list)
    for w in ws:
        groups["".join(sorted(w))].append(w)
    return list(groups.values())


def anagrams_counter_key(ws):
    groups = collections.defaultdict(list)
    for w in ws:
        groups[frozenset(collections.Counter(w).items())].append(w)
    return list(groups.values())


def main():
    ws = words(1500)
    a = anagrams_quadratic(ws)
    b = anagrams_sorted_key(ws)
    c = anagrams_counter_key(ws)
    assert len(a) == len(b) == len(c)
    print(f"{len(ws)} words, {len(a)} groups of anagrams")


if __name__ == "__main__":
    main()
