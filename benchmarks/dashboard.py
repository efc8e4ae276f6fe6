#!/usr/bin/env python3
"""How fast the dashboard's pages are answered, server side, over 7 days of
minute data for 200 transactions from 8 workers:

    python benchmarks/dashboard.py [--days 7] [--transactions 200] [--workers 8] [--repeat 7]

The store is filled as benchmarks/store.py fills it (its fill(), reused).
Then, for each page and window, the API calls the page's script makes
(plumb/dashboard/static/dashboard.js: the same parameters, the same step),
each answered by DashboardApp.respond() as `plumb serve` answers it, JSON
encoding included, without the network: the median of `repeat` runs of
each call, of the page's calls one after another, and of them together
in threads (as the browser sends them and plumb serve answers them); for
all workers, and for one worker picked in the page's select (its host and
pid in every call).  Goal: the overview and a transaction page under
300 ms."""
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import store as store_bench  # noqa: E402  (benchmarks/store.py)

from plumb.dashboard.app import DashboardApp  # noqa: E402
from plumb.monitor.store import open_store  # noqa: E402

WINDOWS = {"30m": 1800, "1h": 3600, "24h": 86400, "7d": 604800}


STEPS = (60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def step_for(window):
    """dashboard.js's stepFor: the shortest of its steps giving at most 240 points."""
    return next(step for step in STEPS if WINDOWS[window] / step <= 240)


def page_calls(page, window, name, worker=None):
    """The (path, query) of the API calls a page makes, as dashboard.js makes them."""
    w = f"since={window}" + (f"&host=web1&worker={worker}" if worker else "")
    calls = [("/api/v1/hosts", w)]
    if page == "overview":
        calls += [("/api/v1/series", f"step={step_for(window)}&{w}"), ("/api/v1/transactions", w)]
    elif page == "transaction":
        calls += [("/api/v1/series", f"step={step_for(window)}&transaction={name}&{w}"),
                  ("/api/v1/traces", f"transaction={name}&{w}&limit=100")]
    elif page == "transactions":
        calls += [("/api/v1/transactions", w)]
    return calls


def main():
    args = store_bench.arguments(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory(prefix="plumb-dashboard-bench-") as folder:
        measure(args, os.path.join(folder, "bench.db"))


def measure(args, path):
    now = int(time.time()) // 60 * 60
    store = open_store(path)
    begun = time.perf_counter()
    names = store_bench.fill(store, args, now)
    print(f"filled {args.days} days x {args.transactions} transactions x {args.workers} workers "
          f"in {time.perf_counter() - begun:.0f} s: {os.path.getsize(path) / 2**20:.0f} MiB "
          f"({platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    app = DashboardApp(store)
    one = names[7]

    def answer(path, query):
        response = app.respond("GET", path, query)
        assert response.status == 200, (path, query, response.body[:200])
        return response

    # plumb serve answers each request in its own thread, as these do.
    pool = ThreadPoolExecutor(max_workers=4)
    for page, worker in [(page, worker) for worker in (None, 103)
                         for page in ("overview", "transactions", "transaction")]:
        for window in ("30m", "1h", "24h", "7d"):
            calls = page_calls(page, window, one, worker)
            each = [(p, store_bench.median_ms(lambda p=p, q=q: answer(p, q), args.repeat)) for p, q in calls]
            whole = store_bench.median_ms(lambda: [answer(p, q) for p, q in calls], args.repeat)
            together = store_bench.median_ms(
                lambda: list(pool.map(lambda call: answer(*call), calls)), args.repeat)
            detail = ", ".join(f"{p.rsplit('/', 1)[-1]} {ms:.1f}" for p, ms in each)
            who = f"worker {worker}" if worker else "all"
            print(f"{page:12} {who:10} {window:>4} (step {step_for(window):5} s): {whole:7.1f} ms one after "
                  f"another, {together:7.1f} ms together  ({detail})")
    # A transaction page also reads its 20 slowest kept traces, one call each.
    ids = [t["id"] for t in store.traces(one, since=now - 7 * 86400, until=now, limit=20)]
    traces = store_bench.median_ms(lambda: [answer(f"/api/v1/traces/{i}", "") for i in ids], args.repeat)
    print(f"transaction's {len(ids)} slowest traces, one by one: {traces:.1f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    pool.shutdown()
    store.close()


if __name__ == "__main__":
    main()
