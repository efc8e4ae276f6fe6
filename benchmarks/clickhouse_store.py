#!/usr/bin/env python3
"""The ClickHouse store: what it takes in, and what it answers the
dashboard in over a fleet's month, against the SQLite store:

    python benchmarks/clickhouse_store.py [--url clickhouse://...] [--days 30] [--hosts 20]
        [--workers 4] [--transactions 200] [--writers 1,2,4,8] [--repeat 5]
        [--skip ingest,fleet,sqlite,compare] [--reuse] [--sqlite-folder DIR]

Without --url it starts a private clickhouse-server (tests/clickhouse_server.py)
in a temporary folder and removes it afterwards.

1. Ingest: N writer processes at once, each writing harvests of
   `transactions` transactions (one minute each, ~30 histogram buckets, 10
   kept traces) one after another through ClickHouseStore.write(): harvests
   and rows a second, all writers together; into a database of schema
   version 1's layout (the workers' coarser rows: three materialized views)
   and one of version 2's (the hosts' and the fleet's too: nine).
2. The fleet's month: `days` of `hosts` x `workers` x `transactions`, made
   inside ClickHouse (INSERT ... SELECT FROM numbers()): the last
   `minute_days` as the minute rows harvests write (~10 histogram buckets
   each; the materialized views make their ten-minute, hour and day rows
   of every family), the older days directly as the workers' hour and day
   rows and the hosts' and the fleet's made from those as their views would
   (their states merged); then the dashboard's queries through the store
   (median of `repeat`), each read from the workers' rows as version 1
   read every window (`rollups_from` = inf) and from the narrowest rows
   (version 2), one after the other: the overview (transactions over 1 h,
   24 h, 7 and 30 days; the series of all transactions; hosts) and a
   transaction's page (its series, traces and profile), also for one host.
2b. The same month in an SQLite store: a file made from the ClickHouse
   database (fill_sqlite(): the rows the SQLite store's write() would have
   made of the same harvests, made directly in big transactions, since
   write() takes ~9 harvests a second and the month is 3.5 M of them),
   then the same queries on both stores, taking turns.  Before it, a check:
   a small dataset written through write() into ClickHouse and into an
   SQLite file, a second file made from the ClickHouse database by
   fill_sqlite(), and every reader's answers of the two files compared.
   With --reuse (and --url, --sqlite-folder) a database and a file made by
   an earlier run are read as they are.
3. The same data in both stores: `--compare-hosts` hosts x `workers` x
   `transactions` for `--compare-hours` hours, each worker's harvest of each
   minute written through write() into an SQLite file and a ClickHouse
   database, then the same queries on both."""
import argparse
import http.client as httpclient
import multiprocessing
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from plumb.monitor.harvest import Harvest, ProfileMinute  # noqa: E402
from plumb.monitor.store import codec, open_store  # noqa: E402
from plumb.monitor.store.base import SUMMED_COUNTERS  # noqa: E402
from plumb.monitor.store.clickhouse_schema import (STATE_COLUMNS, TIERS, merged,  # noqa: E402
                                                   rollup_select, state_of_minutes)
from plumb.monitor.store.tiers import DAY, MINUTE, RESOLUTIONS  # noqa: E402
from store import median_ms, minute_rows, traces_for  # noqa: E402  (benchmarks/store.py's)

FRAMES = [("/srv/app/views.py", 10 + i, f"view_{i}") for i in range(40)]


def _tests_importable():
    os.environ.setdefault("PLUMB_TEST_CHECKOUT", "1")
    tests = os.path.join(os.path.dirname(HERE), "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def private_server():
    _tests_importable()
    from clickhouse_server import ClickHouseServer

    return ClickHouseServer()


def open_layout(url, layout, **options):
    """A store of schema version `layout`'s tables (1: the workers' rows only)."""
    if layout == 2:
        return open_store(url, **options)
    _tests_importable()
    from clickhouse_layouts import open_layout_v1

    return open_layout_v1(url, **options)


def profiles_for(rng, names, minute):
    return [ProfileMinute(minute=minute, name=name, kind="web", rate_hz=100.0,
                          stacks=[((FRAMES[0], FRAMES[1 + i % 39], FRAMES[1 + (i + j) % 39]),
                                   rng.randrange(1, 20)) for j in range(3)])
            for i, name in enumerate(names)]


def a_harvest(rng, names, host, pid, minute, per_minute, profiles=True):
    return Harvest(id=uuid.uuid4().hex, host=host, pid=pid, started=minute, ended=minute + 60,
                   transactions=minute_rows(rng, names, minute, per_minute),
                   traces=traces_for(rng, names, minute, 10),
                   profiles=profiles_for(rng, names, minute) if profiles else [])


# -- 1. ingest ----------------------------------------------------------------------

def _writer(url, layout, writer, harvests, transactions, start, done):
    rng = random.Random(writer)
    names = [f"/app/view_{i}" for i in range(transactions)]
    per_minute = [rng.randrange(1, 60) for _ in names]
    ready = [a_harvest(rng, names, f"ingest-{writer}", 100 + writer, 1_700_000_000 + 60 * m,
                       per_minute) for m in range(harvests)]
    store = open_layout(url, layout, timeout_s=30)
    start.wait()
    for h in ready:
        store.write(h)
    store.close()
    done.put(sum(len(h.transactions) + sum(len(p.stacks) for p in h.profiles) + len(h.traces)
                 for h in ready))


def ingest(url, layout, writers, harvests, transactions):
    context = multiprocessing.get_context("fork")
    start, done = context.Event(), context.Queue()
    processes = [context.Process(target=_writer, args=(url, layout, w, harvests, transactions,
                                                        start, done)) for w in range(writers)]
    for p in processes:
        p.start()
    time.sleep(1 + writers * 0.5)               # each has built its harvests
    begun = time.perf_counter()
    start.set()
    rows = sum(done.get() for _ in processes)
    took = time.perf_counter() - begun
    for p in processes:
        p.join()
    return writers * harvests / took, rows / took


# -- 2. the fleet's month ----------------------------------------------------------

def generate(store, day_start, hosts, workers, transactions):
    """One day of minute rows of every host, worker and transaction, made by
    ClickHouse itself; and per host and minute one kept trace and, for the
    last day only, 3 stacks per transaction."""
    per_minute = hosts * workers * transactions
    n = 1440 * per_minute
    row = (f"toUInt32({day_start} + intDiv(number, {per_minute}) * 60)")
    host = f"concat('host-', toString(intDiv(number, {workers * transactions}) % {hosts}))"
    tx = f"number % {transactions}"
    store.http.execute(
        "INSERT INTO tx_rows (day, minute, host, pid, name, kind, session, harvest_id, count, "
        "errors, total_us, satisfied, tolerating, frustrated, queue_us, queue_count, sql_us, "
        "sql_count, template_us, template_count, http_us, http_count, min_us, max_us, "
        "apdex_t_us, hist_keys, hist_counts, error_keys, error_counts) "
        f"SELECT toDate(toUInt16(intDiv(m, 86400))), m, h, toInt64(1000 + intDiv(number, {transactions}) "
        f"% {workers}), concat('/app/view_', toString(t)), if(t % 10 = 0, 'background', 'web'), "
        "'', concat(h, '-', toString(m)), c, intDiv(c, 50), c * 20000, c, 0, 0, 0, 0, c * 5000, "
        "c * 3, 0, 0, 0, 0, 900, 400000, 500000, keys, counts, "
        "if(t % 17 = 0, [toInt64(17)], emptyArrayInt64()), if(t % 17 = 0, [toUInt64(1)], "
        "emptyArrayUInt64()) FROM (SELECT number, "
        f"{row} AS m, {host} AS h, {tx} AS t, "
        "arrayMap(i -> toInt64(400 + t % 50 * 3 + i), range(10)) AS keys, "
        "arrayMap(i -> toUInt64(1 + cityHash64(number, i) % 6), range(10)) AS counts, "
        f"arraySum(counts) AS c FROM numbers({n}))")
    store.http.execute(
        "INSERT INTO traces (day, id, start, name, kind, duration_us, status, error, url, host, "
        "pid, session, harvest_id, document) SELECT toDate(toUInt16(intDiv(toUInt32(s), 86400))), "
        "hex(cityHash64(number, s)), s, concat('/app/view_', toString(number % "
        f"{transactions})), 'web', toInt64(100000 + cityHash64(number) % 9900000), 200, NULL, "
        f"'/some/path?q=1', concat('host-', toString(number % {hosts})), 1000, '', '', "
        "'{\"spans\":[]}' FROM (SELECT number, "
        f"{day_start} + intDiv(number, {hosts}) * 60 + 1.5 AS s FROM numbers({1440 * hosts}))")


def generate_tier(store, table, res, since, until, hosts, workers, transactions):
    """Rows of a coarser table of the workers' (tx_hours, tx_days) for
    [since, until), made directly (the minutes they would come from are not
    made: older days are read from these rows, all but their edges)."""
    per_step = hosts * workers * transactions
    n = (until - since) // res * per_step
    per_row = res // 60                           # the minutes a row holds
    sums = ", ".join(f"sumState(toUInt64({v}))" for v in (
        "c", "intDiv(c, 50)", "c * 20000", "c", "0", "0", "0", "0", "c * 5000", "c * 3",
        "0", "0", "0", "0"))
    store.http.execute(
        f"INSERT INTO {table} SELECT toDate(toUInt16(intDiv(t, 86400))), t, h, "
        f"toInt64(1000 + intDiv(number, {transactions}) % {workers}), "
        "concat('/app/view_', toString(tx)), if(tx % 10 = 0, 'background', 'web'), '', "
        f"{sums}, minIfState(toInt64(900), c > 0), maxState(toInt64(400000)), "
        f"maxState(toInt64(500000)), minState(t), maxState(toUInt32(t + {res - 60})), "
        "sumMapState(keys, counts), sumMapState(if(tx % 17 = 0, [toInt64(17)], "
        f"emptyArrayInt64()), if(tx % 17 = 0, [toUInt64({per_row})], emptyArrayUInt64())) "
        f"FROM (SELECT number, toUInt32({since} + intDiv(number, {per_step}) * {res}) AS t, "
        f"concat('host-', toString(intDiv(number, {workers * transactions}) % {hosts})) AS h, "
        f"number % {transactions} AS tx, "
        "arrayMap(i -> toInt64(400 + tx % 50 * 3 + i), range(10)) AS keys, "
        f"arrayMap(i -> toUInt64({per_row} * (1 + cityHash64(number, i) % 6)), range(10)) "
        f"AS counts, arraySum(counts) AS c FROM numbers({n})) "
        "GROUP BY number, t, h, tx, keys, counts, c")


def generate_profiles(store, day_start, hosts, transactions):
    """An hour of profile rows (3 stacks per transaction and host a minute)
    and their stacks."""
    day = time.strftime("%Y-%m-%d", time.gmtime(day_start))
    store.http.execute(
        "INSERT INTO stacks (day, stack_id, files, lines, names) SELECT "
        f"'{day}', toString(number), ['/srv/app/views.py', '/srv/app/work.py'], "
        "[10, toInt64(number)], ['view', concat('f', toString(number))] "
        f"FROM numbers({transactions * 3})")
    per_minute = hosts * transactions * 3
    store.http.execute(
        "INSERT INTO profile_rows (day, minute, host, pid, name, kind, session, harvest_id, "
        f"stack_id, count, rate_hz, mode) SELECT '{day}', "
        f"toUInt32({day_start + 82800} + intDiv(number, {per_minute}) * 60), "
        f"concat('host-', toString(intDiv(number, {transactions * 3}) % {hosts})), 1000, "
        f"concat('/app/view_', toString(intDiv(number, 3) % {transactions})), 'web', '', '', "
        f"toString(number % {transactions * 3}), 1 + cityHash64(number) % 20, 100.0, 'wall' "
        f"FROM numbers({60 * per_minute})")


def queries(now, one, host):
    return [
        ("overview: transactions, 1 h", lambda s: s.transactions(now - 3600, now)),
        ("overview: transactions, 24 h", lambda s: s.transactions(now - 86400, now)),
        ("overview: transactions, 7 days", lambda s: s.transactions(now - 7 * 86400, now)),
        ("overview: transactions, 30 days", lambda s: s.transactions(now - 30 * 86400, now)),
        ("overview: transactions, 24 h to 14:37:30", lambda s: s.transactions(
            now - 86400 + 450, now + 450)),
        ("overview: series of all, 24 h by 5 min", lambda s: s.series(None, now - 86400, now,
                                                                      300)),
        ("overview: series of all, 7 days hourly", lambda s: s.series(None, now - 7 * 86400,
                                                                      now, 3600)),
        ("overview: hosts, 24 h", lambda s: s.hosts(now - 86400, now)),
        ("one host: transactions, 24 h", lambda s: s.transactions(now - 86400, now, host=host)),
        ("one host: transactions, 30 days", lambda s: s.transactions(now - 30 * 86400, now,
                                                                     host=host)),
        ("transaction: series, 24 h by 5 min", lambda s: s.series(one, now - 86400, now, 300)),
        ("transaction: series, 24 h by 10 min", lambda s: s.series(one, now - 86400, now,
                                                                   600)),
        ("transaction: series, 7 days hourly", lambda s: s.series(one, now - 7 * 86400, now,
                                                                  3600)),
        ("transaction: series, 30 days daily", lambda s: s.series(one, now - 30 * 86400, now,
                                                                  86400)),
        ("transaction: 100 slowest traces, 24 h", lambda s: s.traces(one, since=now - 86400)),
        ("transaction: profile, 1 h", lambda s: s.profile(one, since=now - 3600, until=now)),
        ("one host: transaction's series, 24 h by 5 min", lambda s: s.series(
            one, now - 86400, now, 300, host=host)),
        ("one host: transaction's series, 24 h by 10 min", lambda s: s.series(
            one, now - 86400, now, 600, host=host)),
    ]


def alternating_ms(calls, repeat):
    """The median ms of each call, the calls taking turns (so a change in
    the machine's load falls on all of them alike)."""
    times = [[] for _ in calls]
    for _ in range(repeat):
        for call, into in zip(calls, times):
            begun = time.perf_counter()
            call()
            into.append((time.perf_counter() - begun) * 1000)
    return [statistics.median(t) for t in times]


def make_fleet(store, args, today):
    """The fleet's month in the store's database (see the module's doc)."""
    begun = time.perf_counter()
    # The last `minute_days` days as workers write them (minute rows; the
    # views make their coarser rows); the older days as their hour and day
    # rows.
    first = today - (args.days - 1) * 86400
    minutes_from = today - (args.minute_days - 1) * 86400
    for day in range(first, minutes_from, 86400):       # a day at a time: bounded memory
        for res in (86400, 3600):
            generate_tier(store, TIERS["worker"][res], res, day, day + 86400, args.hosts,
                          args.workers, args.transactions)
            # The hosts' and the fleet's rows of that day, from the workers'.
            for family in ("host", "fleet"):
                store.http.execute(
                    f"INSERT INTO {TIERS[family][res]} " + rollup_select(
                        family, res, source=TIERS["worker"][res],
                        where=f"day = '{time.strftime('%Y-%m-%d', time.gmtime(day))}'"))
    print(f"  older days' hour and day rows made, {time.perf_counter() - begun:.0f} s",
          flush=True)
    for day in range(minutes_from, today + 86400, 86400):
        generate(store, day, args.hosts, args.workers, args.transactions)
        print(f"  minutes of {time.strftime('%Y-%m-%d', time.gmtime(day))} made, "
              f"{time.perf_counter() - begun:.0f} s", flush=True)
    generate_profiles(store, today, args.hosts, args.transactions)
    # Today's coarser rows merged, as the background merges would leave a
    # settled day (the views add a part per block inserted): for both ways
    # of reading alike.
    partition = time.strftime("%Y%m%d", time.gmtime(today))
    for family in TIERS.values():
        for table in family.values():
            store.http.execute(f"OPTIMIZE TABLE {table} PARTITION ID '{partition}' FINAL")
    print(f"  made in {time.perf_counter() - begun:.0f} s", flush=True)


def fleet(url, args):
    store = open_store(url, timeout_s=3600)
    today = int(time.time()) // 86400 * 86400
    now = today + 14 * 3600 + 30 * 60             # mid-day: windows have edges
    made = store.http.select("SELECT max(minute) FROM tx_rows")[0][0]
    if args.reuse and made:
        today = made // 86400 * 86400              # an earlier run's month, read as it is
        now = today + 14 * 3600 + 30 * 60
        print("  the fleet's month made by an earlier run (today "
              f"{time.strftime('%Y-%m-%d', time.gmtime(today))}), read as it is", flush=True)
    else:
        make_fleet(store, args, today)
    sizes = store.http.select(
        "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND "
        f"database = '{store.http.database}' GROUP BY table ORDER BY table")
    print(f"fleet: {args.days} days x {args.hosts} hosts x {args.workers} workers x "
          f"{args.transactions} transactions (minutes for the last {args.minute_days}): "
          + ", ".join(f"{table} {rows:,} rows {disk / 2**20:.0f} MiB"
                      for table, rows, disk in sizes), flush=True)
    workers_rows = open_store(url, timeout_s=3600)
    workers_rows.rollups_from = float("inf")         # how version 1 read every window
    print(f"{'':44} {'workers rows':>12}    {'narrowest':>9}", flush=True)
    for label, call in queries(now, "/app/view_7", "host-3"):
        before, after = alternating_ms([lambda: call(workers_rows), lambda: call(store)],
                                       args.repeat)
        print(f"{label:44} {before:9.1f} ms {after:9.1f} ms  x{before / after:5.1f}", flush=True)
    workers_rows.close()
    store.close()


# -- 2b. the same month in an SQLite store -------------------------------------------

# What the SQLite store is opened with over a month: nothing removed by its
# retention (the ClickHouse database holds what it holds: its readers and
# SQLite's then ask for the same rows of the same pieces).
SQLITE_OPTIONS = {"timeout_s": 600, "retention_days": 400, "rollup_after_hours": 24 * 400}


def _streamed(http, sql):
    """The rows of a SELECT as lists of bytes, streamed (TabSeparated):
    millions of them, which ClickHouseHTTP.select would hold at once."""
    conn = httpclient.HTTPConnection(http.host, http.port, timeout=3600)
    try:
        conn.request("POST", "/?" + urllib.parse.urlencode({"database": http.database}),
                     body=(sql + " FORMAT TabSeparated").encode(), headers=http._headers)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(response.read(500).decode(errors="replace"))
        for line in response:
            yield line.rstrip(b"\n").split(b"\t")
    finally:
        conn.close()


def _ints(text):
    """An Array of integers in TabSeparated: b'[1,2,3]'."""
    return [int(v) for v in text[1:-1].split(b",")] if text != b"[]" else []


def _pairs(text):
    """sumMap's (keys, counts) in TabSeparated: b'([1,2],[3,4])'."""
    keys, counts = text[1:-1].split(b"],[")
    return dict(zip(_ints(keys + b"]"), _ints(b"[" + counts)))


def _tx_select(source, keys, where, t="t", state=True):
    """SQL of merged rows, one per `keys`, of a table of states (state) or of
    tx_rows' minutes: the values in the SQLite store's column order."""
    values = ", ".join(merged(c) if state else state_of_minutes(c).replace("State(", "(", 1)
                       for c in STATE_COLUMNS)
    return (f"SELECT {t} AS t, {', '.join(keys)}, {values} FROM {source} WHERE {where} "
            f"GROUP BY t, {', '.join(keys)} ORDER BY t, {', '.join(keys)}")


def fill_sqlite(clickhouse, path, workers_rows=True):
    """An SQLite store file holding what the ClickHouse database holds, as
    the SQLite store's write() would have made it: each host's rows (its
    workers merged) at every resolution ClickHouse has, each host's rows of
    all transactions merged (series(None) reads those), each worker's own
    rows (minutes, ten minutes, hours) of the days that have minutes,
    traces, harvests; names and hosts stored once.  Made with executemany
    in big transactions, its indexes made afterwards.  {what: rows}."""
    open_store(path, **SQLITE_OPTIONS).close()      # the schema, as the store makes it
    http = clickhouse.http
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                           "sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    hosts = sorted({row[0].decode() for row in _streamed(
        http, "SELECT DISTINCT host FROM host_days UNION ALL SELECT DISTINCT host FROM tx_rows "
              "UNION ALL SELECT DISTINCT host FROM traces UNION ALL "
              "SELECT DISTINCT host FROM harvests")})
    names = sorted({(row[0].decode(), row[1].decode()) for row in _streamed(
        http, "SELECT DISTINCT name, kind FROM host_days UNION ALL SELECT DISTINCT name, kind "
              "FROM tx_rows UNION ALL SELECT DISTINCT name, kind FROM traces")})
    host_ids = {h: i for i, h in enumerate(hosts, 1)}
    name_ids = {key: i for i, key in enumerate([("", "")] + names, 1)}   # ("", ""): all
    conn.executemany("INSERT INTO hosts (id, host) VALUES (?, ?)",
                     [(i, h) for h, i in host_ids.items()])
    conn.executemany("INSERT INTO names (id, name, kind) VALUES (?, ?, ?)",
                     [(i, n, k) for (n, k), i in name_ids.items()])
    error_names = {int(k): n.decode() for k, n in _streamed(
        http, "SELECT key, any(name) FROM error_classes GROUP BY key")}
    days = [int(d) for d, in _streamed(
        http, "SELECT DISTINCT toUInt32(day) * 86400 AS d FROM host_days "
              "UNION ALL SELECT DISTINCT toUInt32(day) * 86400 FROM tx_rows")]
    days = sorted(set(days))
    minute_days = {int(d) for d, in _streamed(
        http, "SELECT DISTINCT toUInt32(day) * 86400 FROM tx_rows")}
    counts = {}

    def put(table, key_columns, rows, fixed):
        """Insert one SELECT's rows: `fixed` maps a row's leading fields
        to its key values."""
        columns = key_columns + SUMMED_COUNTERS + ("min_us", "max_us", "apdex_t_us",
                                                   "first_minute", "last_minute", "histogram",
                                                   "error_classes")
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        batch = []
        for row in rows:
            n = len(row)
            hist, errors = _pairs(row[n - 2]), _pairs(row[n - 1])
            batch.append(fixed(row) + [int(v) for v in row[n - 21:n - 2]] + [
                codec.pack_histogram(hist),
                codec.pack_counts({error_names.get(k, str(k)): v for k, v in errors.items()})])
            if len(batch) >= 50_000:
                conn.executemany(sql, batch)
                counts[table] = counts.get(table, 0) + len(batch)
                batch = []
        conn.executemany(sql, batch)
        counts[table] = counts.get(table, 0) + len(batch)

    for day in days:
        where_day = f"day = toDate({day // 86400})"
        for res in RESOLUTIONS:
            # One host's rows: its workers' merged.  Of the day's minutes by
            # the hour (the GROUP BY's memory), of coarser rows at once.
            if res == MINUTE:
                if day not in minute_days:
                    continue
                parts = [(f"{where_day} AND minute >= {h} AND minute < {h + 3600}", "tx_rows")
                         for h in range(day, day + 86400, 3600)]
            else:
                parts = [(where_day, TIERS["host"][res])]
            for where, source in parts:
                minutes = source == "tx_rows"
                t = "minute" if minutes else "t"
                for keys, fixed in (
                        (("host", "name", "kind", "session"),
                         lambda r: [res, int(r[0]), host_ids[r[1].decode()],
                                    name_ids[(r[2].decode(), r[3].decode())], r[4].decode()]),
                        (("host", "session"),
                         lambda r: [res, int(r[0]), host_ids[r[1].decode()], 1,
                                    r[2].decode()])):
                    put("tx_rows", ("res", "t", "host_id", "name_id", "session"),
                        _streamed(http, _tx_select(source, keys, where, t, not minutes)), fixed)
            if workers_rows and day in minute_days and res < DAY:
                # A worker's own rows (up to hours), as long as minutes are kept.
                source = "tx_rows" if res == MINUTE else TIERS["worker"][res]
                minutes = source == "tx_rows"
                parts = [f"{where_day} AND minute >= {h} AND minute < {h + 3600}"
                         for h in range(day, day + 86400, 3600)] if minutes else [where_day]
                for where in parts:
                    put("worker_tx_rows", ("res", "t", "host_id", "worker", "name_id", "session"),
                        _streamed(http, _tx_select(source, ("host", "pid", "name", "kind",
                                                            "session"), where,
                                                   "minute" if minutes else "t", not minutes)),
                        lambda r: [res, int(r[0]), host_ids[r[1].decode()], int(r[2]),
                                   name_ids[(r[3].decode(), r[4].decode())], r[5].decode()])
        conn.execute("COMMIT")
        conn.execute("BEGIN")
    traces = []
    for line in _streamed(http, "SELECT id, start, name, kind, host, pid, session, duration_us, "
                                "status, error, url, document FROM traces"):
        tid, start, name, kind, host, pid, session, duration, status, error, url, doc = \
            [v.decode() for v in line]
        unescape = lambda v: v.encode().decode("unicode_escape")   # noqa: E731 (TSV's \\ escapes)
        traces.append((tid, float(start), name_ids[(name, kind)], host_ids[host], int(pid),
                       session, int(duration), None if status == r"\N" else int(status),
                       None if error == r"\N" else unescape(error), unescape(url),
                       zlib.compress(unescape(doc).encode(), 6)))
    conn.executemany("INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", traces)
    counts["traces"] = len(traces)
    harvests = [(h.decode(), host_ids[host.decode()], int(pid), float(a), float(b), float(b))
                for h, host, pid, a, b in _streamed(
                    http, "SELECT harvest_id, host, pid, started, ended FROM harvests")]
    conn.executemany("INSERT INTO harvests VALUES (?, ?, ?, ?, ?, ?)", harvests)
    counts["harvests"] = len(harvests)
    conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return counts


def answers(store, now, host, one):
    """What a store's readers answer over a small dataset: windows with
    edges, with and without a host or a worker; series of all and of one;
    hosts; traces."""
    found = []
    for since, until in ((now - 2 * 86400, now), (now - 86400 + 450, now - 3 * 3600 + 1290),
                         (now - 26 * 3600, now - 20 * 3600), (now - 90000, now - 82500)):
        for filters in ({}, {"host": host}):
            found.append(store.transactions(since, until, **filters))
            found.append(store.transactions(since, until, worker=1001, **filters))
            for name in (None, one):
                for step in (300, 600, 3600, 86400):
                    found.append(store.series(name, since, until, step, **filters))
        found.append(store.hosts(since, until))
        found.append(store.traces(since=since, until=until))
        found.append(store.traces(one, since=since, until=until, host=host))
    found.append(store.trace(found[-1][0]["id"]) if found[-1] else None)
    return found


def sqlite_check(url, folder):
    """Write a small dataset through write() into ClickHouse and into an
    SQLite file; make a second SQLite file from the ClickHouse database
    with fill_sqlite(); the readers of the two SQLite files must answer
    alike.  Returns the number of answers compared."""
    rng = random.Random(5)
    names = [f"/app/view_{i}" for i in range(20)]
    per_minute = [rng.randrange(1, 60) for _ in names]
    now = int(time.time()) // 60 * 60
    written = os.path.join(folder, "check-written.db")
    made = os.path.join(folder, "check-made.db")
    with open_store(url) as clickhouse, open_store(written, **SQLITE_OPTIONS) as sqlite:
        # Minutes on both sides of yesterday's midnight and of hours.
        midnight = now // 86400 * 86400
        for minute in sorted({midnight - 86400 + k for k in (-3600, -60, 0, 60, 540, 600, 3540,
                                                               3600, 7260)}
                             | {midnight + k for k in (-60, 0, 600, 3600)}):
            if minute >= now:
                continue
            for h in range(2):
                for w in range(2):
                    harvest = a_harvest(rng, names, f"host-{h}", 1000 + w, minute, per_minute,
                                        profiles=False)
                    clickhouse.write(harvest)
                    sqlite.write(harvest)
        fill_sqlite(clickhouse, made)
    with open_store(written, **SQLITE_OPTIONS) as a, open_store(made, **SQLITE_OPTIONS) as b:
        mine, theirs = answers(a, now, "host-1", "/app/view_7"), answers(b, now, "host-1",
                                                                          "/app/view_7")
    for i, (x, y) in enumerate(zip(mine, theirs)):
        if x != y:
            raise AssertionError(f"the SQLite file made directly answers otherwise than the one "
                                 f"written (answer {i}): {str(x)[:300]} != {str(y)[:300]}")
    assert any(mine), "no answers to compare"
    return len(mine)


def sqlite_fleet(url, args, folder):
    """The fleet's month (made by fleet()) in an SQLite file, and the same
    queries on it as on ClickHouse."""
    clickhouse = open_store(url, timeout_s=3600)
    n = sqlite_check(f"{url.rsplit('_', 1)[0]}_sqlite_check_{uuid.uuid4().hex[:8]}", folder)
    print(f"sqlite check: a file made directly answers as one written through write() "
          f"({n} answers compared)", flush=True)
    path = os.path.join(args.sqlite_folder or folder, "fleet.db")
    if os.path.exists(path) and args.reuse:
        print(f"  {path} made by an earlier run, read as it is", flush=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        begun = time.perf_counter()
        counts = fill_sqlite(clickhouse, path, workers_rows=not args.sqlite_no_workers)
        print(f"sqlite: made in {time.perf_counter() - begun:.0f} s: "
              + ", ".join(f"{table} {n:,} rows" for table, n in counts.items()), flush=True)
    print(f"sqlite: file {os.path.getsize(path) / 2**30:.2f} GiB", flush=True)
    made = clickhouse.http.select("SELECT max(minute) FROM tx_rows")[0][0]
    today = made // 86400 * 86400
    now = today + 14 * 3600 + 30 * 60
    sqlite = open_store(path, **SQLITE_OPTIONS)
    print(f"{'':44} {'ClickHouse':>12}    {'SQLite':>9}", flush=True)
    for label, call in queries(now, "/app/view_7", "host-3"):
        if "profile" in label:
            continue                          # no profile rows in the SQLite file
        ch, sq = alternating_ms([lambda: call(clickhouse), lambda: call(sqlite)], args.repeat)
        same = call(clickhouse) == call(sqlite)
        print(f"{label:44} {ch:9.1f} ms {sq:9.1f} ms  x{sq / ch:5.1f} "
              f"{'same answers' if same else 'ANSWERS DIFFER'}", flush=True)
    sqlite.close()
    clickhouse.close()


# -- 3. the same data in both stores -------------------------------------------------

def compare(url, args, folder):
    path = os.path.join(folder, "compare.db")
    stores = {"SQLite": open_store(path, timeout_s=60), "ClickHouse": open_store(url)}
    rng = random.Random(3)
    names = [f"/app/view_{i}" for i in range(args.transactions)]
    per_minute = [rng.randrange(1, 60) for _ in names]
    now = int(time.time()) // 60 * 60
    begun = {name: 0.0 for name in stores}
    n = 0
    for minute in range(now - args.compare_hours * 3600, now, 60):
        for h in range(args.compare_hosts):
            for w in range(args.workers):
                harvest = a_harvest(rng, names, f"host-{h}", 1000 + w, minute, per_minute,
                                    profiles=False)
                for name, store in stores.items():
                    t = time.perf_counter()
                    store.write(harvest)
                    begun[name] += time.perf_counter() - t
                n += 1
    print(f"same data: {args.compare_hosts} hosts x {args.workers} workers x "
          f"{args.transactions} transactions x {args.compare_hours} h: {n} harvests; write: "
          + ", ".join(f"{name} {n / took:.0f}/s" for name, took in begun.items())
          + f"; SQLite file {os.path.getsize(path) / 2**20:.0f} MiB")
    print(f"{'':44} {'SQLite':>9}    {'ClickHouse':>9}")
    hours = args.compare_hours * 3600
    for label, call in [
            (f"transactions, {args.compare_hours} h", lambda s: s.transactions(now - hours, now)),
            ("transactions, 1 h", lambda s: s.transactions(now - 3600, now)),
            ("one host: transactions, all", lambda s: s.transactions(now - hours, now,
                                                                     host="host-1")),
            ("series of all, by 5 min", lambda s: s.series(None, now - hours, now, 300)),
            ("series of one, by 5 min", lambda s: s.series("/app/view_7", now - hours, now, 300)),
            ("one worker: series of one, by 10 min",
             lambda s: s.series("/app/view_7", now - hours, now, 600, host="host-1",
                                worker=1002)),
            ("100 slowest traces", lambda s: s.traces(since=now - hours)),
            ("hosts", lambda s: s.hosts(now - hours, now))]:
        times = [median_ms(lambda: call(store), args.repeat) for store in stores.values()]
        print(f"{label:44} {times[0]:9.1f} ms {times[1]:9.1f} ms", flush=True)
    for store in stores.values():
        store.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a ClickHouse store URL (default: a private server)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--minute-days", type=int, default=1,
                        help="the last days made as minute rows (the rest as hours and days)")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--writers", default="1,2,4,8")
    parser.add_argument("--harvests", type=int, default=20, help="per writer")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare-hosts", type=int, default=2)
    parser.add_argument("--compare-hours", type=int, default=2)
    parser.add_argument("--reuse", action="store_true",
                        help="with --url: a fleet database an earlier run made is read as it is")
    parser.add_argument("--sqlite-folder", help="where the fleet's SQLite file is made "
                        "(default: a temporary folder, removed afterwards)")
    parser.add_argument("--sqlite-no-workers", action="store_true",
                        help="the SQLite file without each worker's own rows (no query reads them)")
    parser.add_argument("--skip", default="",
                        help="comma-separated: ingest,fleet,sqlite,compare")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    server = None if args.url else private_server()
    base = args.url or server.url("bench")
    folder = tempfile.mkdtemp(prefix="plumb-ch-bench-")
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    try:
        if "ingest" not in skip:
            for writers in map(int, args.writers.split(",")):
                for layout in (1, 2):
                    harvests_s, rows_s = ingest(f"{base}_ingest_v{layout}", layout, writers,
                                                args.harvests, args.transactions)
                    print(f"ingest, layout {layout}, {writers} writers: {harvests_s:.1f} "
                          f"harvests/s, {rows_s:,.0f} rows/s", flush=True)
        if "fleet" not in skip:
            fleet(base + "_fleet", args)
        if "sqlite" not in skip:
            sqlite_fleet(base + "_fleet", args, folder)
        if "compare" not in skip:
            compare(base + "_compare", args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if server is not None:
            server.remove()
    print(f"load {os.getloadavg()[0]:.2f} at the end, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)


if __name__ == "__main__":
    main()
