#!/usr/bin/env python3
"""What the sampler costs the threads it samples, against what it costs itself:

    .venv/bench-3.12/bin/python benchmarks/sampler_cost.py [--rates 25,100,400] [--pairs 12]
        [--window 2] [--pages /,/catalogue/] [--cpus 0,1]

The example shop (Django) in one process, with plumb's monitoring
middleware on and its own sampler off; four threads serve a page in a
loop, GIL-bound, as the four threads of a gunicorn gthread worker do.  A
plumb.Sampler at each rate is switched on and off in windows of the same
length, in random order within each pair of windows, so that a pair's two
halves are seconds apart.  Per pair: the serving threads' CPU time per
request (their schedstat nanoseconds) with the sampler over without, and
the requests a second; the sampler thread's own CPU time a second (its
wake-ups included).  Then the amplification: the serving threads' added
CPU a second over the sampler's own.  A sampler whose cost were only its
own CPU time would show 1 (its time taken from the threads it shares a
CPU with shows up in throughput, not in their CPU time: 0 there).

--cpus pins the process (0: one CPU, as monitor_throughput.py
--shared-cpu puts the worker; default: whatever the process may use).
Rates above the agent's default are there to make a small per-round cost
stand out of the noise: the cost of a round is the slope.  Medians and
quartiles of the pairs; always exits 0."""
import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import monitor_request  # noqa: E402  (the shop's set-up and a request's call)
from sampler_rounds import thread_cpu_ns  # noqa: E402  (a thread's schedstat run time)


def sampler_tid(known):
    """The sampler's thread: the task of this process that was not there before it."""
    new = [int(t) for t in os.listdir("/proc/self/task") if int(t) not in known]
    return new[0] if len(new) == 1 else None


class Load:
    """Four threads serving one page in a loop, counting what they served."""

    def __init__(self, app, path, nthreads=4):
        self.app, self.path = app, path
        self.served = [0] * nthreads
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._serve, args=(i,), daemon=True)
                        for i in range(nthreads)]
        for t in self.threads:
            t.start()
        time.sleep(0.2)
        self.tids = [t.native_id for t in self.threads]

    def _serve(self, i):
        while not self.stop.is_set():
            monitor_request.serve(self.app, self.path, 1)
            self.served[i] += 1

    def snapshot(self):
        return sum(self.served), sum(thread_cpu_ns(t) for t in self.tids), time.monotonic_ns()

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def window(load, seconds, rate):
    """(requests, serving CPU ns, wall ns, sampler CPU ns) of one window."""
    from plumb import Sampler

    sampler = tid = None
    if rate:
        known = {int(t) for t in os.listdir("/proc/self/task")}
        sampler = Sampler(rate=rate)
        sampler.start()
        tid = sampler_tid(known)
        time.sleep(0.1)        # its first rounds, which resolve every name, left out
    own0 = thread_cpu_ns(tid) if tid else 0
    n0, cpu0, t0 = load.snapshot()
    time.sleep(seconds)
    n1, cpu1, t1 = load.snapshot()
    own1 = thread_cpu_ns(tid) if tid else 0
    if sampler:
        sampler.stop()
    return n1 - n0, cpu1 - cpu0, t1 - t0, own1 - own0


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) < 4:
        return xs[0], statistics.median(xs), xs[-1]
    q = statistics.quantiles(xs, n=4)
    return q[0], q[1], q[2]


def measure(app, path, rate, pairs, seconds):
    load = Load(app, path)
    monitor_request.serve(app, path, 3)
    rows = []
    try:
        for _ in range(pairs):
            order = [0, rate]
            random.shuffle(order)
            got = {r: window(load, seconds, r) for r in order}
            (n_off, cpu_off, wall_off, _), (n_on, cpu_on, wall_on, own) = got[0], got[rate]
            if not n_off or not n_on:
                continue
            per_off, per_on = cpu_off / n_off, cpu_on / n_on
            added_per_s = (per_on - per_off) * n_on / (wall_on / 1e9)   # serving CPU ns a second
            own_per_s = own / (wall_on / 1e9)
            rows.append({"cpu_ratio": per_on / per_off,
                         "rps_ratio": (n_on / wall_on) / (n_off / wall_off),
                         "added_us": (per_on - per_off) / 1e3,
                         "own_share": own_per_s / 1e9,
                         "added_share": added_per_s / 1e9,
                         "off_us": per_off / 1e3})
    finally:
        load.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="25,100,400")
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--pages", default="/,/catalogue/")
    parser.add_argument("--cpus", default="")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    monitor_request.WORK = tempfile.mkdtemp(prefix="plumb-sampler-cost-")
    monitor_request.setup_shop()
    app = monitor_request.handler(True, rate=0.0)
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    print(f"{model}, {os.cpu_count()} CPUs, this process on {sorted(os.sched_getaffinity(0))}; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.pairs} pairs of {args.window:g} s windows per row; medians (quartiles)")
    print(f"{'page':12s} {'Hz':>5s} {'off CPU us/req':>14s} {'CPU/req on:off':>20s} "
          f"{'req/s on:off':>20s} {'+CPU us/req':>11s} {'own % CPU':>9s} {'+serving % CPU':>14s} {'amplif.':>7s}")
    for path in args.pages.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            rows = measure(app, path, rate, args.pairs, args.window)
            if not rows:
                print(f"{path:12s} {rate:5g} no window served a request")
                continue
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            cq, rq = quartiles([r["cpu_ratio"] for r in rows]), quartiles([r["rps_ratio"] for r in rows])
            amp = med["added_share"] / med["own_share"] if med["own_share"] > 0 else float("nan")
            print(f"{path:12s} {rate:5g} {med['off_us']:14.1f} {cq[1]:6.3f} ({cq[0]:.3f}-{cq[2]:.3f}) "
                  f"{rq[1]:6.3f} ({rq[0]:.3f}-{rq[2]:.3f}) {med['added_us']:11.1f} "
                  f"{100 * med['own_share']:9.3f} {100 * med['added_share']:14.3f} {amp:7.2f}", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
