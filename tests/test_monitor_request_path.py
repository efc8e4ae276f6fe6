"""The monitored request path in C: plumb._plumb.RequestRecord (what the
instruments record into), its clock against Python's, and its bounds.

Sums are of binary fractions, so every figure is exact arithmetic; no
test reads a duration."""
import gc
import time
import weakref

import pytest

from plumb import _plumb
from plumb.monitor import record as record_module
from plumb.monitor.record import MAX_SEGMENTS, RequestRecord, trace_document


def new_record(tag=1, name="shop.views.home", sql_params=False):
    return RequestRecord(tag, "web", name, "GET", "/items", "page=2", None, sql_params)


# -- the record ---------------------------------------------------------------------

def test_the_record_is_the_c_type_with_the_attributes_python_had():
    record = new_record(tag=7)
    assert type(record) is _plumb.RequestRecord is record_module.RequestRecord
    assert (record.tag, record.kind, record.name, record.method, record.path, record.query,
            record.queue_s, record.sql_params) == (7, "web", "shop.views.home", "GET", "/items",
                                                   "page=2", None, False)
    assert (record.status, record.error, record.thread, record.previous_tag, record.token) == \
        (None, None, None, 0, None)
    assert record.segments == [] and record.dropped == 0
    assert (record.sql_s, record.sql_n, record.template_s, record.template_n, record.http_s,
            record.http_n) == (0.0, 0, 0.0, 0, 0.0, 0)
    # What the agent and the middleware set.
    record.name, record.status, record.error = "shop.views.product", 200, "KeyError"
    record.thread, record.previous_tag, record.started = 12345, 2**64 - 1, 1000.0
    assert (record.name, record.status, record.error, record.thread, record.previous_tag,
            record.started) == ("shop.views.product", 200, "KeyError", 12345, 2**64 - 1, 1000.0)
    with pytest.raises(AttributeError):
        record.tag = 8
    with pytest.raises(AttributeError):
        record.other = 1                # no __dict__: as __slots__ had it
    assert weakref.ref(record)() is record
    assert MAX_SEGMENTS == _plumb.RECORD_MAX_SEGMENTS == 2000


def test_the_record_sums_what_the_instruments_record_and_keeps_their_tuples():
    record = new_record()
    record.sql("select 1 where a = %s", [1], 5.0, 0.25)
    record.sql("insert into t values (%s)", [[1], [2]], 5.5, 0.5, True, "IntegrityError")
    record.sql(sql="select 2", params=(), started=6.0, seconds=0.125, error=None, many=False)
    record.segment("template", "home.html", 6.0, 0.125)
    record.segment("http", "GET http://stock/", 6.5, 1.0, detail="200")
    record.segment("middleware", "shop.middleware.Auth", 4.0, 3.0, error="KeyError")
    record.segment("view", "shop.views.home", 4.5, 2.0, arguments=((3,), {"slug": "x"}))
    assert (record.sql_s, record.sql_n) == (0.875, 3)
    assert (record.template_s, record.template_n) == (0.125, 1)
    assert (record.http_s, record.http_n) == (1.0, 1)
    assert record.segments == [
        ("sql", "select 1 where a = %s", 5.0, 0.25, None, None, ([1], False)),
        ("sql", "insert into t values (%s)", 5.5, 0.5, None, "IntegrityError", ([[1], [2]], True)),
        ("sql", "select 2", 6.0, 0.125, None, None, ((), False)),
        ("template", "home.html", 6.0, 0.125, None, None, None),
        ("http", "GET http://stock/", 6.5, 1.0, "200", None, None),
        ("middleware", "shop.middleware.Auth", 4.0, 3.0, None, "KeyError", None),
        ("view", "shop.views.home", 4.5, 2.0, None, None, ((3,), {"slug": "x"})),
    ]
    assert record.dropped == 0


def test_segments_past_the_bound_are_counted_in_the_sums_and_dropped():
    record = new_record()
    for i in range(MAX_SEGMENTS + 5):
        record.sql("select 1", None, float(i), 0.5)
    record.segment("template", "t.html", 0.0, 0.25)
    record.segment("view", "v", 0.0, 0.25)
    assert len(record.segments) == MAX_SEGMENTS and record.dropped == 7
    assert (record.sql_n, record.sql_s) == (MAX_SEGMENTS + 5, 0.5 * (MAX_SEGMENTS + 5))
    assert (record.template_n, record.template_s) == (1, 0.25)
    assert record.segments[-1] == ("sql", "select 1", MAX_SEGMENTS - 1.0, 0.5, None, None,
                                   (None, False))


@pytest.mark.parametrize("call", [
    lambda r: r.sql("select 1", None, 0.0),                      # seconds missing
    lambda r: r.sql("select 1", None, 0.0, "long"),              # not a number
    lambda r: r.sql("select 1", None, 0.0, 1.0, sql="again"),    # twice
    lambda r: r.segment("template", "t", 0.0, 1.0, colour="red"),
    lambda r: r.segment("template", "t", 0.0, None),
    lambda r: r.segment("view", "v", 0.0, 1.0, None, None, None, "extra"),
])
def test_bad_calls_raise_type_error_and_record_nothing(call):
    record = new_record()
    with pytest.raises(TypeError):
        call(record)
    assert record.segments == [] and (record.sql_n, record.template_n) == (0, 0)


def test_the_record_reads_the_clocks_python_reads():
    """time.perf_counter() and time.time(), read just before and just
    after the record is made, enclose its start: the same clocks."""
    for _ in range(100):
        wall_before, before = time.time(), time.perf_counter()
        record = new_record()
        after, wall_after = time.perf_counter(), time.time()
        assert before <= record.started <= after
        assert wall_before <= record.wall_start <= wall_after


def test_a_record_in_a_cycle_is_collected():
    record = new_record()
    record.segment("view", "v", 0.0, 0.25, arguments=((record,), {}))
    alive = weakref.ref(record)
    del record
    gc.collect()
    assert alive() is None


def test_a_kept_record_becomes_a_trace_document():
    record = new_record(sql_params=True)
    record.started, record.status, record.error, record.queue_s = 100.0, 500, "KeyError", 0.25
    record.sql("select * from t where id = 5", (5,), 100.5, 0.25)
    record.segment("view", "shop.views.home", 100.25, 1.0, arguments=((3,), {}))
    document = trace_document(record, 2.0)
    assert (document["transaction"], document["kind"], document["status"], document["error"],
            document["queue_time"], document["path"], document["duration"]) == \
        ("shop.views.home", "web", 500, "KeyError", 0.25, "/items?page=2", 2.0)
    sql, = [s for s in document["segments"] if s["kind"] == "sql"]
    assert (sql["name"], sql["start"], sql["duration"], sql["sql"], sql["params"]) == \
        ("select * from t where id = ?", 0.5, 0.25, "select * from t where id = 5", "(5,)")
    view, = [s for s in document["segments"] if s["kind"] == "view"]
    assert (view["start"], view["detail"]) == (0.25, "3")
