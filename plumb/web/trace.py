"""A profiled request's transaction trace: its timeline of segments (SQL
queries and template renders so far; middleware and outbound HTTP are to
come),
written beside the profile as NAME.trace.json.

SQL text is stored with its literals replaced by `?` (and parameters left
out) unless `sql_params=True`: queries carry user data.  Repeated queries
are flagged: the same statement with the same parameters run twice
(a duplicate), and the same statement run with different parameters five
times or more (an N+1 pattern: a query per row of an earlier result)."""
import json
import re
import time

N_PLUS_ONE = 5        # runs of one statement, with different parameters, to flag it

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\?|:\w+")
_IN_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SPACE = re.compile(r"\s+")


def normalize_sql(sql):
    """The statement with literals and placeholders as '?', lists of them
    as '(...)', and whitespace folded: one text per query shape."""
    text = _STRING.sub("?", sql)
    text = _NUMBER.sub("?", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _IN_LIST.sub("(...)", text)
    return _SPACE.sub(" ", text).strip()


class Trace:
    def __init__(self, method, path, sql_params=False):
        self.method = method
        self.path = path
        self.sql_params = sql_params
        self.started = time.perf_counter()
        self.wall_start = time.time()
        self.segments = []
        self._seen = {}       # (statement, params) -> runs
        self._shapes = {}     # statement -> set of parameter reprs

    def sql(self, sql, params, started, seconds, many=False):
        """Records one query (started: a perf_counter() value)."""
        statement = normalize_sql(sql)
        try:
            key = repr(params)
        except Exception:
            key = object()
        self._seen[(statement, key)] = self._seen.get((statement, key), 0) + 1
        self._shapes.setdefault(statement, set()).add(key)
        segment = {"kind": "sql", "name": statement, "start": started - self.started,
                   "duration": seconds}
        if many:
            segment["many"] = True
        if self.sql_params:
            segment["sql"] = sql
            segment["params"] = key if isinstance(key, str) else "?"
        self.segments.append(segment)

    def segment(self, kind, name, started, seconds):
        """Records a segment of another kind ("template", ...)."""
        self.segments.append({"kind": kind, "name": name, "start": started - self.started,
                              "duration": seconds})

    def seconds_of(self, kind):
        return sum(s["duration"] for s in self.segments if s["kind"] == kind)

    def count_of(self, kind):
        return sum(1 for s in self.segments if s["kind"] == kind)

    def sql_seconds(self):
        return sum(s["duration"] for s in self.segments if s["kind"] == "sql")

    def sql_count(self):
        return sum(1 for s in self.segments if s["kind"] == "sql")

    def summary(self):
        duplicates = sorted({statement for (statement, _), runs in self._seen.items() if runs > 1})
        n_plus_one = sorted(statement for statement, shapes in self._shapes.items()
                            if len(shapes) >= N_PLUS_ONE)
        return {"queries": self.sql_count(), "sql_seconds": self.sql_seconds(),
                "duplicates": duplicates, "n_plus_one": n_plus_one,
                "templates": self.count_of("template"),
                "template_seconds": self.seconds_of("template")}

    def document(self, duration):
        """The trace as NAME.trace.json holds it (and the report embeds it)."""
        return {"plumb_trace": 1, "method": self.method, "path": self.path,
                "start_time": self.wall_start, "duration": duration,
                "segments": self.segments, "sql": self.summary()}

    def write(self, path, duration):
        # Exclusive: the profile's name was unique, so this one is too.
        with open(path, "x", encoding="utf-8") as f:
            json.dump(self.document(duration), f, separators=(",", ":"))
