"""A profiled request's middleware and view as trace segments.

Django builds its middleware chain once, wrapping each middleware with
convert_exception_to_response() and the view with make_view_atomic() on
every request; both are wrapped here (at app start, before the chain is
built), so every middleware's call and the view's, with its URL arguments,
become nested segments of the current request's trace.  Without a current
trace each wrapper is one context-variable read."""
import inspect
import time

from ... import _plumb
from ...monitor.naming import dotted_name, is_async, known_views, view_facts
from ...monitor.record import RequestRecord
from ...web.trace import activate, current, current_variable, deactivate

TimedCall = _plumb.TimedCall


def _timed_middleware(handler, name):
    """handler (one middleware, called with the request), recording a
    segment while a trace is current, one context-variable read when none
    is.  A synchronous one's wrapper is C (_plumb.TimedCall): it runs on
    every request, and a Python wrapper's frame is about a thousand
    instructions."""
    if not is_async(handler):
        return TimedCall(handler, "middleware", name, current=current_variable)

    async def timed(request):
        trace = current()
        if trace is None:
            return await handler(request)
        started = time.perf_counter()
        error = None
        try:
            return await handler(request)
        except BaseException as e:
            error = type(e).__name__
            raise
        finally:
            try:
                trace.segment("middleware", name, started, time.perf_counter() - started,
                              None, error)
            except Exception:   # recording must never fail the request
                pass
    timed.__wrapped__ = handler
    return timed


def _timed_view(view, name, trace, coroutine):
    """view (made by make_view_atomic for this request, a coroutine
    function if coroutine), recording its segment, with its URL arguments,
    into trace.  A synchronous view's thread carries the request's tag
    while it runs, set in the thread the view runs in (asgiref's, under the
    ASGI handler), so that the sampler labels its samples with the request."""
    if not coroutine:
        return TimedCall(view, "view", name, trace=trace, view=True)

    async def timed(request, *args, **kwargs):
        # On a synchronous stack the monitored request's record is current
        # in its thread (src/cpython/current_trace.c), and asgiref runs this
        # coroutine in an event loop of another thread: made current in
        # the coroutine's context too, for the templates and calls it makes.
        token = activate(trace) if current_variable.get() is not trace else None
        started = time.perf_counter()
        error = None
        try:
            return await view(request, *args, **kwargs)
        except BaseException as e:
            error = type(e).__name__
            raise
        finally:
            try:
                trace.segment("view", name, started, time.perf_counter() - started, None,
                              error, (args, kwargs))
            except Exception:   # recording must never fail the request
                pass
            if token is not None:
                deactivate(token)
    timed.__wrapped__ = view
    return timed


def install():
    from django.core.handlers import base

    if getattr(base.convert_exception_to_response, "_plumb", False):
        return
    original_convert = base.convert_exception_to_response
    original_atomic = base.BaseHandler.make_view_atomic

    def convert_exception_to_response(get_response):
        # The monitoring middleware's own call, in C for a synchronous
        # stack (monitoring.py), in its place: it begins the trace that
        # the other wrappers record into, so it has no segment of its own;
        # and it raises no Exception that Django's wrapper would turn into
        # a response (src/cpython/django_entry.c), so it has none of those.
        entry = getattr(get_response, "plumb_entry", None)
        if isinstance(entry, _plumb.DjangoRequestEntry):
            return entry
        handler = original_convert(get_response)
        if inspect.ismethod(get_response) and isinstance(get_response.__self__, base.BaseHandler):
            return handler    # the innermost: URL resolution and the view, which has its own
        return _timed_middleware(handler, dotted_name(get_response))

    def make_view_atomic(self, view):
        wrapped = original_atomic(self, view)
        trace = current()
        if trace is None:
            return wrapped
        try:                            # view_facts, without its frame
            name, coroutine = known_views[view]
        except (KeyError, TypeError):
            name, coroutine = view_facts(view)
        if type(trace) is RequestRecord:
            # A monitored request is named by its view (the URL's match):
            # named here, the middleware's end need not look it up again.
            trace.name = name
        if not coroutine:                # _timed_view's, without its frame
            return TimedCall(wrapped, "view", name, None, trace, True)
        return _timed_view(wrapped, name, trace, coroutine)

    # Django asks iscoroutinefunction of the view make_view_atomic returns,
    # on every request; of a TimedCall inspect's answer (False) takes its
    # slow path, and this gives it at once (src/cpython/timed_call.c).
    check = getattr(base, "iscoroutinefunction", None)
    if callable(check) and not isinstance(check, _plumb.CoroutineFunctionCheck):
        base.iscoroutinefunction = _plumb.CoroutineFunctionCheck(check)
    convert_exception_to_response._plumb = True
    convert_exception_to_response.__wrapped__ = original_convert
    make_view_atomic._plumb = True
    make_view_atomic.__wrapped__ = original_atomic
    base.convert_exception_to_response = convert_exception_to_response
    base.BaseHandler.make_view_atomic = make_view_atomic
