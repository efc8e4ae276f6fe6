#!/usr/bin/env python3
"""What thread tags cost (plumb._plumb.set_thread_tag, and the sampler's
counting by tag), in one run:

    PYTHONPATH=<checkout with a built extension> python3 benchmarks/thread_tags.py
        [--repeat 11] [--calls 1000000] [--threads 8] [--depth 20] [--seconds 1]

1. set_thread_tag from Python: a loop of --calls calls over distinct large
   ints (no small-int cache; the previous tag comes back as a new int),
   median of --repeat runs, in ns per call; the same loop without the call
   beside it, so that the call's own share shows.
2. The sampler's cost per round per sampled thread, with tags read and
   counted (Sampler(tags=True)) and without (tags=False), runs interleaved:
   --threads threads, each tagged and waiting --depth frames deep, sampled
   at 1 kHz for --seconds; the figures are the time the sampler spent in
   its rounds (summary busy_ns, its own clock around each round, which
   counts preemption on a busy machine) and the sampler thread's CPU time
   (/proc's schedstat, which does not; it includes waking up each round),
   each over the stacks it counted, median of --repeat runs each."""
import argparse
import os
import platform
import statistics
import sys
import threading
import time

from plumb import _plumb
from plumb.sampler import Sampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floor import cpu_model  # noqa: E402


def set_tag_ns(calls, repeat):
    tags = [(1 << 40) + i for i in range(calls)]
    set_tag = _plumb.set_thread_tag
    with_call, loop_only = [], []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for t in tags:
            set_tag(t)
        t1 = time.perf_counter_ns()
        for t in tags:
            pass
        t2 = time.perf_counter_ns()
        with_call.append((t1 - t0) / calls)
        loop_only.append((t2 - t1) / calls)
    set_tag(0)
    return statistics.median(with_call), statistics.median(loop_only)


def nest(depth, tag, ready, stop):
    if depth:
        return nest(depth - 1, tag, ready, stop)
    _plumb.set_thread_tag(tag)
    ready.release()
    stop.wait()


def round_cost(threads, depth, seconds, repeat):
    stop, ready = threading.Event(), threading.Semaphore(0)
    workers = [threading.Thread(target=nest, args=(depth, 1000 + i, ready, stop), daemon=True)
               for i in range(threads)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    costs = {(tags, kind): [] for tags in (True, False) for kind in ("busy", "cpu")}
    try:
        for r in range(repeat):
            for tags in ((True, False) if r % 2 == 0 else (False, True)):
                s = Sampler(rate=1000, tags=tags)
                before = set(os.listdir("/proc/self/task"))
                s.start()
                started = set(os.listdir("/proc/self/task")) - before
                time.sleep(seconds)
                # The sampler thread's CPU time (it is the task start()
                # added), read while it runs, with the stacks it counted.
                cpu_ns = sum(thread_cpu_ns(tid) for tid in started)
                summary = s.summary()
                s.stop()
                if summary["stacks"]:
                    costs[tags, "busy"].append(summary["busy_ns"] / summary["stacks"])
                    costs[tags, "cpu"].append(cpu_ns / summary["stacks"])
    finally:
        stop.set()
        for w in workers:
            w.join()
    return {k: statistics.median(v) if v else float("nan") for k, v in costs.items()}


def thread_cpu_ns(tid):
    """A thread's time on a CPU (schedstat's first field), 0 if it ended."""
    try:
        with open("/proc/self/task/%s/schedstat" % tid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    print("CPU: %s, %d cores; CPython %s" % (cpu_model(), os.cpu_count(), platform.python_version()))
    with_call, loop_only = set_tag_ns(args.calls, args.repeat)
    print("set_thread_tag from Python: %.1f ns per call in a for loop "
          "(the loop alone: %.1f ns; the call: %.1f ns)"
          % (with_call, loop_only, with_call - loop_only))
    costs = round_cost(args.threads, args.depth, args.seconds, args.repeat)
    print("sampler, ns per sampled thread per round (%d threads %d frames deep, 1 kHz):"
          % (args.threads + 1, args.depth))
    print("  %-38s %-10s %-10s %s" % ("", "tags on", "tags off", "difference"))
    for kind, what in (("busy", "in rounds (wall clock around each)"),
                       ("cpu", "sampler thread's CPU time (schedstat)")):
        on, off = costs[True, kind], costs[False, kind]
        print("  %-38s %-10.0f %-10.0f %+.0f" % (what, on, off, on - off))
    return 0


if __name__ == "__main__":
    sys.exit(main())
