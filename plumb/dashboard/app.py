"""The dashboard as one function of a request, whoever serves it: `plumb
serve` (server.py, with its token and loopback rules) and the pages Django
mounts in a site (plumb.contrib.django.urls, behind Django's login) both
call DashboardApp.respond().  Who may ask is the caller's business; what
to answer is decided here, once."""
import json
import logging
import time

from . import api as api_module
from . import pages as pages_module
from . import prometheus

log = logging.getLogger("plumb")

JSON = "application/json"
# Sent with every answer, by every server of the dashboard.
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'"),
                    ("X-Frame-Options", "SAMEORIGIN"), ("Cache-Control", "no-store"))


class Response:
    __slots__ = ("status", "content_type", "body", "headers")

    def __init__(self, status, body=b"", content_type=JSON, headers=()):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = tuple(headers)


def json_response(status, value):
    return Response(status, json.dumps(value, separators=(",", ":")).encode("utf-8"))


class DashboardApp:
    def __init__(self, store, base=""):
        """base: the path the dashboard is mounted at ("" for plumb serve,
        "/plumb" under a Django site's urls)."""
        self.store = store
        self.base = base.rstrip("/")
        self.api = api_module.Api(store)
        self.pages = pages_module.Pages(self.api, self.base)

    def respond(self, method, path, query, body=None):
        """path: below base ("/api/v1/transactions", "/metrics", "/": the pages)."""
        try:
            if path == "/metrics" and method == "GET":
                rows = prometheus.rows_by_host(self.store, time.time() + 120)
                text = prometheus.exposition(rows)
                return Response(200, text, prometheus.CONTENT_TYPE)
            if path in ("/api", "/api/"):
                return Response(302, headers=(("Location", self.base + api_module.PREFIX),),
                                content_type="text/plain")
            if path.startswith(api_module.PREFIX):
                if method == "POST" and body is not None and len(body) > api_module.MAX_BODY:
                    return json_response(413, {"error": "the body is too large"})
                status, value = self.api.handle(method, path, query, body)
                return json_response(status, value)
            page = self.pages.respond(method, path, query)
            if page is not None:
                return Response(page[0], page[2], page[1])
            return json_response(404, {"error": f"no {path}"})
        except api_module.ApiError as e:
            return json_response(e.status, {"error": str(e)})
        except ValueError as e:          # StoreError among them: one line, no traceback
            return json_response(503 if type(e).__name__ == "StoreError" else 400,
                                 {"error": str(e)})
        except Exception as e:
            log.exception("plumb dashboard: %s %s failed", method, path)
            return json_response(500, {"error": f"{type(e).__name__}: {e}"})
