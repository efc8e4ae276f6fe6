#!/usr/bin/env python3
"""What one sampling round costs in a web worker, and why:

    .venv/bench-3.12/bin/python benchmarks/sampler_rounds.py [--seconds S] [--repeat R]

The example shop (Django) in one process, as a gunicorn gthread worker
holds it: its main thread idle, four threads serving a page in a loop
(GIL-bound, as in the worker), the monitoring middleware on and a
plumb.Sampler at 100 Hz as plumb.monitor's is made (wall mode, thread
tags read; its own, so that no agent drains or restarts it meanwhile,
which would reset the counters read here).  For "/"
(trivial) and "/catalogue/" (21 ORM queries and a template), and with the
four threads serving or parked (an idle worker), per round: the sampler
thread's CPU time (from /proc/self/task/TID/schedstat, its wake-ups
included; the thread is the one threading does not know, so builds of
plumb before summary() had cpu_ns are measured alike), its time
in rounds (busy_ns), stacks counted, of them counted again unread because
their thread had not run since (reused), stacks read again because they
changed under the read (retried), system calls (reads) and pages read.  Medians over R runs of S seconds each.  Always exits 0."""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import monitor_request  # noqa: E402  (the shop's set-up and a request's call)

FIELDS = ("busy_ns", "stacks", "reused", "retried", "reads", "pages", "total_taken")


def sampler_tid():
    """The sampler's thread: the one task of this process threading does not know."""
    known = {t.native_id for t in threading.enumerate()}
    unknown = [int(tid) for tid in os.listdir("/proc/self/task") if int(tid) not in known]
    if len(unknown) != 1:
        sys.exit(f"sampler_rounds: cannot tell the sampler's thread among {unknown}")
    return unknown[0]


def thread_cpu_ns(tid):
    with open(f"/proc/self/task/{tid}/schedstat") as f:
        return int(f.read().split()[0])


def measure(app, sampler, path, seconds, serving):
    stop, release = threading.Event(), threading.Event()

    def serve():
        while not stop.is_set():
            monitor_request.serve(app, path, 5)

    threads = [threading.Thread(target=serve if serving else release.wait) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    tid = sampler_tid()
    before, cpu_before = sampler.summary(), thread_cpu_ns(tid)
    time.sleep(seconds)
    after, cpu_after = sampler.summary(), thread_cpu_ns(tid)
    stop.set()
    release.set()
    for t in threads:
        t.join()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in FIELDS}
    rounds = delta["total_taken"]
    if rounds <= 0 or delta["stacks"] < 0:     # a harvest swapped the counters meanwhile
        return None
    per_round = {k: delta[k] / rounds for k in FIELDS if k != "total_taken"}
    per_round["cpu_ns"] = (cpu_after - cpu_before) / rounds
    return per_round


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    monitor_request.WORK = tempfile.mkdtemp(prefix="plumb-rounds-")
    monitor_request.setup_shop()
    from plumb import Sampler

    app = monitor_request.handler(True, rate=0.0)
    monitor_request.serve(app, "/catalogue/", 3)          # the agent starts
    sampler = Sampler(rate=100.0)
    sampler.start()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'page':12s} {'threads':8s} {'CPU us':>8s} {'busy us':>8s} {'stacks':>7s} "
          f"{'reused':>7s} {'retried':>7s} {'calls':>6s} {'pages':>6s}   (per round, medians of {args.repeat})")
    for path in ("/", "/catalogue/"):
        for serving in (True, False):
            runs = [r for r in (measure(app, sampler, path, args.seconds, serving)
                                for _ in range(args.repeat)) if r]
            if not runs:
                print(f"{path:12s} no run without a harvest in the middle")
                continue
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{path:12s} {'serving' if serving else 'parked':8s} {med['cpu_ns'] / 1e3:8.1f} "
                  f"{med['busy_ns'] / 1e3:8.1f} {med['stacks']:7.2f} {med['reused']:7.2f} {med['retried']:7.2f} "
                  f"{med['reads']:6.1f} {med['pages']:6.1f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
