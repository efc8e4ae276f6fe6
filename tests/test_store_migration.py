"""A store of schema version 1 (tests/data/store-v1.sql, as plumb of that
version wrote it) opened by this plumb: migrated to version 2 in place, with
every total, series, profile, trace, session and drop as the harvests it
holds say; its rows are those of all workers (it kept none per worker), and
it takes new harvests with their workers (in the tables version 2 adds)."""
import contextlib
import os
import sqlite3

import pytest

from store_v1_harvests import BASE, MINUTES, SESSION, WORKERS, v1_harvests
from plumb.monitor.harvest import Harvest
from plumb.monitor.store import open_store
from plumb.monitor.store.base import SUMMED_COUNTERS

DUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "store-v1.sql")
SINCE, UNTIL = BASE, MINUTES[-1] + 60
# The file's minutes are in the past: nothing here may remove them.
KEEP = {"retention_days": 1e5, "rollup_after_hours": 1e6}
V1_ROWS = {"tx_rows": 88, "profile_rows": 60}      # in the dump


@pytest.fixture
def v1_file(tmp_path):
    path = str(tmp_path / "v1.db")
    with open(DUMP, encoding="utf-8") as f:
        script = f.read()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(script)
        assert conn.execute("SELECT value FROM plumb_meta WHERE key = 'schema_version'"
                            ).fetchone() == ("1",)
    return path


def expected_transactions(host=None, session=None, minutes=MINUTES):
    """{(name, kind): {counter: sum, "histogram": merged}} from the harvests."""
    found = {}
    for harvest in v1_harvests():
        if host is not None and harvest.host != host:
            continue
        for tm in harvest.transactions:
            if tm.session != session or tm.minute not in minutes:
                continue
            into = found.setdefault((tm.name, tm.kind), {c: 0 for c in SUMMED_COUNTERS})
            for counter in SUMMED_COUNTERS:
                into[counter] += getattr(tm, counter)
            histogram = into.setdefault("histogram", {})
            for key, count in tm.histogram.items():
                histogram[key] = histogram.get(key, 0) + count
            into["min_us"] = min(into.get("min_us", tm.min_us), tm.min_us)
            into["max_us"] = max(into.get("max_us", tm.max_us), tm.max_us)
    return found


def totals(rows):
    return {(r["name"], r["kind"]): dict({c: r[c] for c in SUMMED_COUNTERS},
                                         histogram=r["histogram"], min_us=r["min_us"],
                                         max_us=r["max_us"]) for r in rows}


def test_a_version_1_file_is_migrated_and_keeps_its_totals(v1_file):
    with open_store(v1_file, **KEEP) as store:
        assert store.schema_version == 2
        assert totals(store.transactions(SINCE, UNTIL)) == expected_transactions()
        # Day rows alone (two whole days around the minutes), minute rows
        # alone, and a host's.
        day = SINCE // 86400 * 86400
        assert totals(store.transactions(day, day + 2 * 86400)) == expected_transactions()
        assert totals(store.transactions(MINUTES[1], MINUTES[3])) == \
            expected_transactions(minutes=MINUTES[1:3])
        assert totals(store.transactions(SINCE, UNTIL, host="web-2")) == \
            expected_transactions(host="web-2")
        assert totals(store.transactions(SINCE, UNTIL, session=SESSION)) == \
            expected_transactions(session=SESSION)
        every = sum(tm.count for h in v1_harvests() for tm in h.transactions if not tm.session)
        assert [b["count"] for b in store.series(None, SINCE, UNTIL)] == [
            sum(tm.count for h in v1_harvests() for tm in h.transactions
                if not tm.session and tm.minute == minute) for minute in MINUTES]
        assert sum(b["count"] for b in store.series(None, SINCE, UNTIL, step_s=3600)) == every
        profile = store.profile("/a", since=SINCE, until=UNTIL)
        assert sum(count for _, count in profile["stacks"]) == sum(
            count for h in v1_harvests() for pm in h.profiles if pm.name == "/a"
            for _, count in pm.stacks)
        assert len(store.traces(since=SINCE, until=UNTIL, limit=1000)) == 16
        assert store.drops(SINCE) == {"queue_full": 4}
        [session] = store.sessions()
        assert session["transaction"] == "/a" and session["traces"] == 5
        hosts = store.hosts(SINCE, UNTIL)
        assert [(h["host"], h["pids"], h["harvests"]) for h in hosts] == [
            (host, list(pids), 8) for host, pids in WORKERS.items()]
        # Version 1 kept no rows per worker: none of its workers can be chosen.
        assert [h["workers"] for h in hosts] == [[], []]
        assert store.transactions(SINCE, UNTIL, worker=101) == []
    with contextlib.closing(sqlite3.connect(v1_file)) as conn:
        assert conn.execute("SELECT value FROM plumb_meta WHERE key = 'schema_version'"
                            ).fetchone() == ("2",)
        # Version 1's rows are as they were; the workers' tables are new, and empty.
        assert conn.execute("SELECT COUNT(*) FROM tx_rows").fetchone() == (V1_ROWS["tx_rows"],)
        assert conn.execute("SELECT COUNT(*) FROM profile_rows").fetchone() == (
            V1_ROWS["profile_rows"],)
        for table in ("worker_tx_rows", "worker_profile_rows"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master "
                                                  "WHERE type = 'index'")}
        assert {"worker_tx_rows_by_name", "worker_profile_rows_by_stack"} <= indexes


def test_a_migrated_file_takes_new_harvests_with_their_workers(v1_file):
    with open_store(v1_file, **KEEP) as store:
        later = MINUTES[-1] + 60
        old = v1_harvests()[0]
        for pid in (301, 302):
            tm = old.transactions[0]
            tm.minute = later
            store.write(Harvest(id=f"new-{pid}", host="web-1", pid=pid, started=later,
                                ended=later + 60, transactions=[tm]))
        [row] = store.transactions(later, later + 60)
        assert row["count"] == 2 * old.transactions[0].count
        assert [r["count"] for r in store.transactions(later, later + 60, worker=301)] == [
            old.transactions[0].count]
        [web1] = [h for h in store.hosts(SINCE, later + 60) if h["host"] == "web-1"]
        assert [w["pid"] for w in web1["workers"]] == [301, 302]
        assert web1["pids"] == [101, 102, 301, 302]
        # The old minutes' totals are what they were.
        assert totals(store.transactions(SINCE, UNTIL)) == expected_transactions()
