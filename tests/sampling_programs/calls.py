"""One thread alternates call_heavy() for 3 ms, which makes Python calls as
fast as it can (methods reached through C slots, as operators and key
functions do, so that frames are pushed and popped every few hundred
nanoseconds), and loop_only() for 7 ms, a loop that makes no Python call,
for about SECONDS (argv[1], default 1.5).

The sampler reads the stack while the thread runs on: in call_heavy() the
frames it reads are being overwritten as it reads them.  The truth is what
the program measures, as in split.py: each function times itself in wall
time (time.perf_counter) and thread CPU time (time.thread_time), and the
totals are printed as one JSON object on stdout."""
import json
import sys

from time import perf_counter, thread_time

from alternate import alternate


class Money:
    """An amount and a rank: the operators are Python methods that C calls."""

    def __init__(self, amount, rank):
        self.amount, self.rank = amount, rank

    def __add__(self, other):
        return Money(self.amount + other.amount, max(self.rank, other.rank))

    def __lt__(self, other):
        return self.amount < other.amount


def weight(m):
    return m.rank


def call_heavy(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    total = Money(0, 1)
    cent = Money(1, 1)
    while perf_counter() < end:
        for _ in range(20):
            total = total + cent
        sorted([Money(3, 1), Money(1, 2), Money(2, 3)])
        max([total, cent], key=weight)
    return perf_counter() - wall0, thread_time() - cpu0


def loop_only(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    n = 0
    while perf_counter() < end:
        n += 1
    return perf_counter() - wall0, thread_time() - cpu0


def main(duration):
    return alternate((("call_heavy", call_heavy, 0.003), ("loop_only", loop_only, 0.007)), duration)


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)))
