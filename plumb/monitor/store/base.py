"""The store interface: what plumb.monitor's workers write and what the
dashboard and the command line read.  Every store (the SQLite file for one
host, a fleet store later) implements this class; nothing in it says how
rows are kept.

Times are Unix seconds; windows are half-open, `since <= minute < until`.
Histograms are dicts {bucket key: count} (plumb.monitor.histogram's keys)
and are returned merged, never as quantiles: callers compute those with
plumb.monitor.histogram.quantile(histogram, q).

A worker is one process of a host, named by its pid: readers that take
`worker` answer for that process alone (with `host`, of that host; without,
of every host's process of that pid), and None for all workers."""
import abc
import time

SESSION_KINDS = ("xray", "threads")
TRACE_ORDERS = ("slowest", "recent")

# TransactionMinute's counters that add when rows merge, in one place for
# every store and reader.
SUMMED_COUNTERS = (
    "count", "errors", "total_us", "satisfied", "tolerating", "frustrated",
    "queue_us", "queue_count", "sql_us", "sql_count", "template_us", "template_count",
    "http_us", "http_count",
)
# What a series bucket carries (a chart's lines).
SERIES_COUNTERS = ("count", "errors", "total_us", "queue_us", "sql_us", "template_us",
                   "http_us")
# And the apdex counts of its web requests (a bucket's apdex score).
SERIES_APDEX_COUNTERS = ("satisfied", "tolerating", "frustrated")


class StoreError(ValueError):
    """The store cannot do what was asked: a bad URL or option, a file that
    is not plumb's, a database locked beyond the bounded wait, a disk that
    refuses the write.  The message is one line and names the store."""


def add_counts(into, counts):
    """Merge {key: count} `counts` into `into` by adding (histograms and
    error classes merge this way, exactly)."""
    get = into.get
    for key, count in counts.items():
        into[key] = get(key, 0) + count
    return into


def checked_worker(store_name, worker):
    """A reader's worker filter checked: None (all workers) or a pid above 0."""
    if worker is None:
        return None
    if isinstance(worker, bool) or not isinstance(worker, int) or worker <= 0:
        raise StoreError(f"store {store_name}: a worker is a process id above 0, "
                         f"not {worker!r}")
    return worker


def checked_step(store_name, step_s):
    """A series step checked: a whole number of minutes, as an int."""
    step = int(step_s)
    if step != step_s or step <= 0 or step % 60:
        raise StoreError(f"store {store_name}: a series step of {step_s!r} s "
                         "is not a whole number of minutes")
    return step


def check_trace_order(store_name, order):
    if order not in TRACE_ORDERS:
        raise StoreError(f"store {store_name}: trace order {order!r} is not one of "
                         f"{', '.join(TRACE_ORDERS)}")


def check_new_session(store_name, kind, duration_s, rate_hz, traces):
    if kind not in SESSION_KINDS:
        raise StoreError(f"store {store_name}: session kind {kind!r} is not one of "
                         f"{', '.join(SESSION_KINDS)}")
    if not duration_s > 0 or not rate_hz > 0 or int(traces) < 0:
        raise StoreError(f"store {store_name}: a session needs a duration and a rate "
                         f"above 0 (got duration_s={duration_s!r}, rate_hz={rate_hz!r})")


def hosts_from_workers(rows):
    """hosts()' answer from rows (host, pid, harvests, first_seen, last_seen,
    worker) ordered by host and pid, `worker` the pid's entry in the host's
    "workers" (None when it cannot be chosen)."""
    found = {}
    for host, pid, n, first, last, worker in rows:
        entry = found.get(host)
        if entry is None:
            found[host] = entry = {"host": host, "pids": [], "harvests": 0,
                                   "first_seen": first, "last_seen": last, "workers": []}
        entry["pids"].append(pid)
        entry["harvests"] += n
        entry["first_seen"] = min(entry["first_seen"], first)
        entry["last_seen"] = max(entry["last_seen"], last)
        if worker is not None:
            entry["workers"].append(worker)
    return list(found.values())


class Store(abc.ABC):
    """One store.  Writers call write() from a background thread; any
    number of processes (and hosts, for a fleet store) may write at once.
    Readers may run while writers write."""

    #: The version of the layout this store reads and writes.
    schema_version = 0
    #: How often write() runs retention by itself, in seconds.
    retention_interval_s = 300.0
    _next_retention = 0.0

    def _retention_if_due(self):
        """After a write: retention, at most every retention_interval_s in
        this process; a failure waits for the next interval (the harvest is
        written)."""
        now = time.time()
        if now < self._next_retention:
            return
        self._next_retention = now + self.retention_interval_s
        try:
            self._due_retention(now)
        except StoreError:
            pass

    def _due_retention(self, now):
        self.retention(now)

    @abc.abstractmethod
    def write(self, harvest):
        """Keep one plumb.monitor.harvest.Harvest, all of it or nothing, in
        a bounded time.  Returns True when written, False when a harvest with
        the same id was written before (a retry counts once).  Rows merge by
        (minute, host, name, kind, session) with what other processes
        wrote: counters add, min_us/max_us combine, histograms and error
        classes add; and are kept for the worker (harvest.pid) too, for
        readers given `worker`.  Raises StoreError (never leaving part of the harvest
        written) when the store cannot take it within the bound; the caller
        keeps the harvest and may retry."""

    @abc.abstractmethod
    def transactions(self, since, until, host=None, kind=None, session=None, names=None,
                     worker=None):
        """One dict per (name, kind) seen in the window: "name", "kind",
        every counter of TransactionMinute summed over the window and hosts
        (SUMMED_COUNTERS), "min_us", "max_us", "apdex_t_us" (the largest
        seen), "histogram" and "error_classes" merged, "first_minute",
        "last_minute" and "minutes" (the span first..last in minutes,
        inclusive: count / minutes is the throughput while it was seen).
        `names` limits the answer to those transaction names; `session`
        selects an X-Ray session's own copy (None: the ordinary rows);
        `worker` one worker's requests."""

    @abc.abstractmethod
    def series(self, name=None, since=None, until=None, step_s=60, host=None, worker=None):
        """Every time bucket of `step_s` seconds (a multiple of 60; buckets
        start at multiples of step_s) from the one holding `since` to the
        one before `until`, in order, as dicts: "t" (the bucket's start),
        SERIES_COUNTERS summed, SERIES_APDEX_COUNTERS of the bucket's web
        requests (0 in a series of every transaction, `name` None, whose
        merged rows do not tell web requests from background tasks),
        "histogram" merged.  Buckets without requests have zero counts."""

    @abc.abstractmethod
    def traces(self, transaction=None, since=None, until=None, session=None, limit=100,
               order="slowest", host=None, worker=None):
        """Kept traces' summaries, slowest or most recent first: dicts with
        "id", "start", "name", "kind", "duration_us", "status", "error",
        "url", "host", "pid", "session"."""

    @abc.abstractmethod
    def trace(self, id):
        """One trace's summary (as traces() gives it) plus "document", or
        None when no trace has that id."""

    @abc.abstractmethod
    def profile(self, transaction=None, kind=None, since=None, until=None, session=None,
                host=None, worker=None, labelled=False):
        """The sampled stacks merged across minutes, workers and hosts:
        {"stacks": [(frames, count), ...] most samples first, with frames a
        tuple of (file, line, name) outermost first; "rate_hz": the highest
        sampling rate seen; "mode": "wall", "cpu", ..., or "mixed"}.
        labelled: also "groups", the same stacks kept apart by what labels
        them, [({"transaction": name, "kind": kind, "host": host}, stacks),
        ...], with "worker" too when `worker` is given (for exports that carry
        labels, plumb.monitor.labelled)."""

    @abc.abstractmethod
    def create_session(self, kind, transaction=None, duration_s=60.0, traces=10, rate_hz=100.0,
                       now=None):
        """Start an X-Ray ("xray": keep every trace of `transaction`, up to
        `traces`, and profile it at `rate_hz`) or threads ("threads")
        session lasting `duration_s`.  Returns its id (32 hex digits)."""

    @abc.abstractmethod
    def active_sessions(self, now=None):
        """The sessions running at `now` (default: the time now), as
        session() gives them.  Workers poll this every few seconds: it is
        one indexed query."""

    @abc.abstractmethod
    def session(self, id):
        """One session as a dict ("id", "kind", "transaction", "created",
        "ends", "traces", "rate_hz", "status", "ended"), or None."""

    @abc.abstractmethod
    def end_session(self, id, status="done"):
        """End a session early or mark how it ended; True if it existed."""

    @abc.abstractmethod
    def sessions(self, limit=50):
        """The latest sessions, newest first."""

    @abc.abstractmethod
    def hosts(self, since, until):
        """The hosts that wrote in the window: dicts "host", "pids" (sorted),
        "harvests", "first_seen", "last_seen", and "workers": the workers
        that may be chosen (`worker=`), as dicts "pid", "harvests",
        "first_seen", "last_seen"."""

    @abc.abstractmethod
    def drops(self, since):
        """{reason: count} of what workers reported dropping (Harvest.dropped)
        and what the store itself refused ("store.<reason>") since then."""

    @abc.abstractmethod
    def retention(self, now=None):
        """Remove what is older than the retention window and roll minutes
        past the rollup age into coarser rows, now.  Returns {what: rows
        removed}.  write() runs it by itself every few minutes."""

    @abc.abstractmethod
    def close(self):
        """Release the store; its methods must not be called afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
