#!/usr/bin/env python3
"""Where plumb.monitor's cost per request goes, in one process, the example
shop's Django handler called directly (no sockets, no server):

    .venv/bench-3.12/bin/python benchmarks/monitor_request.py [--requests N] [--repeat R]

1. Per page ("/" trivial, "/catalogue/" 21 ORM queries and a template): the
   calling thread's CPU time per request (time.thread_time) of the shop
   without monitoring (SHOP_MONITOR=0's chain) and with plumb's
   MonitoringMiddleware with the sampler off (rate=0), interleaved over R
   repeats, medians: what the request path itself costs; of it, the time
   in the cyclic garbage collector, the objects per request only it frees,
   and the memory a request leaves held until the next harvest.
2. The sampler at its default 100 Hz: the CPU time of the process's other
   threads (the sampler's and the harvest thread's) per second while the
   catalogue is served, with four idle threads beside it as in a gunicorn
   gthread worker, rate 100 against rate 0.
3. The parts, each alone, in microseconds per call: agent.begin + end of a
   request; Django's SQL hook (plumb.contrib.django.sql.record) around a
   query that does nothing, with a request current and without;
   the template wrapper; a middleware wrapper; naming and queue time.

The benchmark benchmarks/monitor_throughput.py measures the whole worker
under wrk; this one says which function the difference is spent in."""
import argparse
import gc
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = None            # the shop's copy, its database and stores: made by main(), removed after
PAGES = ("/", "/catalogue/")


def setup_shop(plumb_app=True):
    """The shop set up in this process; plumb_app=False leaves plumb's
    Django app out (SHOP_MONITOR=0: a bare site, whose requests no idle
    instrument of plumb's wraps), and then no handler() can monitor."""
    project = os.path.join(WORK, "shop")
    shutil.copytree(os.path.join(ROOT, "examples", "shop"), project,
                    ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    sys.path.insert(0, project)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "shop.settings", "SHOP_MONITOR": "1" if plumb_app else "0",
                       "SHOP_DB": os.path.join(WORK, "shop.db")})
    os.environ.pop("PLUMB_STORE", None)
    os.environ.pop("SHOP_RATE", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)
    call_command("seed")


def handler(monitoring, rate=100.0):
    """The shop's WSGI handler with or without the monitoring middleware;
    each rate its own store, so its own agent (agents are per store)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    from plumb.monitor.agent import _agents

    middleware = [m for m in settings.MIDDLEWARE if "MonitoringMiddleware" not in m]
    if monitoring:
        middleware.insert(0, "plumb.contrib.django.middleware.MonitoringMiddleware")
    settings.MIDDLEWARE = middleware
    store = "sqlite:///" + os.path.join(WORK, f"monitor-{rate:g}.db")
    settings.PLUMB_MONITOR = dict(settings.PLUMB_MONITOR, rate=rate, store=store)
    app = WSGIHandler()
    app.monitor_agent = _agents.get(store) if monitoring else None   # to read its sampler
    return app


def environ(path):
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False}


def start_response(status, headers, exc_info=None):
    if not status.startswith("200"):
        raise SystemExit(f"monitor_request: the shop answered {status}")


class CollectorTime:
    """This thread's CPU time in the cyclic garbage collector, from gc's
    callbacks: garbage made of reference cycles costs a request nothing
    when it is made and is paid for in whatever request runs the
    collection."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = 0
        self._started = None
        gc.callbacks.append(self._callback)

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.thread_time()
        elif self._started is not None:
            self.seconds += time.thread_time() - self._started
            self.collections += 1
            self._started = None


COLLECTOR = CollectorTime()


def serve(app, path, n):
    """(this thread's CPU seconds, the process's CPU seconds, this thread's
    seconds in the garbage collector) per request."""
    thread0, process0, gc0 = time.thread_time(), time.process_time(), COLLECTOR.seconds
    for _ in range(n):
        body = app(environ(path), start_response)
        for _chunk in body:
            pass
        body.close()
    return ((time.thread_time() - thread0) / n, (time.process_time() - process0) / n,
            (COLLECTOR.seconds - gc0) / n)


def garbage_per_request(app, path, n=500):
    """Objects per request that only the cyclic collector frees."""
    gc.collect()
    gc.disable()
    try:
        serve(app, path, n)
        return gc.collect() / n
    finally:
        gc.enable()


def kept_per_request(app, path, n):
    """Bytes per request still allocated after n requests and a collection:
    what the process holds until its next harvest."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        serve(app, path, n)
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()


def request_path(apps, counts, repeat):
    print(f"\n1. the request path: this thread's CPU per request, medians of {repeat} "
          "interleaved repeats")
    print("  (gc us: of it, in the cyclic garbage collector; cyclic: objects per request "
          "only it frees)")
    print(f"  {'page':12s} {'config':22s} {'us/request':>11s} {'added us':>9s} {'ratio':>6s} "
          f"{'gc us':>6s} {'cyclic':>7s}")
    for path in PAGES:
        times = {name: [] for name in apps}
        collecting = {name: [] for name in apps}
        for _ in range(repeat):
            for name, app in apps.items():
                thread_s, _, gc_s = serve(app, path, counts[path])
                times[name].append(thread_s)
                collecting[name].append(gc_s)
        base = statistics.median(times["bare"])
        for name, values in times.items():
            med = statistics.median(values)
            print(f"  {path:12s} {name:22s} {med * 1e6:11.1f} {(med - base) * 1e6:+9.1f} "
                  f"{base / med:6.3f} {statistics.median(collecting[name]) * 1e6:6.2f} "
                  f"{garbage_per_request(apps[name], path):7.1f}")
    print("  bytes still held per request after 5000 trivial requests (until the next harvest): " +
          ", ".join(f"{name} {kept_per_request(app, '/', 5000):.0f}" for name, app in apps.items()))


def sampler_cost(apps, seconds):
    """Other threads' CPU per second of serving the catalogue."""
    stop = threading.Event()
    idle = [threading.Thread(target=stop.wait, daemon=True) for _ in range(4)]
    for t in idle:
        t.start()
    print(f"\n2. other threads' CPU (sampler, harvest) while the catalogue is served "
          f"({seconds} s each, 4 idle threads beside)")
    try:
        for name, app in apps.items():
            serve(app, "/catalogue/", 5)          # the agent started
            n, thread_s, process_s = 0, 0.0, 0.0
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                t, p, _ = serve(app, "/catalogue/", 20)
                thread_s += t * 20
                process_s += p * 20
                n += 20
            others = process_s - thread_s
            print(f"  {name:22s} {others / seconds * 1e3:7.2f} ms/s  "
                  f"{others / n * 1e6:7.1f} us per request ({n} requests)")
            sampler = app.monitor_agent.sampler if app.monitor_agent else None
            if sampler is not None:
                summary = sampler.summary()
                rounds = max(1, summary["total_taken"])
                print(f"  {'':22s} the sampler since it started: {summary['total_taken']} rounds, "
                      f"{summary['total_samples'] / rounds:.1f} stacks per round, "
                      f"{summary['busy_ns'] / rounds / 1e3:.1f} us busy per round, "
                      f"{summary['busy_ns'] / max(1, summary['total_samples']) / 1e3:.1f} "
                      "us per stack")
    finally:
        stop.set()


def per_call(function, n):
    """Microseconds of this thread's CPU per call (what other work on a
    shared machine takes of the wall clock is not counted)."""
    t0 = time.thread_time()
    for _ in range(n):
        function()
    return (time.thread_time() - t0) / n * 1e6


def parts(n, repeat):
    from django.http import HttpRequest

    from plumb.contrib.django import handler as handler_part
    from plumb.contrib.django.sql import record
    from plumb.monitor import naming, queue_time
    from plumb.monitor.agent import UNMATCHED, agent_for
    from plumb.monitor.options import Options

    agent = agent_for(Options(store="sqlite:///" + os.path.join(WORK, "parts.db"), rate=0,
                              instruments=("http",)))

    def begin_end():
        agent.end(agent.begin("web", UNMATCHED, "GET", "/", "", None), 200)

    def execute(sql, params, many, context):
        return None

    def query():
        record(execute, "SELECT 1 WHERE x = %s", (1,), False, None)

    def in_request(function):
        def run():
            current = agent.begin("web", UNMATCHED, "GET", "/", "", None)
            try:
                for _ in range(100):
                    function()
            finally:
                agent.end(current, 200)
                current.segments.clear()
        return run

    from django.template import engines

    template = engines["django"].from_string("{{ x }}").template

    from django.template import Context
    context = Context({"x": 1})

    def render():
        template.render(context)

    middleware = handler_part._timed_middleware(lambda request: None, "m")
    request = HttpRequest()

    def chain_step():
        middleware(request)

    meta = environ("/")

    def queue():
        queue_time.from_environ(meta, 0.0)

    class Match:
        func = staticmethod(record)

    request.resolver_match = Match()

    def name():
        naming.django_name(request)

    from django.core.handlers.base import BaseHandler
    from django.http import HttpResponse
    from django.test import RequestFactory

    from plumb.contrib.django.monitoring import MonitoringMiddleware

    shop_request = RequestFactory().get("/")
    shop_request.resolver_match = Match()
    response = HttpResponse(b"shop")
    monitoring = MonitoringMiddleware(lambda request: HttpResponse(b"shop"))
    monitoring.agent = agent            # the parts' agent: no sampler

    def monitored():
        monitoring(shop_request).close()

    def unmonitored():
        HttpResponse(b"shop").close()

    base_handler = BaseHandler()

    def view(request):
        return response

    def view_wrapping():
        base_handler.make_view_atomic(view)(shop_request)

    original_atomic = BaseHandler.make_view_atomic.__wrapped__

    def view_unwrapped():
        original_atomic(base_handler, view)(shop_request)

    def nothing():
        return None

    # (what, the measured call, its baseline or None, calls per call of it)
    rows = [("agent.begin + agent.end (no SQL, no segments)", begin_end, None, 1),
            ("SQL hook record(), no request current", query, None, 1),
            ("SQL hook record(), a request current", in_request(query), None, 100),
            ("template render wrapper, a request current (minus none current)",
             in_request(render), render, 100),
            ("middleware wrapper, no request current (minus the call)", chain_step, nothing, 1),
            ("middleware wrapper, a request current (minus the call)",
             in_request(chain_step), nothing, 100),
            ("MonitoringMiddleware around a chain that answers at once (minus the chain)",
             monitored, unmonitored, 1),
            ("make_view_atomic + the view's call, a request current (minus unwrapped)",
             in_request(view_wrapping), view_unwrapped, 100),
            ("queue_time.from_environ (no header)", queue, None, 1),
            ("naming.django_name", name, None, 1)]
    # Each part and its baseline alternate, and the difference is taken in
    # each repeat: a shared machine's load changes between repeats.
    differences = {label: [] for label, *_ in rows}
    for _ in range(repeat):
        for label, function, baseline, inner in rows:
            us = per_call(function, n // inner) / inner
            if baseline is not None:
                us -= per_call(baseline, n)
            differences[label].append(us)
    print(f"\n3. the parts alone, us of this thread's CPU per call (medians of {repeat}, "
          "each paired with its baseline)")
    for label, values in differences.items():
        print(f"  {label:76s} {statistics.median(values):6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300,
                        help="catalogue requests per repeat (x20 for the trivial page)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.requests < 1 or args.repeat < 1 or args.seconds <= 0:
        print("monitor_request: --requests, --repeat and --seconds must be positive",
              file=sys.stderr)
        sys.exit(2)
    global WORK
    WORK = tempfile.mkdtemp(prefix="plumb-monitor-request-")
    try:
        setup_shop()
        import django

        print(f"CPython {sys.version.split()[0]}, Django {django.get_version()}")
        bare = handler(False)
        no_sampler = handler(True, rate=0.0)
        sampled = handler(True, rate=100.0)
        counts = {"/": args.requests * 20, "/catalogue/": args.requests}
        request_path({"bare": bare, "plumb, sampler off": no_sampler}, counts, args.repeat)
        sampler_cost({"plumb, sampler off": no_sampler, "plumb, sampler 100 Hz": sampled},
                     args.seconds)
        sampled.monitor_agent.shutdown()      # the parts are timed without the sampler
        parts(20000, args.repeat)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
