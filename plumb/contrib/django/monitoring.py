"""Django's monitoring middleware: every request measured and named by its
view, into plumb.monitor's agent.  Put it first in MIDDLEWARE, so that it
measures the rest of the chain; options in settings.PLUMB_MONITOR (a dict
of plumb.monitor.Options' keyword arguments).  With enabled=False it takes
itself out of the chain (MiddlewareNotUsed) and costs nothing.

A request ends when the server closes the response (after a streaming
body's last chunk); its name is its view's dotted path
(request.resolver_match), and requests no URL pattern matched share one.
An exception the view raised, which Django turns into a 500 response
before this middleware sees it, is known by got_request_exception."""
import inspect
import sys
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.signals import got_request_exception

from ... import _plumb
from ...monitor import naming, queue_time
from ...monitor.agent import UNMATCHED, agent_for
from ...monitor.options import Options
from ...monitor.record import RequestRecord
from ...web.trace import current

try:
    from asgiref.sync import markcoroutinefunction
except ImportError:
    markcoroutinefunction = None


def options_from_settings():
    config = dict(getattr(settings, "PLUMB_MONITOR", {}) or {})
    # Django's own hook records its queries; its driver's would double them.
    config.setdefault("instruments", ("http",))
    known = set(inspect.signature(Options).parameters)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ImproperlyConfigured(f"settings.PLUMB_MONITOR: unknown option {unknown[0]!r} "
                                   f"(known: {', '.join(sorted(known))})")
    try:
        return Options(**config)
    except (TypeError, ValueError) as e:
        raise ImproperlyConfigured(f"settings.PLUMB_MONITOR: {e}") from None


def _on_exception(sender, request=None, **kwargs):
    record = current()
    if type(record) is RequestRecord and record.error is None:
        exc = sys.exc_info()[1]
        if exc is not None:
            record.error = naming.exception_name(exc)


def _name_by_match(request, record):
    """A record its view's wrapper did not name (a middleware answered
    before the view) is named by its URL's match, if any."""
    try:
        record.name = naming.django_name(request) or UNMATCHED
    except Exception:
        pass


class MonitoringMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        options = options_from_settings()
        if not options.enabled:
            raise MiddlewareNotUsed("plumb monitoring is off (PLUMB_MONITOR['enabled'])")
        self.agent = agent_for(options)
        got_request_exception.connect(_on_exception, dispatch_uid="plumb.monitor")
        self._async = naming.is_async(get_response)
        if self._async and markcoroutinefunction is not None:
            markcoroutinefunction(self)
        # The request's begin and end in C; for a synchronous stack its
        # whole call, which handler.py puts in Django's chain in this
        # middleware's place, so that no Python frame of plumb's runs for
        # them (a frame is about a thousand instructions).
        # Its record current in the thread, not in a context variable
        # (src/cpython/current_trace.c), unless greenlets share the thread
        # (the agent tells at its first request: agent.greenlets_patched).
        self._entry = _plumb.DjangoRequestEntry(
            self.agent, get_response, _name_by_match, naming.exception_name,
            queue_time.from_environ, UNMATCHED, in_thread=True)
        self.plumb_entry = None if self._async else self._entry

    def _begin(self, request):
        # The async stack's begin (the sync one's is plumb_entry's, in C).
        meta = request.META
        # The queue-time headers are rare: the clock is read only with one.
        queued = queue_time.from_environ(meta, time.time()) if (
            "HTTP_X_REQUEST_START" in meta or "HTTP_X_QUEUE_START" in meta) else None
        return self.agent.begin("web", UNMATCHED, request.method or "", request.path_info,
                                meta.get("QUERY_STRING", ""), queued, tag_thread=False)

    def __call__(self, request):
        # Called here only where handler.py is not installed (Django's
        # chain calls plumb_entry itself).
        if self._async:
            return self._acall(request)
        return self.plumb_entry(request)

    async def _acall(self, request):
        from ...monitor.asgi import TaggedCoroutine

        record = self._begin(request)
        try:
            response = await TaggedCoroutine(self.get_response(request), record.tag)
        except BaseException as e:
            self._entry.end_failed(request, record, e)
            raise
        # The request ends when the server closes the response: after the
        # whole body, streaming or not, has been sent.
        return self._entry.end_on_close(request, record, response)
