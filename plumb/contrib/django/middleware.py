"""Django middleware that profiles the requests chosen by settings.PLUMB
(plumb.web.Options: a trigger with a signed token by default, `plumb
token` prints one), each into its own file, with a Server-Timing header.

Put it first in MIDDLEWARE so that the profile covers the rest of the
middleware and the view.  A streaming response is profiled until its
content has been sent."""
from ...web.profiler import RequestProfiler
from .settings import options_from_settings


class ProfilingMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.profiler = RequestProfiler(options_from_settings())

    def __call__(self, request):
        if not self.profiler.wanted(request.META, request):
            return self.get_response(request)
        session = self.profiler.begin()
        if session is None:
            return self.get_response(request)
        done = []

        def end():
            if not done:
                done.append(True)
                self.profiler.end(session, request.method, request.path_info)

        try:
            response = self.get_response(request)
        except BaseException:
            end()
            raise
        session.app_done()
        if self.profiler.options.server_timing:
            response["Server-Timing"] = session.server_timing()
        if getattr(response, "streaming", False):
            response.streaming_content = _until_sent(response.streaming_content, end)
        else:
            end()
        return response


def _until_sent(content, end):
    try:
        yield from content
    finally:
        end()
