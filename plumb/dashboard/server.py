"""`plumb serve`: the dashboard's web server, on the standard library's
threading HTTP server (plumb keeps no run-time dependency).

    plumb serve [--store URL] [--host 127.0.0.1] [--port 8321] [--token T]

It binds to loopback unless told otherwise; off loopback it refuses to
start without a token (access.py).  It answers the JSON API (api.py) and
/metrics (prometheus.py); every answer carries nosniff, no-referrer and a
content security policy, and is never cached."""
import json
import logging
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError
from . import api as api_module
from . import prometheus
from .access import Access, is_loopback

log = logging.getLogger("plumb")

DEFAULT_PORT = 8321
TOKEN_VARIABLE = "PLUMB_DASHBOARD_TOKEN"
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
                    ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store"))


class Dashboard:
    def __init__(self, store, access):
        self.store = store
        self.access = access
        self.api = api_module.Api(store)

    def metrics(self):
        return prometheus.exposition(self.store.transactions(0, time.time() + 120))


def make_handler(dashboard):
    class Handler(BaseHTTPRequestHandler):
        server_version = "plumb"
        sys_version = ""

        def log_message(self, format, *args):   # quiet: a dashboard is not a web server's log
            pass

        def _send(self, status, body, content_type="application/json", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS + tuple(extra):
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status, value, extra=()):
            self._send(status, json.dumps(value, separators=(",", ":")).encode("utf-8"),
                       extra=extra)

        def _serve(self, method):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            token = query.get("token", [None])[0]
            if method == "GET" and token is not None and dashboard.access.token_matches(token):
                # A browser's first visit: the token becomes a session cookie,
                # and leaves the address bar (and the history).
                self._send(303, b"", "text/plain",
                           (("Set-Cookie", dashboard.access.cookie_header()),
                            ("Location", url.path or "/")))
                return
            refused = dashboard.access.allowed(self.headers)
            if refused is not None:
                self._json(refused[0], {"error": refused[1]})
                return
            if method == "POST" and not dashboard.access.change_allowed(self.headers):
                self._json(403, {"error": "a change needs the header X-Plumb-Request: 1"})
                return
            try:
                if url.path == "/metrics" and method == "GET":
                    self._send(200, dashboard.metrics(), prometheus.CONTENT_TYPE)
                elif url.path in ("/", "/api", "/api/"):
                    self._send(302, b"", "text/plain", (("Location", api_module.PREFIX),))
                elif url.path.startswith(api_module.PREFIX):
                    body = None
                    if method == "POST":
                        length = int(self.headers.get("Content-Length") or 0)
                        if not 0 <= length <= api_module.MAX_BODY:
                            self._json(413, {"error": "the body is too large"})
                            return
                        body = self.rfile.read(length)
                    status, value = dashboard.api.handle(method, url.path, url.query, body)
                    self._json(status, value)
                else:
                    self._json(404, {"error": f"no {url.path}"})
            except api_module.ApiError as e:
                self._json(e.status, {"error": str(e)})
            except ValueError as e:          # StoreError among them: one line, no traceback
                self._json(503 if type(e).__name__ == "StoreError" else 400, {"error": str(e)})
            except Exception as e:
                log.exception("plumb serve: %s %s failed", method, url.path)
                self._json(500, {"error": f"{type(e).__name__}: {e}"})

        def do_GET(self):
            self._serve("GET")

        def do_HEAD(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

    return Handler


def serve(store_url, host="127.0.0.1", port=DEFAULT_PORT, token=None, ready=None):
    """Serves until interrupted; ready(address) is called once listening."""
    from ..monitor.store import StoreError, default_store_url, open_store

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    loopback = is_loopback(host)
    if not loopback and not token:
        raise UsageError(f"serve: {host} is not a loopback address; give a token (--token or "
                         f"${TOKEN_VARIABLE}) so that only those who have it see the dashboard")
    try:
        store = open_store(store_url or default_store_url())
    except StoreError as e:
        raise UsageError(f"serve: {e}") from None
    dashboard = Dashboard(store, Access(token, loopback))
    try:
        server = ThreadingHTTPServer((host, port), make_handler(dashboard))
    except OSError as e:
        store.close()
        raise UsageError(f"serve: cannot listen on {host}:{port}: {e.strerror or e}") from None
    server.daemon_threads = True
    address = f"http://{host if ':' not in host else '[' + host + ']'}:{server.server_port}/"
    print(f"plumb serve: {address} (store {store_url or default_store_url()})", file=sys.stderr,
          flush=True)
    if ready is not None:
        ready(address)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0
