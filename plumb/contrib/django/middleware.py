"""Django middleware that profiles the requests chosen by settings.PLUMB
(plumb.web.Options: a trigger with a signed token by default, `plumb
token` prints one), each into its own file, with a Server-Timing header.

Put it first in MIDDLEWARE so that the profile covers the rest of the
middleware and the view.  It serves synchronous (WSGI) and asynchronous
(ASGI) handlers alike: under ASGI the request's whole life is profiled in
every thread, since asgiref runs synchronous views and ORM calls in worker
threads, and a request never waits for another's profile (it would stall
the event loop).  A streaming response is profiled until its content has
been sent, whether its iterator is synchronous or asynchronous."""
from ...monitor.naming import is_async
from ...web.profiler import RequestProfiler
from .settings import options_from_settings

try:
    from asgiref.sync import markcoroutinefunction
except ImportError:   # asgiref < 3.6 (Django < 4.2 is not supported anyway)
    markcoroutinefunction = None


class ProfilingMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.profiler = RequestProfiler(options_from_settings())
        self._async = is_async(get_response)
        if self._async and markcoroutinefunction is not None:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._async:
            return self._acall(request)
        if not self.profiler.wanted(request.META, request):
            return self.get_response(request)
        session = self.profiler.begin()
        if session is None:
            return self.get_response(request)
        end = self._ender(session, request)
        try:
            response = self.get_response(request)
        except BaseException:
            end()
            raise
        return self._respond(session, response, end)

    async def _acall(self, request):
        if not self.profiler.wanted(request.META, request):
            return await self.get_response(request)
        session = self.profiler.begin(wait=False, all_threads=True)
        if session is None:
            return await self.get_response(request)
        end = self._ender(session, request)
        try:
            response = await self.get_response(request)
        except BaseException:
            end()
            raise
        return self._respond(session, response, end)

    def _ender(self, session, request):
        done = []

        def end():
            if not done:
                done.append(True)
                self.profiler.end(session, request.method, request.path_info)
        return end

    def _respond(self, session, response, end):
        session.app_done()
        if self.profiler.options.server_timing:
            response["Server-Timing"] = session.server_timing()
        if getattr(response, "streaming", False):
            content = response.streaming_content
            if hasattr(content, "__aiter__"):
                response.streaming_content = _until_sent_async(content, end)
            else:
                response.streaming_content = _until_sent(content, end)
        else:
            end()
        return response


def _until_sent(content, end):
    try:
        yield from content
    finally:
        end()


async def _until_sent_async(content, end):
    try:
        async for chunk in content:
            yield chunk
    finally:
        end()


from .monitoring import MonitoringMiddleware  # noqa: E402  (plumb.monitor's, re-exported here)
