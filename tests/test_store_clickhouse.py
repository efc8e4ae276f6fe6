"""The ClickHouse store's own behaviour (the interface's tests run against
it in test_store.py and test_store_workers.py): its URL, the schema
created and versioned on first use, a server that is not there, and
retention by dropping days' partitions, and a batch retried after its
answer was lost (a proxy drops it) or while its first attempt still runs,
counted once."""
import threading

import pytest

from answer_dropping_proxy import AnswerDroppingProxy
from clickhouse_server import PASSWORD, USER, clickhouse_server, clickhouse_url  # noqa: F401
from conftest import free_port
from test_store import NOW, harvest, minute_row
from plumb.monitor.harvest import KeptTrace
from plumb.monitor.store import ClickHouseStore, StoreError, open_store
from plumb.monitor.store.clickhouse_schema import TIERS


@pytest.mark.parametrize("location", ["db", "host/db", "host:port/db", "host:8123/", "h:1/a-b"])
def test_a_bad_location_is_refused_in_one_line(location):
    with pytest.raises(StoreError, match="clickhouse://.USER.:PASSWORD.@.HOST:PORT/DATABASE"):
        open_store(f"clickhouse://{location}")


def test_user_and_password_come_from_the_url_or_the_environment(clickhouse_server,
                                                                monkeypatch):
    port = clickhouse_server.port
    with open_store(f"clickhouse://{USER}:{PASSWORD}@127.0.0.1:{port}/plumb_url") as store:
        assert store.schema_version == 2
    monkeypatch.setenv("PLUMB_CLICKHOUSE_USER", USER)
    monkeypatch.setenv("PLUMB_CLICKHOUSE_PASSWORD", PASSWORD)
    with open_store(f"clickhouse://127.0.0.1:{port}/plumb_url?timeout_s=5") as store:
        assert isinstance(store, ClickHouseStore) and store.http.timeout_s == 5
    monkeypatch.setenv("PLUMB_CLICKHOUSE_PASSWORD", "wrong")
    with pytest.raises(StoreError) as caught:
        open_store(f"clickhouse://127.0.0.1:{port}/plumb_url")
    assert "Wrong password" in str(caught.value) and "\n" not in str(caught.value)


def test_the_schema_is_created_once_and_versioned(clickhouse_url, clickhouse_server):
    with open_store(clickhouse_url) as first, open_store(clickhouse_url) as second:
        assert first.write(harvest("a")) and second.write(harvest("b"))
        database = first.http.database
    assert clickhouse_server.query(f"SELECT version FROM {database}.schema_version") == "2\n"
    engines = clickhouse_server.query(
        f"SELECT name, engine, partition_key FROM system.tables WHERE database = '{database}' "
        "AND name = 'tx_rows'")
    assert engines.split("\t")[1:] == ["MergeTree", "day\n"]
    clickhouse_server.query(f"INSERT INTO {database}.schema_version VALUES (9, 0)")
    with pytest.raises(StoreError, match="version 9, newer than this plumb's 2"):
        open_store(clickhouse_url)


def test_a_server_that_is_not_there_is_one_line():
    with pytest.raises(StoreError) as caught:
        open_store(f"clickhouse://127.0.0.1:{free_port()}/plumb", timeout_s=1)
    assert "cannot reach the server" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_retention_drops_the_days_past_it(clickhouse_url):
    # The first write runs retention (then not for an hour): the old days after it.
    days = [NOW - d * 86400 for d in (1, 0, 9, 8)]
    with open_store(clickhouse_url, retention_days=7) as store:
        for i, minute in enumerate(days):
            store.write(harvest(f"d{i}", minute=minute, transactions=[minute_row(minute)],
                                dropped={"queue_full": 1}))
        assert store.transactions(NOW - 10 * 86400, NOW + 60)[0]["count"] == 8
        removed = store.retention(NOW)
        assert removed["tx_rows"] == 2 and removed["harvests"] == 2 and removed["drops"] == 2
        # The coarser rows of every family go with their days: a row a day.
        for family in TIERS.values():
            assert [removed[table] for table in family.values()] == [2] * len(family)
        assert store.transactions(NOW - 10 * 86400, NOW + 60)[0]["count"] == 4
        assert store.http.select("SELECT count(DISTINCT partition_id) FROM system.parts "
                                 f"WHERE database = '{store.http.database}' AND "
                                 "table = 'tx_rows' AND active") == [[2]]
        assert store.retention(NOW)["tx_rows"] == 0


@pytest.mark.parametrize("lost", [b"INSERT INTO tx_rows", b"INSERT INTO traces",
                                  b"INSERT INTO harvests"])
def test_a_batch_retried_after_its_answer_was_lost_counts_once(clickhouse_server,
                                                                clickhouse_url, lost):
    proxy = AnswerDroppingProxy(clickhouse_server.port)
    url = clickhouse_url.replace(f":{clickhouse_server.port}/", f":{proxy.port}/")
    one = harvest("retried", transactions=[minute_row(NOW, count=7)],
                  traces=[KeptTrace(id="a" * 32, start=NOW + 1, name="/a", kind="web",
                                    duration_us=5, url="/a")],
                  dropped={"queue_full": 2})
    try:
        with open_store(url) as store:
            proxy.drop.append(lost)
            with pytest.raises(StoreError, match="cannot reach the server"):
                store.write(one)
            assert proxy.dropped == 1
            # The agent keeps the harvest and tries again: what landed is not sent twice.
            assert store.write(one) is (lost != b"INSERT INTO harvests")
            assert store.write(one) is False
            [row] = store.transactions(NOW, NOW + 60)
            assert row["count"] == 7 and row["histogram"] == {3: 7}
            assert len(store.traces()) == 1 and store.drops(NOW) == {"queue_full": 2}
            assert [h["harvests"] for h in store.hosts(NOW, NOW + 60)] == [1]
    finally:
        proxy.close()


def test_a_write_whose_earlier_attempt_still_runs_waits(clickhouse_url):
    with open_store(clickhouse_url) as store:
        one = harvest("running")
        # What ClickHouse answers while a query of that id runs (an insert
        # whose caller timed out), asked for while a sleep holds the id.
        holder = threading.Thread(target=store.http.select, args=("SELECT sleep(2)",),
                                  kwargs={"query_id": "plumb-running"})
        holder.start()
        try:
            while store.http.select("SELECT count() FROM system.processes "
                                    "WHERE query_id = 'plumb-running'") != [[1]]:
                assert holder.is_alive(), "the sleep ended before it was seen running"
            with pytest.raises(StoreError, match="an earlier attempt .* is still running"):
                store.write(one)
        finally:
            holder.join()
        assert store.write(one) is True
        assert store.transactions(NOW, NOW + 60)[0]["count"] == 2


def test_long_windows_read_the_coarser_rows_clickhouse_keeps(clickhouse_url):
    minutes = [NOW - 86400 + 120, NOW - 3540, NOW + 60, NOW + 5 * 3600 + 600]
    with open_store(clickhouse_url) as store:
        for i, minute in enumerate(minutes):
            store.write(harvest(f"tier{i}", minute=minute, transactions=[minute_row(
                minute, count=i + 1, histogram={10 + i: i + 1}, min_us=50 - i, max_us=900 + i,
                error_classes={"KeyError": 1, f"E{i}": i})]))
        database = store.http.database
        for table in (t for family in TIERS.values() for t in family.values()):
            assert store.http.select(f"SELECT count() FROM {database}.{table}")[0][0] > 0
        # Two days: day rows in the middle, hours, ten minutes and minutes at the edges.
        [row] = store.transactions(NOW - 2 * 86400 + 60, NOW + 86400 - 60)
        assert (row["count"], row["min_us"], row["max_us"]) == (10, 47, 903)
        assert row["histogram"] == {10: 1, 11: 2, 12: 3, 13: 4}
        assert row["error_classes"] == {"KeyError": 4, "E1": 1, "E2": 2, "E3": 3}
        assert (row["first_minute"], row["last_minute"]) == (minutes[0], minutes[-1])
        # An hour boundary inside the window: the same as minute by minute.
        assert store.transactions(NOW - 3600, NOW + 3600)[0]["count"] == 2 + 3
        hourly = store.series("/a", NOW - 86400, NOW + 6 * 3600, step_s=3600)
        assert sum(b["count"] for b in hourly) == 10
        assert [b["count"] for b in store.series(None, NOW + 5 * 3600, NOW + 6 * 3600,
                                                 step_s=600)] == [0, 4, 0, 0, 0, 0]
