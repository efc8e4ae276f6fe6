"""Django's monitored request in C: plumb._plumb.TimedCall (the middleware
and view wrappers), plumb._plumb.DjangoRequestEntry (the monitoring
middleware's call for a synchronous stack) and the close hook it puts on
each response.  The entry is driven here by a stand-in agent and stand-in
requests and responses, so every way a request can go is reached; the
last test serves a real Django site through its WSGI handler, as a server
would, with the cyclic collector off."""
import contextvars
import gc
import json
import subprocess
import sys
import threading
import time
import weakref

import pytest

from test_monitor import env_with_plumb

from plumb import _plumb
from plumb.monitor.agent import UNMATCHED
from plumb.monitor.naming import exception_name
from plumb.monitor.queue_time import from_environ
from plumb.monitor.record import RequestRecord
from plumb.web.trace import Trace


class Recorder:
    """A trace of another kind than RequestRecord: segments by its method."""

    def __init__(self, fails_with=None):
        self.segments = []
        self.fails_with = fails_with

    def segment(self, *args):
        if self.fails_with:
            raise self.fails_with
        self.segments.append(args)


# -- TimedCall ----------------------------------------------------------------------

def test_a_middleware_wrapper_records_only_while_a_trace_is_current():
    var = contextvars.ContextVar("t", default=None)
    calls = []
    timed = _plumb.TimedCall(lambda request: calls.append(request) or "response", "middleware",
                             "shop.Middleware", current=var)
    assert timed("r1") == "response" and calls == ["r1"]     # none current: the call alone
    assert timed.__wrapped__ is not None and timed.name == "shop.Middleware"
    record = RequestRecord(1, "web", "n", "GET", "/", "", None, False)
    var.set(record)
    assert timed("r2") == "response"
    (segment,) = record.segments
    kind, name, started, seconds, detail, error, extra = segment
    assert (kind, name, detail, error, extra) == ("middleware", "shop.Middleware", None, None,
                                                  None)
    assert seconds >= 0 and started > 0


def test_a_wrapped_call_that_raises_is_recorded_by_its_class_and_raises_again():
    record = RequestRecord(1, "web", "n", "GET", "/", "", None, False)

    def view(request, pk, page=None):
        raise KeyError(pk)

    timed = _plumb.TimedCall(view, "view", "shop.views.product", trace=record, view=True)
    with pytest.raises(KeyError):
        timed("request", 7, page=2)
    (segment,) = record.segments
    assert segment[0:2] == ("view", "shop.views.product")
    assert segment[5] == "KeyError"
    assert segment[6] == ((7,), {"page": 2})           # the view's arguments, for its trace


def test_a_view_called_with_the_request_alone_keeps_no_arguments():
    record = RequestRecord(1, "web", "n", "GET", "/", "", None, False)
    timed = _plumb.TimedCall(lambda request, *args, **kwargs: "ok", "view", "v", trace=record,
                             view=True)
    timed("request")
    timed("request", 3)
    timed("request", slug="intro")
    assert [segment[6] for segment in record.segments] == [None, ((3,), {}),
                                                           ((), {"slug": "intro"})]
    trace = Trace("GET", "/")
    _plumb.TimedCall(lambda request: "ok", "view", "v", trace=trace, view=True)("request")
    assert "detail" not in trace.segments[0]     # as ((), {}) described gave


def test_the_coroutine_check_answers_as_inspect_does_and_skips_it_for_a_timed_call():
    import asyncio
    import functools
    import inspect

    asked = []

    def check(f):
        asked.append(f)
        return inspect.iscoroutinefunction(f)

    fast = _plumb.CoroutineFunctionCheck(check)
    assert fast.__wrapped__ is check

    async def coroutine(request):
        return "ok"

    class View:
        async def get(self, request):
            return "ok"

    var = contextvars.ContextVar("t", default=None)
    timed = [_plumb.TimedCall(print, "middleware", "m", current=var),
             _plumb.TimedCall(coroutine, "view", "v", trace=Trace("GET", "/"), view=True)]
    others = [print, len, coroutine, functools.partial(coroutine), View, View().get,
              lambda request: None, asyncio.sleep]
    for f in timed + others:
        assert fast(f) is inspect.iscoroutinefunction(f)
    asked.clear()
    assert [fast(f) for f in timed] == [False, False] and asked == []
    assert fast(coroutine) is True and asked == [coroutine]
    with pytest.raises(TypeError, match="not callable"):
        _plumb.CoroutineFunctionCheck(3)


def test_a_view_runs_with_its_request_s_thread_tag_and_the_tag_is_restored():
    record = RequestRecord(41, "web", "n", "GET", "/", "", None, False)
    seen = []
    timed = _plumb.TimedCall(lambda request: seen.append(_plumb.thread_tag()), "view", "v",
                             trace=record, view=True)
    previous = _plumb.set_thread_tag(5)
    try:
        timed("request")
        assert seen == [41] and _plumb.thread_tag() == 5
        # In another thread, as asgiref runs a sync view under ASGI.
        thread = threading.Thread(target=timed, args=("request",))
        thread.start()
        thread.join()
        assert seen == [41, 41]
    finally:
        _plumb.set_thread_tag(previous)


def test_segments_reach_a_plain_trace_through_its_segment_method():
    trace = Trace("GET", "/items")
    timed = _plumb.TimedCall(lambda request, pk: "ok", "view", "shop.views.item", trace=trace,
                             view=True)
    assert timed("request", 3) == "ok"
    (segment,) = trace.segments
    assert (segment["kind"], segment["name"]) == ("view", "shop.views.item")
    assert "3" in segment["detail"]                     # the arguments, described


def test_recording_never_fails_the_call_but_an_interrupt_is_not_swallowed():
    var = contextvars.ContextVar("t", default=None)
    timed = _plumb.TimedCall(lambda request: "response", "middleware", "m", current=var)
    var.set(Recorder(fails_with=RuntimeError("recorder broken")))
    assert timed("r") == "response"
    var.set(Recorder(fails_with=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        timed("r")


def test_timed_call_refuses_what_it_cannot_use():
    var = contextvars.ContextVar("t", default=None)
    with pytest.raises(TypeError, match="one of the two"):
        _plumb.TimedCall(print, "view", "v")
    with pytest.raises(TypeError, match="one of the two"):
        _plumb.TimedCall(print, "view", "v", current=var, trace=Trace("GET", "/"))
    with pytest.raises(TypeError, match="ContextVar"):
        _plumb.TimedCall(print, "middleware", "m", current="not a variable")
    with pytest.raises(TypeError, match="not callable"):
        _plumb.TimedCall(3, "middleware", "m", current=var)
    with pytest.raises(TypeError, match="strings"):
        _plumb.TimedCall(print, 1, "m", current=var)


# -- DjangoRequestEntry -------------------------------------------------------------

class Agent:
    """What the entry asks of plumb's agent: begin and end, as attributes
    it reads on every request (a forked worker's agent binds new ones)."""

    def __init__(self):
        self.begun, self.ended = [], []
        self.begin = self._begin
        self.end = self._end

    def _begin(self, kind, name, method, path, query, queue_s, tag_thread, in_thread):
        assert tag_thread is True
        self.in_thread = in_thread
        self.begun.append((kind, name, method, path, query, queue_s))
        return RequestRecord(len(self.begun), kind, name, method, path, query, queue_s, False)

    def _end(self, record, status):
        self.ended.append((record.name, record.error, status))


class Request:
    def __init__(self, meta=None, method="GET", path_info="/items/"):
        self.META = {"QUERY_STRING": "page=2"} if meta is None else meta
        self.method = method
        self.path_info = path_info


class Response:
    def __init__(self, status_code=200, close_fails=False):
        self.status_code = status_code
        self.closed = 0
        self.close_fails = close_fails

    def close(self):
        self.closed += 1
        if self.close_fails:
            raise OSError("the client went away")


def name_by_match(request, record):
    record.name = getattr(request, "matched", None) or UNMATCHED


def entry_for(agent, get_response):
    return _plumb.DjangoRequestEntry(agent, get_response, name_by_match, exception_name,
                                     from_environ, UNMATCHED)


def test_a_request_begins_and_ends_when_its_response_closes():
    agent = Agent()
    response = Response()
    entry = entry_for(agent, lambda request: response)
    assert entry(Request()) is response
    assert agent.begun == [("web", UNMATCHED, "GET", "/items/", "page=2", None)]
    assert agent.ended == []                             # not yet: its body is being sent
    response.close()
    assert response.closed == 1 and agent.ended == [(UNMATCHED, None, 200)]
    # Closed, the response has its class's close again: no cycle left.
    assert "close" not in vars(response)
    response.close()
    assert response.closed == 2 and len(agent.ended) == 1


def test_a_response_is_freed_without_the_cyclic_collector_once_closed():
    agent = Agent()
    entry = entry_for(agent, lambda request: Response())
    gc.disable()
    try:
        response = entry(Request())
        alive = weakref.ref(response)
        response.close()
        del response
        assert alive() is None
    finally:
        gc.enable()


def test_a_response_never_closed_is_collected_with_its_hook():
    agent = Agent()
    entry = entry_for(agent, lambda request: Response())
    alive = weakref.ref(entry(Request()))
    gc.collect()
    assert alive() is None and agent.ended == []


def test_a_close_that_raises_still_ends_the_request_and_raises():
    agent = Agent()
    response = Response(status_code=206, close_fails=True)
    entry_for(agent, lambda request: response)(Request())
    with pytest.raises(OSError, match="went away"):
        response.close()
    assert agent.ended == [(UNMATCHED, None, 206)]


def test_the_view_s_name_stands_and_an_unnamed_request_is_named_by_its_match():
    agent = Agent()

    def named_by_view(request):
        agent.current.name = "shop.views.items"   # as the view's wrapper does
        return Response()

    def answered_by_middleware(request):
        return Response(status_code=403)

    original_begin = agent.begin
    agent.begin = lambda *a: setattr(agent, "current", original_begin(*a)) or agent.current
    entry_for(agent, named_by_view)(Request()).close()
    request = Request()
    request.matched = "shop.views.guarded"
    entry_for(agent, answered_by_middleware)(request).close()
    assert agent.ended == [("shop.views.items", None, 200), ("shop.views.guarded", None, 403)]


def test_an_exception_ends_the_request_as_a_500_of_its_class_and_is_raised_again():
    agent = Agent()

    def broken(request):
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        entry_for(agent, broken)(Request())
    assert agent.ended == [(UNMATCHED, "ValueError", 500)]


def test_a_response_whose_close_cannot_be_replaced_is_ended_at_once():
    class Fixed:
        __slots__ = ("status_code",)

        def __init__(self):
            self.status_code = 204

        def close(self):
            pass

    agent = Agent()
    response = Fixed()
    assert entry_for(agent, lambda request: response)(Request()) is response
    assert agent.ended == [(UNMATCHED, None, 204)]


def test_queue_time_is_read_from_a_proxy_s_header_and_only_then():
    agent = Agent()
    entry = entry_for(agent, lambda request: Response())
    entry(Request(meta={"HTTP_X_REQUEST_START": "t=%.3f" % (time.time() - 2)}))
    entry(Request(meta={}, method=""))
    (_, _, _, _, _, queued), (_, _, method, _, query, none) = agent.begun
    assert 1 < queued < 3600            # 2 s, and however long this took
    assert (method, query, none) == ("", "", None)


def test_a_failing_begin_or_end_never_fails_the_request():
    agent = Agent()
    failed = []
    agent._record_failed = failed.append
    calls = []
    entry = entry_for(agent, lambda request: calls.append(request) or Response())

    def bad_end(record, status):
        raise RuntimeError("the agent is broken")

    agent.end = bad_end
    response = entry(Request())
    response.close()                                   # ends, the error dropped
    assert len(calls) == 1 and response.closed == 1

    def bad_begin(*args):
        raise MemoryError("no memory for a record")

    agent.begin = bad_begin
    response = entry(Request())                        # served, unmeasured
    assert len(calls) == 2 and "close" not in vars(response)
    assert [type(e) for e in failed] == [MemoryError]  # counted by the agent
    del agent._record_failed                           # even with no agent to tell
    entry(Request())
    assert len(calls) == 3


def test_the_entry_is_called_with_the_request_only():
    entry = entry_for(Agent(), lambda request: Response())
    with pytest.raises(TypeError, match="with the request"):
        entry()
    with pytest.raises(TypeError, match="with the request"):
        entry(Request(), extra=1)


# -- a real Django site, served as a WSGI server would ------------------------------

DJANGO_SITE = """\
import gc, io, json, sys
import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

inside = []

def item(request, pk):
    from plumb.web.trace import current, current_variable
    inside.append([type(current()).__name__, current_variable.get() is None])
    return HttpResponse("item %d" % pk)

inside_async = []

async def aitem(request, pk):
    # Served through the synchronous handler: asgiref runs it in an event
    # loop of another thread.
    from plumb.web.trace import current, current_variable
    inside_async.append([type(current()).__name__, current_variable.get() is None])
    return HttpResponse("aitem %d" % pk)

monitored = sys.argv[2] == "plumb"
urlpatterns = [path("item/<int:pk>/", item), path("aitem/<int:pk>/", aitem)]
settings.configure(
    SECRET_KEY="x", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=["plumb.contrib.django"],
    MIDDLEWARE=["plumb.contrib.django.middleware.MonitoringMiddleware"] * monitored
               + ["django.middleware.common.CommonMiddleware"],
    PLUMB_MONITOR={"store": sys.argv[1], "rate": 0, "harvest_interval": 3600})
django.setup()
from django.core.handlers.wsgi import WSGIHandler
from plumb.web.trace import current

application = WSGIHandler()
statuses, unreachable, frames = [], [], []
calls = [0]

def count_calls(frame, event, arg):
    if event == "call":
        calls[0] += 1

gc.collect()
gc.disable()
for pk in range(6):
    calls[0] = 0
    sys.setprofile(count_calls)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/item/%d/" % pk, "SERVER_NAME": "t",
               "SERVER_PORT": "80", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
               "QUERY_STRING": ""}
    response = application(environ, lambda status, headers: statuses.append(status))
    body = b"".join(response)
    response.close()
    sys.setprofile(None)
    frames.append(calls[0])            # Python functions the request ran
    del response
    unreachable.append(gc.collect())   # what only the cyclic collector would free
gc.enable()
environ = dict(environ, PATH_INFO="/aitem/1/")
response = application(environ, lambda status, headers: statuses.append(status))
b"".join(response)
response.close()
if monitored:
    from plumb.monitor.agent import process_agent
    process_agent().harvest()
from django.core.handlers import base
print(json.dumps({"statuses": statuses, "unreachable": unreachable[1:], "frames": frames[1:],
                  "check": type(base.iscoroutinefunction).__name__,
                  "current": current() is None, "inside": inside,
                  "inside_async": inside_async,
                  "chain": type(application._middleware_chain).__name__}))
"""


def test_a_real_django_site_through_the_c_entry(tmp_path):
    """A site's synchronous chain starts with the C entry, its requests are
    counted by their view, and a monitored request leaves the cyclic
    collector no more to free than a bare one (the close hook, which the
    response holds and which holds the response, is let go at its close)."""
    from plumb.monitor.store import open_store

    store = f"sqlite:///{tmp_path / 'monitor.db'}"
    script = tmp_path / "site.py"
    script.write_text(DJANGO_SITE)
    results = {}
    for config in ("bare", "plumb"):
        got = subprocess.run([sys.executable, str(script), store, config], capture_output=True,
                             text=True, cwd=tmp_path, env=env_with_plumb(), timeout=120)
        assert got.returncode == 0, got.stderr
        results[config] = json.loads(got.stdout.splitlines()[-1])
    bare, plumb = results["bare"], results["plumb"]
    assert bare["statuses"] == plumb["statuses"] == ["200 OK"] * 7
    assert plumb["unreachable"] == bare["unreachable"]
    # No Python frame of plumb's on a monitored request: the entry, the
    # wrappers and the close hook are C, and Django's coroutine check of the
    # view's wrapper is answered in C too (inspect's slow path was two frames).
    assert plumb["check"] == "CoroutineFunctionCheck"
    assert all(p <= b for p, b in zip(plumb["frames"], bare["frames"])), (plumb, bare)
    assert plumb["current"] and plumb["chain"] == "DjangoRequestEntry"
    # The request's record is current in its thread, not in the context
    # variable (setting one is thousands of instructions a request).
    assert plumb["inside"] == [["RequestRecord", True]] * 6
    assert bare["inside"] == [["NoneType", True]] * 6
    # An async view on the synchronous stack runs in asgiref's loop thread:
    # the record is made current in its context there.
    assert plumb["inside_async"] == [["RequestRecord", False]]
    assert bare["inside_async"] == [["NoneType", True]]
    with open_store(store) as s:
        rows = {r["name"]: r["count"] for r in s.transactions(0, 2**40)}
    assert rows == {"__main__.item": 6, "__main__.aitem": 1}


def test_the_entry_asks_begin_for_the_thread_only_when_made_so():
    for in_thread in (False, True):
        agent = Agent()
        response = Response()
        entry = _plumb.DjangoRequestEntry(agent, lambda request: response, name_by_match,
                                          exception_name, from_environ, UNMATCHED,
                                          in_thread=in_thread)
        assert entry(Request()) is response and agent.in_thread is in_thread
        response.close()
        assert len(agent.ended) == 1
    with pytest.raises(TypeError):      # a keyword only
        _plumb.DjangoRequestEntry(agent, print, name_by_match, exception_name, from_environ,
                                  UNMATCHED, True)
