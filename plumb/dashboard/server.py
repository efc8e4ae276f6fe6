"""`plumb serve`: the dashboard's web server, on the standard library's
threading HTTP server (plumb keeps no run-time dependency).

    plumb serve [--store URL] [--host 127.0.0.1] [--port 8321] [--token T]

It binds to loopback unless told otherwise; off loopback it refuses to
start without a token (access.py).  It answers the JSON API (api.py) and
/metrics (prometheus.py); every answer carries nosniff, no-referrer and a
content security policy, and is never cached."""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..errors import UsageError
from .access import Access, is_loopback
from .api import MAX_BODY
from .app import SECURITY_HEADERS, DashboardApp, Response, json_response

DEFAULT_PORT = 8321
TOKEN_VARIABLE = "PLUMB_DASHBOARD_TOKEN"

def make_handler(app, access):
    class Handler(BaseHTTPRequestHandler):
        server_version = "plumb"
        sys_version = ""

        def log_message(self, format, *args):   # quiet: a dashboard is not a web server's log
            pass

        def _send(self, response):
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in SECURITY_HEADERS + response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _serve(self, method):
            url = urlsplit(self.path)
            token = parse_qs(url.query).get("token", [None])[0]
            if method == "GET" and token is not None and access.token_matches(token):
                # A browser's first visit: the token becomes a session cookie,
                # and leaves the address bar (and the history).
                self._send(Response(303, content_type="text/plain",
                                    headers=(("Set-Cookie", access.cookie_header()),
                                             ("Location", url.path or "/"))))
                return
            refused = access.allowed(self.headers)
            if refused is not None:
                self._send(json_response(refused[0], {"error": refused[1]}))
                return
            body = None
            if method == "POST":
                if not access.change_allowed(self.headers):
                    self._send(json_response(403, {"error": "a change needs the header "
                                                            "X-Plumb-Request: 1"}))
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY:
                    self._send(json_response(413, {"error": "the body is too large"}))
                    return
                body = self.rfile.read(length)
            self._send(app.respond(method, url.path, url.query, body))

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
    app = DashboardApp(store)
    try:
        server = ThreadingHTTPServer((host, port), make_handler(app, Access(token, loopback)))
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
