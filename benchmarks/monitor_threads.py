#!/usr/bin/env python3
"""What plumb.monitor adds to a request when several threads serve at once
(as a gunicorn gthread worker's four do), in one process, no sockets:

    .venv/bench-3.12/bin/python benchmarks/monitor_threads.py [--threads 4] [--requests 2000]

The example shop's Django handler (benchmarks/monitor_request.py's set-up)
without monitoring and with plumb's MonitoringMiddleware (the sampler off),
each run serving --requests of the trivial page split between --threads
threads started together; the process's CPU time per request, runs of
the two taking turns, medians.  monitor_request.py measures one thread;
under gunicorn plumb adds three times what one thread's count of its
instructions says (docs/benchmarks.md), and this is where to look whether
serving threads side by side is what costs the difference."""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import monitor_request as shop  # noqa: E402


def run(app, threads, requests):
    """Process CPU microseconds per request of one run."""
    per = max(1, requests // threads)
    workers = [threading.Thread(target=shop.serve, args=(app, "/", per)) for _ in range(threads)]
    begun = time.process_time()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return (time.process_time() - begun) / (per * threads) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    if args.threads < 1 or args.requests < args.threads or args.repeat < 1:
        print("monitor_threads: --threads, --requests and --repeat must be positive "
              "(and --requests at least --threads)", file=sys.stderr)
        sys.exit(2)
    shop.WORK = tempfile.mkdtemp(prefix="plumb-monitor-threads-")
    shop.setup_shop()
    apps = {"bare": shop.handler(False), "plumb, sampler off": shop.handler(True, rate=0.0)}
    for app in apps.values():                     # warm-up
        run(app, args.threads, args.requests)
    times = {name: [] for name in apps}
    for _ in range(args.repeat):
        for name, app in apps.items():
            times[name].append(run(app, args.threads, args.requests))
    print(f"CPython {sys.version.split()[0]}, {args.threads} threads, {args.requests} requests a "
          f"run, medians of {args.repeat}; load average {os.getloadavg()[0]:.2f}")
    bare = statistics.median(times["bare"])
    for name, got in times.items():
        m = statistics.median(got)
        paired = statistics.median(t / b for t, b in zip(got, times["bare"]))
        print(f"  {name:20s} {m:8.1f} us CPU a request  {m - bare:+7.1f} us  "
              f"paired ratio {paired:.3f} ({min(got):.1f}-{max(got):.1f})")


if __name__ == "__main__":
    main()
