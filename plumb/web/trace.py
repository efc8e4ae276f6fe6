"""A profiled request's transaction trace: its timeline of segments
(middleware, the view with its arguments, SQL queries, template renders,
outbound HTTP calls), written beside the profile as NAME.trace.json and
drawn as a waterfall by the HTML report.

The request's Trace is current in a context variable while it runs
(`activate`), so the instruments that record segments (instruments.py)
find it wherever the request's code runs: in its thread, in its asyncio
task, and in the worker threads that asgiref and Starlette run
synchronous code in, since both carry the context over.  Code of other
requests, with other contexts, passes straight through.  (A monitored
synchronous Django request's record is current in its thread instead:
current() reads the variable, then the thread; see
src/cpython/current_trace.c.)

SQL text is stored with its literals replaced by `?` (and parameters left
out) unless `sql_params=True`: queries carry user data.  Repeated queries
are flagged: the same statement with the same parameters run twice
(a duplicate), and the same statement run with different parameters five
times or more (an N+1 pattern: a query per row of an earlier result)."""
import contextvars
import functools
import json
import os
import re
import reprlib
import threading
import time

from .. import _plumb

N_PLUS_ONE = 5        # runs of one statement, with different parameters, to flag it
MAX_SEGMENTS = 100_000  # beyond this a request's further segments are counted, not kept

_current = contextvars.ContextVar("plumb_trace", default=None)
# Set while a query is being recorded, so that a driver under Django's own
# hook (psycopg, sqlite3) does not record the same query twice.
_in_query = contextvars.ContextVar("plumb_in_query", default=False)

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.$])-?\d+(?:\.\d+)?(?![\w.])")
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\?|(?<!:):\w+|\$\d+")
_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SPACE = re.compile(r"\s+")

_arguments = reprlib.Repr()
_arguments.maxstring = 60
_arguments.maxother = 60
MAX_DETAIL = 300      # characters of a segment's detail (a view's arguments...)


def normalize_sql(sql):
    """The statement with literals and placeholders as '?', lists of them
    as '(...)', and whitespace folded: one text per query shape."""
    text = _STRING.sub("?", sql)
    text = _NUMBER.sub("?", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _IN_LIST.sub("(...)", text)
    return _SPACE.sub(" ", text).strip()


# The trace of the request running in this context, or None: the context
# variable's value, else the monitored request current in this thread (a
# synchronous request's record is kept there, not in the variable: setting
# a context variable costs thousands of instructions; see
# src/cpython/current_trace.c).  C, since every wrapped call asks it.
current = _plumb.CurrentTrace(_current)
# The variable itself, for the C that makes a record current and reads it
# (src/cpython/request_path.c, query_hook.c).
current_variable = _current


# activate(recorder) makes recorder (a Trace, or anything with its sql()
# and segment(), such as plumb.monitor's request record) what the
# instruments record into in this context, and returns what deactivate()
# takes: the context variable's own method, called on every request.
activate = _current.set


def deactivate(token):
    try:
        _current.reset(token)
    except ValueError:  # ended in another context (a server closing a body elsewhere)
        _current.set(None)


def query_trace():
    """The trace to record a query into, or None: none is current, or a
    query is already being recorded further up (Django over its driver)."""
    trace = current()
    if trace is None or _in_query.get():
        return None
    return trace


# Around a query being recorded: begin_query() returns what end_query()
# takes.  C callables, not Python functions: they run for every query.
in_query = _in_query.get
begin_query = functools.partial(_in_query.set, True)
end_query = _in_query.reset
in_query_variable = _in_query   # for Django's query hook in C (src/cpython/query_hook.c)


def describe_call(args, kwargs):
    """A call's arguments as a short text: `3, slug='intro'`."""
    try:
        parts = [_arguments.repr(a) for a in args]
        parts += [f"{k}={_arguments.repr(v)}" for k, v in kwargs.items()]
        text = ", ".join(parts)
    except Exception:   # a repr that fails must not fail the request
        text = "?"
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 3] + "..."


class Trace:
    def __init__(self, method, path, sql_params=False, started=None, wall_start=None):
        """started, wall_start: the request's start (perf_counter(), time())."""
        self.method = method
        self.path = path
        self.sql_params = sql_params
        self.started = time.perf_counter() if started is None else started
        self.wall_start = time.time() if wall_start is None else wall_start
        self.segments = []
        self.dropped = 0      # segments beyond MAX_SEGMENTS
        self._lock = threading.Lock()   # worker threads record into it too
        self._seen = {}       # (statement, params) -> runs
        self._shapes = {}     # statement -> set of parameter reprs

    # -- being current -------------------------------------------------------

    def activate(self):
        """Makes this the current trace; returns what deactivate() takes."""
        return activate(self)

    deactivate = staticmethod(deactivate)

    # -- recording -------------------------------------------------------------

    def _add(self, segment):
        with self._lock:
            if len(self.segments) < MAX_SEGMENTS:
                self.segments.append(segment)
            else:
                self.dropped += 1

    def sql(self, sql, params, started, seconds, many=False, error=None):
        """Records one query (started: a perf_counter() value)."""
        if isinstance(sql, bytes):
            sql = sql.decode("utf-8", "replace")
        elif not isinstance(sql, str):
            sql = str(sql)
        statement = normalize_sql(sql)
        try:
            key = repr(params)
        except Exception:
            key = object()
        with self._lock:
            self._seen[(statement, key)] = self._seen.get((statement, key), 0) + 1
            self._shapes.setdefault(statement, set()).add(key)
        segment = {"kind": "sql", "name": statement, "start": started - self.started,
                   "duration": seconds}
        if many:
            segment["many"] = True
        if error is not None:
            segment["error"] = error
        if self.sql_params:
            segment["sql"] = sql
            segment["params"] = key if isinstance(key, str) else "?"
        self._add(segment)

    def segment(self, kind, name, started, seconds, detail=None, error=None, arguments=None):
        """Records a segment of another kind ("middleware", "view",
        "template", "http"); arguments: a call's (args, kwargs), described
        as its detail here, so that recorders that may never need the text
        (plumb.monitor's) do not pay for it."""
        if arguments is not None:
            detail = describe_call(*arguments)
        segment = {"kind": kind, "name": name, "start": started - self.started,
                   "duration": seconds}
        if detail:
            segment["detail"] = detail
        if error is not None:
            segment["error"] = error
        self._add(segment)

    # -- reading -----------------------------------------------------------------

    def seconds_of(self, kind):
        return sum(s["duration"] for s in self.segments if s["kind"] == kind)

    def count_of(self, kind):
        return sum(1 for s in self.segments if s["kind"] == kind)

    def sql_seconds(self):
        return self.seconds_of("sql")

    def sql_count(self):
        return self.count_of("sql")

    def summary(self):
        duplicates = sorted({statement for (statement, _), runs in self._seen.items() if runs > 1})
        n_plus_one = sorted(statement for statement, shapes in self._shapes.items()
                            if len(shapes) >= N_PLUS_ONE)
        return {"queries": self.sql_count(), "sql_seconds": self.sql_seconds(),
                "duplicates": duplicates, "n_plus_one": n_plus_one,
                "templates": self.count_of("template"),
                "template_seconds": self.seconds_of("template"),
                "http_calls": self.count_of("http"), "http_seconds": self.seconds_of("http")}

    def ordered_segments(self):
        """The segments by start, each with its depth: how many earlier
        segments enclose it (a view in its middleware, a query in its view).
        Segments are recorded as they end, so outer ones come last."""
        segments = sorted(self.segments, key=lambda s: (s["start"], -s["duration"]))
        open_ends = []
        for segment in segments:
            end = segment["start"] + segment["duration"]
            while open_ends and open_ends[-1] < end - 1e-9:
                open_ends.pop()
            segment["depth"] = len(open_ends)
            open_ends.append(end)
        return segments

    def document(self, duration):
        """The trace as NAME.trace.json holds it (and the report embeds it)."""
        doc = {"plumb_trace": 1, "method": self.method, "path": self.path,
               "start_time": self.wall_start, "duration": duration,
               "segments": self.ordered_segments(), "sql": self.summary()}
        if self.dropped:
            doc["dropped_segments"] = self.dropped
        return doc

    def write(self, path, duration=None, document=None):
        """Writes NAME.trace.json: document, or the document of duration."""
        data = json.dumps(self.document(duration) if document is None else document,
                          separators=(",", ":")).encode("utf-8")
        # Exclusive: the profile's name was unique, so this one is too.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # less the umask
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
