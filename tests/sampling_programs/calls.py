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


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __lt__(self, other):
        return self.x < other.x


def weight(v):
    return v.y


def call_heavy(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    v = Vec(0, 1)
    step = Vec(1, 1)
    while perf_counter() < end:
        for _ in range(20):
            v = v + step
        sorted([Vec(3, 1), Vec(1, 2), Vec(2, 3)])
        max([v, step], key=weight)
    return perf_counter() - wall0, thread_time() - cpu0


def loop_only(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    n = 0
    while perf_counter() < end:
        n += 1
    return perf_counter() - wall0, thread_time() - cpu0


def main(duration):
    totals = {"call_heavy": [0.0, 0.0], "loop_only": [0.0, 0.0]}
    deadline = perf_counter() + duration
    while perf_counter() < deadline:
        for name, work, seconds in (("call_heavy", call_heavy, 0.003),
                                    ("loop_only", loop_only, 0.007)):
            wall, cpu = work(seconds)
            totals[name][0] += wall
            totals[name][1] += cpu
    return {name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in totals.items()}


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)))
