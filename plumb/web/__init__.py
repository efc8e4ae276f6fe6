"""Per-request profiling of web applications: WSGI and ASGI middleware
(wsgi.py, asgi.py),
the options and the per-request profile they share (profiler.py), signed
trigger tokens (token.py) and per-request file names (naming.py).  Django
has its own app, plumb.contrib.django."""
from .asgi import ASGIMiddleware
from .profiler import Options, RequestProfiler
from .token import check_token, make_token
from .wsgi import WSGIMiddleware

__all__ = ["ASGIMiddleware", "Options", "RequestProfiler", "WSGIMiddleware", "make_token",
           "check_token"]
