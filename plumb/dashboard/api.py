"""The dashboard's JSON API, version 1 (docs/api.md): the pages are one
client of it, scripts another.  Every answer is JSON; times are Unix
seconds, durations milliseconds (`_ms`), counts plain.

    GET  /api/v1/transactions?since=&until=&kind=&host=&worker=   plumb transactions --json's rows
    GET  /api/v1/series?transaction=&since=&until=&step=&host=&worker=
    GET  /api/v1/traces?transaction=&since=&until=&limit=&session=&host=&worker=
    GET  /api/v1/traces/ID
    GET  /api/v1/profile?transaction=&kind=&since=&until=&session=&host=&worker=
    GET  /api/v1/sessions          POST /api/v1/sessions (X-Plumb-Request: 1)
    GET  /api/v1/sessions/ID
    GET  /api/v1/hosts?since=&until=&totals=1   GET /api/v1/drops?since=

`since` and `until` take what the command line's --since takes (30m, 1h,
7d, a Unix time, an ISO date); the default window is the last hour.
`worker` is a worker's pid (with `host`, that host's), as /api/v1/hosts
lists them."""
import json
import time
from urllib.parse import parse_qs

from ..monitor import apdex
from ..monitor import commands as monitor_commands
from ..monitor import histogram
from ..monitor.hostname import MAX_HOST, is_host_name

VERSION = 1
PREFIX = f"/api/v{VERSION}/"
MAX_BODY = 16 * 1024
MAX_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _one(query, name, default=None):
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise ApiError(400, f"{name} is given more than once")
    return values[0]


def _moment(query, name, default, now):
    text = _one(query, name)
    if text is None:
        return default
    try:
        return monitor_commands.moment(text, now)
    except Exception:
        raise ApiError(400, f"{name}={text!r} is not a time (30m, 1h, 7d, a Unix time, "
                            "an ISO date)") from None


def _int(query, name, default, low, high):
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must lie in [{low}, {high}]")
    return value


def _choice(query, name, choices):
    value = _one(query, name)
    if value is not None and value not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}")
    return value


def _worker(query):
    """The worker filter: a pid, or None for all workers."""
    text = _one(query, "worker")
    if text is None or text == "":
        return None
    pid = monitor_commands.pid_of(text)
    if pid is None:
        raise ApiError(400, f"worker={text!r} is not a worker: a process id, a whole number "
                            "above 0 (as /api/v1/hosts lists them)")
    return pid


def _host(query):
    """The host filter: a host's name, or None for all hosts."""
    text = _one(query, "host")
    if text is None or text == "":
        return None
    if not is_host_name(text):
        raise ApiError(400, f"host={text[:100]!r} is not a host: a name of 1 to {MAX_HOST} "
                            "printable characters (as /api/v1/hosts lists them)")
    return text


def _window(query):
    now = time.time()
    until = _moment(query, "until", now, now)
    since = _moment(query, "since", now - 3600, now)
    if since >= until:
        raise ApiError(400, "since must come before until")
    return since, until


def _ms(us):
    return None if us is None else us / 1000.0


class Api:
    def __init__(self, store):
        self.store = store

    def handle(self, method, path, query_text, body):
        """(status, JSON-able answer)."""
        query = parse_qs(query_text, keep_blank_values=True, max_num_fields=50)
        parts = [p for p in path[len(PREFIX):].split("/") if p]
        if not parts:
            return 200, {"version": VERSION, "endpoints": ["transactions", "series", "traces",
                                                           "profile", "sessions", "hosts", "drops"]}
        name, rest = parts[0], parts[1:]
        handler = getattr(self, f"{method.lower()}_{name}", None)
        if handler is None or (rest and name not in ("traces", "sessions")) or len(rest) > 1:
            return 404, {"error": f"no {method} {path}"}
        return 200, handler(query, *rest, **({"body": body} if method == "POST" else {}))

    # -- GET ----------------------------------------------------------------------------

    def get_transactions(self, query):
        since, until = _window(query)
        return {"since": since, "until": until, "transactions": monitor_commands.transaction_rows(
            self.store, since, until, kind=_choice(query, "kind", ("web", "background")),
            host=_host(query), worker=_worker(query))}

    def get_series(self, query):
        since, until = _window(query)
        step = _int(query, "step", 60, 60, 86400)
        if step % 60:
            raise ApiError(400, "step must be a whole number of minutes (in seconds)")
        if (until - since) / step > 10_000:
            raise ApiError(400, "too many points: widen step")
        points = self.store.series(name=_one(query, "transaction"), since=since, until=until,
                                   step_s=step, host=_host(query), worker=_worker(query))
        out = []
        for p in points:
            hist, count = p["histogram"], p["count"]
            known = histogram.count(hist) > 0
            out.append({
                "t": p["t"], "count": count, "errors": p["errors"], "rpm": count * 60 / step,
                "satisfied": p["satisfied"], "tolerating": p["tolerating"],
                "frustrated": p["frustrated"],
                "apdex": apdex.score(p["satisfied"], p["tolerating"], p["frustrated"]),
                "mean_ms": p["total_us"] / count / 1000 if count else None,
                "p50_ms": _ms(histogram.quantile_us(hist, 0.5)) if known else None,
                "p95_ms": _ms(histogram.quantile_us(hist, 0.95)) if known else None,
                "p99_ms": _ms(histogram.quantile_us(hist, 0.99)) if known else None,
                "sql_ms": p["sql_us"] / 1000, "template_ms": p["template_us"] / 1000,
                "http_ms": p["http_us"] / 1000, "queue_ms": p["queue_us"] / 1000,
                "code_ms": max(0, p["total_us"] - p["sql_us"] - p["template_us"]
                               - p["http_us"]) / 1000,
                "histogram": {str(k): v for k, v in sorted(hist.items())}})
        return {"since": since, "until": until, "step": step, "points": out}

    def get_traces(self, query, trace_id=None):
        if trace_id is not None:
            found = self.store.trace(trace_id)
            if found is None:
                raise ApiError(404, f"no trace {trace_id!r}")
            found = dict(found)
            found["duration_ms"] = _ms(found.pop("duration_us"))
            return found
        since, until = _window(query)
        order = _choice(query, "order", ("slowest", "recent")) or "slowest"
        found = self.store.traces(transaction=_one(query, "transaction"), since=since, until=until,
                                  session=_one(query, "session"),
                                  limit=_int(query, "limit", 100, 1, MAX_LIMIT), order=order,
                                  host=_host(query), worker=_worker(query))
        for t in found:
            t["duration_ms"] = _ms(t.pop("duration_us"))
        return {"since": since, "until": until, "traces": found}

    def get_profile(self, query):
        since, until = _window(query)
        found = self.store.profile(transaction=_one(query, "transaction"),
                                   kind=_choice(query, "kind", ("web", "background", "other")),
                                   since=since, until=until, session=_one(query, "session"),
                                   host=_host(query), worker=_worker(query))
        return {"since": since, "until": until, "rate_hz": found.get("rate_hz"),
                "mode": found.get("mode"),
                "stacks": [[[list(f) for f in frames], count] for frames, count in found["stacks"]]}

    def get_sessions(self, query, session_id=None):
        if session_id is not None:
            found = self.store.session(session_id)
            if found is None:
                raise ApiError(404, f"no session {session_id!r}")
            return found
        return {"sessions": self.store.sessions(limit=_int(query, "limit", 50, 1, MAX_LIMIT))}

    def get_hosts(self, query):
        since, until = _window(query)
        hosts = self.store.hosts(since, until)
        if _choice(query, "totals", ("0", "1")) == "1":
            for host in hosts:
                host["totals"] = self._host_totals(since, until, host["host"])
        return {"hosts": hosts}

    def _host_totals(self, since, until, host):
        """One host's requests in the window, every transaction merged: the
        overview's per-host breakdown."""
        rows = self.store.transactions(since, until, host=host)
        count = sum(r["count"] for r in rows)
        merged = {}
        for r in rows:
            for key, n in r["histogram"].items():
                merged[key] = merged.get(key, 0) + n
        web = [r for r in rows if r["kind"] == "web"]
        return {"count": count, "errors": sum(r["errors"] for r in rows),
                "mean_ms": sum(r["total_us"] for r in rows) / count / 1000 if count else None,
                "p95_ms": _ms(histogram.quantile_us(merged, 0.95))
                if histogram.count(merged) else None,
                "apdex": apdex.score(*(sum(r[c] for r in web)
                                       for c in ("satisfied", "tolerating", "frustrated")))}

    def get_drops(self, query):
        now = time.time()
        return {"drops": self.store.drops(_moment(query, "since", now - 86400, now))}

    # -- POST ---------------------------------------------------------------------------

    def post_sessions(self, query, body):
        try:
            asked = json.loads(body or b"{}")
        except ValueError:
            raise ApiError(400, "the body is not JSON") from None
        if not isinstance(asked, dict):
            raise ApiError(400, "the body must be a JSON object")
        kind = asked.get("kind")
        if kind not in ("xray", "threads"):
            raise ApiError(400, "kind must be xray or threads")
        transaction = asked.get("transaction")
        if kind == "xray" and not (isinstance(transaction, str) and 0 < len(transaction) <= 512):
            raise ApiError(400, "an X-Ray session needs a transaction")

        def number(name, default, low, high):
            value = asked.get(name, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not low < value <= high:
                raise ApiError(400, f"{name} must lie in ({low}, {high}]")
            return value

        session = self.store.create_session(
            kind, transaction=transaction if kind == "xray" else None,
            duration_s=number("duration_s", 300, 0, monitor_commands.MAX_SESSION_S),
            traces=int(number("traces", 100, -1, 10_000)),
            rate_hz=number("rate_hz", 1000 if kind == "xray" else 500, 0, 1000))
        return {"id": session}
