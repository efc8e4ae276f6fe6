"""Direct and mutual recursion.

Covers: plain direct recursion (factorial, tree-shaped fib), two- and three-way
mutual recursion, recursion through methods, through a generator expression
fed to a builtin (sum/max), through map() (a Python function called back from
C), through a functools.lru_cache wrapper (a C object between the Python
frames) and a recursion that is unwound by an exception from deep down.
"""
import functools


def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@functools.lru_cache(maxsize=None)
def fib_memo(n):
    if n < 2:
        return n
    return fib_memo(n - 1) + fib_memo(n - 2)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def ping(n):
    return 0 if n <= 0 else 1 + pong(n - 1)


def pong(n):
    return 0 if n <= 0 else 1 + pang(n - 1)


def pang(n):
    return 0 if n <= 0 else 1 + ping(n - 1)


class Tree:
    def __init__(self, value, children=()):
        self.value = value
        self.children = list(children)

    def total(self):
        # recursion through a generator expression consumed by a builtin
        return self.value + sum(child.total() for child in self.children)

    def depth(self):
        return 1 + max((child.depth() for child in self.children), default=0)

    def count(self):
        n = 1
        for child in self.children:
            n += child.count()
        return n


def build(depth):
    if depth == 0:
        return Tree(1)
    return Tree(depth, [build(depth - 1) for _ in range(2)])


def flatten(x):
    # recursion through map(): flatten is called back from C
    if isinstance(x, list):
        out = []
        for part in map(flatten, x):
            out.extend(part)
        return out
    return [x]


def ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


class Bottom(Exception):
    pass


def dive(n):
    if n == 0:
        raise Bottom()
    return dive(n - 1)


def hanoi(n, src, dst, via, moves):
    if n:
        hanoi(n - 1, src, via, dst, moves)
        moves.append((src, dst))
        hanoi(n - 1, via, dst, src, moves)


def main():
    factorial(15)
    fib(12)
    fib_memo.cache_clear()
    fib_memo(30)
    is_even(25)
    is_odd(10)
    ping(20)
    tree = build(4)
    tree.total()
    tree.depth()
    tree.count()
    flatten([1, [2, [3, [4, [5]]], 6], [[7]], []])
    ackermann(2, 3)
    try:
        dive(30)
    except Bottom:
        pass
    moves = []
    hanoi(6, "a", "c", "b", moves)
    return len(moves)


if __name__ == "__main__":
    main()
