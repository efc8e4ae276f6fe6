#!/usr/bin/env python3
"""What the SQLite store answers the dashboard in, over 7 days of data:

    python benchmarks/store.py [--days 7] [--transactions 200] [--workers 8] [--repeat 7]

1. Fill: `days` of data for `transactions` transactions from `workers`
   worker processes of one host, with histograms of ~30 buckets and 10
   kept traces a minute.  The last day is written as the workers write it,
   each worker's harvest of every minute (the store keeps each worker's
   minutes beside the rows of all of them); the older days as one harvest
   an hour carrying the hour's requests of all workers (their minute rows
   would be removed by the rollup anyway, and the coarser rows are of all
   workers together).  Then retention runs as write() would.
2. The dashboard's queries, median of `repeat` runs: transactions over 30
   minutes, 24 hours and 7 days; the series of one transaction over 7 days
   (hourly) and over 24 hours (5-minute buckets); the 7-day series of all
   transactions (hourly); the 100 slowest and most recent traces; the hosts
   and their workers over 24 hours; one worker's transactions over an hour
   and 24 hours, and its series of one and of all transactions over 24
   hours (10-minute buckets, from its minute rows).  Goal: each under
   300 ms.
3. Write throughput: harvests of `workers` workers, each with every
   transaction of one minute, written one after another into the filled
   file: harvests per second."""
import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from plumb.monitor.harvest import Harvest, KeptTrace, TransactionMinute  # noqa: E402
from plumb.monitor.store import open_store  # noqa: E402


def histogram(rng, center, requests, buckets=30):
    """~`buckets` keys around `center`, `requests` counts in all."""
    keys = [center + int(rng.gauss(0, buckets / 4)) for _ in range(buckets * 2)]
    hist = {}
    for key in keys[:requests] if requests < len(keys) else keys:
        hist[max(key, 0)] = hist.get(max(key, 0), 0) + 1
    spare = requests - sum(hist.values())
    if spare > 0:
        first = next(iter(hist))
        hist[first] += spare
    return hist


def minute_rows(rng, names, minute, per_minute):
    rows = []
    for i, name in enumerate(names):
        requests = per_minute[i]
        hist = histogram(rng, 400 + (i % 50) * 3, requests)
        rows.append(TransactionMinute(
            minute=minute, name=name, kind="web" if i % 10 else "background", count=requests,
            errors=requests // 50, total_us=requests * 20000, min_us=900, max_us=400000,
            satisfied=requests, sql_us=requests * 5000, sql_count=requests * 3,
            histogram=hist, error_classes={"KeyError": 1} if i % 17 == 0 else {}))
    return rows


def traces_for(rng, names, minute, n=10):
    return [KeptTrace(id=f"{rng.getrandbits(128):032x}", start=minute + rng.random() * 60,
                      name=rng.choice(names), kind="web", duration_us=rng.randrange(10**5, 10**7),
                      url="/some/path?q=1", status=200,
                      document={"spans": [["sql", i, 100] for i in range(20)]})
            for _ in range(n)]


def fill(store, args, now):
    rng = random.Random(1)
    names = [f"/app/view_{i}" for i in range(args.transactions)]
    per_minute = [rng.randrange(1, 60) * args.workers for _ in names]
    start = now - args.days * 86400
    day_ago = now - 86400
    n = 0
    for hour in range(start, day_ago, 3600):                # older days: one row an hour
        hourly = [c * 60 for c in per_minute]
        store.write(Harvest(id=f"fill-{n}", host="web1", pid=1, started=hour, ended=hour + 3600,
                            transactions=minute_rows(rng, names, hour, hourly),
                            traces=traces_for(rng, names, hour, 600)))
        n += 1
    per_worker = [c // args.workers for c in per_minute]
    for minute in range(max(start, day_ago), now, 60):      # the last day: every minute
        for w in range(args.workers):                       # of every worker
            store.write(Harvest(id=f"fill-{n}", host="web1", pid=100 + w, started=minute,
                                ended=minute + 60,
                                transactions=minute_rows(rng, names, minute, per_worker),
                                traces=traces_for(rng, names, minute,
                                                  10 // args.workers + (w < 10 % args.workers))))
            n += 1
    store.retention(now)
    return names


def median_ms(call, repeat):
    times = []
    for _ in range(repeat):
        begun = time.perf_counter()
        call()
        times.append((time.perf_counter() - begun) * 1000)
    return statistics.median(times)


def arguments(description):
    """The fill's arguments (benchmarks/dashboard.py fills the same way)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=7)
    return parser.parse_args()


def main():
    args = arguments(__doc__.splitlines()[0])
    folder = tempfile.mkdtemp(prefix="plumb-store-bench-")
    path = os.path.join(folder, "bench.db")
    now = int(time.time()) // 60 * 60
    store = open_store(path)
    begun = time.perf_counter()
    names = fill(store, args, now)
    print(f"filled {args.days} days x {args.transactions} transactions in "
          f"{time.perf_counter() - begun:.0f} s: {os.path.getsize(path) / 2**20:.0f} MiB "
          f"({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.processor() or platform.machine()})")
    one = names[7]
    queries = [
        ("transactions, 30 min", lambda: store.transactions(now - 1800, now)),
        ("transactions, 24 h", lambda: store.transactions(now - 86400, now)),
        ("transactions, 7 days", lambda: store.transactions(now - 7 * 86400, now)),
        ("series of one, 7 days hourly", lambda: store.series(one, now - 7 * 86400, now, 3600)),
        ("series of one, 24 h by 5 min", lambda: store.series(one, now - 86400, now, 300)),
        ("series of all, 7 days hourly", lambda: store.series(None, now - 7 * 86400, now, 3600)),
        ("100 slowest traces, 24 h", lambda: store.traces(since=now - 86400, limit=100)),
        ("100 recent traces", lambda: store.traces(order="recent", limit=100)),
        ("slowest traces of one", lambda: store.traces(one, limit=100)),
        ("hosts and workers, 24 h", lambda: store.hosts(now - 86400, now)),
        ("one worker: transactions, 1 h",
         lambda: store.transactions(now - 3600, now, host="web1", worker=103)),
        ("one worker: transactions, 24 h",
         lambda: store.transactions(now - 86400, now, host="web1", worker=103)),
        ("one worker: series of one, 24 h by 10 min",
         lambda: store.series(one, now - 86400, now, 600, host="web1", worker=103)),
        ("one worker: series of all, 24 h by 10 min",
         lambda: store.series(None, now - 86400, now, 600, host="web1", worker=103)),
    ]
    for label, call in queries:
        print(f"{label:42} {median_ms(call, args.repeat):8.1f} ms")
    rng = random.Random(2)
    per_minute = [rng.randrange(1, 60) for _ in names]
    harvests = [Harvest(id=f"w-{w}-{m}", host="web1", pid=100 + w, started=now + 60 * m,
                        ended=now + 60 * (m + 1),
                        transactions=minute_rows(rng, names, now + 60 * m, per_minute),
                        traces=traces_for(rng, names, now + 60 * m, 2))
                for m in range(3) for w in range(args.workers)]
    begun = time.perf_counter()
    for h in harvests:
        store.write(h)
    took = time.perf_counter() - begun
    print(f"write: {len(harvests) / took:.1f} harvests/s of {args.transactions} transactions "
          f"({took / len(harvests) * 1000:.1f} ms each)")
    store.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
