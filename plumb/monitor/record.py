"""One monitored request (or background task) while it runs: its name, its
start, and what the instruments saw.

It is what plumb.web.trace's context variable holds while the request runs,
so the instruments written for profiled requests' traces (SQL through
Django's hook and the DB-API drivers, templates, outbound HTTP, Django's
middleware and view) record into it unchanged.  Recording here is cheap,
since it happens on every request: a sum per kind and a tuple per segment,
keeping references (the SQL text, the view's arguments) and doing no
formatting.  Only a request that is kept (slow, or in an X-Ray session)
becomes a real plumb.web.trace.Trace, built from those tuples later, in the
harvest thread: SQL shapes, duplicates, N+1, the view's arguments."""
import time

from ..web.trace import Trace

MAX_SEGMENTS = 2000     # per request; beyond, segments are counted in the sums only

# Segment tuples: (kind, name, started, seconds, detail, error, extra), where
# extra is (params, many) for SQL and the view's (args, kwargs) for a view.


class RequestRecord:
    __slots__ = ("tag", "kind", "name", "method", "path", "query", "started", "wall_start",
                 "queue_s", "status", "error", "segments", "dropped",
                 "sql_s", "sql_n", "template_s", "template_n", "http_s", "http_n",
                 "sql_params", "thread", "previous_tag", "token", "__weakref__")

    def __init__(self, tag, kind, name, method, path, query, queue_s, sql_params):
        self.tag = tag
        self.kind = kind
        self.name = name
        self.method = method
        self.path = path
        self.query = query
        self.queue_s = queue_s
        self.sql_params = sql_params
        self.status = None
        self.error = None           # the exception class that ended it, as "module.Name"
        self.thread = None          # the agent's: where it began, its tag there before it,
        self.previous_tag = 0       # and the context variable's token
        self.token = None
        self.segments = []
        self.dropped = 0
        self.sql_s = self.template_s = self.http_s = 0.0
        self.sql_n = self.template_n = self.http_n = 0
        self.wall_start = time.time()
        self.started = time.perf_counter()

    # -- what the instruments call (plumb.web.trace.Trace's interface) ---------

    # Both append their segment themselves rather than through a shared
    # helper: they run for every query and segment of every request.
    # list.append is atomic under the GIL: worker threads of the same
    # request (asgiref, Starlette's pool) may record at once.

    def sql(self, sql, params, started, seconds, many=False, error=None):
        self.sql_s += seconds
        self.sql_n += 1
        if len(self.segments) < MAX_SEGMENTS:
            self.segments.append(("sql", sql, started, seconds, None, error, (params, many)))
        else:
            self.dropped += 1

    def segment(self, kind, name, started, seconds, detail=None, error=None, arguments=None):
        if kind == "template":
            self.template_s += seconds
            self.template_n += 1
        elif kind == "http":
            self.http_s += seconds
            self.http_n += 1
        if len(self.segments) < MAX_SEGMENTS:
            self.segments.append((kind, name, started, seconds, detail, error, arguments))
        else:
            self.dropped += 1

    # -- once kept ----------------------------------------------------------------

    def trace_document(self, duration_s):
        """The request as a plumb.web.trace document (what the report's
        Timeline draws), built from the recorded tuples."""
        url = self.path + ("?" + self.query if self.query else "")
        trace = Trace(self.method or "", url, sql_params=self.sql_params, started=self.started,
                      wall_start=self.wall_start)
        for kind, name, started, seconds, detail, error, extra in self.segments:
            if kind == "sql":
                params, many = extra
                trace.sql(name, params, started, seconds, many, error)
            else:
                trace.segment(kind, name, started, seconds, detail=detail, error=error,
                              arguments=extra)
        trace.dropped = self.dropped
        document = trace.document(duration_s)
        document["transaction"] = self.name
        document["kind"] = self.kind
        if self.status is not None:
            document["status"] = self.status
        if self.error is not None:
            document["error"] = self.error
        if self.queue_s is not None:
            document["queue_time"] = self.queue_s
        return document
