"""The ClickHouse store's host and fleet rows (schema version 2): readers
without a worker read them instead of every worker's rows, and give the
same answers: exact counts, histograms (and so percentiles), minima,
maxima and error classes, the same as the workers' rows give on the same
database, as the harvests add up to by hand, and as the SQLite store gives
on the same harvests; a host's share is its own; a database of version 1
migrates, its older minutes still read from the workers' rows."""
import calendar
import math
import os
import random
import re
import sys
import time

import pytest

from clickhouse_layouts import open_layout_v1
from clickhouse_server import clickhouse_server, clickhouse_url  # noqa: F401 (fixtures)
from test_store import NOW
from plumb.monitor import histogram
from plumb.monitor.harvest import Harvest, TransactionMinute
from plumb.monitor.store import open_store
from plumb.monitor.store.base import SUMMED_COUNTERS
from plumb.monitor.store.clickhouse_schema import (FAMILIES, MIGRATION_MARGIN_S,
                                                   STATE_COLUMNS, TIERS, merged,
                                                   rollup_select)
from plumb.monitor.store.tiers import DAY, HOUR, ceil_to, floor_to

WORKERS = {"web-1": (10, 11), "web-2": (10, 12), "web-3": (13,)}
TRANSACTIONS = (("/a", "web"), ("/b", "web"), ("job", "background"))
SESSION = "7" * 32
DAY0 = floor_to(NOW, DAY) - DAY                   # within the retention window
# Minutes on both sides of midnights, hours and ten minutes, and between.
MINUTES = sorted({DAY0 + offset for offset in (
    -6 * 3600, -3660, -60, 0, 60, 540, 600, 3540, 3600, 7260, 12 * 3600 + 1200,
    DAY - 60, DAY, DAY + 3000, DAY + 6 * 3600 - 60)})
FILTERS = ({}, {"kind": "background"}, {"names": ["/a"]}, {"session": SESSION},
           {"host": "web-2"}, {"host": "web-2", "kind": "web"}, {"worker": 10},
           {"host": "web-1", "worker": 11})
COMPARED = SUMMED_COUNTERS + ("histogram", "error_classes", "min_us", "max_us",
                              "first_minute", "last_minute")


def harvests_of(minutes, seed):
    """A harvest per minute and worker, each transaction most minutes, with
    histograms of drawn durations, errors of two classes and some minutes'
    X-Ray copy."""
    rng = random.Random(seed)
    found = []
    for minute in minutes:
        for host, pids in WORKERS.items():
            for pid in pids:
                rows = []
                for name, kind in TRANSACTIONS:
                    if rng.random() < 0.2:
                        continue
                    durations = [rng.randrange(40, 4_000_000) for _ in range(rng.randrange(1, 30))]
                    hist = {}
                    for us in durations:
                        hist[histogram.key(us)] = hist.get(histogram.key(us), 0) + 1
                    errors = rng.randrange(0, min(3, len(durations)) + 1)
                    satisfied = rng.randrange(0, len(durations) - errors + 1)
                    rows.append(TransactionMinute(
                        minute=minute, name=name, kind=kind, count=len(durations), errors=errors,
                        total_us=sum(durations), min_us=min(durations), max_us=max(durations),
                        satisfied=satisfied, tolerating=len(durations) - errors - satisfied,
                        frustrated=errors, apdex_t_us=rng.choice((400_000, 500_000)),
                        queue_us=rng.randrange(0, 900), queue_count=1, sql_us=rng.randrange(9999),
                        sql_count=rng.randrange(5), http_us=rng.randrange(99), http_count=1,
                        histogram=hist,
                        error_classes={c: 1 for c in ("KeyError", "OSError")[:errors]},
                        session=SESSION if host == "web-1" and rng.random() < 0.3 else None))
                found.append(Harvest(id=f"{seed}-{host}-{pid}-{minute}", host=host, pid=pid,
                                     started=minute, ended=minute + 60, transactions=rows))
    return found


def expected(harvests, since, until, host=None, worker=None, kind=None, names=None,
             session=None):
    """{(name, kind): COMPARED's values} added up from the harvests."""
    found = {}
    for h in harvests:
        if (host is not None and h.host != host) or (worker is not None and h.pid != worker):
            continue
        for tm in h.transactions:
            if not since <= tm.minute < until or tm.session != session or \
                    (kind is not None and tm.kind != kind) or \
                    (names is not None and tm.name not in names):
                continue
            into = found.setdefault((tm.name, tm.kind), dict(
                dict.fromkeys(SUMMED_COUNTERS, 0), histogram={}, error_classes={},
                min_us=tm.min_us, max_us=tm.max_us, first_minute=tm.minute,
                last_minute=tm.minute))
            for counter in SUMMED_COUNTERS:
                into[counter] += getattr(tm, counter)
            for field in ("histogram", "error_classes"):
                for key, n in getattr(tm, field).items():
                    into[field][key] = into[field].get(key, 0) + n
            into["min_us"], into["max_us"] = min(into["min_us"], tm.min_us), \
                max(into["max_us"], tm.max_us)
            into["first_minute"] = min(into["first_minute"], tm.minute)
            into["last_minute"] = max(into["last_minute"], tm.minute)
    return found


def compared(rows):
    return {(r["name"], r["kind"]): {f: r[f] for f in COMPARED} for r in rows}


def windows_around(first, last):
    """Windows over [first, last]: all of it, whole days, unaligned edges
    (minutes, ten minutes, hours, days), one ten minutes' edge, one minute."""
    day = floor_to(first, DAY) + DAY
    return [(first - 3600, last + 3600), (day, day + DAY), (day - 3600 + 420, day + 7200 + 1290),
            (day - 2 * DAY, day + 3 * DAY), (day + 590, day + 610), (day + 3600, day + 3660),
            (first + 7 * 3600 + 1234, last - 777)]


def tables_read(store, call):
    """The coarser tables whose rows `call(store)` read."""
    seen = []
    select = store.http.select

    def recording(sql, **options):
        seen.append(sql)
        return select(sql, **options)

    store.http.select = recording
    try:
        call(store)
    finally:
        del store.http.select
    coarser = [table for family in TIERS.values() for table in family.values()]
    return {t for t in coarser for sql in seen if re.search(rf"\bFROM {t}\b", sql)}


@pytest.fixture(scope="module")
def written(clickhouse_server):
    """A database of this version holding HARVESTS: (its URL, the harvests)."""
    url = clickhouse_server.url("plumb_rollups")
    harvests = harvests_of(MINUTES, 1)
    with open_store(url) as store:
        assert store.rollups_from == 0
        for h in harvests:
            assert store.write(h)
    yield url, harvests
    clickhouse_server.drop("plumb_rollups")


def test_readers_read_the_narrowest_rows_that_answer(written):
    url, _ = written
    # Days, with hours, ten minutes and minutes at both edges.
    window = (DAY0 - 7200 + 420, DAY0 + 2 * DAY + 3600 + 1290)
    with open_store(url) as store:
        fleet = tables_read(store, lambda s: s.transactions(*window))
        assert fleet == {"fleet_days", "fleet_hours", "fleet_10min", "fleet_minutes"}
        assert tables_read(store, lambda s: s.series("/a", *window, step_s=3600)) == \
            {"fleet_hours"}
        assert tables_read(store, lambda s: s.transactions(*window, host="web-1")) == \
            {"host_days", "host_hours", "host_10min"}
        assert tables_read(store, lambda s: s.transactions(*window, worker=10)) == \
            {"tx_days", "tx_hours", "tx_10min"}
        assert tables_read(store, lambda s: s.series(None, *window, 600, "web-1", 11)) == \
            {"tx_10min"}


def test_each_piece_of_a_window_names_only_its_own_days(written):
    # Day rows inside, hour rows at both edges: the hour rows' SQL names the
    # edges' days, not the days between (whose partitions ClickHouse would
    # then read: a month's two edges, every day's hour rows).
    url, _ = written
    window = (DAY0 - 7200 + 420, DAY0 + 2 * DAY + 3600 + 1290)
    seen = []
    with open_store(url) as store:
        select = store.http.select
        store.http.select = lambda sql, **options: seen.append(sql) or select(sql, **options)
        store.transactions(*window, host="web-1")
    [sql] = [sql for sql in seen if "FROM host_hours" in sql]
    [hours] = [part for part in sql.split(" UNION ALL ") if "FROM host_hours" in part]
    days = set()
    for first, last in re.findall(r"day >= '([-\d]+)' AND day <= '([-\d]+)'", hours):
        day = first
        while day <= last:
            days.add(day)
            day = time.strftime("%Y-%m-%d", time.gmtime(
                calendar.timegm(time.strptime(day, "%Y-%m-%d")) + DAY))
    assert days == {time.strftime("%Y-%m-%d", time.gmtime(DAY0 - DAY)),
                    time.strftime("%Y-%m-%d", time.gmtime(DAY0 + 2 * DAY))}


def test_host_and_fleet_rows_answer_as_the_workers_rows_and_the_harvests_do(written):
    url, harvests = written
    with open_store(url) as store, open_store(url) as workers_rows:
        workers_rows.rollups_from = math.inf           # every minute from the workers' rows
        answered = 0
        for since, until in windows_around(MINUTES[0], MINUTES[-1]):
            for filters in FILTERS:
                got = store.transactions(since, until, **filters)
                assert got == workers_rows.transactions(since, until, **filters), \
                    (since, until, filters)
                assert compared(got) == expected(harvests, since, until, **filters), \
                    (since, until, filters)
                answered += bool(got)
                for row in got:
                    assert histogram.count(row["histogram"]) == row["count"]
        assert answered > len(FILTERS) * 4             # not a comparison of empty answers
        for since, until in windows_around(MINUTES[0], MINUTES[-1])[:3]:
            for name in (None, "/a"):
                for step in (300, 600, 3600, DAY):
                    for filters in ({}, {"host": "web-3"}, {"host": "web-2", "worker": 12}):
                        got = store.series(name, since, until, step, **filters)
                        assert got == workers_rows.series(name, since, until, step, **filters)
                        assert sum(b["count"] for b in got) == sum(
                            r["count"] for r in expected(harvests, floor_to(since, step),
                                                         ceil_to(until, step), **filters,
                                                         names=None if name is None else [name]
                                                         ).values())


def test_each_host_has_its_share_and_its_workers_add_up_to_it(written):
    url, harvests = written
    since, until = MINUTES[0], MINUTES[-1] + 60
    with open_store(url) as store:
        fleet = {(r["name"], r["kind"]): r for r in store.transactions(since, until)}
        added = {}
        for host, pids in WORKERS.items():
            share = {(r["name"], r["kind"]): r for r in store.transactions(since, until, host=host)}
            assert compared(share.values()) == expected(harvests, since, until, host=host)
            of_workers = {}
            for pid in pids:
                for r in store.transactions(since, until, host=host, worker=pid):
                    into = of_workers.setdefault((r["name"], r["kind"]), {"count": 0,
                                                                          "histogram": {}})
                    into["count"] += r["count"]
                    histogram.merge(into["histogram"], r["histogram"])
            assert of_workers == {k: {"count": r["count"], "histogram": r["histogram"]}
                                  for k, r in share.items()}
            for key, r in share.items():
                into = added.setdefault(key, {"count": 0, "histogram": {}})
                into["count"] += r["count"]
                histogram.merge(into["histogram"], r["histogram"])
        assert added == {k: {"count": r["count"], "histogram": r["histogram"]}
                         for k, r in fleet.items()}
        # Percentiles come from the merged histogram: the fleet's equal
        # those of the harvests' histograms added by hand.
        by_hand = expected(harvests, since, until)
        for key, r in fleet.items():
            for q in (0.5, 0.9, 0.99):
                assert histogram.quantile_us(r["histogram"], q) == \
                    histogram.quantile_us(by_hand[key]["histogram"], q)


@pytest.mark.parametrize("family, res", [("host", HOUR), ("fleet", DAY)])
def test_rows_made_from_the_workers_rows_equal_the_views_rows(written, family, res):
    # What benchmarks/clickhouse_store.py makes the older days' rows with.
    url, _ = written
    keys = "t, " + "".join(f"{c}, " for c in FAMILIES[family][1]) + "name, kind, session"
    values = ", ".join(merged(name) for name in STATE_COLUMNS)
    with open_store(url) as store:
        from_views, made = (store.http.select(
            f"SELECT {keys}, {values} FROM ({source}) GROUP BY {keys} ORDER BY {keys}")
            for source in (f"SELECT * FROM {TIERS[family][res]}",
                           rollup_select(family, res, source=TIERS["worker"][res])))
    assert from_views == made and len(made) > 10


def test_the_same_harvests_give_sqlites_answers(clickhouse_url, tmp_path):
    # Within the last day: the SQLite store keeps a worker's rows and
    # minutes that long.
    minutes = [NOW - 18 * 3600 + 60 * k for k in (0, 9, 10, 59, 60, 61, 600, 1000, 1079)]
    harvests = harvests_of(minutes, 2)
    with open_store(clickhouse_url) as clickhouse, open_store(str(tmp_path / "m.db")) as sqlite:
        for h in harvests:
            assert clickhouse.write(h) and sqlite.write(h)
        for since, until in windows_around(minutes[0], minutes[-1]):
            for filters in FILTERS:
                assert compared(clickhouse.transactions(since, until, **filters)) == \
                    compared(sqlite.transactions(since, until, **filters)), (since, until, filters)
            for step in (300, 600, 3600):
                for filters in ({}, {"host": "web-1"}, {"host": "web-1", "worker": 11}):
                    assert clickhouse.series("/b", since, until, step, **filters) == \
                        sqlite.series("/b", since, until, step, **filters)


def test_a_version_1_database_migrates_and_reads_its_older_minutes_from_the_workers_rows(
        clickhouse_url, tmp_path):
    before = harvests_of([NOW - 3 * 3600 + 60 * k for k in (0, 1, 59, 61, 200)], 3)
    with open_layout_v1(clickhouse_url) as old:
        assert old.rollups_from == math.inf
        for h in before:
            old.write(h)
    with open_store(clickhouse_url) as store:
        [[applied]] = store.http.select("SELECT applied FROM schema_version WHERE version = 2")
        cut = store.rollups_from
        assert cut == ceil_to(applied + MIGRATION_MARGIN_S, HOUR)
        # Minutes written since (late ones before the cut too), read across the cut.
        after = harvests_of([cut - 1800, cut - 60, cut, cut + 600, cut + 3660, cut + DAY], 4)
        for h in after:
            assert store.write(h)
        [[in_fleet]] = store.http.select("SELECT sumMerge(count_s) FROM fleet_hours "
                                         "WHERE session = ''")
        assert in_fleet == sum(tm.count for h in after for tm in h.transactions
                               if tm.session is None)
        everything = before + after
        for since, until in [(NOW - 4 * 3600, cut + 2 * DAY), (NOW - 3 * 3600 + 90, cut + 3661),
                             (cut - 1800, cut + 600), (floor_to(cut, DAY), cut + DAY)]:
            for filters in FILTERS:
                assert compared(store.transactions(since, until, **filters)) == \
                    expected(everything, since, until, **filters), (since, until, filters)
        with open_store(clickhouse_url) as again:
            assert again.rollups_from == cut


def test_the_benchmarks_sqlite_file_answers_as_one_written_through_write(clickhouse_url,
                                                                         tmp_path):
    # benchmarks/clickhouse_store.py makes the SQLite file of a fleet's month
    # from the ClickHouse database directly (write() is far too slow for
    # it): its readers must answer as those of a file written through
    # write() with the same harvests.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    try:
        import clickhouse_store
    finally:
        del sys.path[0]
    assert clickhouse_store.sqlite_check(clickhouse_url, str(tmp_path)) > 50
