"""The dashboard's pages: one HTML page (static/dashboard.html) whose
script (dashboard.js) draws every view from the JSON API, its static files,
and the HTML report (plumb/report) made on the server for a profile or a
trace, which the pages show in a frame.

    GET /                          the pages (routes after '#': #/overview...)
    GET /static/NAME               dashboard.js, dashboard.css, report.js, report.css, favicon.svg
    GET /report/profile?transaction=&kind=&since=&until=&session=&host=&view=
    GET /report/trace/ID

The server's content security policy forbids inline scripts and styles,
so the page and the report load theirs from /static/.  Every link and fetch
is relative to the mount point, written into the page as data-base, so the
same pages work under `plumb serve` (base "") and under a site's prefix
(Django's "/plumb")."""
import html
import os
import tempfile
from urllib.parse import parse_qs

from ..monitor import commands as monitor_commands
from . import api as api_module

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT_DIR = os.path.join(os.path.dirname(HERE), "report")
STATIC = {
    "dashboard.js": (os.path.join(HERE, "static", "dashboard.js"), "text/javascript; charset=utf-8"),
    "dashboard.css": (os.path.join(HERE, "static", "dashboard.css"), "text/css; charset=utf-8"),
    "report.js": (os.path.join(REPORT_DIR, "report.js"), "text/javascript; charset=utf-8"),
    "report.css": (os.path.join(REPORT_DIR, "report.css"), "text/css; charset=utf-8"),
    "favicon.svg": (os.path.join(HERE, "static", "favicon.svg"), "image/svg+xml"),
}
HTML = "text/html; charset=utf-8"
REPORT_VIEWS = ("flame", "icicle", "squaremap", "table", "topdown", "bottomup", "timeline")
NO_SAMPLES_OF_TRACE = ("(no samples of this request: shorter than the sampling interval, "
                       "or no sampler)")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _message_page(base, title, text):
    """A small page for the report's frame when there is nothing to draw."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f'{html.escape(title)}</title><link rel="stylesheet" '
            f'href="{html.escape(base, quote=True)}/static/dashboard.css"></head>'
            f'<body class="message" data-ready="1"><p>{html.escape(text)}</p></body></html>'
            ).encode("utf-8")


def profile_json(stacks, rate_hz, title):
    """The plumb JSON profile of stacks [(frames, count)], as the command
    line's `plumb profile -o x.json` writes it."""
    from .. import _plumb

    interval = 1.0 / rate_hz if rate_hz and rate_hz > 0 else 0.01
    with tempfile.TemporaryDirectory(prefix="plumb-dashboard-") as folder:
        path = os.path.join(folder, "profile.json")
        _plumb.convert_samples(monitor_commands.collapsed_text(stacks), "collapsed", path,
                               "json", interval, title)
        with open(path, encoding="utf-8") as f:
            return f.read()


class Pages:
    def __init__(self, api, base=""):
        self.api = api
        self.base = base

    def respond(self, method, path, query):
        """(status, content type, body), or None for a path that is not a page."""
        if method != "GET":
            return None
        if path == "/":
            return 200, HTML, self.index()
        if path.startswith("/static/"):
            found = STATIC.get(path[len("/static/"):])
            if found is None:
                return None
            return 200, found[1], _read(found[0])
        if path == "/report/profile":
            return self.profile_report(query)
        if path.startswith("/report/trace/") and path.count("/") == 3:
            return self.trace_report(path[len("/report/trace/"):])
        return None

    def index(self):
        page = _read(os.path.join(HERE, "static", "dashboard.html")).decode("utf-8")
        return page.replace("{{BASE}}", html.escape(self.base, quote=True)).encode("utf-8")

    def _report(self, stacks, rate_hz, title, trace=None, view=None):
        from .. import report

        text = report.render(profile_json(stacks, rate_hz, title), title=title, trace=trace,
                             assets=f"{self.base}/static/",
                             # Never the server's files: the paths came from the
                             # monitored apps, and their source may not be here.
                             sources=False, view=view)
        return 200, HTML, text.encode("utf-8")

    def profile_report(self, query):
        asked = parse_qs(query, keep_blank_values=True, max_num_fields=50)
        view = api_module._one(asked, "view")
        if view is not None and view not in REPORT_VIEWS:
            raise api_module.ApiError(400, f"view must be one of {', '.join(REPORT_VIEWS)}")
        found = self.api.get_profile(asked)
        stacks = [(tuple(tuple(f) for f in frames), count) for frames, count in found["stacks"]]
        if not any(count > 0 and frames for frames, count in stacks):
            return 200, HTML, _message_page(self.base, "no samples",
                                            "No samples in this window.")
        what = api_module._one(asked, "transaction") or api_module._one(asked, "kind") or "all"
        return self._report(stacks, found.get("rate_hz"), f"profile of {what}", view=view)

    def trace_report(self, trace_id):
        found = self.api.get_traces({}, trace_id)
        document = found.get("document") or {}
        stacks = [(tuple(tuple(f) for f in frames), count)
                  for frames, count in document.get("samples", [])]
        if not any(count > 0 and frames for frames, count in stacks):
            # The report needs a profile: one frame saying why there is none,
            # as `plumb trace ID -o x.html` does.
            stacks = [(((NO_SAMPLES_OF_TRACE, 0, NO_SAMPLES_OF_TRACE),), 1)]
        title = f"{found['name']} {found['duration_ms']:.1f} ms"
        return self._report(stacks, document.get("sample_rate") or 100.0, title,
                            trace=document if document.get("segments") is not None else None,
                            view="timeline" if document.get("segments") is not None else None)
