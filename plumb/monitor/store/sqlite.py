"""The SQLite store: one file shared by every worker process of one host.

WAL, so readers (the dashboard) never wait for the writers; each write is
one BEGIN IMMEDIATE transaction that waits at most `timeout_s` for the lock
and then at most `timeout_s` more to finish (a progress handler interrupts
it), so a stuck writer gives up and its caller keeps the harvest."""
import contextlib
import hashlib
import os
import sqlite3
import threading
import time
import uuid

from . import codec
from ..harvest import TransactionMinute
from .base import (SERIES_APDEX_COUNTERS, SERIES_COUNTERS, SUMMED_COUNTERS, Store, StoreError,
                   add_counts, check_new_session, check_trace_order, checked_step,
                   checked_worker, hosts_from_workers)
from .sqlite_schema import SCHEMA_VERSION, prepare, refuse
from .tiers import DAY, MINUTE, RESOLUTIONS, WORKER_RESOLUTIONS, ceil_to, floor_to, pieces
from .url import take_options

OPTIONS = {
    "timeout_s": (float, 3.0),              # the lock wait, and then the write, at most
    "retention_days": (float, 7.0),
    "rollup_after_hours": (float, 24.0),    # minute rows older than this: hours and days only
    "retention_interval_s": (float, 300.0),  # how often write() runs retention
    "max_trace_bytes": (int, 1 << 20),      # a trace document's JSON, at most
}
MAX_URL = 2048                               # characters of a trace's URL kept
MAX_TEXT = 512                               # of a name, host, error class or function
ALL_TRANSACTIONS = ("", "")                  # the names row of every transaction merged

# The merged rows' keys: of all of a host's workers, and of one worker.
_KEY = ("res", "t", "host_id", "name_id", "session")
_WORKER_KEY = ("res", "t", "host_id", "worker", "name_id", "session")


def _upsert_tx(table, key):
    columns = key + SUMMED_COUNTERS + ("min_us", "max_us", "apdex_t_us", "first_minute",
                                       "last_minute", "histogram", "error_classes")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in SUMMED_COUNTERS) + ", "
        # min_us of a row without requests means nothing
        "min_us = CASE WHEN count = 0 THEN excluded.min_us WHEN excluded.count = 0 THEN min_us "
        "ELSE min(min_us, excluded.min_us) END, "
        "max_us = max(max_us, excluded.max_us), "
        "apdex_t_us = max(apdex_t_us, excluded.apdex_t_us), "
        "first_minute = min(first_minute, excluded.first_minute), "
        "last_minute = max(last_minute, excluded.last_minute), "
        "histogram = plumb_hist_add(histogram, excluded.histogram), "
        "error_classes = plumb_counts_add(error_classes, excluded.error_classes)")


def _upsert_profile(table, key):
    columns = key + ("stack_id", "count", "rate_hz", "mode")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key + ('stack_id',))}) DO UPDATE SET "
        "count = count + excluded.count, rate_hz = max(rate_hz, excluded.rate_hz), "
        "mode = CASE WHEN mode = excluded.mode THEN mode ELSE 'mixed' END")


_UPSERT_TX = _upsert_tx("tx_rows", _KEY)
_UPSERT_WORKER_TX = _upsert_tx("worker_tx_rows", _WORKER_KEY)
_UPSERT_PROFILE = _upsert_profile("profile_rows", _KEY)
_UPSERT_WORKER_PROFILE = _upsert_profile("worker_profile_rows", _WORKER_KEY)
_SESSION_COLUMNS = "id, kind, transaction_name, created, ends, traces, rate_hz, status, ended"
_TRACE_COLUMNS = ("tr.id, tr.start, n.name, n.kind, tr.duration_us, tr.status, tr.error, tr.url, "
                  "h.host, tr.pid, tr.session")
_TRACE_FROM = ("FROM traces tr JOIN names n ON n.id = tr.name_id "
               "JOIN hosts h ON h.id = tr.host_id")


def sqlite_path(url, location):
    """The file an sqlite URL names: sqlite:///relative, sqlite:////absolute
    (as SQLAlchemy writes them) and bare paths."""
    if "://" in url and location.startswith("/"):
        return location[1:]
    return location


def open_sqlite(url, location, options):
    """The "sqlite" scheme's factory."""
    path = sqlite_path(url, location)
    if not path:
        raise StoreError(f"store URL {url!r}: it names no file (the path is empty)")
    return SQLiteStore(path, **take_options(url, options, OPTIONS))


def _all_transactions(minutes):
    """Per (minute, session), every transaction of the harvest merged into
    one row (name None): the rows of series(None), which would otherwise
    merge 200 transactions' histograms per bucket when read."""
    merged = {}
    for tm in minutes:
        key = (floor_to(tm.minute, MINUTE), tm.session)
        into = merged.get(key)
        if into is None:
            merged[key] = into = TransactionMinute(minute=key[0], name=None, kind="",
                                                   session=tm.session, min_us=tm.min_us,
                                                   apdex_t_us=tm.apdex_t_us)
        if tm.count and (not into.count or tm.min_us < into.min_us):
            into.min_us = tm.min_us
        for counter in SUMMED_COUNTERS:
            setattr(into, counter, getattr(into, counter) + getattr(tm, counter))
        into.max_us = max(into.max_us, tm.max_us)
        into.apdex_t_us = max(into.apdex_t_us, tm.apdex_t_us)
        add_counts(into.histogram, tm.histogram)
        add_counts(into.error_classes, tm.error_classes)
    return list(merged.values())


def _row_keys(minute, host_id, pid):
    """The rows one minute is added into: (res, t, host_id) of the rows of
    all the host's workers, at every resolution, and (res, t, host_id,
    worker) of the worker's own, up to hours (none for a pid of 0 or less,
    which no process has)."""
    every = [(res, floor_to(minute, res), host_id) for res in RESOLUTIONS]
    own = [(res, floor_to(minute, res), host_id, pid) for res in WORKER_RESOLUTIONS] \
        if pid > 0 else []
    return every, own


def _short(text, limit=MAX_TEXT):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit]


class SQLiteStore(Store):
    schema_version = SCHEMA_VERSION

    def __init__(self, path, timeout_s=3.0, retention_days=7.0, rollup_after_hours=24.0,
                 retention_interval_s=300.0, max_trace_bytes=1 << 20):
        self.path = os.path.abspath(path)
        self.timeout_s = timeout_s
        self.retention_days = retention_days
        self.rollup_after_hours = rollup_after_hours
        self.retention_interval_s = retention_interval_s
        self.max_trace_bytes = max_trace_bytes
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise refuse(self.path, f"its folder {folder} does not exist")
        if os.path.isdir(self.path):
            raise refuse(self.path, "it is a folder, not a file")
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as error:
            raise refuse(self.path, f"cannot open it ({error})") from None
        try:
            prepare(self._conn, self.path)
        except BaseException:
            self._conn.close()
            raise
        conn = self._conn
        conn.execute("PRAGMA synchronous = NORMAL")   # WAL: durable at checkpoints, never torn
        conn.create_function("plumb_hist_add", 2, codec.merge_packed_histograms)
        conn.create_function("plumb_counts_add", 2, codec.merge_packed_counts)
        conn.create_aggregate("plumb_concat", 1, codec.Concatenation)
        self._deadline = None
        self._lock = threading.Lock()
        self._ids = {}                # (table, key) -> id of names, hosts, functions: never removed

    def __repr__(self):
        return f"SQLiteStore({self.path!r})"

    # -- plumbing --------------------------------------------------------------

    def _past_deadline(self):
        return 1 if self._deadline is not None and time.monotonic() > self._deadline else 0

    @contextlib.contextmanager
    def _using(self, what):
        """The connection, for one caller at a time; sqlite3's errors become
        one-line StoreErrors."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"store {self.path}: it is closed")
            try:
                yield self._conn
            except sqlite3.Error as error:
                text = str(error)
                if "interrupted" in text:
                    text = f"gave up after {self.timeout_s:g} s writing"
                elif "locked" in text or "busy" in text:
                    text = f"locked by another process for more than {self.timeout_s:g} s"
                raise StoreError(f"store {self.path}: {what} failed: {text}") from None
            finally:
                self._deadline = None

    @contextlib.contextmanager
    def _transaction(self, conn):
        conn.execute("BEGIN IMMEDIATE")        # waits at most timeout_s for the lock
        self._deadline = time.monotonic() + self.timeout_s
        conn.set_progress_handler(self._past_deadline, 1000)   # writes only: reads run free
        pending = {}
        try:
            yield pending
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                self._deadline = None
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.set_progress_handler(None, 0)
        self._ids.update(pending)          # ids are real only once committed

    def _id(self, conn, pending, table, key):
        """The id of a row stored once (a host, a name, a function)."""
        found = self._ids.get((table, key)) or pending.get((table, key))
        if found:
            return found
        columns = {"hosts": ("host",), "names": ("name", "kind"),
                   "functions": ("file", "line", "name")}[table]
        where = " AND ".join(f"{c} = ?" for c in columns)
        row = conn.execute(f"SELECT id FROM {table} WHERE {where}", key).fetchone()
        if row is None:
            row = (conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                f"({', '.join('?' * len(columns))})", key).lastrowid,)
        pending[(table, key)] = row[0]
        return row[0]

    def _lookup(self, conn, table, key):
        """An existing id or None (readers never create)."""
        found = self._ids.get((table, key))
        if found:
            return found
        columns = {"hosts": ("host",), "names": ("name", "kind")}[table]
        where = " AND ".join(f"{c} = ?" for c in columns)
        row = conn.execute(f"SELECT id FROM {table} WHERE {where}", key).fetchone()
        return row[0] if row else None

    def _kept_from(self, conn):
        kept = {res: 0 for res in RESOLUTIONS}
        for key, value in conn.execute(
                "SELECT key, value FROM plumb_meta WHERE key LIKE 'kept_from.%'"):
            kept[int(key.split(".")[1])] = int(value)
        return kept

    def _window(self, conn, since, until, coarsest=DAY, worker=None):
        """SQL selecting the rows that answer [since, until), and its values.
        One worker's rows go up to hours, and only as far back as minutes."""
        kept = self._kept_from(conn)
        if worker is not None:
            coarsest = min(coarsest, WORKER_RESOLUTIONS[-1])
            kept = {res: max(kept[res], kept[MINUTE]) for res in kept}
        found = pieces(since, until, kept, coarsest=coarsest)
        if not found:
            return "0", []
        sql = " OR ".join("(res = ? AND t >= ? AND t < ?)" for _ in found)
        return f"({sql})", [value for piece in found for value in piece]

    # -- writing ----------------------------------------------------------------

    def write(self, harvest):
        with self._using("write") as conn:
            with self._transaction(conn) as pending:
                if conn.execute("SELECT 1 FROM harvests WHERE id = ?",
                                (harvest.id,)).fetchone():
                    return False
                host_id = self._id(conn, pending, "hosts", (_short(harvest.host),))
                conn.execute("INSERT INTO harvests (id, host_id, pid, started, ended, written) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (harvest.id, host_id, harvest.pid, harvest.started, harvest.ended,
                              time.time()))
                refused = {}
                pid = int(harvest.pid)
                self._write_transactions(conn, pending, host_id, pid, harvest.transactions)
                self._write_traces(conn, pending, host_id, pid, harvest.traces, refused)
                self._write_profiles(conn, pending, host_id, pid, harvest.profiles)
                self._write_drops(conn, host_id, harvest.ended, harvest.dropped, refused)
        self._retention_if_due()
        return True

    def _write_transactions(self, conn, pending, host_id, pid, minutes):
        rows, worker_rows = [], []
        everything = _all_transactions(minutes)
        all_id = self._id(conn, pending, "names", ALL_TRANSACTIONS) if everything else None
        for tm in minutes + everything:
            name_id = all_id if tm.name is None else \
                self._id(conn, pending, "names", (_short(tm.name), _short(tm.kind)))
            minute = floor_to(tm.minute, MINUTE)
            values = ([getattr(tm, c) for c in SUMMED_COUNTERS]
                      + [tm.min_us, tm.max_us, tm.apdex_t_us, minute, minute,
                         codec.pack_histogram(tm.histogram), codec.pack_counts(tm.error_classes)])
            every, own = _row_keys(minute, host_id, pid)
            rows += [[*key, name_id, tm.session or ""] + values for key in every]
            worker_rows += [[*key, name_id, tm.session or ""] + values for key in own]
        conn.executemany(_UPSERT_TX, rows)
        conn.executemany(_UPSERT_WORKER_TX, worker_rows)

    def _write_traces(self, conn, pending, host_id, pid, traces, refused):
        rows = []
        for trace in traces:
            document = codec.pack_document(trace.document, self.max_trace_bytes)
            if document is None:
                refused["store.trace_too_large"] = refused.get("store.trace_too_large", 0) + 1
                continue
            name_id = self._id(conn, pending, "names", (_short(trace.name), _short(trace.kind)))
            rows.append((trace.id, trace.start, name_id, host_id, pid, trace.session or "",
                         trace.duration_us, trace.status,
                         None if trace.error is None else _short(trace.error),
                         _short(trace.url, MAX_URL), document))
        conn.executemany("INSERT OR IGNORE INTO traces (id, start, name_id, host_id, pid, "
                         "session, duration_us, status, error, url, document) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _stack_id(self, conn, pending, frames, stacks):
        """A stack stored once, keyed by a hash of its functions' ids.  Not
        cached across writes: retention (in any process) removes stacks no
        row uses."""
        functions = [self._id(conn, pending, "functions",
                              (_short(file), int(line), _short(name)))
                     for file, line, name in frames]
        packed = codec.pack_ids(functions)
        digest = hashlib.blake2b(packed, digest_size=16).digest()
        found = stacks.get(digest)
        if found is None:
            row = conn.execute("SELECT id FROM stacks WHERE hash = ?", (digest,)).fetchone()
            found = row[0] if row else conn.execute(
                "INSERT INTO stacks (hash, functions) VALUES (?, ?)", (digest, packed)).lastrowid
            stacks[digest] = found
        return found

    def _write_profiles(self, conn, pending, host_id, pid, profiles):
        rows, worker_rows, stacks = [], [], {}
        for pm in profiles:
            name_id = self._id(conn, pending, "names", (_short(pm.name), _short(pm.kind)))
            every, own = _row_keys(floor_to(pm.minute, MINUTE), host_id, pid)
            for frames, count in pm.stacks:
                values = (name_id, pm.session or "", self._stack_id(conn, pending, frames, stacks),
                          count, pm.rate_hz, _short(pm.mode))
                rows += [key + values for key in every]
                worker_rows += [key + values for key in own]
        conn.executemany(_UPSERT_PROFILE, rows)
        conn.executemany(_UPSERT_WORKER_PROFILE, worker_rows)

    def _write_drops(self, conn, host_id, ended, dropped, refused):
        minute = floor_to(ended, MINUTE)
        rows = [(minute, host_id, _short(reason), count)
                for source in (dropped, refused) for reason, count in source.items() if count]
        conn.executemany("INSERT INTO drops (minute, host_id, reason, count) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (minute, host_id, reason) DO UPDATE SET "
                         "count = count + excluded.count", rows)

    # -- retention --------------------------------------------------------------

    def _due_retention(self, now):
        self._retention(now, only_if_due=True)

    def retention(self, now=None):
        return self._retention(time.time() if now is None else now, only_if_due=False)

    def _retention(self, now, only_if_due):
        keep_cut = floor_to(now - self.retention_days * 86400, MINUTE)
        minute_cut = max(keep_cut, floor_to(now - self.rollup_after_hours * 3600, MINUTE))
        removed = {}
        with self._using("retention") as conn:
            with self._transaction(conn):
                meta = dict(conn.execute("SELECT key, value FROM plumb_meta"))
                if only_if_due and now - float(meta.get("retention_ran", 0)) < \
                        self.retention_interval_s:
                    return removed
                kept = self._kept_from(conn)
                cuts = {MINUTE: max(kept[MINUTE], minute_cut)}
                for res in RESOLUTIONS[1:]:
                    cuts[res] = max(kept[res], keep_cut)
                for table in ("tx_rows", "profile_rows"):
                    removed[table] = sum(
                        conn.execute(f"DELETE FROM {table} WHERE res = ? AND t < ?",
                                     (res, cut)).rowcount for res, cut in cuts.items())
                    # A worker's own rows, of every resolution, go with the minutes.
                    removed["worker_" + table] = conn.execute(
                        f"DELETE FROM worker_{table} WHERE t < ?", (cuts[MINUTE],)).rowcount
                for table, column in (("traces", "start"), ("harvests", "ended"),
                                      ("drops", "minute")):
                    removed[table] = conn.execute(f"DELETE FROM {table} WHERE {column} < ?",
                                                  (keep_cut,)).rowcount
                removed["sessions"] = conn.execute(
                    "DELETE FROM sessions WHERE ends < ? AND status != 'active'",
                    (keep_cut,)).rowcount
                removed["stacks"] = conn.execute(
                    "DELETE FROM stacks WHERE NOT EXISTS "
                    "(SELECT 1 FROM profile_rows WHERE stack_id = stacks.id) AND NOT EXISTS "
                    "(SELECT 1 FROM worker_profile_rows WHERE stack_id = stacks.id)").rowcount
                conn.executemany("INSERT OR REPLACE INTO plumb_meta (key, value) VALUES (?, ?)",
                                 [(f"kept_from.{res}", str(cut)) for res, cut in cuts.items()]
                                 + [("retention_ran", repr(now))])
        return removed

    # -- reading ----------------------------------------------------------------

    @staticmethod
    def _name_filter(kind=None, names=None):
        clauses, values = [], []
        if kind is not None or names is not None:
            sub, subvalues = [], []
            if kind is not None:
                sub.append("kind = ?")
                subvalues.append(kind)
            if names is not None:
                names = list(names)
                sub.append(f"name IN ({', '.join('?' * len(names))})" if names else "0")
                subvalues += names
            clauses.append(f"name_id IN (SELECT id FROM names WHERE {' AND '.join(sub)})")
            values += subvalues
        return clauses, values

    def _worker(self, worker):
        return checked_worker(self.path, worker)

    @staticmethod
    def _merged(table, worker):
        """The table of merged rows a reader reads: of all workers, or of one."""
        return table if worker is None else "worker_" + table

    def _filters(self, conn, host=None, session=None, kind=None, names=None, worker=None):
        """WHERE clauses on merged rows for the usual filters (session None:
        the ordinary rows; worker: on a worker's own rows); None when
        nothing can match."""
        clauses, values = self._name_filter(kind, names)
        if host is not None:
            host_id = self._lookup(conn, "hosts", (host,))
            if host_id is None:
                return None, None
            clauses.append("host_id = ?")
            values.append(host_id)
        if worker is not None:
            clauses.append("worker = ?")
            values.append(worker)
        clauses.append("session = ?")
        values.append(session or "")
        return clauses, values

    def transactions(self, since, until, host=None, kind=None, session=None, names=None,
                     worker=None):
        worker = self._worker(worker)
        with self._using("reading transactions") as conn:
            window, values = self._window(conn, since, until, worker=worker)
            clauses, more = self._filters(conn, host, session, kind, names, worker)
            if clauses is None:
                return []
            sums = ", ".join(f"SUM({c})" for c in SUMMED_COUNTERS)
            rows = conn.execute(
                f"SELECT n.name, n.kind, {sums}, MIN(CASE WHEN count > 0 THEN min_us END), "
                "MAX(max_us), MAX(apdex_t_us), MIN(first_minute), MAX(last_minute), "
                "plumb_concat(histogram), group_concat(error_classes, char(10)) "
                f"FROM {self._merged('tx_rows', worker)} JOIN names n ON n.id = name_id "
                f"WHERE {window} AND n.kind != '' "
                + "".join(f" AND {c}" for c in clauses)
                + " GROUP BY name_id ORDER BY n.name, n.kind", values + more).fetchall()
        found = []
        for row in rows:
            entry = {"name": row[0], "kind": row[1]}
            entry.update(zip(SUMMED_COUNTERS, row[2:2 + len(SUMMED_COUNTERS)]))
            (min_us, max_us, apdex_t_us, first, last, histogram,
             errors) = row[2 + len(SUMMED_COUNTERS):]
            entry.update(min_us=min_us or 0, max_us=max_us, apdex_t_us=apdex_t_us,
                         first_minute=first, last_minute=last,
                         minutes=(last - first) // MINUTE + 1,
                         histogram=codec.add_packed_histogram({}, histogram),
                         error_classes=codec.add_counts_lines({}, errors))
            found.append(entry)
        return found

    def series(self, name=None, since=None, until=None, step_s=60, host=None, worker=None):
        worker = self._worker(worker)
        step = checked_step(self.path, step_s)
        until = time.time() if until is None else until
        since = until - 3600 if since is None else since
        start, end = floor_to(since, step), ceil_to(until, step)
        coarsest = max(res for res in RESOLUTIONS if step % res == 0)
        with self._using("reading a series") as conn:
            window, values = self._window(conn, start, end, coarsest=coarsest, worker=worker)
            names, kind = ([name], None) if name is not None else \
                ([ALL_TRANSACTIONS[0]], ALL_TRANSACTIONS[1])
            clauses, more = self._filters(conn, host, None, kind=kind, names=names,
                                          worker=worker)
            # Apdex counts web requests only: the rows of the name as a web
            # transaction (the all-transactions rows merge every kind).
            web_id = self._lookup(conn, "names", (name, "web")) if name is not None else None
            sums = ", ".join(f"SUM({c})" for c in SERIES_COUNTERS)
            web_sums = ", ".join(f"SUM(CASE WHEN name_id = ? THEN {c} ELSE 0 END)"
                                 for c in SERIES_APDEX_COUNTERS)
            rows = [] if clauses is None else conn.execute(
                f"SELECT t / {step} * {step} AS bucket, {sums}, {web_sums}, "
                f"plumb_concat(histogram) FROM {self._merged('tx_rows', worker)} WHERE {window} "
                + "".join(f" AND {c}" for c in clauses) + " GROUP BY bucket",
                [web_id or -1] * len(SERIES_APDEX_COUNTERS) + values + more).fetchall()
        by_bucket = {row[0]: row for row in rows}
        counters = SERIES_COUNTERS + SERIES_APDEX_COUNTERS
        empty = (None,) + (0,) * len(counters) + (None,)
        found = []
        for t in range(start, end, step):
            row = by_bucket.get(t, empty)
            bucket = {"t": t}
            bucket.update(zip(counters, row[1:-1]))
            bucket["histogram"] = codec.add_packed_histogram({}, row[-1])
            found.append(bucket)
        return found

    def traces(self, transaction=None, since=None, until=None, session=None, limit=100,
               order="slowest", host=None, worker=None):
        worker = self._worker(worker)
        check_trace_order(self.path, order)
        clauses, values = [], []
        if transaction is not None:
            clauses.append("n.name = ?")
            values.append(transaction)
        for test, value in (("tr.start >= ?", since), ("tr.start < ?", until),
                            ("tr.session = ?", session), ("h.host = ?", host),
                            ("tr.pid = ?", worker)):
            if value is not None:
                clauses.append(test)
                values.append(value)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        ordering = "tr.duration_us DESC" if order == "slowest" else "tr.start DESC"
        with self._using("reading traces") as conn:
            rows = conn.execute(f"SELECT {_TRACE_COLUMNS} {_TRACE_FROM}{where} ORDER BY "
                                f"{ordering}, tr.id LIMIT ?", values + [int(limit)]).fetchall()
        return [self._trace_summary(row) for row in rows]

    @staticmethod
    def _trace_summary(row):
        keys = ("id", "start", "name", "kind", "duration_us", "status", "error", "url", "host",
                "pid", "session")
        summary = dict(zip(keys, row))
        summary["session"] = summary["session"] or None
        return summary

    def trace(self, id):
        with self._using("reading a trace") as conn:
            row = conn.execute(f"SELECT {_TRACE_COLUMNS}, tr.document {_TRACE_FROM} "
                               "WHERE tr.id = ?", (id,)).fetchone()
        if row is None:
            return None
        summary = self._trace_summary(row[:-1])
        summary["document"] = codec.unpack_document(row[-1])
        return summary

    def profile(self, transaction=None, kind=None, since=None, until=None, session=None,
                host=None, worker=None, labelled=False):
        worker = self._worker(worker)
        until = time.time() if until is None else until
        since = until - 3600 if since is None else since
        with self._using("reading a profile") as conn:
            window, values = self._window(conn, since, until, worker=worker)
            clauses, more = self._filters(conn, host, session, kind,
                                          None if transaction is None else [transaction], worker)
            if clauses is None:
                return {"stacks": [], "rate_hz": 0.0, "mode": None}
            rows = conn.execute(
                "SELECT stack_id, SUM(count), MAX(rate_hz), MIN(mode), MAX(mode) "
                f"FROM {self._merged('profile_rows', worker)} WHERE {window}"
                + "".join(f" AND {c}" for c in clauses)
                + " GROUP BY stack_id ORDER BY 2 DESC, 1", values + more).fetchall()
            frames = self._frames(conn, [row[0] for row in rows])
            groups = self._labelled_stacks(conn, worker, window, values, clauses, more,
                                           frames) if labelled else None
        modes = {row[3] for row in rows} | {row[4] for row in rows}
        found = {"stacks": [(frames[row[0]], row[1]) for row in rows],
                 "rate_hz": max((row[2] for row in rows), default=0.0),
                 "mode": (modes.pop() if len(modes) == 1 else "mixed") if modes else None}
        if labelled:
            found["groups"] = groups
        return found

    def _labelled_stacks(self, conn, worker, window, values, clauses, more, frames):
        """The same rows as profile()'s, kept apart by what labels them:
        [({"transaction", "kind", "host"}, [(frames, count), ...]), ...],
        and "worker" too when they are one worker's."""
        groups = {}
        for name, kind, host, stack_id, count in conn.execute(
                f"SELECT n.name, n.kind, h.host, stack_id, SUM(count) "
                f"FROM {self._merged('profile_rows', worker)} "
                "JOIN names n ON n.id = name_id JOIN hosts h ON h.id = host_id "
                f"WHERE {window}" + "".join(f" AND {c}" for c in clauses)
                + " GROUP BY name_id, host_id, stack_id ORDER BY 1, 2, 3, 5 DESC, 4",
                values + more):
            labels = (("transaction", name), ("kind", kind), ("host", host))
            if worker is not None:
                labels += (("worker", worker),)
            groups.setdefault(labels, []).append((frames[stack_id], count))
        return [(dict(labels), stacks) for labels, stacks in groups.items()]

    @staticmethod
    def _frames(conn, stack_ids):
        """{stack id: ((file, line, name), ...)} for the given stacks."""
        stacks, functions = {}, {}
        for i in range(0, len(stack_ids), 500):
            chunk = stack_ids[i:i + 500]
            for stack_id, packed in conn.execute(
                    f"SELECT id, functions FROM stacks WHERE id IN ({', '.join('?' * len(chunk))})",
                    chunk):
                stacks[stack_id] = codec.unpack_ids(packed)
        wanted = sorted({f for ids in stacks.values() for f in ids})
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            for function_id, file, line, name in conn.execute(
                    "SELECT id, file, line, name FROM functions WHERE id IN "
                    f"({', '.join('?' * len(chunk))})", chunk):
                functions[function_id] = (file, line, name)
        return {stack_id: tuple(functions[f] for f in ids) for stack_id, ids in stacks.items()}

    # -- sessions ---------------------------------------------------------------

    def create_session(self, kind, transaction=None, duration_s=60.0, traces=10, rate_hz=100.0,
                       now=None):
        check_new_session(self.path, kind, duration_s, rate_hz, traces)
        now = time.time() if now is None else now
        session_id = uuid.uuid4().hex
        with self._using("creating a session") as conn:
            with self._transaction(conn):
                conn.execute(f"INSERT INTO sessions ({_SESSION_COLUMNS}) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', NULL)",
                             (session_id, kind, transaction, now, now + duration_s, int(traces),
                              float(rate_hz)))
        return session_id

    @staticmethod
    def _session_dict(row):
        keys = ("id", "kind", "transaction", "created", "ends", "traces", "rate_hz", "status",
                "ended")
        return dict(zip(keys, row))

    def active_sessions(self, now=None):
        now = time.time() if now is None else now
        with self._using("reading sessions") as conn:
            rows = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions "
                                "WHERE status = 'active' AND ends > ? AND created <= ? "
                                "ORDER BY created", (now, now)).fetchall()
        return [self._session_dict(row) for row in rows]

    def session(self, id):
        with self._using("reading a session") as conn:
            row = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?",
                               (id,)).fetchone()
        return None if row is None else self._session_dict(row)

    def end_session(self, id, status="done"):
        if status == "active":
            raise StoreError(f"store {self.path}: a session cannot end as 'active'")
        with self._using("ending a session") as conn:
            with self._transaction(conn):
                changed = conn.execute("UPDATE sessions SET status = ?, ended = ? WHERE id = ?",
                                       (_short(status), time.time(), id)).rowcount
        return changed > 0

    def sessions(self, limit=50):
        with self._using("reading sessions") as conn:
            rows = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions "
                                "ORDER BY created DESC LIMIT ?", (int(limit),)).fetchall()
        return [self._session_dict(row) for row in rows]

    # -- hosts, drops -----------------------------------------------------------

    def hosts(self, since, until):
        with self._using("reading hosts") as conn:
            # A worker can be chosen where it has minute rows of its own:
            # harvests written since workers_from (when the file became
            # version 2; 0 for a file made so) whose minutes are still kept.
            meta = dict(conn.execute("SELECT key, value FROM plumb_meta "
                                     "WHERE key = 'workers_from'"))
            split = "(v.pid > 0 AND v.written >= ? AND v.ended > ?)"
            rows = conn.execute(
                "SELECT h.host, v.pid, COUNT(*), MIN(v.started), MAX(v.ended), "
                f"SUM({split}), MIN(CASE WHEN {split} THEN v.started END), "
                f"MAX(CASE WHEN {split} THEN v.ended END) "
                "FROM harvests v JOIN hosts h ON h.id = v.host_id "
                "WHERE v.ended >= ? AND v.started < ? GROUP BY h.host, v.pid "
                "ORDER BY h.host, v.pid",
                (float(meta.get("workers_from", 0)), self._kept_from(conn)[MINUTE]) * 3
                + (since, until)).fetchall()
        return hosts_from_workers(
            (host, pid, n, first, last, {"pid": pid, "harvests": split_n,
                                         "first_seen": split_first, "last_seen": split_last}
             if split_n else None)
            for host, pid, n, first, last, split_n, split_first, split_last in rows)

    def drops(self, since):
        with self._using("reading drops") as conn:
            rows = conn.execute("SELECT reason, SUM(count) FROM drops WHERE minute >= ? "
                                "GROUP BY reason ORDER BY reason",
                                (floor_to(since, MINUTE),)).fetchall()
        return dict(rows)

    def close(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
