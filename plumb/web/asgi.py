"""Per-request profiling for any ASGI application (FastAPI, Starlette,
Django's ASGI handler...):

    from plumb.web import ASGIMiddleware
    app = ASGIMiddleware(app, requests="trigger", secret=os.environ["PLUMB_SECRET"])

The request's whole life is profiled, from the first byte in to the last
byte of a streaming body out, in every thread: frameworks run synchronous
endpoints and iterators in worker threads (FastAPI's threadpool).  Other
requests that run meanwhile, in the loop or in those threads, show in the
profile too; a profiled request never waits for another (that would stall
the loop): it is served unprofiled and counted in `busy`."""
from .profiler import Options, RequestProfiler


def environ_of(scope):
    """The parts of a WSGI environ that choosing a request looks at."""
    environ = {"REQUEST_METHOD": scope.get("method", "GET"), "PATH_INFO": scope.get("path", "/"),
               "QUERY_STRING": scope.get("query_string", b"").decode("latin-1")}
    for name, value in scope.get("headers", ()):
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]}; {text}" if key in environ and key == "HTTP_COOKIE" else text
    return environ


class ASGIMiddleware:
    def __init__(self, app, options=None, **settings):
        """options: a plumb.web.Options, or its keyword arguments."""
        self.app = app
        self.profiler = RequestProfiler(options or Options(**settings))

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        environ = environ_of(scope)
        if not self.profiler.wanted(environ):
            return await self.app(scope, receive, send)
        session = self.profiler.begin(wait=False, all_threads=True)
        if session is None:
            return await self.app(scope, receive, send)
        timing = self.profiler.options.server_timing

        async def send_timed(message):
            if message.get("type") == "http.response.start":
                session.app_done()
                if timing:
                    headers = list(message.get("headers", []))
                    headers.append((b"server-timing", session.server_timing().encode("latin-1")))
                    message = dict(message, headers=headers)
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            self.profiler.end(session, environ["REQUEST_METHOD"], environ["PATH_INFO"])
