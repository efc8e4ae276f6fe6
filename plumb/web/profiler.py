"""Which requests to profile, and profiling one: the part every framework's
middleware shares (wsgi.py, asgi.py, plumb.contrib.django).

A request is profiled when the configuration says so: every request
(`requests="all"`, for development), a fraction of them (`requests=0.01`),
or those that carry a trigger (`requests="trigger"`, the default): a cookie,
a header or a query parameter holding a token signed with `secret` (`plumb
token` prints one), or any request that `approve(request)` accepts.  With no
secret and no approve callback, triggers are refused unless `debug` is on:
profiling is never something a stranger can switch on.

The deterministic profiler can profile one request at a time per process
(the interpreter has one profiling slot), and only the request's own thread
(`Profile(threads=False)`).  A request that arrives while another is being
profiled waits for it when every request is to be profiled (development
servers), and otherwise is served unprofiled and counted in `busy`.

Nothing here may break a request: if profiling fails, the request is served
and the failure is logged ("plumb" logger)."""
import atexit
import logging
import os
import random
import tempfile
import threading
import time
import weakref
from urllib.parse import parse_qs, unquote

from . import instruments as _instruments
from . import naming
from .token import check_token
from .trace import Trace

log = logging.getLogger("plumb")

FORMATS = ("pstats", "callgrind", "collapsed", "json", "html")


class Options:
    """How and which requests are profiled; every middleware takes these as
    keyword arguments.  Errors in them raise ValueError at start-up."""

    def __init__(self, requests="trigger", secret=None, approve=None, debug=False,
                 prof_path=None, prof_file=naming.DEFAULT_NAME, format="pstats", sample=False,
                 rate=1000.0, cookie="plumb_profile", header="X-Plumb-Profile",
                 query="plumb-profile", server_timing=True, skip_prefixes=(), wait=None,
                 trace=True, instruments=_instruments.NAMES, sql_params=False):
        if requests not in ("all", "trigger"):
            try:
                fraction = float(requests)
            except (TypeError, ValueError):
                raise ValueError(f"requests must be 'all', 'trigger' or a fraction, not {requests!r}") from None
            if not 0.0 < fraction <= 1.0:
                raise ValueError(f"a fraction of requests must lie in (0, 1], not {requests!r}")
            requests = fraction
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if format == "collapsed" and not sample:
            raise ValueError("collapsed stacks come from the sampler: add sample=True (--sample)")
        naming.check_name_format(prof_file)
        self.requests = requests
        self.secret = secret or None
        self.approve = approve
        self.debug = bool(debug)
        self.prof_path = prof_path or tempfile.gettempdir()
        self.prof_file = prof_file
        self.format = format
        self.sample = bool(sample)
        self.rate = float(rate)
        self.cookie = cookie
        self.header_key = "HTTP_" + header.upper().replace("-", "_")
        self.query = query
        self.server_timing = bool(server_timing)
        self.skip_prefixes = tuple(p for p in skip_prefixes if p)
        # Waiting for another profiled request makes sense when all are wanted.
        self.wait = (requests == "all") if wait is None else bool(wait)
        # A transaction trace per profiled request (trace.py), filled by
        # the instruments named (instruments.py) and, under Django, by
        # plumb.contrib.django's; written as NAME.trace.json beside the
        # profile of every profiled request.
        self.trace = bool(trace)
        self.instruments = (instruments,) if isinstance(instruments, str) else tuple(instruments)
        _instruments.check_names(self.instruments)
        self.sql_params = bool(sql_params)


def _cookie_value(cookie_header, name):
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return unquote(value.strip().strip('"'))
    return None


class RequestProfiler:
    """Decides about requests and profiles the ones chosen."""

    def __init__(self, options):
        self.options = options
        self._lock = threading.Lock()
        self._profile = None  # reused, under the lock: see _deterministic()
        self._profile_key = None
        self.profiled = 0     # requests profiled and written
        self.busy = 0         # requests not profiled: another one was
        self.failed = 0       # profiles that could not be made or written
        if options.trace:
            _instruments.ensure(options.instruments)
        # A request whose response has gone may still be writing its
        # profile when the server is stopped (Ctrl-C on a development
        # server, whose request threads are daemons): let it finish.
        finishing = weakref.WeakMethod(self.drain)
        atexit.register(lambda: finishing() and finishing()())

    def drain(self, timeout=10.0):
        """Waits (up to timeout seconds) for a profile being written."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()

    # -- which requests ---------------------------------------------------

    def wanted(self, environ, request=None):
        """Whether the request (a WSGI environ; ASGI middleware builds one
        from its scope) is to be profiled.  Never raises."""
        try:
            return self._wanted(environ, request)
        except Exception:   # a bad cookie or a failing callback must not fail the request
            log.exception("plumb: could not decide whether to profile a request")
            return False

    def _wanted(self, environ, request):
        o = self.options
        path = environ.get("PATH_INFO", "")
        if o.skip_prefixes and path.startswith(o.skip_prefixes):
            return False
        if o.requests == "all":
            return True
        if o.requests != "trigger":
            return random.random() < o.requests
        token = self._trigger(environ)
        if token is None and o.approve is None:
            return False
        if o.approve is not None:
            if o.approve(request if request is not None else environ):
                return True
            if token is None:
                return False
        if o.secret:
            return check_token(token, o.secret)
        return o.debug   # no secret: a bare trigger counts only in debug mode

    def _trigger(self, environ):
        """The trigger's value (cookie, header or query parameter), or None;
        cheap when there is none, which is nearly always."""
        o = self.options
        value = environ.get(o.header_key)
        if value:
            return value
        cookies = environ.get("HTTP_COOKIE", "")
        if o.cookie in cookies:
            value = _cookie_value(cookies, o.cookie)
            if value:
                return value
        query = environ.get("QUERY_STRING", "")
        if o.query in query:
            values = parse_qs(query).get(o.query)
            if values and values[0]:
                return values[0]
        return None

    # -- profiling one ------------------------------------------------------

    def begin(self, wait=None, all_threads=False):
        """A started profile of the calling thread's request (of every
        thread with all_threads), or None if another request holds the
        profiler (or profiling cannot start).  wait (default: the options')
        waits up to a minute for it."""
        wait = self.options.wait if wait is None else wait
        if not self._lock.acquire(blocking=wait, timeout=60 if wait else -1):
            self.busy += 1
            return None
        try:
            profiler = None if self.options.sample else self._deterministic(all_threads)
            return _Session(self.options, profiler, all_threads)
        except Exception:
            self._lock.release()
            self.failed += 1
            log.exception("plumb: could not start profiling a request")
            return None

    # One Profile serves request after request (zeroed in between), since
    # naming a request's functions anew would cost more than profiling it;
    # it is replaced now and then so that what it remembers stays bounded.
    REUSE = 5000

    def _deterministic(self, all_threads):
        from ..profile import Profile

        key = (all_threads, self.profiled // self.REUSE)
        if self._profile is None or self._profile_key != key:
            self._profile = Profile(threads=all_threads)
            self._profile_key = key
        else:
            self._profile._reset()
        return self._profile

    def end(self, session, method, path):
        """Stops session and writes its file; returns the file's path, or
        None if it could not be written (logged)."""
        try:
            return session.finish(method, path)
        except Exception:
            self.failed += 1
            log.exception("plumb: could not write the profile of %s %s", method, path)
            return None
        finally:
            self._lock.release()
            self.profiled += 1


class _Session:
    """One request's profile, from start to file."""

    def __init__(self, options, profile, all_threads=False):
        """profile: the deterministic Profile to use, or None to sample."""
        self.options = options
        self.started = time.perf_counter()
        self.wall_start = time.time()
        self.app_seconds = None
        self.trace = None
        self._trace_token = None
        if profile is None:
            from ..sampler import Sampler

            # Only the request's thread, as the deterministic profile: the
            # server's other threads (its idle accept loop) are not the request.
            self.profiler = Sampler(rate=options.rate, threads=all_threads)
            self.profiler.start()
        else:
            self.profiler = profile
            self.profiler.enable()
        if options.trace:   # last: nothing after it can fail and leave it current
            _instruments.ensure(options.instruments)  # drivers imported since start-up
            self.trace = Trace("", "", sql_params=options.sql_params, started=self.started,
                               wall_start=self.wall_start)
            self._trace_token = self.trace.activate()

    def app_done(self):
        """The application returned (its headers are being sent)."""
        if self.app_seconds is None:
            self.app_seconds = time.perf_counter() - self.started

    def server_timing(self):
        """The Server-Timing header's value so far: the application's own
        time (the total less the time spent waiting for the database and
        outbound HTTP calls), the total, then each kind of segment."""
        total = (self.app_seconds if self.app_seconds is not None
                 else time.perf_counter() - self.started) * 1000
        waited = 0.0
        if self.trace is not None:
            waited = (self.trace.sql_seconds() + self.trace.seconds_of("http")) * 1000
        timing = (f'app;dur={max(0.0, total - waited):.2f};desc="application (plumb)", '
                  f'total;dur={total:.2f};desc="total (plumb)"')
        if self.trace is not None and self.trace.sql_count():
            n = self.trace.sql_count()
            timing += (f', db;dur={self.trace.sql_seconds() * 1000:.2f};'
                       f'desc="{n} SQL quer{"y" if n == 1 else "ies"}"')
        if self.trace is not None and self.trace.count_of("template"):
            n = self.trace.count_of("template")
            timing += (f', tpl;dur={self.trace.seconds_of("template") * 1000:.2f};'
                       f'desc="{n} template render{"" if n == 1 else "s"}"')
        if self.trace is not None and self.trace.count_of("http"):
            n = self.trace.count_of("http")
            timing += (f', http;dur={self.trace.seconds_of("http") * 1000:.2f};'
                       f'desc="{n} outbound HTTP call{"" if n == 1 else "s"}"')
        return timing

    def stop(self):
        if self.options.sample:
            self.profiler.stop()
        else:
            self.profiler.disable()

    def finish(self, method, path):
        if self._trace_token is not None:
            self.trace.deactivate(self._trace_token)
            self._trace_token = None
        self.stop()
        duration_ms = (time.perf_counter() - self.started) * 1000
        o = self.options
        stem = naming.request_file_name(o.prof_file, path, duration_ms, self.wall_start, method)
        os.makedirs(o.prof_path, exist_ok=True)
        extension = naming.EXTENSIONS[o.format]
        traced = self.trace is not None   # every profiled request: an empty timeline says so
        if traced:
            self.trace.method, self.trace.path = method, path
        document = self.trace.document(duration_ms / 1000) if traced else None
        written = naming.write_new_file(
            o.prof_path, stem, extension,
            lambda tmp: self.profiler.dump(tmp, format=o.format, command=f"{method} {path}",
                                           trace=document if o.format == "html" else None))
        if traced:
            self.trace.write(written[:-len(extension)] + ".trace.json", document=document)
        return written
