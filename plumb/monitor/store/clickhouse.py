"""The ClickHouse store: one database that every worker of every host
writes and one dashboard reads.

    clickhouse://[USER[:PASSWORD]@]HOST:PORT/DATABASE[?options]

(the HTTP port, 8123 by default on a server; user and password also from
PLUMB_CLICKHOUSE_USER and PLUMB_CLICKHOUSE_PASSWORD.)  Rows are kept per
harvest and minute and summed by the readers' SQL; histograms as bucket
key and count arrays, merged exactly by sumMap.

A write is one INSERT per table, each one block and so all or nothing,
each tagged with the harvest's id (as `harvest_id` in the rows and as the
query_id).  A retry first asks which tables already hold the harvest and
inserts only into the others, under the same query_id, which ClickHouse
refuses while an earlier attempt's insert is still running: so a batch
whose answer was lost is never counted twice (docs/store.md)."""
import hashlib
import json
import os
import re
import threading
import time
import uuid

from .base import (SERIES_APDEX_COUNTERS, SERIES_COUNTERS, SUMMED_COUNTERS, Store, StoreError,
                   add_counts, check_new_session, check_trace_order, checked_step,
                   checked_worker, hosts_from_workers)
from .clickhouse_http import QUERY_ID_RUNNING, ClickHouseError, ClickHouseHTTP, quote
from .clickhouse_schema import (DAY_TABLES, HARVEST_TABLES, SCHEMA_VERSION, STATE_COLUMNS,
                                STORED_ONCE, TIERS, merge_state, merged, prepare,
                                state_of_minutes)
from .tiers import DAY, MINUTE, RESOLUTIONS, ceil_to, floor_to, pieces
from .url import take_options

OPTIONS = {
    "timeout_s": (float, 3.0),               # each write or statement, at most
    "read_timeout_s": (float, 30.0),         # each query a reader makes, at most
    "retention_days": (float, 7.0),
    "retention_interval_s": (float, 3600.0),  # how often write() drops old days
    "max_trace_bytes": (int, 1 << 20),       # a trace document's JSON, at most
}
USER_VARIABLE, PASSWORD_VARIABLE = "PLUMB_CLICKHOUSE_USER", "PLUMB_CLICKHOUSE_PASSWORD"
MAX_URL, MAX_TEXT = 2048, 512                # as the SQLite store keeps them
_LOCATION = re.compile(r"^(?:(?P<user>[^:@/]*)(?::(?P<password>[^@/]*))?@)?"
                       r"(?P<host>[^:/@]+):(?P<port>\d+)/(?P<database>\w+)$")
# The column each harvest table is ordered by first: its rows' times.
_TIME_COLUMNS = {"tx_rows": "minute", "profile_rows": "minute", "traces": "start",
                 "drops": "minute"}
_SESSION_FIELDS = ("kind", "transaction_name", "created", "ends", "traces", "rate_hz", "status",
                   "ended")


def open_clickhouse(url, location, options):
    """The "clickhouse" scheme's factory."""
    found = _LOCATION.match(location)
    if not found:
        raise StoreError(f"store URL {url!r}: a ClickHouse store is "
                         "clickhouse://[USER[:PASSWORD]@]HOST:PORT/DATABASE")
    user = found["user"] or os.environ.get(USER_VARIABLE) or None
    password = found["password"] if found["password"] is not None else \
        os.environ.get(PASSWORD_VARIABLE)
    return ClickHouseStore(found["host"], int(found["port"]), found["database"], user=user,
                           password=password, **take_options(url, options, OPTIONS))


def _error_key(name):
    """An error class's key in sumMap's maps: 64 bits of its BLAKE2b, signed."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


def _day(t):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def _short(text, limit=MAX_TEXT):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit]


def _days_between(since, until):
    """SQL limiting `day` to the UTC days of [since, until): what lets
    ClickHouse skip the other days' partitions."""
    return f"day >= {quote(_day(since))} AND day <= {quote(_day(max(since, until - 1)))}"


class ClickHouseStore(Store):
    schema_version = SCHEMA_VERSION

    def __init__(self, host, port, database, user=None, password=None, timeout_s=3.0,
                 read_timeout_s=30.0, retention_days=7.0, retention_interval_s=3600.0,
                 max_trace_bytes=1 << 20):
        self.http = ClickHouseHTTP(host, port, database, user, password, timeout_s,
                                   read_timeout_s)
        self.name = self.http.name
        self.retention_days = retention_days
        self.retention_interval_s = retention_interval_s
        self.max_trace_bytes = max_trace_bytes
        self._lock = threading.Lock()
        self._closed = False
        self._stacks_written = set()      # (day, stack_id) this process has stored
        self._errors_written = set()      # (day, error key) likewise
        # Minutes before this are read from the workers' rows (prepare()).
        self.rollups_from = prepare(self.http, self.schema_version)

    def __repr__(self):
        return f"ClickHouseStore({self.name!r})"

    def _using(self):
        if self._closed:
            raise StoreError(f"store {self.name}: it is closed")
        return self._lock

    # -- writing ----------------------------------------------------------------

    def write(self, harvest):
        query_id = "plumb-" + re.sub(r"[^0-9A-Za-z_-]", "_", str(harvest.id))[:100]
        with self._using():
            rows, stacks, errors = self._rows(harvest)
            try:
                landed = self._landed(harvest, rows, query_id)
                if "harvests" in landed:
                    return False
                for table in HARVEST_TABLES:
                    if table not in landed:
                        self.http.insert(table, rows[table], query_id=query_id)
            except ClickHouseError as error:
                if error.code == QUERY_ID_RUNNING:
                    raise StoreError(f"store {self.name}: an earlier attempt to write harvest "
                                     f"{harvest.id} is still running; try again later") from None
                raise
            self._stacks_written.update(stacks)
            self._errors_written.update(errors)
        self._retention_if_due()
        return True

    def _landed(self, harvest, rows, query_id):
        """The tables that already hold this harvest's rows (from an attempt
        whose answer was lost).  Asked under the harvest's query_id: while
        that attempt's insert still runs, ClickHouse refuses.  Each table is
        asked within the harvest's own times and host, which its order
        (time, then host) finds without reading the day."""
        host = quote(_short(harvest.host))
        checks = []
        for table in HARVEST_TABLES:
            column = _TIME_COLUMNS.get(table)
            if table in STORED_ONCE or not rows[table]:
                continue
            where = [f"day IN ({', '.join(sorted({quote(r['day']) for r in rows[table]}))})",
                     f"host = {host}", f"harvest_id = {quote(harvest.id)}"]
            if column:
                times = [r[column] for r in rows[table]]
                where.append(f"{column} >= {min(times)!r} AND {column} <= {max(times)!r}")
            checks.append(f"SELECT {quote(table)} AS t, count() AS n FROM {table} "
                          f"WHERE {' AND '.join(where)}")
        return {table for table, n in self.http.select(" UNION ALL ".join(checks),
                                                        query_id=query_id, writing=True) if n}

    def _rows(self, harvest):
        """{table: rows} of one harvest, and the (day, stack_id) and (day,
        error key) it stores."""
        host, pid, tag = _short(harvest.host), int(harvest.pid), str(harvest.id)
        rows = {table: [] for table in HARVEST_TABLES}
        errors = set()
        for tm in harvest.transactions:
            minute = floor_to(tm.minute, MINUTE)
            row = {"day": _day(minute), "minute": minute, "host": host, "pid": pid,
                   "name": _short(tm.name), "kind": _short(tm.kind),
                   "session": tm.session or "", "harvest_id": tag,
                   "min_us": tm.min_us, "max_us": tm.max_us, "apdex_t_us": tm.apdex_t_us,
                   "hist_keys": list(tm.histogram), "hist_counts": list(tm.histogram.values()),
                   "error_keys": [], "error_counts": list(tm.error_classes.values())}
            for error in tm.error_classes:
                key = _error_key(_short(error))
                row["error_keys"].append(key)
                if (row["day"], key) not in self._errors_written | errors:
                    errors.add((row["day"], key))
                    rows["error_classes"].append({"day": row["day"], "key": key,
                                                  "name": _short(error)})
            row.update((c, getattr(tm, c)) for c in SUMMED_COUNTERS)
            rows["tx_rows"].append(row)
        stacks = set()
        for pm in harvest.profiles:
            minute = floor_to(pm.minute, MINUTE)
            day = _day(minute)
            for frames, count in pm.stacks:
                frames = [(_short(f), int(line), _short(n)) for f, line, n in frames]
                stack_id = hashlib.blake2b(json.dumps(frames).encode(),
                                           digest_size=16).hexdigest()
                if (day, stack_id) not in self._stacks_written | stacks:
                    stacks.add((day, stack_id))
                    rows["stacks"].append({"day": day, "stack_id": stack_id,
                                           "files": [f[0] for f in frames],
                                           "lines": [f[1] for f in frames],
                                           "names": [f[2] for f in frames]})
                rows["profile_rows"].append({
                    "day": day, "minute": minute, "host": host, "pid": pid,
                    "name": _short(pm.name), "kind": _short(pm.kind),
                    "session": pm.session or "", "harvest_id": tag, "stack_id": stack_id,
                    "count": count, "rate_hz": pm.rate_hz, "mode": _short(pm.mode)})
        refused = {}
        for trace in harvest.traces:
            document = json.dumps(trace.document, separators=(",", ":"), default=str)
            if len(document.encode()) > self.max_trace_bytes:
                refused["store.trace_too_large"] = refused.get("store.trace_too_large", 0) + 1
                continue
            rows["traces"].append({
                "day": _day(trace.start), "id": str(trace.id), "start": trace.start,
                "name": _short(trace.name), "kind": _short(trace.kind),
                "duration_us": trace.duration_us, "status": trace.status,
                "error": None if trace.error is None else _short(trace.error),
                "url": _short(trace.url, MAX_URL), "host": host, "pid": pid,
                "session": trace.session or "", "harvest_id": tag, "document": document})
        minute = floor_to(harvest.ended, MINUTE)
        for source in (harvest.dropped, refused):
            rows["drops"] += [{"day": _day(minute), "minute": minute, "host": host,
                               "reason": _short(reason), "count": count, "harvest_id": tag}
                              for reason, count in source.items() if count]
        rows["harvests"].append({"day": _day(harvest.started), "harvest_id": tag, "host": host,
                                 "pid": pid, "started": harvest.started,
                                 "ended": harvest.ended})
        return rows, stacks, errors

    # -- retention --------------------------------------------------------------

    def retention(self, now=None):
        """Drop the partitions (UTC days) that end before the retention
        window starts: {table: rows removed}."""
        now = time.time() if now is None else now
        cut = _day(now - self.retention_days * 86400).replace("-", "")
        with self._using():
            parts = self.http.select(
                "SELECT table, partition_id, sum(rows) FROM system.parts WHERE active AND "
                f"database = {quote(self.http.database)} AND table IN "
                f"({', '.join(map(quote, DAY_TABLES))}) AND partition_id < {quote(cut)} "
                "GROUP BY table, partition_id ORDER BY table, partition_id", writing=True)
            removed = dict.fromkeys(DAY_TABLES, 0)
            for table, partition, count in parts:
                self.http.execute(f"ALTER TABLE {table} DROP PARTITION ID {quote(partition)}")
                removed[table] += count
        return removed

    # -- reading ----------------------------------------------------------------

    @staticmethod
    def _filters(host=None, session=None, kind=None, names=None, worker=None):
        """The usual filters as SQL clauses (session None: the ordinary rows)."""
        clauses = [f"session = {quote(session or '')}"]
        for test, value in (("host", host), ("kind", kind), ("pid", worker)):
            if value is not None:
                clauses.append(f"{test} = {quote(value) if test != 'pid' else int(value)}")
        if names is not None:
            names = list(names)
            clauses.append(f"name IN ({', '.join(map(quote, names))})" if names else "0")
        return clauses

    def _where(self, since, until, host=None, session=None, kind=None, names=None, worker=None,
               column="minute"):
        return " AND ".join([_days_between(since, until), f"{column} >= {int(since)}",
                             f"{column} < {int(ceil_to(until, 1))}"]
                            + self._filters(host, session, kind, names, worker))

    def _merged_rows(self, since, until, group, host=None, session=None, kind=None,
                     names=None, worker=None, coarsest=DAY):
        """SQL of the merged rows of [since, until): the -State of every
        column (STATE_COLUMNS) per `group` ((SQL, alias) pairs; in the SQL
        `{t}` is the row's start), UNION ALL'd, or None when no rows can
        answer; the caller -Merges them.  The rows are those of the
        narrowest family that answers the filter (a worker's own rows given
        a worker, a host's given a host, else the fleet's; minutes before
        `rollups_from` from the workers' rows, which hold them), the
        coarsest inside the window and finer ones at its edges."""
        family = "worker" if worker is not None else "host" if host is not None else "fleet"
        cut = since if family == "worker" else min(max(since, self.rollups_from), until)
        spans = {}
        for rows_of, lo, hi in (("worker", since, cut), (family, cut, until)):
            if lo < hi:
                for res, a, b in pieces(lo, hi, {}, coarsest=coarsest):
                    table = TIERS[rows_of].get(res, "tx_rows")
                    spans.setdefault(table, []).append((a, b))
        filters = " AND ".join(self._filters(host, session, kind, names, worker))
        keys = ", ".join(alias for _, alias in group)
        selects = []
        for table, windows in sorted(spans.items()):
            t, state = ("minute", state_of_minutes) if table == "tx_rows" else ("t", merge_state)
            # Each piece names its own days: one condition from the first
            # piece's day to the last's would make ClickHouse look into
            # every day between (a month's two hour edges: every day's
            # hour rows).
            window = " OR ".join(f"({_days_between(lo, hi)} AND {t} >= {lo} AND {t} < {hi})"
                                 for lo, hi in windows)
            states = ", ".join(f"{state(name)} AS {name}" for name in STATE_COLUMNS)
            columns = ", ".join(f"{expr.format(t=t)} AS {alias}" for expr, alias in group)
            selects.append(f"SELECT {columns}, {states} FROM {table} "
                           f"WHERE ({window}) AND {filters} GROUP BY {keys}")
        return " UNION ALL ".join(selects) or None

    def _error_names(self, keys, since, until):
        """{key: name} of error classes."""
        names = {}
        keys = sorted(keys)
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            names.update(self.http.select(
                f"SELECT key, any(name) FROM error_classes WHERE "
                f"{_days_between(floor_to(since, DAY), until)} AND key IN "
                f"({', '.join(map(str, chunk))}) GROUP BY key"))
        return names

    def transactions(self, since, until, host=None, kind=None, session=None, names=None,
                     worker=None):
        worker = checked_worker(self.name, worker)
        rows_sql = self._merged_rows(since, until, (("name", "name"), ("kind", "kind")), host,
                                     session, kind, names, worker)
        if rows_sql is None:
            return []
        with self._using():
            rows = self.http.select(
                f"SELECT name, kind, {', '.join(map(merged, STATE_COLUMNS))} FROM ({rows_sql}) "
                "GROUP BY name, kind ORDER BY name, kind")
            error_names = self._error_names({k for row in rows for k in row[-1][0]}, since,
                                            until)
        found = []
        for row in rows:
            entry = {"name": row[0], "kind": row[1]}
            entry.update(zip(SUMMED_COUNTERS, row[2:2 + len(SUMMED_COUNTERS)]))
            min_us, max_us, apdex_t_us, first, last, (keys, counts), (error_keys, errors) = \
                row[2 + len(SUMMED_COUNTERS):]
            entry.update(min_us=min_us, max_us=max_us, apdex_t_us=apdex_t_us,
                         first_minute=first, last_minute=last,
                         minutes=(last - first) // MINUTE + 1,
                         histogram=dict(zip(keys, counts)),
                         error_classes={error_names.get(k, str(k)): n
                                        for k, n in zip(error_keys, errors)})
            found.append(entry)
        return found

    def series(self, name=None, since=None, until=None, step_s=60, host=None, worker=None):
        worker = checked_worker(self.name, worker)
        step = checked_step(self.name, step_s)
        until = time.time() if until is None else until
        since = until - 3600 if since is None else since
        start, end = floor_to(since, step), ceil_to(until, step)
        coarsest = max(res for res in RESOLUTIONS if step % res == 0)
        group = ((f"toUInt32(intDiv({{t}}, {step}) * {step})", "bucket"), ("kind", "kind"))
        rows_sql = self._merged_rows(start, end, group, host, None, None,
                                     None if name is None else [name], worker, coarsest)
        columns = [f"{c}_s" for c in SERIES_COUNTERS + SERIES_APDEX_COUNTERS] + ["hist_s"]
        with self._using():
            rows = [] if rows_sql is None else self.http.select(
                f"SELECT bucket, kind, {', '.join(map(merged, columns))} FROM ({rows_sql}) "
                "GROUP BY bucket, kind")
        # Apdex counts web requests only, and only of one transaction.
        by_bucket = {}
        for bucket, kind, *values in rows:
            into = by_bucket.setdefault(bucket, {"t": bucket, "histogram": {}})
            for counter, value in zip(SERIES_COUNTERS, values):
                into[counter] = into.get(counter, 0) + value
            for counter, value in zip(SERIES_APDEX_COUNTERS, values[len(SERIES_COUNTERS):]):
                into[counter] = into.get(counter, 0) + (
                    value if name is not None and kind == "web" else 0)
            add_counts(into["histogram"], dict(zip(*values[-1])))
        empty = dict.fromkeys(SERIES_COUNTERS + SERIES_APDEX_COUNTERS, 0)
        return [dict(empty, **by_bucket.get(t, {"t": t, "histogram": {}}))
                for t in range(start, end, step)]

    _TRACE_COLUMNS = ("id", "start", "name", "kind", "duration_us", "status", "error", "url",
                      "host", "pid", "session")

    def traces(self, transaction=None, since=None, until=None, session=None, limit=100,
               order="slowest", host=None, worker=None):
        worker = checked_worker(self.name, worker)
        check_trace_order(self.name, order)
        clauses = ["1"]
        if since is not None or until is not None:
            lo = 0 if since is None else since
            hi = time.time() + 366 * 86400 if until is None else until
            clauses.append(_days_between(lo, hi))
        for test, value in (("name = {}", transaction), ("start >= {}", since),
                            ("start < {}", until), ("session = {}", session),
                            ("host = {}", host), ("pid = {}", worker)):
            if value is not None:
                clauses.append(test.format(quote(value) if isinstance(value, str)
                                           else repr(value)))
        ordering = "duration_us DESC" if order == "slowest" else "start DESC"
        with self._using():
            rows = self.http.select(
                f"SELECT {', '.join(self._TRACE_COLUMNS)} FROM traces WHERE "
                f"{' AND '.join(clauses)} ORDER BY {ordering}, id LIMIT {int(limit)}")
        return [self._trace_summary(row) for row in rows]

    def _trace_summary(self, row):
        summary = dict(zip(self._TRACE_COLUMNS, row))
        summary["session"] = summary["session"] or None
        return summary

    def trace(self, id):
        with self._using():
            rows = self.http.select(f"SELECT {', '.join(self._TRACE_COLUMNS)}, document "
                                    f"FROM traces WHERE id = {quote(id)} LIMIT 1")
        if not rows:
            return None
        summary = self._trace_summary(rows[0][:-1])
        summary["document"] = json.loads(rows[0][-1])
        return summary

    def profile(self, transaction=None, kind=None, since=None, until=None, session=None,
                host=None, worker=None, labelled=False):
        worker = checked_worker(self.name, worker)
        until = time.time() if until is None else until
        since = until - 3600 if since is None else since
        where = self._where(since, until, host, session, kind,
                            None if transaction is None else [transaction], worker)
        with self._using():
            rows = self.http.select(
                "SELECT stack_id, sum(count) AS samples, max(rate_hz), min(mode), max(mode) "
                f"FROM profile_rows WHERE {where} GROUP BY stack_id "
                "ORDER BY samples DESC, stack_id")
            frames = self._frames([row[0] for row in rows], since, until)
            groups = self.http.select(
                "SELECT name, kind, host, stack_id, sum(count) AS samples FROM profile_rows "
                f"WHERE {where} GROUP BY name, kind, host, stack_id "
                "ORDER BY name, kind, host, samples DESC, stack_id") if labelled else None
        modes = {row[3] for row in rows} | {row[4] for row in rows}
        found = {"stacks": [(frames[row[0]], row[1]) for row in rows],
                 "rate_hz": max((row[2] for row in rows), default=0.0),
                 "mode": (modes.pop() if len(modes) == 1 else "mixed") if modes else None}
        if labelled:
            kept = {}
            for name, kind, host, stack_id, count in groups:
                labels = (("transaction", name), ("kind", kind), ("host", host))
                if worker is not None:
                    labels += (("worker", worker),)
                kept.setdefault(labels, []).append((frames[stack_id], count))
            found["groups"] = [(dict(labels), stacks) for labels, stacks in kept.items()]
        return found

    def _frames(self, stack_ids, since, until):
        """{stack_id: ((file, line, name), ...)}; any() of the copies, which
        are identical."""
        frames = {}
        for i in range(0, len(stack_ids), 1000):
            chunk = stack_ids[i:i + 1000]
            for stack_id, files, lines, names in self.http.select(
                    "SELECT stack_id, any(files), any(lines), any(names) FROM stacks WHERE "
                    f"{_days_between(floor_to(since, DAY), until)} AND stack_id IN "
                    f"({', '.join(map(quote, chunk))}) GROUP BY stack_id"):
                frames[stack_id] = tuple(zip(files, lines, names))
        return frames

    # -- sessions ---------------------------------------------------------------

    def create_session(self, kind, transaction=None, duration_s=60.0, traces=10, rate_hz=100.0,
                       now=None):
        check_new_session(self.name, kind, duration_s, rate_hz, traces)
        now = time.time() if now is None else now
        session = {"id": uuid.uuid4().hex, "kind": kind, "transaction_name": transaction,
                   "created": now, "ends": now + duration_s, "traces": int(traces),
                   "rate_hz": float(rate_hz), "status": "active", "ended": None}
        with self._using():
            self._put_session(session, 1)
        return session["id"]

    def _put_session(self, session, version):
        row = dict(session, day=_day(session["created"]), version=version)
        self.http.insert("sessions", [row])

    def _session_list(self, having="1", order="s_created", limit=None):
        latest = ", ".join(f"argMax({f}, version) AS s_{f}" for f in _SESSION_FIELDS)
        rows = self.http.select(
            f"SELECT id, {latest}, max(version) FROM sessions GROUP BY id "
            f"HAVING {having} ORDER BY {order}" + ("" if limit is None else
                                                   f" LIMIT {int(limit)}"))
        found = []
        for row in rows:
            entry = {"id": row[0]}
            entry.update(zip(("kind", "transaction", "created", "ends", "traces", "rate_hz",
                              "status", "ended"), row[1:-1]))
            entry["_version"] = row[-1]
            found.append(entry)
        return found

    @staticmethod
    def _public(session):
        return {k: v for k, v in session.items() if k != "_version"}

    def active_sessions(self, now=None):
        now = time.time() if now is None else now
        with self._using():
            found = self._session_list(f"s_status = 'active' AND s_ends > {now!r} "
                                       f"AND s_created <= {now!r}")
        return [self._public(s) for s in found]

    def session(self, id):
        with self._using():
            found = self._session_list(f"id = {quote(id)}")
        return self._public(found[0]) if found else None

    def end_session(self, id, status="done"):
        if status == "active":
            raise StoreError(f"store {self.name}: a session cannot end as 'active'")
        with self._using():
            found = self._session_list(f"id = {quote(id)}")
            if not found:
                return False
            session = found[0]
            version = session.pop("_version") + 1
            session["transaction_name"] = session.pop("transaction")
            session.update(status=_short(status), ended=time.time())
            self._put_session(session, version)
        return True

    def sessions(self, limit=50):
        with self._using():
            found = self._session_list(order="s_created DESC", limit=limit)
        return [self._public(s) for s in found]

    # -- hosts, drops -----------------------------------------------------------

    def hosts(self, since, until):
        with self._using():
            rows = self.http.select(
                "SELECT host, pid, count(), min(started), max(ended) FROM harvests WHERE "
                f"{_days_between(since - DAY, until)} AND ended >= {since!r} "
                f"AND started < {until!r} GROUP BY host, pid ORDER BY host, pid")
        # Every worker's rows are kept as long as anything: all may be chosen.
        return hosts_from_workers(
            (host, pid, n, first, last, {"pid": pid, "harvests": n, "first_seen": first,
                                         "last_seen": last} if pid > 0 else None)
            for host, pid, n, first, last in rows)

    def drops(self, since):
        since = floor_to(since, MINUTE)
        with self._using():
            rows = self.http.select(
                f"SELECT reason, sum(count) FROM drops WHERE day >= {quote(_day(since))} "
                f"AND minute >= {since} GROUP BY reason ORDER BY reason")
        return dict(rows)

    def close(self):
        self._closed = True
