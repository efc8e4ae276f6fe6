"""Call-heavy workload: naive recursive Fibonacci (pure Python calls)."""
import os

# PLUMB_BENCH_SCALE shrinks the problem for --quick runs; recursion depth stays
# the same and only the number of repetitions changes.
SCALE = float(os.environ.get("PLUMB_BENCH_SCALE", "1"))
REPEATS = max(1, round(55 * SCALE))


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def run():
    total = 0
    for _ in range(REPEATS):
        total += fib(24)
    return total
