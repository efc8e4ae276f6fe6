"""One thread alternates two busy loops, 2 ms in twenty() then 8 ms in
eighty(), for about SECONDS (argv[1], default 1.5).

Nominally 20/80 of the time, but the truth is what the program measures:
each function times itself from its first line to its return, in wall time
(time.perf_counter) and in this thread's CPU time (time.thread_time), and
the totals are printed as one JSON object on stdout.  On a busy machine the
thread can be preempted inside either loop; that moves the CPU shares away
from the wall shares, and both are measured."""
import json
import sys
import time

from time import perf_counter, thread_time

from alternate import alternate


def twenty(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    while perf_counter() < end:
        pass
    return perf_counter() - wall0, thread_time() - cpu0


def eighty(seconds):
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + seconds
    while perf_counter() < end:
        pass
    return perf_counter() - wall0, thread_time() - cpu0


def main(duration):
    return alternate((("twenty", twenty, 0.002), ("eighty", eighty, 0.008)), duration)


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)))
