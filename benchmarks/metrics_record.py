#!/usr/bin/env python3
"""What production monitoring's per-request record costs.

    PYTHONPATH=. python3 benchmarks/metrics_record.py [--calls 200000] [--repeat 15]

One process times, in rounds, a loop of --calls calls of
plumb._plumb.Metrics.record (12 positional ints, durations drawn
log-uniform from 0.1 ms to 10 s, ten transactions, one minute: the common
path, entry and bucket already there after the warm-up round), a loop of
plumb._plumb.hist_key calls, and the same loop calling nothing, and prints
the median per call of each, less the empty loop's.  Times are the thread's
CPU time, so a core taken by another process costs nobody.  It prints what
it measured and the CPU, and asserts nothing."""
import argparse
import math
import os
import random
import statistics
import sys
import time

from plumb import _plumb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floor import cpu_model  # noqa: E402  (beside this script)


def empty_loop(durations, txns):
    t0 = time.thread_time_ns()
    for d, txn in zip(durations, txns):
        pass
    return time.thread_time_ns() - t0


def record_loop(durations, txns, record):
    t0 = time.thread_time_ns()
    for d, txn in zip(durations, txns):
        record(1_700_000_040, txn, d, 0, 500_000, -1, 1_200, 3, 400, 2, 0, 0)
    return time.thread_time_ns() - t0


def key_loop(durations, txns, hist_key):
    t0 = time.thread_time_ns()
    for d, txn in zip(durations, txns):
        hist_key(d)
    return time.thread_time_ns() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    rng = random.Random(1)
    durations = [int(math.exp(rng.uniform(math.log(100), math.log(10_000_000))))
                 for _ in range(args.calls)]
    txns = [rng.randrange(10) for _ in range(args.calls)]
    metrics = _plumb.Metrics()
    loops = {
        "empty": lambda: empty_loop(durations, txns),
        "record": lambda: record_loop(durations, txns, metrics.record),
        "hist_key": lambda: key_loop(durations, txns, _plumb.hist_key),
    }
    times = {name: [] for name in loops}
    for round_ in range(args.repeat + 1):
        names = list(loops)
        names = names[round_ % 3:] + names[:round_ % 3]   # rotate the order
        for name in names:
            ns = loops[name]()
            if round_:                                    # round 0 warms up
                times[name].append(ns / args.calls)
    empty = statistics.median(times["empty"])
    print(f"python {sys.version.split()[0]} on {cpu_model()}")
    print(f"{args.calls} calls x {args.repeat} rounds, thread CPU time, median per call")
    print(f"  empty loop            {empty:7.1f} ns")
    for name in ("record", "hist_key"):
        gross = statistics.median(times[name])
        paired = statistics.median(t - e for t, e in zip(times[name], times["empty"]))
        print(f"  {name:<10} {gross:7.1f} ns gross, {paired:7.1f} ns over the empty loop")
    entries = metrics.take()
    print(f"  ({len(entries)} entries, {sum(e[2] for e in entries)} records, "
          f"{metrics.dropped} dropped)")


if __name__ == "__main__":
    main()
