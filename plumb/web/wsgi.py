"""Per-request profiling for any WSGI application (Flask, Django,
Bottle...): wrap the application, and the requests chosen by the options
(plumb/web/profiler.py) are profiled, each into its own file, with a
Server-Timing header on the response.

    from plumb.web import WSGIMiddleware
    app = WSGIMiddleware(app, requests="trigger", secret=os.environ["PLUMB_SECRET"])

The profile covers the application call and the iteration of its body, so
streaming responses are profiled whole; it ends when the server closes the
body, as PEP 3333 requires."""
from .profiler import Options, RequestProfiler


class WSGIMiddleware:
    def __init__(self, app, options=None, **settings):
        """options: a plumb.web.Options, or its keyword arguments."""
        self.app = app
        self.profiler = RequestProfiler(options or Options(**settings))

    def __call__(self, environ, start_response):
        if not self.profiler.wanted(environ):
            return self.app(environ, start_response)
        session = self.profiler.begin()
        if session is None:
            return self.app(environ, start_response)
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        timing = self.profiler.options.server_timing

        def start(status, headers, exc_info=None):
            session.app_done()
            if timing:
                headers = list(headers) + [("Server-Timing", session.server_timing())]
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            self.profiler.end(session, method, path)
            raise
        return ClosingBody(body, lambda: self.profiler.end(session, method, path))


class ClosingBody:
    """An application's body, calling on_close() once when the server
    closes it (PEP 3333), whether it was sent whole or not; on_error(exc),
    if given, hears of an exception the body raised while being sent."""
    __slots__ = ("_body", "_on_close", "_on_error", "_closed")

    def __init__(self, body, on_close, on_error=None):
        self._body = body
        self._on_close = on_close
        self._on_error = on_error
        self._closed = False

    def __iter__(self):
        if self._on_error is None:
            return iter(self._body)
        return self._iterate()

    def _iterate(self):
        try:
            yield from self._body
        except BaseException as e:
            self._on_error(e)
            raise

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()
