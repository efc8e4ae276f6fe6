"""The collector of one worker process: what every request's begin() and
end() feed, and the background thread that harvests it into the store.

Per request, begin() and end() are C (plumb._plumb.RequestPath, over this
agent's state: the record made current, the thread tagged, a few
dictionary operations and the Metrics table's counters and latency
histogram of the request's transaction and minute); they call back into
the methods here only for the rare cases (the first request, a new name,
a failed request, an X-Ray session, a slow trace).  Everything else
happens in the harvest thread: a slow request's trace is built from its
record there, the sampler's stacks are split by transaction there, and
the store is written there.  A failing store never reaches a request:
harvests wait in a bounded buffer, then are dropped and counted.

The process's state starts afresh in a forked child (gunicorn's workers,
with or without --preload): the sampler and the harvest thread start on
the first request a process serves, never in a master that only forks.
Samples carry what their thread was doing through the thread tag
(plumb._plumb.set_thread_tag): a request's unique number while it runs."""
import atexit
import logging
import os
import signal
import sys
import threading
import time
import uuid
import weakref
from collections import Counter, deque

from .. import _plumb
from ..web import instruments as _instruments
from ..web.trace import current_variable
from .fork_gate import gate_for
from .harvest import Harvest, KeptTrace, ProfileMinute, TransactionMinute
from .record import trace_document

log = logging.getLogger("plumb")

FOLDED = "(other transactions)"  # the name past max_transactions
UNMATCHED = "(unmatched)"        # web requests no route matched
MAX_BUFFERED = 10                # harvests kept while the store fails
MAX_ENTRIES = 200_000            # (minute, transaction) accumulators between harvests
SESSION_POLL_S = 3.0             # how often a worker asks the store for sessions
MAX_RUNNING_S = 3600.0           # a request running longer was abandoned by its server
END_WAIT_S = 2.0                 # how long a graceful stop waits for requests ending elsewhere
MIN_RATE = 5.0                   # Hz: the slowest the sampler is slowed to, to keep its cost
MAX_FINISHED = 100_000           # ended requests remembered for their samples until a harvest

_record_metrics_type = _plumb.Metrics
_agents = {}
_agents_lock = threading.Lock()


_configured = []


def process_agent():
    """The agent background tasks and Celery's record into: the one
    configure() made, else the latest a middleware made, else one from the
    default options (PLUMB_STORE)."""
    if _configured:
        return _configured[0]
    with _agents_lock:
        if _agents:
            return list(_agents.values())[-1]
    from .options import Options

    return configure(Options())


def configure(options):
    agent = agent_for(options)
    _configured[:] = [agent]
    return agent


def greenlets_patched():
    """Whether gevent or eventlet has made threading's threads greenlets,
    which share an OS thread (and so would share a thread's current
    record: begin's in_thread is then not taken)."""
    for module, check, threads in (("gevent.monkey", "is_module_patched", "threading"),
                                   ("eventlet.patcher", "is_monkey_patched", "thread")):
        patcher = sys.modules.get(module)
        if patcher is None:
            continue
        try:
            if getattr(patcher, check)(threads):
                return True
        except Exception:       # a version that asks otherwise: the safe side
            return True
    return False


def agent_for(options):
    """The process's agent for this store: one per store URL, so that two
    middleware (an app mounted twice) share the sampler and the harvest."""
    with _agents_lock:
        agent = _agents.get(options.store)
        if agent is None:
            agent = _agents[options.store] = Agent(options)
        return agent


def _flush_on_sigterm():
    """A process ended by SIGTERM with its default action runs no atexit
    handler, so its last harvest would be lost: uvicorn, for one, restores
    the handler it found and raises the signal again once it has shut down.
    When SIGTERM has its default action here, it gets a handler that
    flushes every agent, then ends the process by the default action, so
    the exit status is what it would have been.  Servers that handle
    SIGTERM themselves (gunicorn's workers) replace it, and end through
    atexit.  A server that already holds SIGTERM when the app is loaded
    (uvicorn 0.39, for one, loads it inside its capture of the signals) puts
    back the default action and raises it with signal.raise_signal: that
    is wrapped to flush first."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            _flush_before_raise_signal()
            return
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        pass


def _flush_agents():
    for agent in list(_agents.values()):
        try:
            agent.shutdown()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    _flush_agents()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _flush_before_raise_signal():
    original = signal.raise_signal
    if getattr(original, "_plumb", False):
        return

    def raise_signal(signum):
        if signum == signal.SIGTERM and signal.getsignal(signum) is signal.SIG_DFL:
            _flush_agents()
        return original(signum)

    raise_signal._plumb = True
    signal.raise_signal = raise_signal


class Session:
    """A session the store says is running, as this worker follows it."""

    def __init__(self, found):
        self.id = found["id"]
        self.kind = found["kind"]
        self.transaction = found.get("transaction")
        self.traces = int(found.get("traces") or 0)
        self.rate_hz = float(found.get("rate_hz") or 0.0)
        self.kept = 0               # traces this worker kept for it


def _us(seconds):
    """Seconds (a difference of two clock readings) as whole microseconds,
    rounded: truncating would turn 0.2 ms into 199 us."""
    return int(round(seconds * 1e6))


def _minute(seconds):
    return int(seconds) // 60 * 60


class Agent:
    def __init__(self, options):
        self.options = options
        self.pusher = None
        if options.pyroscope is not None:
            from .pyroscope import Pusher

            self.pusher = Pusher(options.pyroscope, options.pyroscope_timeout)
        self._gate = gate_for(options.store)     # no fork inside SQLite (fork_gate.py)
        self._fresh_process()
        self._check_store()
        from . import celery

        celery.install(process_agent)
        agent = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: agent() and agent()._fresh_process())
        atexit.register(lambda: agent() and agent().shutdown())
        _flush_on_sigterm()

    # -- state ------------------------------------------------------------------

    def _fresh_process(self):
        """Everything a process collects, empty: at start and in a forked
        child (whose copy of the parent's data is the parent's to report)."""
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._harvest_lock = threading.Lock()
        self._stop = threading.Event()
        self._started = False
        self.metrics = _record_metrics_type(MAX_ENTRIES)
        self._metrics_dropped = 0
        self.names = {}             # (name, kind) -> the transaction's index
        self.name_list = []         # index -> (name, kind)
        self.limits = []            # index -> (its apdex T in us, its trace threshold in s)
        self.running = {}           # tag -> the record of a request running now
        self.finished = {}          # tag -> (name, kind, perf_counter() at its end)
        self.error_classes = {}     # (minute, index) -> Counter of exception classes
        self.kept = {}              # (name, kind) -> (seconds, record, minute): the slowest
        self.pending_samples = {}   # tag -> Counter(stack -> count) of requests still running
        self.buffer = deque()
        self.dropped = Counter()
        self.sampler = None
        self.sampler_rate = 0.0     # the rate it runs at now
        self.own_rate = 0.0         # ... and without sessions: options.rate, lowered by its cost
        self._cost_since = 0.0      # time.monotonic() since which its cost is counted:
        self._drained_cpu_ns = 0    # ... its CPU time in the drains since, + its summary's
        self._sampler_summary = None
        # Samples taken before the harvest (every few seconds, and when the
        # sampler's rate changes): {(minute, name, kind, session, rate_hz,
        # mode): Counter of stacks}, and by request tag.
        self.partial_profiles = {}
        self.partial_tags = {}
        self.sessions = {}          # id -> Session: X-Ray and thread-profile sessions running
        self.xray_by_name = {}      # transaction name -> its X-Ray Session
        self.session_metrics = _record_metrics_type(MAX_ENTRIES)
        self.session_names = {}     # (name, kind, session id) -> index in session_metrics
        self.session_name_list = []
        self.session_traces = []    # (seconds, record, minute, session id)
        self.thread = None
        self.store = None
        self.harvest_started = time.time()
        self._store_refused = None
        # The request path: begin() and end() in C, over the containers
        # above (mutated, never rebound: it holds them) and this agent's
        # __dict__ (what is rebound: sampler, xray_by_name, _started); its
        # tags count from 1 in each process.  Its clock is this module's
        # time.perf_counter (read in C when it is that function itself).
        self._request_path = _plumb.RequestPath(
            self, current_variable, self.metrics, self.running, self.finished, self.names,
            self.name_list, self.limits, MAX_FINISHED, self.options.sql_params,
            time.perf_counter)
        self.begin = self._request_path.begin
        self.end = self._request_path.end

    def _check_store(self):
        """A store that cannot be opened is said at start-up, in one line;
        the app still serves, and what it measures is dropped and counted."""
        from .store import StoreError, open_store

        try:
            with self._gate:
                open_store(self.options.store).close()
        except StoreError as e:
            self._store_refused = str(e)
            log.error("plumb: monitoring store refused: %s", e)

    def _start(self):
        with self._lock:
            if self._started:
                return
            # Decided at the process's first request: a gevent or eventlet
            # worker patches threading after the fork, and after a
            # --preload master made the middleware.
            self._request_path.threads_shared = greenlets_patched()
            self._started = True
            _instruments.ensure(self.options.instruments)
            self.thread = threading.Thread(target=self._run, name="plumb-monitor", daemon=True)
            self.thread.start()
            if self.options.rate > 0:
                try:
                    self.own_rate = self.options.rate
                    self._start_sampler(self.options.rate)
                except Exception as e:   # no profile, but requests are still measured
                    self.sampler = None
                    self.dropped["sampler_failed"] += 1
                    log.error("plumb: the monitoring sampler could not start: %s", e)

    def _start_sampler(self, rate):
        from ..sampler import Sampler

        sampler = Sampler(rate=rate, mode=self.options.mode)
        sampler.start()
        sampler.ignore_thread(self.thread.ident)
        self.sampler, self.sampler_rate = sampler, rate
        self._cost_since, self._drained_cpu_ns = time.monotonic(), 0

    def _sampler_to_rate(self):
        """The sampler at the rate it should run at now: the highest a
        session asks for, or its own (options.rate, lowered by its cost);
        restarted if that differs, what it sampled so far kept for the next
        harvest (at the rate it was sampled at).  Under the harvest lock, as
        harvests change the rate too."""
        with self._harvest_lock:
            rate = max([self.own_rate] + [s.rate_hz for s in self.sessions.values() if s.rate_hz])
            if self.options.rate <= 0 or not self._started or rate == self.sampler_rate:
                return
            self._keep_partial(*self._take_samples(time.time()))
            old = self.sampler
            try:
                if old is not None:
                    old.stop()
                self._start_sampler(rate)
            except Exception as e:
                self.sampler = None
                self.dropped["sampler_failed"] += 1
                log.error("plumb: the monitoring sampler could not restart: %s", e)

    # -- per request ------------------------------------------------------------

    # begin(kind, name, method="", path="", query="", queue_s=None, tag_thread=True,
    #       in_thread=False)
    # -> the request's RequestRecord, and end(record, status=None): the C
    # request path's, bound in _fresh_process.  What they call back:

    def _count_error(self, minute, index, record, status):
        """A failed request's exception class (or its status) counted."""
        key = (minute, index)
        classes = self.error_classes.get(key)
        if classes is None:
            classes = self.error_classes[key] = Counter()
        classes[record.error or f"HTTP {status}"] += 1

    def _drop(self, reason):
        self.dropped[reason] += 1

    def _record_failed(self, exc):
        """An exception while a request ended: measuring never fails the
        request, so it is counted and logged."""
        self.dropped["record_failed"] += 1
        log.error("plumb: a request could not be recorded", exc_info=exc)

    def _index(self, name, kind):
        index = self.names.get((name, kind))
        if index is not None:
            return index
        with self._lock:
            index = self.names.get((name, kind))
            if index is None:
                if len(self.name_list) >= self.options.max_transactions:
                    self.dropped["names_folded"] += 1
                    return self._folded_index(kind)
                index = self._add_name(name, kind)
            return index

    def _folded_index(self, kind):
        # Called with the lock held; the folded name is past the bound.
        index = self.names.get((FOLDED, kind))
        if index is None:
            index = self._add_name(FOLDED, kind)
        return index

    def _add_name(self, name, kind):
        # Called with the lock held.  The limits are looked up once per
        # transaction, not per request; limits before name_list, which
        # readers index without the lock.
        index = len(self.name_list)
        self.limits.append((_us(self.options.apdex_t_of(name)), self.options.threshold_of(name)))
        self.name_list.append((name, kind))
        self.names[(name, kind)] = index
        return index

    def _in_session(self, xray, record, seconds, minute, name, kind, measures):
        """A request of an X-Ray session's transaction: counted again under
        the session, and its trace kept, up to the session's number."""
        key = (name, kind, xray.id)
        with self._lock:
            index = self.session_names.get(key)
            if index is None:
                index = self.session_names[key] = len(self.session_name_list)
                self.session_name_list.append(key)
            keep = xray.kept < xray.traces
            if keep:
                xray.kept += 1
                record.name = name
                self.session_traces.append((seconds, record, minute, xray.id))
        self.session_metrics.record(minute, index, *measures)

    def _consider(self, record, seconds, minute, name, kind):
        """A request over its transaction's trace threshold: kept if it is
        the slowest of its transaction since the harvest."""
        if not self.options.max_traces:
            return
        record.name = name
        with self._lock:
            best = self.kept.get((name, kind))
            if best is None or seconds > best[0]:
                if best is not None:
                    self.dropped["traces_not_slowest"] += 1
                self.kept[(name, kind)] = (seconds, record, minute)
            else:
                self.dropped["traces_not_slowest"] += 1

    # -- the harvest ---------------------------------------------------------------

    def _run(self):
        interval = self.options.harvest_interval
        next_harvest = (time.time() // interval + 1) * interval
        next_poll = 0.0
        while True:
            now = time.time()
            if now >= next_poll:
                next_poll = now + SESSION_POLL_S
                try:
                    self.poll_sessions()
                except Exception:
                    self.dropped["session_poll_failed"] += 1
                    log.exception("plumb: looking for sessions failed")
                try:
                    self.drain_samples()
                except Exception:
                    self.dropped["samples_failed"] += 1
                    log.exception("plumb: taking the samples failed")
            # Harvests fall on multiples of the interval, so that with the
            # default minute a profile's minute is the minute it covers.
            if now >= next_harvest:
                next_harvest = (now // interval + 1) * interval
                try:
                    self.harvest()
                except Exception:
                    self.dropped["harvest_failed"] += 1
                    log.exception("plumb: a harvest failed")
            if self._stop.wait(max(0.0, min(next_harvest, next_poll) - time.time())):
                return

    # -- sessions -------------------------------------------------------------------

    def poll_sessions(self):
        """Takes up the sessions the store says are running (`plumb xray
        start`, `plumb threads start`), drops those that ended, and runs
        the sampler at the highest rate one of them asks for."""
        from .store import StoreError, open_store

        try:
            with self._gate:
                if self.store is None:
                    self.store = open_store(self.options.store)
                active = self.store.active_sessions(time.time())
        except StoreError:
            return
        running = {}
        for found in active:
            session = self.sessions.get(found["id"]) or Session(found)
            running[session.id] = session
        self.sessions = running
        self.xray_by_name = {s.transaction: s for s in running.values()
                             if s.kind == "xray" and s.transaction}
        self._sampler_to_rate()
        self._check_cost()

    def drain_samples(self):
        """Between harvests, every few seconds (the harvest thread): the
        samples so far are labelled now and kept for the harvest, so that
        the ended requests remembered to label them (`finished`, an entry a
        request) are the last few seconds' and not a whole harvest's.  A
        worker serving 3,800 requests a second (measured, a trivial page)
        would otherwise fill MAX_FINISHED in half a minute, label the rest
        of the minute's samples "other", and hold some 20 MiB for it."""
        with self._harvest_lock:
            if self.sampler is None or not self._started:
                return
            self._keep_partial(*self._take_samples(time.time()))

    def _keep_partial(self, profiles, tags):
        for p in profiles:
            key = (p.minute, p.name, p.kind, p.session, p.rate_hz, p.mode)
            self.partial_profiles.setdefault(key, Counter()).update(dict(p.stacks))
        for tag, counter in tags.items():
            self.partial_tags.setdefault(tag, Counter()).update(counter)

    def _take_partial(self):
        """The samples taken before the harvest, as ProfileMinutes, and by
        request tag; forgotten here."""
        profiles = [ProfileMinute(minute=minute, name=name, kind=kind, session=session,
                                  rate_hz=rate_hz, mode=mode, stacks=list(counter.items()))
                    for (minute, name, kind, session, rate_hz, mode), counter
                    in self.partial_profiles.items()]
        tags = self.partial_tags
        self.partial_profiles, self.partial_tags = {}, {}
        return profiles, tags

    def _check_cost(self):
        """Between harvests (from the session poll, every few seconds): a
        sampler taking well over options.sampler_cpu is slowed at once, not
        at the next harvest, a minute away (a page of deep stacks in busy
        threads took 2.7% of a CPU at 100 Hz).  Raising it again waits for
        the harvest (_adapt_rate)."""
        sampler = self.sampler
        if sampler is None or self.sessions or not self._started:
            return
        elapsed = time.monotonic() - self._cost_since
        if elapsed < 2.0:
            return
        try:
            cpu_ns = self._drained_cpu_ns + sampler.summary().get("cpu_ns", 0)
        except Exception:
            return
        share = cpu_ns / 1e9 / elapsed
        target, rate = self.options.sampler_cpu, self.sampler_rate
        if share <= 1.5 * target or rate <= MIN_RATE:
            return
        self.own_rate = round(max(MIN_RATE, rate * target / share * 0.9), 1)
        log.info("plumb: the sampler took %.1f%% of a CPU at %g Hz; now %g Hz (sampler_cpu=%g)",
                 100 * share, rate, self.own_rate, target)
        self._sampler_to_rate()

    def harvest(self):
        """Takes what was collected since the last harvest and writes it
        (with any harvests the store refused before); never raises."""
        with self._harvest_lock:
            harvest = self._take()
            self._push(harvest)
            self._write(harvest)

    def _push(self, harvest):
        """The harvest's profile to Pyroscope, if configured; what could not
        be sent is counted in the harvest's own dropped."""
        if self.pusher is None:
            return
        from .pyroscope import DROP_REASON

        try:
            lost = self.pusher.push(harvest)
        except Exception:                  # push() does not raise; this is a bug's net
            log.exception("plumb: pushing profiles failed")
            lost = 1
        if lost:
            harvest.dropped[DROP_REASON] = harvest.dropped.get(DROP_REASON, 0) + lost

    def _take(self):
        ended = time.time()
        rows = self.metrics.take()
        with self._lock:
            error_classes, self.error_classes = self.error_classes, {}
            kept, self.kept = self.kept, {}
            dropped, self.dropped = self.dropped, Counter()
        dropped_records = self.metrics.dropped - self._metrics_dropped
        self._metrics_dropped = self.metrics.dropped
        if dropped_records:
            dropped["records_over_cap"] += dropped_records
        transactions = []
        for row in rows:
            name, kind = self.name_list[row[1]]
            transactions.append(self._transaction_minute(
                row, name, kind, error_classes.get((row[0], row[1]), {}), None))
        session_rows = self.session_metrics.take()
        with self._lock:
            session_traces, self.session_traces = self.session_traces, []
        for row in session_rows:
            name, kind, session = self.session_name_list[row[1]]
            transactions.append(self._transaction_minute(row, name, kind, {}, session))
        self._keep_partial(*self._take_samples(ended))
        # What the sampler cost over the whole harvest, the drains' parts
        # added up, sets its next rate.
        self._adapt_rate(self._sampler_summary)
        self._sampler_summary = None
        self._cost_since, self._drained_cpu_ns = time.monotonic(), 0
        profiles, samples_by_tag = self._take_partial()
        traces = self._kept_traces(kept, samples_by_tag, dropped)
        traces += self._session_traces(session_traces, samples_by_tag, dropped)
        harvest = Harvest(id=uuid.uuid4().hex, host=self.options.host, pid=self.pid,
                          started=self.harvest_started, ended=ended, transactions=transactions,
                          traces=traces, profiles=profiles, dropped=dict(dropped))
        self.harvest_started = ended
        return harvest

    def _adapt_rate(self, summary):
        """At a harvest (its lock held): keeps the sampler's own cost near
        options.sampler_cpu (a share of one CPU): its thread's CPU time over
        the last harvest (its wake-ups
        included, which cost 40-46 us each on this project's VMs before any
        work; its time in rounds, from older summaries, otherwise) says what
        it cost, and the rate for the next one is scaled
        to the target, between MIN_RATE and options.rate.  A page with deep
        stacks in many threads costs more per round than a trivial one
        (measured under gunicorn: 31-44 us a stack, 6 stacks a round), so no
        one rate fits every site.  Sessions choose their own rate."""
        if summary is None or self.sessions or self.sampler is None:
            return
        span = summary.get("ended_ns", 0) - summary.get("started_ns", 0)
        if span < 1e9:
            return
        share = summary.get("cpu_ns", summary.get("busy_ns", 0)) / span
        target, rate = self.options.sampler_cpu, self.sampler_rate
        if share > target:
            wanted = max(MIN_RATE, rate * target / share * 0.9)
        elif share < 0.5 * target and rate < self.options.rate:
            wanted = min(self.options.rate, rate * 1.5)
        else:
            return
        if abs(wanted - rate) < 0.1 * rate and wanted not in (MIN_RATE, self.options.rate):
            return
        self.own_rate = round(wanted, 1)
        try:
            self.sampler.stop()
            self._start_sampler(self.own_rate)
        except Exception as e:
            self.sampler = None
            self.dropped["sampler_failed"] += 1
            log.error("plumb: the monitoring sampler could not restart: %s", e)
            return
        if wanted < rate:
            log.info("plumb: the sampler took %.1f%% of a CPU at %g Hz; now %g Hz (sampler_cpu=%g)",
                     100 * share, rate, self.sampler_rate, target)

    def _forget_abandoned(self):
        """Records of requests that never ended (a server that never closed
        a body) are let go after MAX_RUNNING_S, and counted."""
        oldest = time.perf_counter() - MAX_RUNNING_S
        for tag, record in list(self.running.items()):
            if record.started < oldest:
                self.running.pop(tag, None)
                self.pending_samples.pop(tag, None)
                self.dropped["requests_abandoned"] += 1

    def _transaction_minute(self, row, name, kind, error_classes, session):
        (minute, _, count, errors, total, low, high, satisfied, tolerating, frustrated,
         queue_us, queue_n, sql_us, sql_n, tpl_us, tpl_n, http_us, http_n, hist) = row
        return TransactionMinute(
            minute=minute, name=name, kind=kind, count=count, errors=errors, total_us=total,
            min_us=low, max_us=high, satisfied=satisfied, tolerating=tolerating,
            frustrated=frustrated, apdex_t_us=_us(self.options.apdex_t_of(name)),
            queue_us=queue_us, queue_count=queue_n, sql_us=sql_us, sql_count=sql_n,
            template_us=tpl_us, template_count=tpl_n, http_us=http_us, http_count=http_n,
            histogram=hist, error_classes=dict(error_classes), session=session)

    def _add_summary(self, summary):
        """The sampler's summaries since the harvest, one: its CPU time
        added up, from the first one's start to the last one's end."""
        total = self._sampler_summary
        if total is None:
            self._sampler_summary = dict(summary)
            return
        for key in ("cpu_ns", "busy_ns"):
            if key in summary:
                total[key] = total.get(key, 0) + summary[key]
        if "ended_ns" in summary:
            total["ended_ns"] = summary["ended_ns"]

    def _take_samples(self, ended):
        """The sampler's stacks since the last harvest, split by what their
        thread was doing: ProfileMinutes per transaction (and "other"), and
        per request tag the stacks, for kept traces."""
        self._forget_abandoned()
        if self.sampler is None:
            self.finished.clear()
            return [], {}
        try:
            frames, nodes, tagged, summary = self.sampler.harvest()
            self._drained_cpu_ns += summary.get("cpu_ns", 0)   # its summary starts again
        except Exception:
            self.dropped["samples_failed"] += 1
            return [], {}
        swapped = time.perf_counter()
        self._add_summary(summary)
        stacks = {}

        def stack_of(node):
            stack = stacks.get(node)
            if stack is None:
                path = []
                n = node
                while n >= 0 and n not in stacks:
                    parent, func = nodes[n]
                    path.append(n)
                    n = parent
                prefix = stacks[n] if n >= 0 else ()
                for m in reversed(path):
                    prefix = prefix + (tuple(frames[nodes[m][1]]),)
                    stacks[m] = prefix
                stack = stacks[node]
            return stack

        by_profile = {}
        by_tag = {}            # tag -> its samples, for the traces of requests that ended
        still_running = {}     # tag -> this harvest's samples of a request running now
        other = ("", "other")
        for tag, leaf, count in tagged:
            stack = stack_of(leaf)
            if not stack:
                continue
            key = other
            if tag:
                owner = self.finished.get(tag)
                if owner is not None:
                    by_tag.setdefault(tag, Counter())[stack] += count
                    key = (owner[0], owner[1])
                elif tag in self.running:
                    # A request is named when it ends (its view, endpoint or
                    # route is known by then): its samples wait for that.
                    still_running.setdefault(tag, Counter())[stack] += count
                    continue
            profile = by_profile.get(key)
            if profile is None:
                profile = by_profile[key] = Counter()
            profile[stack] += count
        # Samples of requests that were running at an earlier harvest go to
        # the transaction they turned out to be, in the harvest they end in.
        for tag in list(self.pending_samples):
            owner = self.finished.get(tag)
            if owner is not None:
                counter = self.pending_samples.pop(tag)
                by_profile.setdefault((owner[0], owner[1]), Counter()).update(counter)
                by_tag.setdefault(tag, Counter()).update(counter)
            elif tag not in self.running:        # forgotten: nothing names them now
                by_profile.setdefault(other, Counter()).update(self.pending_samples.pop(tag))
        for tag, counter in still_running.items():
            self.pending_samples.setdefault(tag, Counter()).update(counter)
        for tag, when in list(self.finished.items()):
            if when[2] < swapped:
                del self.finished[tag]
        minute = _minute(self.harvest_started)
        mode = getattr(self.sampler, "mode", "wall")
        rate = self.sampler_rate
        profiles = []
        threads_sessions = [s.id for s in self.sessions.values() if s.kind == "threads"]
        for (name, kind), counter in by_profile.items():
            stacks = list(counter.items())
            profiles.append(ProfileMinute(minute=minute, name=name, kind=kind, stacks=stacks,
                                          rate_hz=rate, mode=mode))
            sessions = list(threads_sessions)
            xray = self.xray_by_name.get(name) if kind != "other" else None
            if xray is not None:
                sessions.append(xray.id)
            for session in sessions:
                profiles.append(ProfileMinute(minute=minute, name=name, kind=kind, stacks=stacks,
                                              rate_hz=rate, mode=mode, session=session))
        return profiles, by_tag

    def _kept_traces(self, kept, samples_by_tag, dropped):
        chosen = sorted(kept.values(), key=lambda item: -item[0])
        if len(chosen) > self.options.max_traces:
            dropped["traces_over_cap"] += len(chosen) - self.options.max_traces
            chosen = chosen[:self.options.max_traces]
        return [t for t in (self._trace(seconds, record, samples_by_tag, dropped, None)
                            for seconds, record, _ in chosen) if t is not None]

    def _session_traces(self, chosen, samples_by_tag, dropped):
        return [t for t in (self._trace(seconds, record, samples_by_tag, dropped, session)
                            for seconds, record, _, session in chosen) if t is not None]

    def _trace(self, seconds, record, samples_by_tag, dropped, session):
        """A kept request's trace: its segments, and the samples its
        thread gave while it ran."""
        try:
            document = trace_document(record, seconds)
            samples = samples_by_tag.get(record.tag)
            if samples:
                document["samples"] = [[list(map(list, stack)), count]
                                       for stack, count in samples.most_common()]
                document["sample_rate"] = self.sampler_rate
        except Exception:
            dropped["traces_failed"] += 1
            log.exception("plumb: a kept trace could not be built")
            return None
        url = record.path + ("?" + record.query if record.query else "")
        return KeptTrace(id=uuid.uuid4().hex, start=record.wall_start, name=record.name,
                         kind=record.kind, duration_us=_us(seconds), url=url,
                         status=record.status, error=record.error, document=document,
                         session=session)

    def _write(self, harvest):
        from .store import StoreError, open_store

        self.buffer.append(harvest)
        while self.buffer:
            try:
                with self._gate:
                    if self.store is None:   # never opened here, or refused: try again
                        self.store = open_store(self.options.store)
                    self.store.write(self.buffer[0])
            except StoreError as e:
                self.dropped["store_errors"] += 1
                self._close_store()
                # Said once until it changes: a file that opens and then
                # refuses every write would otherwise say it every harvest.
                if self._store_refused != str(e):
                    log.warning("plumb: the monitoring store failed, harvests wait: %s", e)
                    self._store_refused = str(e)
                self._drop_oldest()
                return False
            except Exception:
                self.dropped["store_errors"] += 1
                log.exception("plumb: the monitoring store failed")
                self._drop_oldest()
                return False
            self.buffer.popleft()
            self._store_refused = None
        return True

    def _drop_oldest(self):
        """Past MAX_BUFFERED waiting harvests, the oldest go (only once the
        store has refused the newest: one that recovers takes them all).
        What a lost harvest counted as dropped rides on with the next."""
        while len(self.buffer) > MAX_BUFFERED:
            lost = self.buffer.popleft()
            self.dropped.update(lost.dropped)
            self.dropped["harvests_lost"] += 1
            self.dropped["requests_lost"] += sum(t.count for t in lost.transactions)
            log.warning("plumb: the store has refused harvests for a while; one was dropped")

    # -- the end ----------------------------------------------------------------------

    def shutdown(self, timeout=5.0):
        """Flushes the last harvest (a graceful stop: SIGTERM under gunicorn
        and uvicorn, Ctrl-C, interpreter exit).  A process killed with
        SIGKILL loses what it collected since its last harvest."""
        if self.pid != os.getpid() or not self._started:
            return
        # Requests still ending in other threads (runserver's are daemon
        # threads, still running while the interpreter exits: a response
        # sent whose close() has not run yet) get a moment to be counted.
        deadline = time.monotonic() + END_WAIT_S
        while self.running and time.monotonic() < deadline \
                and any(r.thread != threading.get_ident() for r in list(self.running.values())):
            time.sleep(0.005)
        self._stop.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        try:
            self.harvest()
        except Exception:
            log.exception("plumb: the last harvest failed")
        if self.sampler is not None:
            try:
                self.sampler.stop()
            except Exception:
                pass
        self._close_store()
        self._started = False

    def _close_store(self):
        if self.store is not None:
            try:
                with self._gate:
                    self.store.close()
            except Exception:
                pass
            self.store = None
