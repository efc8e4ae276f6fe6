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

    def _begin(self, request, tag_thread):
        meta = request.META
        # The queue-time headers are rare: the clock is read only with one.
        queued = queue_time.from_environ(meta, time.time()) if (
            "HTTP_X_REQUEST_START" in meta or "HTTP_X_QUEUE_START" in meta) else None
        return self.agent.begin("web", UNMATCHED, request.method or "", request.path_info,
                                meta.get("QUERY_STRING", ""), queued, tag_thread=tag_thread)

    def __call__(self, request):
        if self._async:
            return self._acall(request)
        # _begin's work inline: this runs on every request, and a Python
        # frame is about a thousand instructions.
        meta = request.META
        queued = queue_time.from_environ(meta, time.time()) if (
            "HTTP_X_REQUEST_START" in meta or "HTTP_X_QUEUE_START" in meta) else None
        record = self.agent.begin("web", UNMATCHED, request.method or "", request.path_info,
                                  meta.get("QUERY_STRING", ""), queued, tag_thread=True)
        try:
            response = self.get_response(request)
        except BaseException as e:
            record.error = record.error or naming.exception_name(e)
            self._end(request, record, 500)
            raise
        return self._end_on_close(request, record, response)

    async def _acall(self, request):
        from ...monitor.asgi import TaggedCoroutine

        record = self._begin(request, False)
        try:
            response = await TaggedCoroutine(self.get_response(request), record.tag)
        except BaseException as e:
            record.error = record.error or naming.exception_name(e)
            self._end(request, record, 500)
            raise
        return self._end_on_close(request, record, response)

    def _end(self, request, record, status):
        # The view's wrapper (handler.py) names the record when the view
        # runs; a request answered before its view (a middleware's
        # process_view) is named by its URL's match here.
        if record.name == UNMATCHED:
            _name_by_match(request, record)
        self.agent.end(record, status)

    def _end_on_close(self, request, record, response):
        """The request ends when the server closes the response: after the
        whole body, streaming or not, has been sent."""
        close = response.close
        agent_end = self.agent.end
        ended = []

        def close_and_end():
            try:
                close()
            finally:
                if not ended:
                    ended.append(True)
                    # The response held this closure and the closure the
                    # response: a cycle only the garbage collector would
                    # free, with the request's record (measured: 14 us of
                    # collection a request).  Once closed it is let go.
                    response.__dict__.pop("close", None)
                    if record.name == UNMATCHED:     # _end's, without its frame
                        _name_by_match(request, record)
                    agent_end(record, response.status_code)

        response.close = close_and_end
        return response
