"""plumb.monitor's store: URLs, the SQLite store's round trips, merging,
idempotence, many writer processes, foreign files, failures and retention."""
import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import PLUMB_DIR, env_with_plumb
from plumb.monitor.harvest import Harvest, KeptTrace, ProfileMinute, TransactionMinute
from clickhouse_server import clickhouse_server, clickhouse_url  # noqa: F401 (fixtures)
from plumb.monitor.store import SQLiteStore, StoreError, default_store_url, open_store, \
    register_scheme
from store_backends import open_backend, store  # noqa: F401 (fixtures: every backend)
from plumb.monitor.store import tiers
from plumb.monitor.store.base import SUMMED_COUNTERS

NOW = int(time.time()) // 3600 * 3600 - 7200      # two whole hours ago, a minute boundary
PLUMB_PARENT = os.path.dirname(PLUMB_DIR)


def minute_row(minute, name="/a", count=2, histogram=None, **fields):
    return TransactionMinute(minute=minute, name=name, kind=fields.pop("kind", "web"),
                             count=count, errors=fields.pop("errors", 1), total_us=count * 1000,
                             min_us=fields.pop("min_us", 100), max_us=fields.pop("max_us", 1900),
                             satisfied=count, sql_us=10, sql_count=count,
                             histogram=dict(histogram or {3: count}),
                             error_classes=fields.pop("error_classes", {"KeyError": 1}),
                             **fields)


def harvest(id, host="web1", pid=100, minute=NOW, transactions=None, traces=(), profiles=(),
            dropped=None):
    return Harvest(id=id, host=host, pid=pid, started=minute, ended=minute + 60,
                   transactions=list(transactions if transactions is not None
                                     else [minute_row(minute)]),
                   traces=list(traces), profiles=list(profiles), dropped=dict(dropped or {}))


def child_env():
    env = env_with_plumb()
    env["PYTHONPATH"] = PLUMB_PARENT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def python(code, *args, **popen):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


# -- URLs ---------------------------------------------------------------------------

def test_url_forms_name_the_same_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with open_store("sqlite:///sub/rel.db") as relative:
        assert relative.path == str(tmp_path / "sub" / "rel.db")
    with open_store(f"sqlite:///{tmp_path}/abs.db") as absolute:   # four slashes
        assert absolute.path == str(tmp_path / "abs.db")
    with open_store("sub/bare.db") as bare:
        assert bare.path == str(tmp_path / "sub" / "bare.db")
    assert sorted(os.listdir(tmp_path / "sub"))[:2] == ["bare.db", "rel.db"]
    with open_store("sqlite:///o.db?retention_days=2&timeout_s=0.5", rollup_after_hours=3) as s:
        assert (s.retention_days, s.timeout_s, s.rollup_after_hours) == (2.0, 0.5, 3.0)


def test_default_url_and_plumb_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLUMB_STORE", raising=False)
    assert default_store_url() == "plumb-monitor.db"
    with open_store() as store:
        assert store.path == str(tmp_path / "plumb-monitor.db")
    monkeypatch.setenv("PLUMB_STORE", f"sqlite:///{tmp_path}/elsewhere.db")
    assert default_store_url() == f"sqlite:///{tmp_path}/elsewhere.db"
    with open_store() as store:
        assert store.path == str(tmp_path / "elsewhere.db")


@pytest.mark.parametrize("url, says", [
    ("postgres://db/x", "unknown scheme 'postgres'"),
    ("sqlite://", "the path is empty"),
    ("sqlite:///", "the path is empty"),
    ("", "it is empty"),
    ("sqlite:///x.db?colour=red", "unknown option 'colour'"),
    ("sqlite:///x.db?timeout_s=soon", "timeout_s='soon' is not a number"),
    ("sqlite:///x.db?retention_days=0", "must be more than 0"),
    ("sqlite:///x.db?timeout_s=1&timeout_s=2", "given twice"),
    ("sqlite:///x.db?junk", "not name=value pairs"),
])
def test_bad_urls_are_refused_in_one_line(tmp_path, monkeypatch, url, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert says in message and "\n" not in message and repr(url) in message
    assert isinstance(caught.value, ValueError)
    assert os.listdir(tmp_path) == []


def test_unknown_keyword_option_is_refused(tmp_path):
    with pytest.raises(StoreError, match="unknown option 'retention'"):
        open_store(str(tmp_path / "x.db"), retention=3)


def test_a_registered_scheme_gets_its_urls():
    seen = []
    register_scheme("fakefleet", lambda url, location, options: seen.append(
        (url, location, options)) or "a store")
    assert open_store("fakefleet://cluster:9000/db?x=1", y=2) == "a store"
    assert seen == [("fakefleet://cluster:9000/db?x=1", "cluster:9000/db", {"x": "1", "y": 2})]


# -- which rows answer a window ----------------------------------------------------

def minutes_covered(found):
    covered = []
    for res, lo, hi in found:
        for t in range(tiers.ceil_to(lo, res), hi, res):
            covered += range(t, t + res, 60)
    return covered


def test_pieces_count_every_minute_of_the_window_once():
    rng = random.Random(7)
    for _ in range(300):
        since = rng.randrange(0, 20 * 86400) // 60 * 60
        until = since + rng.randrange(0, 9 * 86400) // 60 * 60
        found = tiers.pieces(since, until, {})
        covered = minutes_covered(found)
        assert sorted(covered) == list(range(since, until, 60))
        # 7 days take at most ~7 day rows, 46 hour rows and 118 minute rows
        assert len(covered) == len(set(covered))


def test_pieces_without_old_minutes_use_the_next_finest_rows():
    found = tiers.pieces(3600 + 600, 12 * 3600 + 660, {60: 10 * 3600})
    assert sorted(minutes_covered(found)) == list(range(3600 + 600, 12 * 3600 + 660, 60))
    assert (60, 12 * 3600 + 600, 12 * 3600 + 660) in found
    assert all(res != 60 or lo >= 10 * 3600 for res, lo, hi in found)
    # without minutes and ten minutes before 10:00: hours that start inside
    # the window (from 02:00; 01:00 starts before it)
    found = tiers.pieces(3600 + 600, 12 * 3600 + 660, {60: 10 * 3600, 600: 10 * 3600})
    assert sorted(minutes_covered(found)) == list(range(2 * 3600, 12 * 3600 + 660, 60))


# -- round trips -------------------------------------------------------------------

def test_transactions_round_trip_and_merge_across_processes_and_hosts(store):
    first = harvest("h1", host="web1", pid=1, transactions=[
        minute_row(NOW, count=3, histogram={1: 2, 9: 1}, min_us=50, max_us=900),
        minute_row(NOW, name="job", kind="background", count=1)])
    second = harvest("h2", host="web1", pid=2, transactions=[
        minute_row(NOW, count=2, histogram={9: 1, 700000: 1}, min_us=70, max_us=2000,
                   error_classes={"KeyError": 2, "OSError": 1})])
    third = harvest("h3", host="web2", pid=1, minute=NOW + 60,
                    transactions=[minute_row(NOW + 60, count=4, histogram={2: 4}, min_us=20)])
    assert [store.write(h) for h in (first, second, third)] == [True, True, True]
    rows = {(r["name"], r["kind"]): r for r in store.transactions(NOW - 3600, NOW + 3600)}
    assert set(rows) == {("/a", "web"), ("job", "background")}
    web = rows["/a", "web"]
    assert web["count"] == 9 and web["errors"] == 3 and web["total_us"] == 9000
    assert web["sql_count"] == 9 and web["satisfied"] == 9
    assert web["min_us"] == 20 and web["max_us"] == 2000
    assert web["histogram"] == {1: 2, 9: 2, 700000: 1, 2: 4}
    assert web["error_classes"] == {"KeyError": 4, "OSError": 1}
    assert (web["first_minute"], web["last_minute"], web["minutes"]) == (NOW, NOW + 60, 2)
    only_web2 = store.transactions(NOW - 3600, NOW + 3600, host="web2")
    assert [(r["name"], r["count"]) for r in only_web2] == [("/a", 4)]
    assert store.transactions(NOW - 3600, NOW + 3600, host="nowhere") == []
    assert [r["name"] for r in store.transactions(NOW - 3600, NOW + 3600, kind="background")] \
        == ["job"]
    assert [r["name"] for r in store.transactions(NOW - 3600, NOW + 3600, names=["job"])] \
        == ["job"]
    assert store.transactions(NOW + 120, NOW + 3600) == []
    hosts = store.hosts(NOW - 60, NOW + 600)
    assert [(h["host"], h["pids"], h["harvests"]) for h in hosts] == [
        ("web1", [1, 2], 2), ("web2", [1], 1)]


def test_the_same_harvest_twice_counts_once(store):
    one = harvest("same", traces=[KeptTrace(id="t" * 32, start=NOW + 1, name="/a", kind="web",
                                            duration_us=5, url="/a")],
                  dropped={"queue_full": 3})
    assert store.write(one) is True
    assert store.write(one) is False
    [row] = store.transactions(NOW, NOW + 60)
    assert row["count"] == 2 and row["histogram"] == {3: 2}
    assert len(store.traces()) == 1 and store.drops(NOW - 60) == {"queue_full": 3}


def test_session_rows_are_their_own_copy(store):
    store.write(harvest("s", transactions=[minute_row(NOW, count=5),
                                           minute_row(NOW, count=1, session="x" * 32)]))
    assert store.transactions(NOW, NOW + 60)[0]["count"] == 5
    assert store.transactions(NOW, NOW + 60, session="x" * 32)[0]["count"] == 1


def test_series_buckets_and_hours(store):
    store.write(harvest("a", transactions=[minute_row(NOW, count=2, histogram={4: 2}),
                                           minute_row(NOW + 120, count=3, histogram={4: 1, 5: 2}),
                                           minute_row(NOW + 3600, name="/b", count=7)]))
    series = store.series("/a", NOW, NOW + 240)
    assert [(b["t"], b["count"]) for b in series] == [
        (NOW, 2), (NOW + 60, 0), (NOW + 120, 3), (NOW + 180, 0)]
    assert series[2]["histogram"] == {4: 1, 5: 2} and series[2]["total_us"] == 3000
    hourly = store.series(None, NOW, NOW + 7200, step_s=3600)
    assert [(b["t"], b["count"], b["histogram"]) for b in hourly] == [
        (NOW, 5, {4: 3, 5: 2}), (NOW + 3600, 7, {3: 7})]
    with pytest.raises(StoreError, match="whole number of minutes"):
        store.series("/a", NOW, NOW + 60, step_s=90)


def test_traces_round_trip(store):
    kept = [KeptTrace(id=f"{i:032x}", start=NOW + i, name="/a" if i % 2 else "/b", kind="web",
                      duration_us=1000 * (5 - i), url=f"/a?i={i}", status=500 if i == 3 else 200,
                      error="KeyError" if i == 3 else None, document={"spans": [i], "i": i},
                      session="s" * 32 if i == 4 else None) for i in range(5)]
    store.write(harvest("t", pid=42, traces=kept))
    slowest = store.traces()
    assert [t["duration_us"] for t in slowest] == [5000, 4000, 3000, 2000, 1000]
    assert slowest[0] == {"id": "0" * 32, "start": NOW, "name": "/b", "kind": "web",
                          "duration_us": 5000, "status": 200, "error": None, "url": "/a?i=0",
                          "host": "web1", "pid": 42, "session": None}
    assert [t["id"][-1] for t in store.traces(order="recent", limit=2)] == ["4", "3"]
    assert {t["name"] for t in store.traces(transaction="/a")} == {"/a"}
    assert [t["id"][-1] for t in store.traces(since=NOW + 2, until=NOW + 4)] == ["2", "3"]
    assert [t["id"][-1] for t in store.traces(session="s" * 32)] == ["4"]
    full = store.trace(f"{3:032x}")
    assert full["document"] == {"spans": [3], "i": 3} and full["error"] == "KeyError"
    assert store.trace("f" * 32) is None
    with pytest.raises(StoreError, match="trace order"):
        store.traces(order="fastest")


def test_a_trace_over_the_size_bound_is_refused_and_counted(open_backend):
    with open_backend(max_trace_bytes=1000) as store:
        big = KeptTrace(id="b" * 32, start=NOW, name="/a", kind="web", duration_us=1, url="/",
                        document={"x": "y" * 2000})
        small = KeptTrace(id="c" * 32, start=NOW, name="/a", kind="web", duration_us=1, url="/",
                          document={"x": "y"})
        store.write(harvest("a", traces=[big, small], dropped={"traces": 1}))
        assert [t["id"] for t in store.traces()] == ["c" * 32]
        assert store.drops(NOW) == {"store.trace_too_large": 1, "traces": 1}


def test_profiles_merge_and_stacks_are_stored_once(store):
    main, work, io = ("app.py", 1, "main"), ("app.py", 10, "work"), ("io.py", 3, "read")
    first = ProfileMinute(minute=NOW, name="/a", kind="web", rate_hz=97.0,
                          stacks=[((main, work), 5), ((main, work, io), 2)])
    second = ProfileMinute(minute=NOW + 60, name="/a", kind="web", rate_hz=100.0,
                           stacks=[((main, work), 1)])
    other = ProfileMinute(minute=NOW, name="", kind="other", stacks=[((main,), 4)])
    store.write(harvest("p1", profiles=[first, other]))
    store.write(harvest("p2", host="web2", profiles=[second]))
    merged = store.profile("/a", since=NOW, until=NOW + 120)
    assert merged == {"stacks": [((main, work), 6), ((main, work, io), 2)], "rate_hz": 100.0,
                      "mode": "wall"}
    assert store.profile("/a", since=NOW, until=NOW + 120, host="web2")["stacks"] == [
        ((main, work), 1)]
    assert store.profile(kind="other", since=NOW, until=NOW + 60)["stacks"] == [((main,), 4)]
    everything = store.profile(since=NOW, until=NOW + 120)["stacks"]
    assert sorted(everything) == sorted([((main, work), 6), ((main,), 4), ((main, work, io), 2)])
    if isinstance(store, SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM stacks").fetchone()[0] == 3
            assert conn.execute("SELECT COUNT(*) FROM functions").fetchone()[0] == 3
    else:   # a stack once a day: all three in the same day
        assert store.http.select("SELECT count(DISTINCT stack_id) FROM stacks") == [[3]]


def test_sessions(store):
    xray = store.create_session("xray", "/a", duration_s=60, traces=5, rate_hz=200, now=NOW)
    threads = store.create_session("threads", duration_s=10, now=NOW + 1)
    assert len(xray) == 32
    assert [s["id"] for s in store.active_sessions(NOW + 5)] == [xray, threads]
    assert [s["id"] for s in store.active_sessions(NOW + 30)] == [xray]
    assert store.active_sessions(NOW + 61) == []
    got = store.session(xray)
    assert (got["kind"], got["transaction"], got["traces"], got["rate_hz"], got["status"]) == \
        ("xray", "/a", 5, 200.0, "active")
    assert store.end_session(xray, "cancelled") is True
    assert store.session(xray)["status"] == "cancelled"
    assert [s["id"] for s in store.active_sessions(NOW + 5)] == [threads]
    assert store.end_session("0" * 32) is False and store.session("0" * 32) is None
    assert [s["id"] for s in store.sessions()] == [threads, xray]
    with pytest.raises(StoreError, match="session kind"):
        store.create_session("trace")


def test_schema_version_and_meta(tmp_path):
    store = open_store(str(tmp_path / "m.db"))
    assert store.schema_version == 2
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x504C4D42
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(conn.execute("SELECT key, value FROM plumb_meta"))["schema_version"] == "2"


def test_closed_store_says_so(open_backend):
    store = open_backend()
    store.close()
    with pytest.raises(StoreError, match="it is closed"):
        store.write(harvest("x"))


# -- many processes ----------------------------------------------------------------

WRITER = """
    import sys
    sys.path.insert(0, {tests!r})
    from test_store import harvest, minute_row
    from plumb.monitor.store import open_store
    NOW = {now}                                   # the parent's: an hour may have turned since
    path, writer = sys.argv[1], int(sys.argv[2])
    sys.stdin.readline()                          # everyone starts together
    store = open_store(path, timeout_s=30)
    for i in range(50):
        h = harvest(f"{{writer}}-{{i}}", host="web1", pid=writer, minute=NOW + 60 * (i % 7),
                    transactions=[minute_row(NOW + 60 * (i % 7), count=writer + 1,
                                             histogram={{i % 5: 1, 1000 + writer: writer + 1}})])
        assert store.write(h)
        if i % 10 == 0:
            store.write(h)                        # a retry: counted once
    print("done")
"""


def run_together(code, argvs, prints):
    """Processes running `code`, each with its argv, released at once (they
    wait for a line on stdin after starting); each must print `prints`."""
    children = [python(code, *argv, stdin=subprocess.PIPE) for argv in argvs]
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out == prints, err


def test_four_processes_writing_at_once_give_exact_totals(tmp_path):
    path = str(tmp_path / "shared.db")
    code = WRITER.format(tests=os.path.dirname(os.path.abspath(__file__)), now=NOW)
    run_together(code, [(path, str(w)) for w in range(4)], "done\n")
    with open_store(path) as store:
        [row] = store.transactions(NOW - 3600, NOW + 3600)
        assert row["count"] == sum(50 * (w + 1) for w in range(4))
        expected = {k: 40 for k in range(5)}
        expected.update({1000 + w: 50 * (w + 1) for w in range(4)})
        assert row["histogram"] == expected
        assert [(h["pids"], h["harvests"]) for h in store.hosts(NOW - 60, NOW + 3600)] == [
            ([0, 1, 2, 3], 200)]


OPENER = """
    import sys
    from plumb.monitor.store import open_store
    sys.stdin.readline()
    with open_store(sys.argv[1], timeout_s=30) as store:
        print(store.schema_version)
"""


def test_processes_creating_the_schema_at_once_all_succeed(tmp_path):
    for attempt in range(3):
        path = str(tmp_path / f"new{attempt}.db")
        run_together(OPENER, [(path,)] * 3, "2\n")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT value FROM plumb_meta WHERE key = 'schema_version'"
                                ).fetchall() == [("2",)]


# -- files that are not plumb's ----------------------------------------------------

def refused_untouched(path, says):
    before = open(path, "rb").read()
    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert says in message and path in message and "\n" not in message
    assert open(path, "rb").read() == before
    assert not os.path.exists(path + "-wal")


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = str(tmp_path / "notes.db")
    with open(path, "wb") as f:
        f.write(b"these are my notes, not a database\n" * 200)
    refused_untouched(path, "not a plumb.monitor store")


def test_someone_elses_sqlite_file_is_refused_untouched(tmp_path):
    path = str(tmp_path / "theirs.db")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
        conn.commit()
    refused_untouched(path, "not a plumb.monitor store (tables: customers)")


def test_a_newer_schema_is_refused_untouched(tmp_path):
    path = str(tmp_path / "newer.db")
    open_store(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE plumb_meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
    refused_untouched(path, "schema version 99 is newer")


# -- failures ----------------------------------------------------------------------

@contextlib.contextmanager
def read_only(path):
    """`path` unwritable, even for root (who ignores modes): immutable."""
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", path], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i fails: {made.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", path], check=True)
    else:
        mode = os.stat(path).st_mode
        os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)
        try:
            yield
        finally:
            os.chmod(path, mode)


def test_a_read_only_file_refuses_writes_with_a_store_error(tmp_path):
    path = str(tmp_path / "ro.db")
    with open_store(path) as store:
        store.write(harvest("before"))
    with read_only(path):
        with pytest.raises(StoreError) as caught:
            with open_store(path) as store:
                store.write(harvest("after"))
        assert "ro.db" in str(caught.value) and "\n" not in str(caught.value)
    with open_store(path) as store:
        assert store.transactions(NOW, NOW + 60)[0]["count"] == 2


@pytest.mark.parametrize("existing", [False, True])
def test_a_read_only_folder_refuses_with_a_store_error(tmp_path, existing):
    folder = tmp_path / "locked"
    folder.mkdir()
    if existing:
        open_store(str(folder / "m.db")).close()
    with read_only(str(folder)):
        with pytest.raises(StoreError) as caught:
            with open_store(str(folder / "m.db")) as store:
                store.write(harvest("x"))
        assert "m.db" in str(caught.value) and "\n" not in str(caught.value)


HOLDER = """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
"""


def test_a_database_locked_beyond_the_bound_raises_and_writes_nothing(tmp_path):
    path = str(tmp_path / "busy.db")
    store = open_store(path, timeout_s=0.2)
    holder = python(HOLDER, path, stdin=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(StoreError) as caught:
            store.write(harvest("while-locked"))
        assert "locked by another process" in str(caught.value)
    finally:
        holder.communicate("\n", timeout=30)
    assert store.transactions(NOW, NOW + 60) == []
    assert store.write(harvest("while-locked")) is True       # the caller's retry
    assert store.transactions(NOW, NOW + 60)[0]["count"] == 2
    store.close()


# -- retention and rollup ----------------------------------------------------------

def test_retention_removes_old_minutes_and_hours_keep_exact_sums(tmp_path):
    now = NOW + 3 * 86400 + 1800
    with open_store(str(tmp_path / "r.db"), retention_days=2, rollup_after_hours=6) as store:
        rng = random.Random(3)
        written = {}
        for i, minute in enumerate(range(NOW, now, 60 * 37)):      # every 37 minutes, 3 days
            hist = {rng.randrange(40): rng.randrange(1, 5) for _ in range(6)}
            store.write(harvest(f"r{i}", host=f"web{i % 2}", minute=minute,
                                transactions=[minute_row(minute, count=sum(hist.values()),
                                                         histogram=hist)]))
            written[minute] = hist
        store.write(harvest("old-trace", minute=NOW, transactions=[], traces=[
            KeptTrace(id="e" * 32, start=NOW, name="/a", kind="web", duration_us=1, url="/")]))
        removed = store.retention(now)
        assert removed["tx_rows"] > 0 and removed["traces"] == 1
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            oldest = dict(conn.execute("SELECT res, MIN(t) FROM tx_rows GROUP BY res"))
        assert oldest[60] >= now - 6 * 3600 and oldest[3600] >= now - 2 * 86400

        def expected(since, until):
            hist, count = {}, 0
            for minute, h in written.items():
                if since <= minute < until:
                    count += sum(h.values())
                    for k, c in h.items():
                        hist[k] = hist.get(k, 0) + c
            return count, hist

        # inside the minute horizon: exact to the minute
        [row] = store.transactions(now - 5 * 3600 - 420, now)
        assert (row["count"], row["histogram"]) == expected(now - 5 * 3600 - 420, now)
        # across the horizon: ten minutes that start inside the window, then minutes
        since = now - 30 * 3600 - 1230
        [row] = store.transactions(since, now)
        assert (row["count"], row["histogram"]) == expected(tiers.ceil_to(since, 600), now)
        # past the retention window: gone
        [row] = store.transactions(NOW - 86400, now)
        assert row["count"] == expected(tiers.ceil_to(now - 2 * 86400, 600), now)[0]
        assert row["first_minute"] >= now - 2 * 86400
        assert store.traces() == [] and store.hosts(NOW, NOW + 3600) == []
        totals = {c: row[c] for c in SUMMED_COUNTERS}
        assert totals["sql_count"] == totals["count"]


def test_write_runs_retention_by_itself(tmp_path):
    with open_store(str(tmp_path / "r.db"), retention_days=1) as store:
        store.write(harvest("ancient", minute=NOW - 3 * 86400))
        store.write(harvest("new"))
        assert store.transactions(NOW - 4 * 86400, NOW + 60)[0]["count"] == 2
        assert store.hosts(NOW - 4 * 86400, NOW - 86400) == []


def test_a_day_written_again_after_retention_is_counted_once(tmp_path):
    """Retention's cut falls inside a day and an hour; a harvest written
    after it, later that day, makes that day's (and hour's) rows again.
    Its minutes are answered by the finer rows alone, not by those too (at
    a real clock this failed from 00:00 to 02:00 UTC)."""
    day = NOW // 86400 * 86400
    with open_store(str(tmp_path / "r.db"), retention_days=1,
                    retention_interval_s=1e9) as store:
        store.retention(day + 86400 + 1830)     # the cut at 00:30 of that day
        store.write(harvest("later", minute=day + 22 * 3600))
        for since in (day - 3 * 86400, day, day + 1800, day + 3600):
            [row] = store.transactions(since, day + 22 * 3600 + 60)
            assert row["count"] == 2, since


def test_an_sqlite_store_is_a_store():
    from plumb.monitor.store.base import Store
    assert issubclass(SQLiteStore, Store)


def test_a_write_past_its_time_bound_gives_up_and_writes_nothing(tmp_path):
    path = str(tmp_path / "slow.db")
    open_store(path).close()
    # a bound of a nanosecond has passed by the time SQLite first asks
    with open_store(path, timeout_s=1e-9) as store:
        big = harvest("big", transactions=[minute_row(NOW, name=f"/t{i}") for i in range(200)])
        with pytest.raises(StoreError, match="gave up after"):
            store.write(big)
    with open_store(path) as store:
        assert store.transactions(NOW, NOW + 60) == [] and store.hosts(0, NOW + 60) == []
        assert store.write(big) is True
        assert len(store.transactions(NOW, NOW + 60)) == 200
