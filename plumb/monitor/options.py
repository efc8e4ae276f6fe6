"""What monitoring takes: every middleware (WSGI, ASGI, Django's
settings.PLUMB_MONITOR) passes these keyword arguments.  A mistake raises
ValueError with one line at start-up, never later inside a request."""
import math
import numbers
import os

from ..web import instruments as _instruments

DEFAULT_RATE = 100.0        # Hz at most; SAMPLER_CPU sets the rate a site gets
# A round costs the threads it samples up to twice its own CPU again
# (measured: it preempts one of them, which then runs the same code more
# slowly): at 0.1% of a CPU of its own that is under 1% of a worker's,
# even of one sharing a CPU with another (docs/benchmarks.md, "What a
# sampling round costs the threads it samples").
SAMPLER_CPU = 0.001
KINDS = ("web", "background")


def _seconds(name, value, low, high, unit="seconds"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number of {unit}, not {value!r}")
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}] {unit}, not {value!r}")
    return value


def _count(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], not {value!r}")
    return int(value)


class Options:
    """store: the store's URL (default: an SQLite file plumb-monitor.db in
    the current directory; $PLUMB_STORE, when set, overrides it).  harvest_interval: seconds
    between harvests.  apdex_t: seconds; transaction_apdex_t: {name: seconds}
    for transactions of their own.  trace_threshold: a request this slow
    keeps its trace (default 4 x its apdex T).  max_traces: traces kept per
    harvest.  rate: the sampler's highest Hz (0: no continuous profiling);
    sampler_cpu: the share of one CPU the sampler may take (0.001), which
    lowers its rate on sites whose stacks cost more to read; mode: "wall"
    (every thread, waiting or not) or "cpu" (threads on a CPU).
    max_transactions: names per process before the rest fold into one.
    enabled: False turns it all off.  host: this machine's name in the
    store (socket.gethostname(); $PLUMB_HOST, when set, overrides it).  pyroscope: a Pyroscope server's URL (http://host:4040, with
    ?app=NAME for an application name other than "plumb"; $PLUMB_PYROSCOPE,
    when set, overrides it) that each harvest's profile is pushed to, within
    pyroscope_timeout seconds per harvest (plumb.monitor.pyroscope).  instruments, sql_params: as plumb.web's (what the trace
    records, and whether SQL parameters are kept)."""

    def __init__(self, store=None, harvest_interval=60.0, apdex_t=0.5, transaction_apdex_t=None,
                 trace_threshold=None, max_traces=20, rate=DEFAULT_RATE, max_transactions=1000,
                 enabled=True, host=None, instruments=_instruments.NAMES, sql_params=False,
                 naming=None, mode="wall", sampler_cpu=SAMPLER_CPU, pyroscope=None,
                 pyroscope_timeout=2.0):
        from .hostname import host_of
        from .store import StoreError, check_store_url, default_store_url

        self.store = store if store is not None else default_store_url()
        if os.environ.get("PLUMB_STORE"):
            self.store = os.environ["PLUMB_STORE"]    # the environment overrides the code
        if not isinstance(self.store, str) or not self.store:
            raise ValueError(f"store must be a URL such as sqlite:///plumb.db, not {self.store!r}")
        try:
            check_store_url(self.store)               # an unknown scheme fails here, at start-up
        except StoreError as e:
            raise ValueError(str(e)) from None
        self.harvest_interval = _seconds("harvest_interval", harvest_interval, 1.0, 3600.0)
        self.apdex_t = _seconds("apdex_t", apdex_t, 0.001, 3600.0)
        self.transaction_apdex_t = {}
        for name, value in (transaction_apdex_t or {}).items():
            if not isinstance(name, str):
                raise ValueError(f"transaction_apdex_t's keys are transaction names, not {name!r}")
            self.transaction_apdex_t[name] = _seconds(f"transaction_apdex_t[{name!r}]", value,
                                                      0.001, 3600.0)
        self.trace_threshold = None if trace_threshold is None else \
            _seconds("trace_threshold", trace_threshold, 0.0, 3600.0)
        self.max_traces = _count("max_traces", max_traces, 0, 1000)
        self.rate = _seconds("rate", rate, 0.0, 1000.0, unit="Hz")
        if isinstance(sampler_cpu, bool) or not isinstance(sampler_cpu, numbers.Real) \
                or not 0.0005 <= sampler_cpu <= 0.5:
            raise ValueError(f"sampler_cpu must be a share of one CPU in [0.0005, 0.5], "
                             f"not {sampler_cpu!r}")
        self.sampler_cpu = float(sampler_cpu)
        if mode not in ("wall", "cpu"):
            raise ValueError(f"mode must be 'wall' or 'cpu', not {mode!r}")
        self.mode = mode
        self.max_transactions = _count("max_transactions", max_transactions, 1, 100_000)
        self.enabled = bool(enabled)
        self.host = host_of(host)
        instruments = tuple(instruments or ())
        _instruments.check_names(instruments)
        self.instruments = instruments
        self.sql_params = bool(sql_params)
        if naming is not None and not callable(naming):
            raise ValueError(f"naming must be a callable taking the WSGI environ, not {naming!r}")
        self.naming = naming
        if os.environ.get("PLUMB_PYROSCOPE"):
            pyroscope = os.environ["PLUMB_PYROSCOPE"]  # the environment overrides the code
        if pyroscope is not None:
            from .pyroscope import parse_url

            parse_url(pyroscope)                      # a bad URL fails here, at start-up
        self.pyroscope = pyroscope
        self.pyroscope_timeout = _seconds("pyroscope_timeout", pyroscope_timeout, 0.1, 60.0)

    def apdex_t_of(self, name):
        return self.transaction_apdex_t.get(name, self.apdex_t)

    def threshold_of(self, name):
        return self.trace_threshold if self.trace_threshold is not None else 4 * self.apdex_t_of(name)
