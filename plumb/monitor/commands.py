"""Reading the monitoring store from the command line:

    plumb transactions [--store URL] [--since 1h] [--until T] [--kind K] [--host H]
                       [--worker PID] [--json]
    plumb traces [--store URL] [--transaction NAME] [--since 1h] [--limit N] [--worker PID]
                 [--json]
    plumb trace ID [--store URL] [-o trace.html | trace.json]
    plumb profile [--store URL] [--transaction NAME] [--kind K] [--since 1h] [--worker PID]
                  -o FILE [--format F]
    plumb xray start TRANSACTION [--duration S] [--traces N] [--rate HZ] | show ID | list
    plumb threads start [--duration S] [--rate HZ] | show ID [--worker PID] [-o FILE] | list

Durations are milliseconds (`_ms` in JSON keys), counts plain.  A window is
`--since` (a duration back from now: 90s, 30m, 1h, 7d; or a Unix time or
an ISO date) until `--until` (default now).  Throughput is per minute of the
window that holds data (from its first minute with a request to its last),
so that a store only minutes old does not show a diluted rate.  A worker
(`--worker PID`) is one process of a host; its own numbers are kept for
the store's minutes (a day), its traces as long as any."""
import argparse
import datetime
import json
import os
import re
import sys
import time

from ..errors import UsageError
from ..formats import PPROF, SAMPLE_FORMATS, format_for_path, write_profile
from . import apdex, histogram
from .hostname import MAX_HOST, is_host_name
from .labelled import write_labelled_pprof

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def moment(text, now=None):
    """A point in time from --since/--until: a duration back from now, a
    Unix time, or an ISO 8601 date and time (UTC unless it says)."""
    now = time.time() if now is None else now
    text = text.strip()
    match = _DURATION.match(text)
    if match and not (match.group(2) == "" and float(match.group(1)) > 1e8):
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        value = float(text)
        return value
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (a duration such as 30m, 1h, 7d; a Unix time; "
            "or an ISO date)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


MAX_PID = 2 ** 31 - 1


def pid_of(text):
    """A worker's pid written as text (--worker, the API's worker=), or None
    when it is not one: a whole number in [1, 2**31 - 1], ASCII digits."""
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_PID:
        return int(text)
    return None


def worker_pid(text):
    """--worker's value."""
    pid = pid_of(text)
    if pid is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a worker: a process id, a whole number above 0")
    return pid


def host_name(text):
    """--host's value."""
    if not is_host_name(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a host: a name of 1 to {MAX_HOST} printable characters")
    return text


def add_parsers(commands, parser):
    def store_options(command):
        command.error = parser.error
        command.add_argument("--store", metavar="URL",
                             help="the store (default: $PLUMB_STORE, else sqlite:///plumb-monitor.db)")
        command.add_argument("--host", type=host_name, metavar="NAME",
                             help="only this host's data")

    def worker_option(command):
        command.add_argument("--worker", type=worker_pid, metavar="PID",
                             help="only this worker's data: the process of that pid (with "
                                  "--host, of that host)")

    def window(command):
        command.add_argument("--since", type=moment, default="1h", metavar="WHEN",
                             help="from (a duration back from now: 30m, 1h, 7d; a Unix time; "
                                  "an ISO date; default: 1h)")
        command.add_argument("--until", type=moment, default=None, metavar="WHEN",
                             help="until (default: now)")

    transactions = commands.add_parser(
        "transactions", help="per-transaction response times, throughput and errors",
        description="One row per transaction in the window: requests, throughput per minute, "
                    "error rate, mean and percentiles (from merged histograms), apdex, share of "
                    "the total time, and the time per request in SQL, templates, outbound HTTP "
                    "and code.",
        usage="plumb transactions [--store URL] [--since WHEN] [--until WHEN] [--kind K] "
              "[--host H] [--worker PID] [--json]")
    store_options(transactions)
    worker_option(transactions)
    window(transactions)
    transactions.add_argument("--kind", choices=("web", "background"))
    transactions.add_argument("--json", action="store_true", help="JSON rows instead of a table")

    traces = commands.add_parser(
        "traces", help="the slow transaction traces kept",
        description="The traces kept in the window, slowest first: when, how long, which "
                    "transaction, status and error; `plumb trace ID` shows one.",
        usage="plumb traces [--store URL] [--transaction NAME] [--since WHEN] [--limit N] "
              "[--host H] [--worker PID] [--json]")
    store_options(traces)
    worker_option(traces)
    window(traces)
    traces.add_argument("--transaction", metavar="NAME")
    traces.add_argument("--limit", type=int, default=50)
    traces.add_argument("--json", action="store_true")

    trace = commands.add_parser(
        "trace", help="one kept trace: its waterfall and its samples",
        description="Write one kept trace: as the HTML report (its Timeline of middleware, "
                    "view, SQL, templates and HTTP; the samples of its thread as the profile) "
                    "or as JSON; without -o, a summary is printed.",
        usage="plumb trace ID [--store URL] [-o FILE.html|FILE.json]")
    store_options(trace)
    trace.add_argument("id", metavar="ID")
    trace.add_argument("-o", "--outfile", metavar="FILE")

    profile = commands.add_parser(
        "profile", help="the continuous profile of a transaction, a kind, or all",
        description="The sampler's stacks over the window, for one transaction or kind (web, "
                    "background, other), merged across workers and hosts, in any format plumb "
                    "writes.",
        usage="plumb profile [--store URL] [--transaction NAME] [--kind K] [--since WHEN] "
              "[--host H] [--worker PID] -o FILE [--format F]")
    store_options(profile)
    worker_option(profile)
    window(profile)
    profile.add_argument("--transaction", metavar="NAME")
    profile.add_argument("--kind", choices=("web", "background", "other"))
    profile.add_argument("-o", "--outfile", metavar="FILE", required=True)
    profile.add_argument("--format", choices=SAMPLE_FORMATS)


    for kind, what in (("xray", "X-Ray"), ("threads", "thread-profile")):
        command = commands.add_parser(
            kind, help=f"start or show an {what} session" if kind == "xray"
            else "start or show a thread-profile session",
            description=(
                "An X-Ray session keeps the trace of every request of one transaction (up to "
                "--traces) and samples its threads at --rate, for --duration seconds; workers "
                "take it up within a few seconds. `show` gives its histogram, throughput, "
                "traces and profile." if kind == "xray" else
                "A thread-profile session samples every thread of every worker at --rate for "
                "--duration seconds, split web / background / other; `show` writes its "
                "profile."),
            usage=f"plumb {kind} start {'TRANSACTION ' if kind == 'xray' else ''}"
                  "[--duration S] [--rate HZ]" + (" [--traces N]" if kind == "xray" else "") +
                  f" | plumb {kind} show ID [--json] [-o FILE] | plumb {kind} list")
        command.error = parser.error
        actions = command.add_subparsers(dest="action", metavar="ACTION")
        actions.required = True
        start = actions.add_parser("start")
        store_options(start)
        if kind == "xray":
            start.add_argument("transaction", metavar="TRANSACTION")
            start.add_argument("--traces", type=int, default=100, help="traces to keep (default 100)")
        start.add_argument("--duration", type=float, default=300.0 if kind == "xray" else 120.0,
                           metavar="S", help="seconds (default 300; threads: 120)")
        start.add_argument("--rate", type=float, default=1000.0 if kind == "xray" else 500.0,
                           metavar="HZ", help="samples per second while it runs")
        show = actions.add_parser("show")
        store_options(show)
        show.add_argument("id", metavar="ID")
        show.add_argument("--json", action="store_true")
        show.add_argument("-o", "--outfile", metavar="FILE", help="write its profile")
        show.add_argument("--format", choices=SAMPLE_FORMATS)
        if kind == "threads":
            show.add_argument("--kind", choices=("web", "background", "other"))
            worker_option(show)
        listing = actions.add_parser("list")
        store_options(listing)
        listing.add_argument("--json", action="store_true")
        for sub in (start, show, listing):
            sub.error = parser.error


COMMANDS = ("transactions", "traces", "trace", "profile", "xray", "threads")
MAX_SESSION_S = 24 * 3600


def _open(options, create=False):
    """The store; a reading command never creates one where none is."""
    from .store import StoreError, default_store_url, open_store, split_url
    from .store.sqlite import sqlite_path

    url = options.store or default_store_url()
    try:
        scheme, location, _ = split_url(url)
        path = sqlite_path(url, location) if scheme == "sqlite" else None
        if path and not create and not os.path.exists(path):
            raise UsageError(f"no store at {os.path.abspath(path)} (--store URL, or "
                             "PLUMB_STORE, names the one the application writes)")
        return open_store(url)
    except StoreError as e:
        raise UsageError(str(e)) from None


def _window(options):
    until = options.until if getattr(options, "until", None) is not None else time.time()
    since = options.since
    if since >= until:
        raise UsageError("--since must come before --until")
    return since, until


def _quantile(hist, q):
    return histogram.quantile_us(hist, q) if histogram.count(hist) else None


def _ms(us):
    return None if us is None else round(us / 1000.0, 3)


def transaction_rows(store, since, until, kind=None, host=None, session=None, worker=None):
    """The rows of `plumb transactions --json` (the dashboard's too); with
    session, the copies counted for that X-Ray session; with worker, that
    worker's requests."""
    raw = store.transactions(since, until, host=host, kind=kind, session=session, worker=worker)
    if not raw:
        return []
    first = min(r["first_minute"] for r in raw)
    last = max(r["last_minute"] for r in raw)
    minutes = (last - first) / 60 + 1
    total_time = sum(r["total_us"] for r in raw) or 1
    rows = []
    for r in raw:
        count = r["count"]
        hist = r["histogram"]
        per = (lambda us: us / count / 1000.0) if count else (lambda us: 0.0)
        web = r["kind"] == "web"
        code_us = r["total_us"] - r["sql_us"] - r["template_us"] - r["http_us"]
        rows.append({
            "name": r["name"], "kind": r["kind"], "count": count, "errors": r["errors"],
            "error_rate": r["errors"] / count if count else 0.0,
            "rpm": count / minutes,
            "mean_ms": per(r["total_us"]),
            "min_ms": _ms(r["min_us"]), "max_ms": _ms(r["max_us"]),
            "p50_ms": _ms(_quantile(hist, 0.50)),
            "p95_ms": _ms(_quantile(hist, 0.95)),
            "p99_ms": _ms(_quantile(hist, 0.99)),
            "apdex": apdex.score(r["satisfied"], r["tolerating"], r["frustrated"]) if web else None,
            "share": r["total_us"] / total_time,
            "sql_ms": per(r["sql_us"]), "sql_count": r["sql_count"] / count if count else 0.0,
            "template_ms": per(r["template_us"]), "http_ms": per(r["http_us"]),
            "code_ms": per(max(code_us, 0)),
            "queue_ms": (r["queue_us"] / r["queue_count"] / 1000.0) if r["queue_count"] else None,
            "error_classes": r.get("error_classes") or {},
        })
    rows.sort(key=lambda row: -row["share"])
    return rows


def transactions_command(options):
    store = _open(options)
    try:
        since, until = _window(options)
        rows = transaction_rows(store, since, until, kind=options.kind, host=options.host,
                                worker=options.worker)
    finally:
        store.close()
    if options.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no transactions in the window")
        return 0
    head = ("transaction", "kind", "requests", "rpm", "err%", "mean", "p50", "p95", "p99",
            "apdex", "share", "sql", "tpl", "http", "code")
    table = [head]
    for r in rows:
        def ms(v):
            return "-" if v is None else f"{v:.1f}"
        table.append((r["name"], r["kind"], str(r["count"]), f"{r['rpm']:.1f}",
                      f"{100 * r['error_rate']:.1f}", ms(r["mean_ms"]), ms(r["p50_ms"]),
                      ms(r["p95_ms"]), ms(r["p99_ms"]),
                      "-" if r["apdex"] is None else f"{r['apdex']:.2f}",
                      f"{100 * r['share']:.1f}%", ms(r["sql_ms"]), ms(r["template_ms"]),
                      ms(r["http_ms"]), ms(r["code_ms"])))
    _print_table(table)
    print("times in ms per request (mean, percentiles, and the breakdown sql/tpl/http/code)")
    return 0


def _print_table(table):
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:])]
        print("  ".join(cells).rstrip())


def traces_command(options):
    store = _open(options)
    try:
        since, until = _window(options)
        found = store.traces(transaction=options.transaction, since=since, until=until,
                             limit=max(1, options.limit), host=options.host,
                             worker=options.worker)
    finally:
        store.close()
    rows = [{"id": t["id"], "start": t["start"], "name": t["name"], "kind": t["kind"],
             "duration_ms": _ms(t["duration_us"]), "status": t.get("status"),
             "error": t.get("error"), "url": t.get("url"), "host": t.get("host"),
             "pid": t.get("pid")} for t in found]
    if options.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no traces kept in the window")
        return 0
    table = [("id", "when (UTC)", "duration", "transaction", "status", "url")]
    for r in rows:
        when = datetime.datetime.fromtimestamp(r["start"], datetime.timezone.utc)
        table.append((r["id"], when.strftime("%Y-%m-%d %H:%M:%S"), f"{r['duration_ms']:.1f} ms",
                      r["name"], str(r["status"] or r["error"] or ""), r["url"] or ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def collapsed_text(stacks):
    """Stacks as collapsed lines (what convert_samples reads), frames as
    plumb writes them: `function (file:line)`."""
    lines = []
    for frames, count in stacks:
        if count <= 0 or not frames:
            continue
        names = [f"{name} ({path}:{line})".replace(";", ":") for path, line, name in frames]
        lines.append(";".join(names) + f" {int(count)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_stacks(stacks, rate_hz, path, fmt, title, trace=None):
    from .. import _plumb

    if not any(count > 0 and frames for frames, count in stacks):
        raise UsageError("no samples in the window")
    data = collapsed_text(stacks)
    interval = 1.0 / rate_hz if rate_hz and rate_hz > 0 else 0.01
    write_profile(lambda out, f: _plumb.convert_samples(data, "collapsed", out, f, interval, title),
                  path, fmt, title=title, trace=trace)


def trace_command(options):
    store = _open(options)
    try:
        found = store.trace(options.id)
    finally:
        store.close()
    if found is None:
        raise UsageError(f"no trace {options.id!r} in the store")
    document = found.get("document") or {}
    if options.outfile is None:
        print(f"{found['name']}  {_ms(found['duration_us'])} ms  {found.get('url') or ''}")
        for segment in document.get("segments", []):
            indent = "  " * (1 + segment.get("depth", 0))
            print(f"{indent}{segment['kind']:10} {segment['duration'] * 1000:9.2f} ms  "
                  f"{segment['name']}")
        return 0
    path = os.path.abspath(options.outfile)
    if path.endswith(".json"):
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(found), out, indent=1)
        return 0
    fmt = format_for_path(path)
    samples = [(tuple(tuple(f) for f in frames), count)
               for frames, count in document.get("samples", [])]
    title = f"{found['name']} {_ms(found['duration_us'])} ms"
    if fmt != "html" or samples:
        write_stacks(samples, document.get("sample_rate") or 100.0, path, fmt, title,
                     trace=document)
    else:
        # No sample fell in it (a request shorter than the sampling
        # interval, or no sampler): the report, which needs a profile, gets
        # one frame saying so, and still shows the trace's Timeline.
        note = "(no samples of this request: shorter than the sampling interval, or no sampler)"
        write_stacks([(((note, 0, note),), 1)], 100.0, path, fmt, title, trace=document)
    return 0


def profile_command(options):
    fmt = options.format or format_for_path(options.outfile)
    store = _open(options)
    try:
        since, until = _window(options)
        found = store.profile(transaction=options.transaction, kind=options.kind, since=since,
                              until=until, host=options.host, worker=options.worker,
                              labelled=fmt == PPROF)
    finally:
        store.close()
    what = options.transaction or options.kind or "all threads"
    path = os.path.abspath(options.outfile)
    if fmt == PPROF:
        # pprof has labels: each sample says its transaction, kind and host.
        if not any(count > 0 and frames for frames, count in found["stacks"]):
            raise UsageError("no samples in the window")
        write_labelled_pprof(found["groups"], path, found.get("rate_hz") or 100.0,
                             found.get("mode") or "wall")
        return 0
    write_stacks(found["stacks"], found.get("rate_hz") or 100.0, path, fmt,
                 f"plumb profile: {what}")
    return 0


# -- sessions ----------------------------------------------------------------------

def _session_state(session, now):
    if session.get("status") not in (None, "active"):
        return session["status"]           # ended early (end_session)
    return "running" if now < session["ends"] else "finished"


def _start_session(options, kind):
    if not 0 < options.duration <= MAX_SESSION_S:
        raise UsageError(f"--duration must lie in (0, {MAX_SESSION_S}] seconds")
    if not 0 < options.rate <= 1000:
        raise UsageError("--rate must lie in (0, 1000] Hz")
    traces = getattr(options, "traces", 0)
    if kind == "xray" and not 0 <= traces <= 10_000:
        raise UsageError("--traces must lie in [0, 10000]")
    store = _open(options, create=True)
    try:
        session = store.create_session(kind, transaction=getattr(options, "transaction", None),
                                       duration_s=options.duration, traces=traces,
                                       rate_hz=options.rate)
    finally:
        store.close()
    print(session)
    return 0


def _show_session(options, kind):
    store = _open(options)
    try:
        session = store.session(options.id)
        if session is None or session["kind"] != kind:
            raise UsageError(f"no {kind} session {options.id!r} in the store")
        # From the start of the minute it began: rows are per minute.
        since, until = session["created"] // 60 * 60, session["ends"] + 120
        rows = transaction_rows(store, since, until, session=options.id) if kind == "xray" else []
        rows = [r for r in rows if r["name"] == session.get("transaction")] if kind == "xray" else []
        traces = store.traces(session=options.id, since=since, until=until, limit=1000) \
            if kind == "xray" else []
        profile = store.profile(session=options.id, since=since, until=until,
                                kind=getattr(options, "kind", None),
                                transaction=session.get("transaction"), host=options.host,
                                worker=getattr(options, "worker", None))
    finally:
        store.close()
    state = _session_state(session, time.time())
    samples = sum(count for _, count in profile["stacks"])
    if options.outfile:
        fmt = options.format or format_for_path(options.outfile)
        write_stacks(profile["stacks"], profile.get("rate_hz") or _session_rate(session),
                     os.path.abspath(options.outfile), fmt, f"plumb {kind} {options.id}")
    summary = {"id": session["id"], "kind": kind, "transaction": session.get("transaction"),
               "state": state, "started": session["created"], "ends": session["ends"],
               "rate_hz": session.get("rate_hz"), "traces_wanted": session.get("traces"),
               "samples": samples}
    if kind == "xray":
        summary["transaction_stats"] = rows[0] if rows else None
        summary["traces"] = [{"id": t["id"], "start": t["start"],
                              "duration_ms": _ms(t["duration_us"]), "url": t.get("url"),
                              "status": t.get("status")} for t in traces]
    if options.json:
        json.dump(summary, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    what = f" of {session['transaction']}" if session.get("transaction") else ""
    print(f"{kind} session {session['id']}{what}: {state}, {samples} samples")
    if kind == "xray":
        if rows:
            r = rows[0]
            print(f"  {r['count']} requests, mean {r['mean_ms']:.1f} ms, p50 {r['p50_ms']} ms, "
                  f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}")
        print(f"  {len(traces)} traces kept" + (" (plumb trace ID)" if traces else ""))
        for t in traces[:20]:
            print(f"    {t['id']}  {_ms(t['duration_us'])} ms  {t.get('url') or ''}")
    return 0


def _session_rate(session):
    return session.get("rate_hz") or 100.0


def _list_sessions(options, kind):
    store = _open(options)
    try:
        found = [s for s in store.sessions(limit=100) if s["kind"] == kind]
    finally:
        store.close()
    now = time.time()
    if options.json:
        json.dump([dict(s, state=_session_state(s, now)) for s in found], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for s in found:
        when = datetime.datetime.fromtimestamp(s["created"], datetime.timezone.utc)
        print(f"{s['id']}  {when:%Y-%m-%d %H:%M:%S}  {_session_state(s, now):9}  "
              f"{s.get('transaction') or ''}")
    return 0


def _session_command(options, kind):
    if options.action == "start":
        return _start_session(options, kind)
    if options.action == "show":
        return _show_session(options, kind)
    return _list_sessions(options, kind)


def xray_command(options):
    return _session_command(options, "xray")


def threads_command(options):
    return _session_command(options, "threads")
