#!/usr/bin/env python3
"""What plumb.monitor adds to a request, in instructions: a count that does
not depend on how busy the machine is (a shared 2-vCPU VM moves a request's
CPU time by 20-50% between runs, more than plumb's share of it).

    .venv/bench-3.12/bin/python benchmarks/monitor_instructions.py [--requests N] [--no-catalogue]

The example shop's Django handler is called in one process
(benchmarks/monitor_request.py's set-up) under valgrind's callgrind, bare
(SHOP_MONITOR=0: neither the middleware nor plumb's Django app) and with
plumb's MonitoringMiddleware (every request measured and named, segments
recorded, the sampler off: its
cost is a share of a CPU, budgeted by `sampler_cpu`, measured by
benchmarks/sampler_rounds.py).  Each configuration runs twice, after the
same warm-up, with N and 2N requests; the difference of the two runs'
counts over N is the cost of one request in steady state, start-up and
warm-up cancelling out.  Only the serving thread is counted
(--separate-threads), so the agent's own threads do not enter.

One SQL query alone, too: a Django cursor's execute and fetchall on an
in-memory SQLite table, bare against plumb's SQL hook with a request's
record current (what every query of a monitored request goes through),
N and 2N queries likewise.  The catalogue's own difference cannot give
this: its 29 million instructions a request move by a few hundred thousand
between runs (where the cyclic collector happens to run), as much as
plumb's 21 queries add.

Instructions become microseconds by the bare request's own rate: the bare
run's thread CPU time per request outside valgrind, divided by its
instructions per request.  That assumes plumb's code runs at the bare
path's instructions per cycle: an estimate, said as one."""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAGES = {"/": 0, "/catalogue/": 21}          # page -> the SQL queries it makes (and a template)
WARMUP = 30


def child(config, page, n):
    """Runs inside valgrind: warm-up, then n requests of page."""
    sys.path.insert(0, HERE)
    import monitor_request as shop

    shop.WORK = tempfile.mkdtemp(prefix="plumb-instructions-")
    try:
        shop.setup_shop(plumb_app=config == "plumb")   # bare: no plumb at all
        app = shop.handler(config == "plumb", rate=0.0)
        shop.serve(app, page, WARMUP)
        if n:
            shop.serve(app, page, n)
        if config == "plumb":
            app.monitor_agent.shutdown()
    finally:
        shutil.rmtree(shop.WORK, ignore_errors=True)


def query_child(config, n):
    """Runs inside valgrind: warm-up, then n queries."""
    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                              "NAME": ":memory:"}})
    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (a integer, b text)")
        cursor.execute("INSERT INTO t VALUES (1, 'x')")
    record = None
    if config == "plumb":
        from plumb.contrib.django import sql
        from plumb.monitor.record import RequestRecord
        from plumb.web import trace

        sql.install()
        record = RequestRecord(1, "web", "query", "GET", "/", "", None, False)
        trace.activate(record)

    def run(k):
        for _ in range(k):
            with connection.cursor() as cursor:
                cursor.execute("SELECT a, b FROM t WHERE a = %s", [1])
                cursor.fetchall()
            if record is not None:
                record.segments.clear()   # as a request's end lets them go

    run(WARMUP * 10)
    run(n)


def serving_thread_instructions(out_dir):
    """Instructions of thread 1 (the one that served) from callgrind's
    per-thread file."""
    files = glob.glob(os.path.join(out_dir, "callgrind.out*-01"))
    if len(files) != 1:
        raise SystemExit(f"monitor_instructions: no single thread-1 file in {out_dir}: {files}")
    with open(files[0]) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"monitor_instructions: no totals in {files[0]}")


def count(config, page, n):
    out_dir = tempfile.mkdtemp(prefix="plumb-callgrind-")
    try:
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--separate-threads=yes",
             f"--callgrind-out-file={out_dir}/callgrind.out", sys.executable,
             os.path.abspath(__file__), "--child", config, page, str(n)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONHASHSEED="0"))
        return serving_thread_instructions(out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def bare_cpu_per_request(counts, repeat):
    """Per page, the bare request's thread CPU time outside valgrind,
    median of repeat runs in this process."""
    sys.path.insert(0, HERE)
    import monitor_request as shop

    shop.WORK = tempfile.mkdtemp(prefix="plumb-instructions-")
    try:
        shop.setup_shop()
        app = shop.handler(False)
        result = {}
        for page, n in counts.items():
            shop.serve(app, page, WARMUP)
            result[page] = statistics.median(shop.serve(app, page, n)[0] for _ in range(repeat))
        return result
    finally:
        shutil.rmtree(shop.WORK, ignore_errors=True)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        if sys.argv[3] == "query":
            query_child(sys.argv[2], int(sys.argv[4]))
        else:
            child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests of the catalogue per run (x10 for the trivial page)")
    parser.add_argument("--no-catalogue", action="store_true",
                        help="leave the catalogue out (under callgrind it takes most of the time)")
    args = parser.parse_args()
    if args.requests < 1:
        print("monitor_instructions: --requests must be positive", file=sys.stderr)
        sys.exit(2)
    if shutil.which("valgrind") is None:
        print("monitor_instructions: valgrind is not installed (apt-get install valgrind)",
              file=sys.stderr)
        sys.exit(2)
    import django

    import plumb

    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout
    print(f"CPython {sys.version.split()[0]}, Django {django.get_version()}, "
          f"plumb {getattr(plumb, '__version__', '?')}, {version.strip()}")
    model = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    print(f"CPU: {model.group(1) if model else '?'}; load average before: "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
    results = {}
    pages = {"/": 0} if args.no_catalogue else PAGES
    for page, queries in pages.items():
        n = args.requests * (10 if page == "/" else 1)
        per = {}
        for config in ("bare", "plumb"):
            started = time.perf_counter()
            one, two = count(config, page, n), count(config, page, 2 * n)
            per[config] = (two - one) / n
            print(f"  {page:12s} {config:6s} {per[config]:12.0f} instructions/request "
                  f"({time.perf_counter() - started:.0f} s under callgrind)", flush=True)
        results[page] = (per, queries, n)
    print()
    print(f"{'page':12s} {'bare instr':>11s} {'plumb instr':>12s} {'added':>9s} {'ratio':>6s} "
          f"{'bare us':>8s} {'added us (est.)':>16s}")
    added_us = {}
    bare_s = bare_cpu_per_request({page: n for page, (_, _, n) in results.items()}, 5)
    for page, (per, queries, n) in results.items():
        bare_us = bare_s[page] * 1e6
        added = per["plumb"] - per["bare"]
        added_us[page] = added * bare_us / per["bare"]
        print(f"{page:12s} {per['bare']:11.0f} {per['plumb']:12.0f} {added:+9.0f} "
              f"{per['bare'] / per['plumb']:6.3f} {bare_us:8.1f} {added_us[page]:+16.2f}")
    n = args.requests * 20
    per = {config: (count(config, "query", 2 * n) - count(config, "query", n)) / n
           for config in ("bare", "plumb")}
    added = per["plumb"] - per["bare"]
    # In microseconds at the trivial request's rate (instructions per us).
    rate = results["/"][0]["bare"] / (bare_s["/"] * 1e6)
    print(f"{'one query':12s} {per['bare']:11.0f} {per['plumb']:12.0f} {added:+9.0f} "
          f"{per['bare'] / per['plumb']:6.3f} {per['bare'] / rate:8.1f} {added / rate:+16.2f}")
    print(f"\nper request (the trivial page, no query): {added_us['/']:+.2f} us; per query: "
          f"{added / rate:+.2f} us (at {rate:.0f} instructions per us, the bare trivial "
          f"request's rate now)")
    print("goal: < 20 us per request + 2 us per query")


if __name__ == "__main__":
    main()
