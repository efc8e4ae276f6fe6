"""Workers in the SQLite store: each worker's minutes are kept apart beside
the rows of all workers merged, every reader takes `worker`, one worker's
numbers and its fellows' add up to the unfiltered ones, a worker's rows go
up to hours and end where the minutes do, and hosts() lists the workers
that may be chosen.  Series carry the apdex
counts of their web requests."""
import contextlib
import sqlite3

import pytest

from clickhouse_server import clickhouse_server, clickhouse_url  # noqa: F401 (fixtures)
from store_backends import open_backend  # noqa: F401 (fixtures: every backend)
from test_store import NOW, harvest, minute_row
from plumb.monitor.harvest import KeptTrace, ProfileMinute
from plumb.monitor.store import SQLiteStore, StoreError
from plumb.monitor.store.base import SUMMED_COUNTERS

MAIN, WORK = ("app.py", 1, "main"), ("app.py", 10, "work")
# host: {pid: requests of "/a" a minute}
WORKERS = {"web1": {11: 3, 12: 5}, "web2": {21: 7, 22: 2}}


@pytest.fixture
def store(open_backend):
    with open_backend() as opened:
        for host, pids in WORKERS.items():
            for pid, count in pids.items():
                for i in range(3):
                    minute = NOW + 60 * i
                    store_harvest = harvest(
                        f"{host}-{pid}-{i}", host=host, pid=pid, minute=minute,
                        transactions=[minute_row(minute, count=count + i,
                                                 histogram={pid: count + i}, min_us=pid),
                                      minute_row(minute, name="job", kind="background",
                                                 count=1)],
                        profiles=[ProfileMinute(minute=minute, name="/a", kind="web",
                                                rate_hz=100.0, stacks=[((MAIN, WORK), pid)])],
                        traces=[KeptTrace(id=f"{pid:08x}{i:024x}", start=minute + 1, name="/a",
                                          kind="web", duration_us=1000 * pid + i, url="/a")])
                    opened.write(store_harvest)
        yield opened


def counts(rows):
    return {(r["name"], r["kind"]): {c: r[c] for c in SUMMED_COUNTERS} for r in rows}


def added(*answers):
    total = {}
    for answer in answers:
        for key, row in counts(answer).items():
            into = total.setdefault(key, dict.fromkeys(SUMMED_COUNTERS, 0))
            for counter, value in row.items():
                into[counter] += value
    return total


def test_a_worker_is_read_alone(store):
    [a, job] = sorted(store.transactions(NOW, NOW + 180, worker=12), key=lambda r: r["name"])
    assert (a["name"], a["count"], a["histogram"], a["min_us"]) == ("/a", 5 + 6 + 7, {12: 18}, 12)
    assert (job["name"], job["count"]) == ("job", 3)
    assert [b["count"] for b in store.series(None, NOW, NOW + 180, worker=21)] == [8, 9, 10]
    assert [b["count"] for b in store.series("/a", NOW, NOW + 180, worker=21)] == [7, 8, 9]
    assert store.profile("/a", since=NOW, until=NOW + 180, worker=22)["stacks"] == [
        ((MAIN, WORK), 3 * 22)]
    assert {t["pid"] for t in store.traces(worker=11)} == {11}
    assert len(store.traces(worker=11)) == 3
    # A pid is a process of one host: with the host, of that host only.
    assert store.transactions(NOW, NOW + 180, host="web2", worker=11) == []
    assert store.traces(host="web2", worker=11) == []
    assert {t["host"] for t in store.traces(host="web2")} == {"web2"}
    assert store.transactions(NOW, NOW + 180, worker=99) == []


def test_the_workers_add_up_to_all_of_them(store):
    window = (NOW, NOW + 180)
    everyone = store.transactions(*window)
    per_worker = [store.transactions(*window, host=host, worker=pid)
                  for host, pids in WORKERS.items() for pid in pids]
    assert added(*per_worker) == counts(everyone)
    for host, pids in WORKERS.items():
        assert added(*(store.transactions(*window, worker=pid) for pid in pids)) == \
            counts(store.transactions(*window, host=host))
    series = [store.series("/a", *window, host=host, worker=pid)
              for host, pids in WORKERS.items() for pid in pids]
    assert [sum(s[i]["count"] for s in series) for i in range(3)] == [
        b["count"] for b in store.series("/a", *window)]
    stacks = [store.profile("/a", since=NOW, until=NOW + 180, worker=pid)["stacks"][0][1]
              for pids in WORKERS.values() for pid in pids]
    assert sum(stacks) == store.profile("/a", since=NOW, until=NOW + 180)["stacks"][0][1]


def test_a_workers_rows_go_up_to_hours_and_only_as_far_back_as_minutes(store):
    if not isinstance(store, SQLiteStore):
        pytest.skip("the SQLite store's own tiers")
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        for table in ("worker_tx_rows", "worker_profile_rows"):
            assert conn.execute(f"SELECT DISTINCT res FROM {table} ORDER BY res").fetchall() \
                == [(60,), (600,), (3600,)]
    # The hour's series, from hour rows: of all workers, and of one.
    assert store.series("/a", NOW, NOW + 3600, step_s=3600)[0]["count"] == \
        sum(3 * c + 3 for pids in WORKERS.values() for c in pids.values())
    assert store.series("/a", NOW, NOW + 3600, step_s=3600, worker=11)[0]["count"] == 12
    # Retention's minute cut falls inside the hour, after the first minute:
    # the worker's hour row goes, its later minutes answer; all workers
    # together keep their hour.
    store.retention(NOW + 60 + 24 * 3600)
    assert [(r["name"], r["count"]) for r in store.transactions(NOW, NOW + 3600, worker=11)
            if r["name"] == "/a"] == [("/a", 4 + 5)]
    assert store.series("/a", NOW, NOW + 3600, step_s=3600, worker=11)[0]["count"] == 9
    assert store.series("/a", NOW, NOW + 3600, step_s=3600)[0]["count"] == \
        sum(3 * c + 3 for pids in WORKERS.values() for c in pids.values())
    # Once the minutes are gone, the worker has nothing left.
    store.retention(NOW + 2 * 86400)
    assert store.series("/a", NOW, NOW + 3600, step_s=3600, worker=11)[0]["count"] == 0
    assert store.transactions(NOW, NOW + 3600, worker=11) == []
    assert store.series("/a", NOW, NOW + 3600, step_s=3600)[0]["count"] > 0


def test_hosts_list_their_workers(store):
    hosts = store.hosts(NOW, NOW + 180)
    assert [(h["host"], h["pids"], [w["pid"] for w in h["workers"]]) for h in hosts] == [
        ("web1", [11, 12], [11, 12]), ("web2", [21, 22], [21, 22])]
    worker = hosts[0]["workers"][0]
    assert worker == {"pid": 11, "harvests": 3, "first_seen": NOW, "last_seen": NOW + 180}
    # A window holding only the last minute: the workers that wrote in it.
    assert [w["harvests"] for w in store.hosts(NOW + 150, NOW + 180)[0]["workers"]] == [1, 1]
    # A worker whose minutes retention removed cannot be chosen any more
    # (SQLite: a day of minutes; ClickHouse keeps minutes, and so workers,
    # for as long as anything).
    store.retention(NOW + 2 * 86400)
    workers = [h["workers"] for h in store.hosts(NOW, NOW + 180)]
    assert len(workers) == 2
    assert all(w == [] if isinstance(store, SQLiteStore) else len(w) == 2 for w in workers)


def test_a_harvest_without_a_pid_counts_for_all_workers_only(open_backend):
    with open_backend() as store:
        store.write(harvest("nopid", pid=0))
        assert store.transactions(NOW, NOW + 60)[0]["count"] == 2
        assert store.hosts(NOW, NOW + 60)[0]["workers"] == []


@pytest.mark.parametrize("worker", [0, -3, "12", 1.5, True])
def test_a_worker_that_is_not_a_pid_is_refused(store, worker):
    with pytest.raises(StoreError, match="a worker is a process id above 0"):
        store.transactions(NOW, NOW + 60, worker=worker)


def test_series_carry_the_apdex_counts_of_web_requests(open_backend):
    with open_backend() as store:
        web = minute_row(NOW, count=10)
        web.satisfied, web.tolerating, web.frustrated = 6, 2, 2
        task = minute_row(NOW, name="job", kind="background", count=4)
        store.write(harvest("a", transactions=[web, task]))
        [bucket] = store.series("/a", NOW, NOW + 60)
        assert (bucket["satisfied"], bucket["tolerating"], bucket["frustrated"]) == (6, 2, 2)
        [bucket] = store.series("job", NOW, NOW + 60)
        assert bucket["count"] == 4 and bucket["satisfied"] == 0
        [bucket] = store.series(None, NOW, NOW + 60)
        assert bucket["count"] == 14 and bucket["satisfied"] == 0


def test_a_workers_labelled_profile_says_the_worker(store):
    found = store.profile("/a", since=NOW, until=NOW + 180, host="web2", worker=21,
                          labelled=True)
    assert found["groups"] == [({"transaction": "/a", "kind": "web", "host": "web2",
                                 "worker": 21}, [((MAIN, WORK), 3 * 21)])]
    every = store.profile("/a", since=NOW, until=NOW + 180, labelled=True)["groups"]
    assert [labels for labels, _ in every] == [
        {"transaction": "/a", "kind": "web", "host": host} for host in WORKERS]
