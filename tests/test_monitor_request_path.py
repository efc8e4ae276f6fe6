"""The monitored request path in C: plumb._plumb.RequestRecord (what the
instruments record into), its clock against Python's, and its bounds; the
agent's begin() and end() (plumb._plumb.RequestPath), their common case
and every rare case they hand back to the agent; Django's query hook
(plumb._plumb.DjangoQueryHook).

Sums are of binary fractions and durations are made on a clock the test
moves, so every figure is exact arithmetic; no test reads a duration."""
import collections
import contextvars
import gc
import os
import sqlite3
import threading
import time
import weakref

import pytest

from test_monitor import Clock

import plumb.monitor.agent as agent_module
from plumb import _plumb
from plumb.contrib.django import sql as sql_hook
from plumb.monitor import record as record_module
from plumb.monitor.options import Options
from plumb.monitor.record import MAX_SEGMENTS, RequestRecord, trace_document
from plumb.web import trace
from plumb.web.trace import Trace


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


# -- begin and end ------------------------------------------------------------------

@pytest.fixture
def make_agent(tmp_path, monkeypatch):
    """Agents on the test's clock, rate 0 (no sampler), shut down after."""
    made = []
    clock = Clock()
    monkeypatch.setattr(agent_module, "time", clock)

    def make(start=False, **options):
        options.setdefault("rate", 0)
        options.setdefault("harvest_interval", 3600)
        options.setdefault("store", f"sqlite:///{tmp_path}/m{len(made)}.db")
        agent = agent_module.agent_for(Options(**options))
        agent.clock = clock
        if not start:       # no harvest thread: the test drives the agent alone
            agent._started = True
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent_module._agents.pop(agent.options.store, None)
        agent.sampler = None
        agent.shutdown()


def one_request(agent, name="/ok", seconds=0.25, status=200, error=None, **begin):
    record = agent.begin("web", name, "GET", name, "", **begin)
    agent.clock.now += seconds
    if error is not None:
        record.error = error
    agent.end(record, status)
    return record


def totals(agent):
    """The metrics taken, summed by (name, kind) (requests may fall in two
    minutes): [count, errors, total_us, min_us, max_us, satisfied,
    tolerating, frustrated, queue_us, queue_count, sql_us, sql_count,
    template_us, template_count, http_us, http_count]."""
    summed = {}
    for row in agent.metrics.take():
        key = agent.name_list[row[1]]
        columns = list(row[2:18])
        summed[key] = [a + b for a, b in zip(summed[key], columns)] if key in summed else columns
    return summed


def test_begin_makes_the_record_current_and_tags_the_thread_until_end(make_agent):
    agent = make_agent(start=True)
    assert not agent._started
    before = _plumb.set_thread_tag(77)
    try:
        record = agent.begin("web", "/ok", "GET", "/ok", "a=1", 0.5)
        assert agent._started                                  # its first request started it
        assert trace.current() is record and record.tag in agent.running
        assert _plumb.thread_tag() == record.tag and record.previous_tag == 77
        assert record.thread == threading.get_ident() and record.started == 1000.0
        assert (record.kind, record.name, record.method, record.path, record.query,
                record.queue_s) == ("web", "/ok", "GET", "/ok", "a=1", 0.5)
        agent.clock.now += 0.25
        agent.end(record, 200)
        assert trace.current() is None and _plumb.thread_tag() == 77
        assert not agent.running and record.status == 200 and not agent.dropped
    finally:
        _plumb.set_thread_tag(before)
    untagged = agent.begin("background", "job", tag_thread=False)
    assert untagged.tag == record.tag + 1 and untagged.thread is None
    assert _plumb.thread_tag() == before
    agent.end(untagged)
    row = totals(agent)[("/ok", "web")]
    assert row[:3] == [1, 0, 250_000] and row[8:10] == [500_000, 1]


def test_the_sums_of_the_record_reach_the_metrics(make_agent):
    agent = make_agent()
    record = agent.begin("web", "/q")
    record.sql("select 1", None, 0.0, 0.125)
    record.sql("select 2", None, 0.0, 0.25)
    record.segment("template", "t.html", 0.0, 0.5)
    record.segment("http", "GET x", 0.0, 0.0625)
    agent.clock.now += 1.0
    agent.end(record, 200)
    assert totals(agent)[("/q", "web")][10:] == [375_000, 2, 500_000, 1, 62_500, 1]


def test_a_new_name_is_indexed_and_names_past_the_cap_are_folded(make_agent):
    agent = make_agent(max_transactions=2)
    for name in ("/a", "/b", "/a", "/c", "/d"):
        one_request(agent, name)
    assert agent.name_list == [("/a", "web"), ("/b", "web"), (agent_module.FOLDED, "web")]
    assert agent.dropped["names_folded"] == 2
    counts = {key: row[0] for key, row in totals(agent).items()}
    assert counts == {("/a", "web"): 2, ("/b", "web"): 1, (agent_module.FOLDED, "web"): 2}


def test_a_name_s_index_is_found_again_by_its_object_and_folding_still_counts(make_agent):
    """end() remembers an index by the name object's address, checked
    against name_list's own references: an equal name in another object, a
    name repeated past the cap, and a freed name's address taken by another
    string all reach the index the names dict gives."""
    agent = make_agent(max_transactions=2)
    first = "".join(["/", "a"])                 # not interned: its own object
    for name in (first, "".join(["/", "a"]), first, "/b", "/c", "/c", "/c", "/b"):
        one_request(agent, name)
    assert agent.name_list == [("/a", "web"), ("/b", "web"), (agent_module.FOLDED, "web")]
    assert agent.dropped["names_folded"] == 3   # each of /c's requests, not its first only
    del first
    for i in range(200):                        # names made and freed: addresses reused
        one_request(agent, "".join(["/", "b" if i % 2 else "z"]))
    counts = {key: row[0] for key, row in totals(agent).items()}
    assert counts == {("/a", "web"): 3, ("/b", "web"): 102, (agent_module.FOLDED, "web"): 103}
    assert agent.dropped["names_folded"] == 103


def test_errors_are_counted_by_class_or_status(make_agent):
    agent = make_agent()
    one_request(agent, "/f", error="KeyError", status=500)
    one_request(agent, "/f", status=503)
    one_request(agent, "/f", status=404)
    one_request(agent, "/f", error="builtins.ValueError", status=None)
    classes = sum(agent.error_classes.values(), collections.Counter())
    assert classes == {"KeyError": 1, "HTTP 503": 1, "builtins.ValueError": 1}
    assert totals(agent)[("/f", "web")][:2] == [4, 3]


def test_a_slow_request_is_kept_and_an_xray_session_keeps_its_own(make_agent):
    agent = make_agent(trace_threshold=1.0)
    fast = one_request(agent, "/t", seconds=0.5)
    slow = one_request(agent, "/t", seconds=2.0)
    slower = one_request(agent, "/t", seconds=3.0)
    assert [entry[1] for entry in agent.kept.values()] == [slower]
    assert agent.dropped["traces_not_slowest"] == 1 and fast is not slow
    session = agent_module.Session({"id": "s1", "kind": "xray", "transaction": "/x", "traces": 1})
    agent.xray_by_name = {"/x": session}
    first = one_request(agent, "/x", seconds=0.5)
    one_request(agent, "/x", seconds=5.0)                # past the session's number, and slow:
    assert [t[1] for t in agent.session_traces] == [first]   # a session's request is not considered
    assert session.kept == 1 and sum(row[2] for row in agent.session_metrics.take()) == 2
    assert ("/x", "web") not in agent.kept


def test_no_trace_is_kept_when_max_traces_is_zero(make_agent):
    agent = make_agent(trace_threshold=1.0, max_traces=0)
    one_request(agent, "/t", seconds=2.0)
    assert not agent.kept and not agent.dropped


def test_ended_requests_are_remembered_while_a_sampler_runs_up_to_the_cap(make_agent,
                                                                           monkeypatch):
    monkeypatch.setattr(agent_module, "MAX_FINISHED", 2)
    agent = make_agent()
    one_request(agent, "/a")
    assert not agent.finished                             # no sampler: no samples to label
    agent.sampler = object()                              # only its presence is read
    records = [one_request(agent, "/a", seconds=0.5) for _ in range(3)]
    assert agent.finished == {records[0].tag: ("/a", "web", 1000.75),
                              records[1].tag: ("/a", "web", 1001.25)}
    assert agent.dropped["finished_over_cap"] == 1


@pytest.mark.parametrize("spoil", [
    lambda record: setattr(record, "queue_s", "soon"),    # not a number
    lambda record: setattr(record, "name", ["unhashable"]),
    lambda record: setattr(record, "sql_s", float("nan")),
], ids=["queue_s", "name", "sql_s"])
def test_an_exception_inside_end_is_counted_and_logged_not_raised(make_agent, caplog, spoil):
    agent = make_agent()
    record = agent.begin("web", "/x")
    spoil(record)
    agent.end(record, 200)                                # does not raise
    assert agent.dropped["record_failed"] == 1
    assert trace.current() is None and not agent.running  # what came before was done
    logged = [r for r in caplog.records if "could not be recorded" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info[0] in (TypeError, ValueError)
    one_request(agent, "/x")                              # and the next request is measured
    assert totals(agent)[("/x", "web")][0] == 1


def test_a_status_that_is_no_number_is_counted_not_raised(make_agent):
    agent = make_agent()
    one_request(agent, "/x", status="teapot")
    assert agent.dropped["record_failed"] == 1


def test_a_request_ended_in_another_context_leaves_that_context_clear(make_agent):
    agent = make_agent()
    record = agent.begin("web", "/x", tag_thread=False)
    context = contextvars.copy_context()
    context.run(trace.activate, "another")                # its own value there
    context.run(agent.end, record, 200)
    assert context.run(trace.current) is None and not agent.dropped
    assert trace.current() is record                      # this context's: not reset from there
    trace.deactivate(record.token)


def test_a_request_current_in_its_thread_is_current_there_only_until_its_end(make_agent):
    agent = make_agent()
    record = agent.begin("web", "/t", "GET", "/t", "", None, True, True)
    assert trace.current() is record and trace.query_trace() is record
    assert trace.current_variable.get() is None           # the context variable untouched
    assert record.token is None and not record.ended
    seen = []
    other = threading.Thread(target=lambda: seen.append(trace.current()))
    other.start()
    other.join()
    assert seen == [None]                                  # another thread's own
    # A trace activated inside it (plumb's per-request profiling) comes first,
    # as the innermost did when both were in the variable.
    inner = Trace("GET", "/t")
    token = trace.activate(inner)
    assert trace.current() is inner
    trace.deactivate(token)
    assert trace.current() is record
    gone = weakref.ref(record)
    agent.end(record, 200)
    assert record.ended and trace.current() is None and not agent.dropped
    assert totals(agent)[("/t", "web")][:2] == [1, 0]
    del record
    gc.collect()
    assert gone() is None                                  # the thread let it go


def test_requests_current_in_a_thread_nest_and_one_ended_elsewhere_is_current_nowhere(
        make_agent):
    agent = make_agent()
    outer = agent.begin("web", "/outer", in_thread=True)
    inner = agent.begin("web", "/inner", in_thread=True)
    assert trace.current() is inner
    agent.end(inner, 200)
    assert trace.current() is outer                        # the one it replaced, back
    agent.end(outer, 200)
    assert trace.current() is None
    # Ended by another thread (a server closing the body there): its own
    # thread no longer finds it, and its next request starts clean.
    record = agent.begin("web", "/closed-elsewhere", in_thread=True)
    gone = weakref.ref(record)
    ender = threading.Thread(target=agent.end, args=(record, 200))
    ender.start()
    ender.join()
    assert record.ended and trace.current() is None
    del record
    after = agent.begin("web", "/next", in_thread=True)
    assert trace.current() is after
    gc.collect()
    assert gone() is None                                  # dropped by the next begin
    agent.end(after, 200)
    assert trace.current() is None and not agent.dropped
    counts = totals(agent)
    assert [counts[(n, "web")][0] for n in ("/outer", "/inner", "/closed-elsewhere",
                                            "/next")] == [1, 1, 1, 1]


def test_the_instruments_record_into_the_request_current_in_the_thread(make_agent):
    agent = make_agent()
    timed = _plumb.TimedCall(lambda request: "response", "middleware", "shop.Middleware",
                             current=trace.current_variable)
    record = agent.begin("web", "/t", in_thread=True)
    try:
        assert timed("request") == "response"
        execute = Execute()
        assert sql_hook.record(execute, "select %s", [1], False, {}) == "rows"
    finally:
        agent.end(record, 200)
    assert [s[:2] for s in record.segments] == [("middleware", "shop.Middleware"),
                                                ("sql", "select %s")]
    assert record.sql_n == 1
    timed("request")                                       # ended: recorded nowhere
    assert len(record.segments) == 2


def test_greenlets_are_told_apart_from_threads():
    import types

    assert not agent_module.greenlets_patched()
    fake = {"gevent.monkey": types.SimpleNamespace(is_module_patched=lambda n: n == "threading")}
    with pytest.MonkeyPatch.context() as m:
        m.setitem(__import__("sys").modules, "gevent.monkey", fake["gevent.monkey"])
        assert agent_module.greenlets_patched()
    with pytest.MonkeyPatch.context() as m:
        m.setitem(__import__("sys").modules, "eventlet.patcher",
                  types.SimpleNamespace(is_monkey_patched=lambda n: n == "thread"))
        assert agent_module.greenlets_patched()
    with pytest.MonkeyPatch.context() as m:   # a patcher that cannot be asked: the safe side
        m.setitem(__import__("sys").modules, "gevent.monkey", types.SimpleNamespace())
        assert agent_module.greenlets_patched()


def test_under_greenlets_a_request_asked_in_its_thread_is_in_the_context_variable(
        make_agent, monkeypatch):
    """gevent patches threading after the fork (and after a --preload master
    made the middleware): the agent tells at the process's first request."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "gevent.monkey",
                        types.SimpleNamespace(is_module_patched=lambda name: True))
    agent = make_agent(start=True)
    record = agent.begin("web", "/g", in_thread=True)
    assert agent._request_path.threads_shared == 1
    assert trace.current_variable.get() is record and trace.current() is record
    agent.end(record, 200)
    assert trace.current_variable.get() is None and trace.current() is None
    assert not agent.dropped


def test_end_refuses_what_begin_did_not_make(make_agent):
    agent = make_agent()
    with pytest.raises(TypeError):
        agent.end(object())


def test_the_agent_on_the_real_clock_reads_it_in_c(tmp_path):
    url = f"sqlite:///{tmp_path}/real.db"
    agent = agent_module.agent_for(Options(store=url, rate=0, harvest_interval=3600))
    try:
        for _ in range(100):
            before = time.perf_counter()
            record = agent.begin("web", "/r", tag_thread=False)
            after = time.perf_counter()
            agent.end(record, 200)
            assert before <= record.started <= after
        assert not agent.dropped
    finally:
        agent_module._agents.pop(url, None)
        agent.shutdown()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_has_its_own_request_path_counting_from_one(make_agent):
    agent = make_agent()
    parent_path = agent._request_path
    one_request(agent, "/parent")
    one_request(agent, "/parent")
    pid = os.fork()
    if pid == 0:
        try:
            record = one_request(agent, "/child")
            ok = (agent._request_path is not parent_path and record.tag == 1
                  and list(totals(agent)) == [("/child", "web")])
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert agent._request_path is parent_path and totals(agent)[("/parent", "web")][0] == 2


# -- Django's query hook --------------------------------------------------------------

class Execute:
    """Django's execute(sql, params, many, context), noting whether a query
    was marked as being recorded while it ran."""

    def __init__(self, fails=None):
        self.fails = fails
        self.calls = []

    def __call__(self, sql, params, many, context):
        self.calls.append((sql, params, many, context, trace.in_query()))
        if self.fails is not None:
            raise self.fails
        return "rows"


def test_the_query_hook_records_into_the_current_record():
    _plumb.mark_driver_queries()     # as a driver instrument's install does
    record = new_record()
    token = trace.activate(record)
    try:
        execute = Execute()
        before = time.perf_counter()
        assert sql_hook.record(execute, "select %s", [1], False, {"c": 1}) == "rows"
        assert sql_hook.record(execute, "insert %s", [[1], [2]], True, {}) == "rows"
        after = time.perf_counter()
    finally:
        trace.deactivate(token)
    assert [c[:4] for c in execute.calls] == [("select %s", [1], False, {"c": 1}),
                                              ("insert %s", [[1], [2]], True, {})]
    assert all(c[4] for c in execute.calls) and not trace.in_query()
    (kind, sql, started, seconds, detail, error, extra), many = record.segments
    assert (kind, sql, detail, error, extra) == ("sql", "select %s", None, None, ([1], False))
    assert many[1] == "insert %s" and many[6] == (None, True)     # many: no parameters kept
    assert before <= started <= started + seconds <= after
    assert record.sql_n == 2 and record.sql_s == seconds + many[3]


QUERY_MARK_SCRIPT = """\
import json
from plumb import _plumb
from plumb.contrib.django import sql as sql_hook
from plumb.monitor.record import RequestRecord
from plumb.web import dbapi, trace

seen = []
def execute(sql, params, many, context):
    seen.append(trace.in_query())
    return "rows"

record = RequestRecord(1, "web", "n", "GET", "/", "", None, False)
token = trace.activate(record)
before = _plumb.driver_queries_marked()
sql_hook.record(execute, "select 1", None, False, {})
dbapi.install_sqlite3()
sql_hook.record(execute, "select 2", None, False, {})
trace.deactivate(token)
print(json.dumps([before, _plumb.driver_queries_marked(), seen, record.sql_n]))
"""


def test_queries_are_marked_only_once_a_driver_instrument_is_installed(tmp_path):
    """Marking a query (a context variable set and reset) is for a driver
    instrument under Django's hook; without one it is not paid."""
    import json
    import subprocess
    import sys

    from test_monitor import env_with_plumb

    script = tmp_path / "mark.py"
    script.write_text(QUERY_MARK_SCRIPT)
    got = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env_with_plumb(), timeout=60)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == [False, True, [False, True], 2]


def test_the_query_hook_only_executes_without_a_trace_or_inside_another_query():
    execute = Execute()
    assert sql_hook.record(execute, "select 1", None, False, {}) == "rows"
    record = new_record()
    token = trace.activate(record)
    marked = trace.begin_query()
    try:
        assert sql_hook.record(execute, "select 2", None, False, {}) == "rows"
    finally:
        trace.end_query(marked)
        trace.deactivate(token)
    assert [c[0] for c in execute.calls] == ["select 1", "select 2"]
    assert record.segments == [] and record.sql_n == 0


def test_a_failing_query_is_recorded_by_its_class_and_raised_again():
    record = new_record()
    token = trace.activate(record)
    failure = sqlite3.OperationalError("no such table: t")
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            sql_hook.record(Execute(failure), "select * from t", (), False, {})
        interrupted = KeyboardInterrupt()
        with pytest.raises(KeyboardInterrupt):
            sql_hook.record(Execute(interrupted), "select 1", (), False, {})
    finally:
        trace.deactivate(token)
    assert raised.value is failure and raised.value.__traceback__ is not None
    assert [s[5] for s in record.segments] == ["OperationalError", "KeyboardInterrupt"]
    assert not trace.in_query()


def test_the_query_hook_records_into_a_trace_through_its_sql_method():
    profiled = Trace("GET", "/x")
    token = trace.activate(profiled)
    try:
        sql_hook.record(Execute(), "select * from t where id = 5", (5,), False, {})
    finally:
        trace.deactivate(token)
    (segment,) = profiled.segments
    assert segment["kind"] == "sql" and segment["name"] == "select * from t where id = ?"


def test_a_recorder_that_fails_never_fails_the_query():
    class Broken:
        def sql(self, *args):
            raise RuntimeError("a broken recorder")

    token = trace.activate(Broken())
    try:
        assert sql_hook.record(Execute(), "select 1", None, False, {}) == "rows"
        with pytest.raises(ZeroDivisionError):       # the query's own error, not the recorder's
            sql_hook.record(Execute(ZeroDivisionError()), "select 1", None, False, {})
    finally:
        trace.deactivate(token)
    assert not trace.in_query()


class SamplesOf:
    """A sampler stand-in: each harvest() gives one sample of one stack per
    tag it is told of (the C sampler's (frames, nodes, tagged, summary))."""
    mode = "wall"

    def __init__(self):
        self.tags = []
        self.harvests = 0

    def harvest(self):
        self.harvests += 1
        frames = [("/app/views.py", 1, "view")]
        nodes = [(-1, 0)]
        tagged, self.tags = [(tag, 0, 1) for tag in self.tags], []
        return frames, nodes, tagged, {"started_ns": 0, "ended_ns": 0, "cpu_ns": 0}

    def stop(self):
        pass


def test_samples_are_labelled_between_harvests_and_the_ended_forgotten(make_agent):
    """Every few seconds the harvest thread labels the samples so far
    (drain_samples): the ended requests kept to label them are let go
    then, not at the harvest, and the harvest's profile holds every drain's
    samples, merged into one profile per transaction."""
    agent = make_agent()
    sampler = agent.sampler = SamplesOf()
    first = [one_request(agent, "/a") for _ in range(3)]
    assert set(agent.finished) == {r.tag for r in first}
    sampler.tags = [r.tag for r in first]
    agent.clock.now += 1
    agent.drain_samples()
    assert agent.finished == {}
    running = agent.begin("web", "/b", "GET", "/b", "")
    second = one_request(agent, "/a")
    sampler.tags = [second.tag, running.tag]
    agent.clock.now += 1
    agent.drain_samples()
    assert agent.finished == {} and set(agent.pending_samples) == {running.tag}
    agent.clock.now += 1
    agent.end(running, 200)
    harvest = agent._take()
    assert sampler.harvests == 3
    profiles = {(p.name, p.kind): p.stacks for p in harvest.profiles}
    stack = (("/app/views.py", 1, "view"),)
    assert profiles == {("/a", "web"): [(stack, 4)], ("/b", "web"): [(stack, 1)]}
    assert agent.partial_profiles == {} and agent.partial_tags == {}
