#!/usr/bin/env python3
"""What plumb.monitor costs a real site, beside the APM agents a user would
pick instead, in one run (issue 13, "Speed"):

    .venv/bench-3.12/bin/python benchmarks/monitor_throughput.py [--rounds N]
    make bench-monitor          # makes that venv, with the agents, then runs it

The example shop (examples/shop, Django) under gunicorn, one worker of four
threads (gthread), loaded by wrk (one thread, 8 connections, --duration
seconds, after --warmup seconds of the same) on "/" (a trivial view) and
"/catalogue/" (21 ORM queries and a template), in these configurations:

  bare      SHOP_MONITOR=0: no monitoring at all (the baseline)
  plumb     plumb.monitor's Django middleware with its defaults: every
            request measured, its segments recorded, the sampler at its
            default (100 Hz at most, slowed to sampler_cpu, 0.1% of a CPU)
  plumb-nosampler  the same with the sampler off (SHOP_RATE=0): the request
            path's share apart from the sampler's (not run unless asked)
  plumb-sampler=SHARE  the same with the sampler held to SHARE of a CPU
            (SHOP_SAMPLER_CPU=SHARE, e.g. plumb-sampler=0.0025; asked only)
  plumb-hz=RATE  the same with the sampler at RATE Hz whatever it costs
            (SHOP_RATE=RATE, SHOP_SAMPLER_CPU=0.5): what a round costs the
            site is the difference over plumb-nosampler, divided by the
            rate (asked only)
  ddtrace   `ddtrace-run gunicorn ...`, DD_PROFILING_ENABLED=true
  newrelic  `newrelic-admin run-program gunicorn ...`, developer_mode = true
  sentry    sentry_sdk.init in a settings module wrapping the shop's:
            traces_sample_rate=1.0, continuous profiling of every session

The agents run only if the interpreter running this script has them
(importable); otherwise they are reported as skipped.  Their exporters send
to a local HTTP sink in this script that answers 200 to everything (the
table says how many requests each configuration sent it), so nothing
leaves the machine.

Rounds alternate the configurations (bare, plumb, ddtrace, newrelic,
sentry, bare, ...), each a fresh server, so slow drifts of a shared
machine's load fall on all of them alike.  Printed per page and
configuration: the median requests/s over the rounds and its ratio to
bare's median; the worker's CPU time per request (utime + stime of the
gunicorn worker from /proc, all its threads, before and after the wrk run,
divided by the requests served) and what each adds over bare; the
worker's resident memory after the run.  Goal (issue 13): plumb keeps at
least 0.97 of bare's throughput on both pages, adds under 20 us of CPU per
request plus 2 us per SQL query, and its memory per worker is bounded.

--pin puts gunicorn (master and worker, so the sampler's thread too) on
the first CPU and wrk, the sink and this script on the second: on a 2-core
machine the worker then has a CPU of its own, and the rounds' spread comes
from the host rather than from wrk and the worker taking turns.

--interleave starts every configuration's server once and keeps all of
them up; each round then gives each configuration its turn on both pages
(in turns ABC CBA ..., so none is always first), the others stopped with
SIGSTOP meanwhile (so an idle server's threads take nothing from the
loaded one).  Turns seconds apart drift less than whole rounds of fresh
servers do, so many short rounds (--rounds 20 --duration 4) pair each
run with bare's run of the same round a few seconds away.  gunicorn is
then given a worker timeout (--timeout) of 300 s, longer than any pause
(checked), instead of its default 30: its master, stopped with the
worker, would otherwise take a pause for a hung worker and replace it.
The timeout is a watchdog, no part of serving a request.

--side-by-side loads each configuration at the same time as bare: the two
servers on CPUs of their own (every thread pinned), each one's wrk on the
other's CPU, the CPUs swapped every round, the other servers stopped.
Whatever the host does to the machine in those seconds it does to both of
a pair, so each round's ratio (and its difference of CPU per request) is
paired in time, not seconds apart; each CPU runs one server and one wrk, a
different load from --pin's, alike for both of a pair.

--shared-cpu loads each configuration at the same time as bare as
--side-by-side does, but with both servers on one CPU (every thread
pinned) and both wrks on the other, the CPUs swapped every round: the two
workers take turns on the same CPU, so the host's drift and the CPU's own
contention fall on both alike, moment by moment.  Its figure is the cost
ratio, bare's CPU time a request over the configuration's (the throughput
ratio each would have on a CPU of its own), from the kernel's nanosecond
run times of the worker's threads; the req/s ratio is printed too, but
it also holds how the scheduler split the CPU between the two.  Two
workers switching on one CPU run their caches colder than one alone, so
a request costs both more CPU than in the other modes.

In both, each round begins with the next configuration (bare/A, bare/B,
then bare/B, bare/A, ...): the first pair of a round came out 2-4% below
later ones, whichever configuration it held (docs/benchmarks.md)."""
import argparse
import http.server
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOP = os.path.join(ROOT, "examples", "shop")
PAGES = ("/", "/catalogue/")
CATALOGUE_QUERIES = 21
CONFIGS = ("bare", "plumb", "plumb-nosampler", "ddtrace", "newrelic",
           "sentry")
ASKED_ONLY = ("plumb-nosampler",)    # not in the default --configs
# Configurations with a value (asked only), and the plumb.monitor option
# that checks it: plumb-sampler=SHARE, plumb-hz=RATE.
VALUED = {"plumb-sampler": "sampler_cpu", "plumb-hz": "rate"}
# What each configuration needs importable, beyond Django and gunicorn.
NEEDS = {"bare": "plumb", "plumb": "plumb", "plumb-nosampler": "plumb",
         "ddtrace": "ddtrace",
         "newrelic": "newrelic", "sentry": "sentry_sdk"}
# The agents' own launchers, beside the interpreter.
LAUNCHERS = {"ddtrace": "ddtrace-run", "newrelic": "newrelic-admin"}
DISTRIBUTIONS = ("django", "gunicorn", "plumb", "ddtrace", "newrelic", "sentry-sdk")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WORKER_TIMEOUT_S = 300    # gunicorn's --timeout with --interleave (its default: 30)
PIN = []    # with --pin: the taskset prefix that puts gunicorn on its own CPU
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

SENTRY_SETTINGS = '''\
"""The shop's settings with sentry-sdk on: every request traced, every
profiling session sampled, the profiler running while a transaction does
(its continuous profiling, profile_lifecycle="trace")."""
import sentry_sdk

from shop.settings import *  # noqa: F401,F403

sentry_sdk.init(
    dsn="http://public@127.0.0.1:{port}/1",
    traces_sample_rate=1.0,
    profile_session_sample_rate=1.0,
    profile_lifecycle="trace",
)
'''

NEWRELIC_INI = '''\
[newrelic]
app_name = shop
developer_mode = true
log_file = {log}
log_level = info
'''


class Sink(http.server.ThreadingHTTPServer):
    """A local stand-in for the agents' collectors: 200 and an empty JSON
    object to every request, counted."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.count = 0
        self.count_lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]

    def handle_error(self, request, client_address):
        pass        # an exporter hanging up early is no concern of the benchmark

    def taken(self):
        with self.count_lock:
            count, self.count = self.count, 0
        return count


class SinkHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        elif "chunked" in (self.headers.get("Transfer-Encoding") or ""):
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        with self.server.count_lock:
            self.server.count += 1
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per page")
    parser.add_argument("--warmup", type=int, default=5,
                        help="seconds of wrk per page before the measured run")
    parser.add_argument("--configs", default=",".join(c for c in CONFIGS if c not in ASKED_ONLY),
                        help="comma-separated, of " + ", ".join(CONFIGS))
    parser.add_argument("--interleave", action="store_true",
                        help="servers started once, configurations taking turns each round")
    parser.add_argument("--side-by-side", action="store_true",
                        help="each configuration loaded at the same time as bare, on the "
                             "other CPU, the CPUs swapped every round")
    parser.add_argument("--shared-cpu", action="store_true",
                        help="each configuration loaded at the same time as bare, both "
                             "servers on one CPU and both wrks on the other")
    parser.add_argument("--pin", action="store_true",
                        help="gunicorn on the first CPU, wrk and this script on the second")
    args = parser.parse_args()
    wanted = [c.strip() for c in args.configs.split(",") if c.strip()]
    for config in wanted:
        if config in CONFIGS:
            continue
        try:
            config_value(config)
        except ValueError as e:
            fail(f"{config}: {e} (known: {', '.join(CONFIGS)}, plumb-sampler=SHARE, "
                 "plumb-hz=RATE)")
    if "bare" not in wanted:
        fail("--configs must include bare: every ratio is to it")
    if args.rounds < 1 or args.duration < 1:
        fail("--rounds and --duration must be at least 1")
    paired_mode = "--side-by-side" if args.side_by_side else "--shared-cpu" if args.shared_cpu \
        else None
    if args.side_by_side and args.shared_cpu:
        fail("--side-by-side and --shared-cpu are two ways of pairing: take one")
    if paired_mode and (args.pin or args.interleave):
        fail(f"{paired_mode} pins and pairs by itself: not with --pin or --interleave")
    if paired_mode and (len(os.sched_getaffinity(0)) < 2 or shutil.which("taskset") is None):
        fail(f"{paired_mode} needs two CPUs and taskset (util-linux)")
    wrk = shutil.which("wrk")
    if wrk is None:
        fail("wrk is not installed (scripts/system-deps.sh --test)")
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or shutil.which("taskset") is None:
            fail("--pin needs two CPUs and taskset (util-linux)")
        server_cpu, load_cpu = cpus[0], cpus[1]
        os.sched_setaffinity(0, {load_cpu})    # wrk and the sink inherit it
        PIN.append(["taskset", "-c", str(server_cpu)])
    bindir = os.path.dirname(sys.executable)
    for tool in ("gunicorn",):
        if not os.path.exists(os.path.join(bindir, tool)):
            fail(f"{tool} is not installed beside {sys.executable} (make bench-monitor)")
    configs, skipped = [], []
    for config in wanted:
        launcher = LAUNCHERS.get(config)
        installed = importlib.util.find_spec(NEEDS.get(config, "plumb")) is not None and \
            (launcher is None or os.path.exists(os.path.join(bindir, launcher)))
        (configs if installed else skipped).append(config)

    print(f"CPython {sys.version.split()[0]} ({sys.executable})")
    print("versions: " + ", ".join(f"{d} {version(d)}" for d in DISTRIBUTIONS))
    print(f"CPU: {cpu_model()} x {os.cpu_count()}")
    print(f"load average before: {load_average()}")
    if PIN:
        print(f"pinned: gunicorn on CPU {PIN[0][-1]}, wrk and the sink on CPU "
              f"{min(os.sched_getaffinity(0))}")
    for config in skipped:
        print(f"{config}: skipped ({NEEDS.get(config, 'plumb')} is not installed beside {sys.executable})")
    sys.stdout.flush()

    work = tempfile.mkdtemp(prefix="plumb-monitor-bench-")
    sink = Sink()
    try:
        project, env = prepare_shop(work, sink.port)
        results = {c: {p: [] for p in PAGES} for c in configs}
        sent = {c: [] for c in configs}
        pairs = {c: {p: [] for p in PAGES} for c in configs if c != "bare"}
        if paired_mode:
            side_by_side(configs, project, env, work, wrk, args, pairs, shared=args.shared_cpu)
        elif args.interleave:
            interleaved(configs, project, env, work, wrk, args, results)
            sent = {"all servers": [sink.taken()]}
        for round_ in range(0 if args.interleave or paired_mode else args.rounds):
            for config in configs:
                for page, run in serve_and_load(config, project, env, work, wrk,
                                                args.duration, args.warmup).items():
                    results[config][page].append(run)
                sent[config].append(sink.taken())
                line = "  ".join(f"{p} {results[config][p][-1]['rps']:.0f}/s "
                                 f"{results[config][p][-1]['cpu_us']:.0f} us CPU" for p in PAGES)
                print(f"round {round_ + 1} {config:9s} {line}", flush=True)
    finally:
        sink.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {load_average()}")
    if paired_mode:
        report_pairs(pairs, args.rounds, shared=args.shared_cpu)
    else:
        report(results, sent, args.rounds)


def fail(message):
    print(f"monitor_throughput: {message}", file=sys.stderr)
    sys.exit(2)


def version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def prepare_shop(work, sink_port):
    """A copy of the shop with its database made and seeded, a settings
    module with sentry-sdk on, a New Relic config file; the environment
    every configuration starts from."""
    project = os.path.join(work, "shop")
    shutil.copytree(SHOP, project, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    with open(os.path.join(project, "sentry_settings.py"), "w") as f:
        f.write(SENTRY_SETTINGS.format(port=sink_port))
    with open(os.path.join(work, "newrelic.ini"), "w") as f:
        f.write(NEWRELIC_INI.format(log=os.path.join(work, "newrelic.log")))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DD_", "NEW_RELIC_", "SENTRY_", "PLUMB_", "SHOP_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "shop.settings",
                "SHOP_DB": os.path.join(work, "shop.db"),
                "PLUMB_STORE": "sqlite:///" + os.path.join(work, "monitor.db"),
                "PYTHONPATH": project,
                "SINK_URL": f"http://127.0.0.1:{sink_port}"})
    for command in (["migrate", "--run-syncdb", "-v", "0"], ["seed"]):
        got = subprocess.run([sys.executable, "manage.py", *command], cwd=project, env=env,
                             capture_output=True, text=True, timeout=300)
        if got.returncode != 0:
            fail(f"manage.py {command[0]} failed: {got.stderr.strip().splitlines()[-1:]}")
    return project, env


def config_value(config):
    """The number of a valued configuration (plumb-sampler=0.0025), checked
    by plumb.monitor's own Options; ValueError, in one line, if the name is
    not one or the number is not the option's."""
    name, _, text = config.partition("=")
    if name not in VALUED:
        raise ValueError("unknown configuration")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    from plumb.monitor.options import Options

    Options(store="sqlite:///unused.db", **{VALUED[name]: value})
    return value


def command_and_env(config, env, work, port):
    """How each configuration starts gunicorn, as its own docs say."""
    bindir = os.path.dirname(sys.executable)
    gunicorn = [os.path.join(bindir, "gunicorn"), "-w", "1", "--threads", "4", "-k", "gthread",
                "-b", f"127.0.0.1:{port}", "shop.wsgi:application"]
    env = dict(env)
    sink = env.pop("SINK_URL")
    if config == "plumb-nosampler":
        env["SHOP_RATE"] = "0"       # requests measured, the sampler off: its share apart
    elif config.startswith("plumb-sampler="):
        env["SHOP_SAMPLER_CPU"] = str(config_value(config))
    elif config.startswith("plumb-hz="):
        env["SHOP_RATE"], env["SHOP_SAMPLER_CPU"] = str(config_value(config)), "0.5"
    elif config != "plumb":
        env["SHOP_MONITOR"] = "0"
    if config == "ddtrace":
        env.update({"DD_TRACE_AGENT_URL": sink, "DD_PROFILING_ENABLED": "true",
                    "DD_SERVICE": "shop", "DD_ENV": "bench"})
        return [os.path.join(bindir, LAUNCHERS["ddtrace"])] + gunicorn, env
    if config == "newrelic":
        env["NEW_RELIC_CONFIG_FILE"] = os.path.join(work, "newrelic.ini")
        return [os.path.join(bindir, LAUNCHERS["newrelic"]), "run-program"] + gunicorn, env
    if config == "sentry":
        env["DJANGO_SETTINGS_MODULE"] = "sentry_settings"
    return gunicorn, env


def serve_and_load(config, project, env, work, wrk, duration, warmup):
    """One fresh server of the configuration; each page warmed up, then
    loaded by wrk: {page: {"rps", "requests", "errors", "cpu_us", "rss_kib"}}."""
    port = free_port()
    command, env = command_and_env(config, env, work, port)
    command = (PIN[0] if PIN else []) + command
    log = open(os.path.join(work, f"{config}.log"), "w")
    server = subprocess.Popen(command, cwd=project, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, server, config)
        worker = gunicorn_worker(server.pid, config)
        runs = {}
        for page in PAGES:
            url = f"http://127.0.0.1:{port}{page}"
            # Warm-up, every configuration alike: caches filled, the
            # sampler started and its rate set by its cost (plumb looks
            # every 3 s), the agents' own start-up work done.
            run_wrk(wrk, url, warmup)
            got = measured_run(wrk, url, worker, duration)
            if got["errors"]:
                print(f"  {config} {page}: {got['errors']} responses not 2xx/3xx "
                      f"(see {config}.log)", flush=True)
            runs[page] = got
        return runs
    finally:
        stop(server)
        log.close()


def interleaved(configs, project, env, work, wrk, args, results):
    """Every configuration's server up at once, all stopped but the one
    whose turn it is; args.rounds rounds of turns."""
    # A server waits for up to two rounds' turns of the others (the last
    # of one round is the first of the next, reversed), and for the
    # others' start and warm-up at first.
    paused_s = 2 * (len(configs) - 1) * len(PAGES) * (args.duration + 1) + \
        len(configs) * (len(PAGES) * args.warmup + 10)
    if paused_s >= WORKER_TIMEOUT_S:
        fail(f"--interleave: a server would be stopped for about {paused_s} s, over the "
             f"{WORKER_TIMEOUT_S} s worker timeout given to gunicorn; take fewer "
             "configurations or a shorter --duration")
    servers, logs = {}, []
    try:
        start_stopped(configs, project, env, work, wrk, args, servers, logs)
        for round_ in range(args.rounds):
            for config in configs if round_ % 2 == 0 else configs[::-1]:
                server, port, worker = servers[config]
                os.killpg(server.pid, signal.SIGCONT)
                for page in PAGES:
                    got = measured_run(wrk, f"http://127.0.0.1:{port}{page}", worker,
                                       args.duration)
                    if got["errors"]:
                        print(f"  {config} {page}: {got['errors']} responses not 2xx/3xx "
                              f"(see {config}.log)", flush=True)
                    results[config][page].append(got)
                os.killpg(server.pid, signal.SIGSTOP)
                if server.poll() is not None:
                    fail(f"{config}: gunicorn exited with {server.returncode} (see {config}.log)")
            line = "  ".join(f"{c} " + "/".join(f"{results[c][p][-1]['rps']:.0f}" for p in PAGES)
                             for c in configs)
            print(f"round {round_ + 1} req/s on / and /catalogue/: {line}", flush=True)
    finally:
        for server, _, _ in servers.values():
            try:
                os.killpg(server.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            stop(server)
        for log in logs:
            log.close()


def start_stopped(configs, project, env, work, wrk, args, servers, logs):
    """Each configuration's server started, warmed up on both pages and
    stopped (SIGSTOP): servers[config] = (server, port, worker)."""
    for config in configs:
        port = free_port()
        command, config_env = command_and_env(config, env, work, port)
        log = open(os.path.join(work, f"{config}.log"), "w")
        logs.append(log)
        command = command + ["--timeout", str(WORKER_TIMEOUT_S)]
        server = subprocess.Popen((PIN[0] if PIN else []) + command, cwd=project,
                                  env=config_env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        servers[config] = (server, port, None)
        wait_for_port(port, server, config)
        servers[config] = (server, port, gunicorn_worker(server.pid, config))
        for page in PAGES:
            run_wrk(wrk, f"http://127.0.0.1:{port}{page}", args.warmup)
        os.killpg(server.pid, signal.SIGSTOP)


def pin_process(pid, cpu):
    """Every thread of process pid on cpu."""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(task), {cpu})
        except ProcessLookupError:      # a thread that just ended
            pass


def side_by_side(configs, project, env, work, wrk, args, pairs, shared=False):
    """Each non-bare configuration loaded at the same time as bare, each
    server on a CPU of its own and each wrk on the other server's CPU (or,
    shared, both servers on one CPU and both wrks on the other), the two
    CPUs swapped every round: the host's drift, which moves turns seconds
    apart by 10-40%, falls on both of a pair alike.
    pairs[config][page] = [(bare's run, config's run), ...]."""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    servers, logs = {}, []
    try:
        start_stopped(configs, project, env, work, wrk, args, servers, logs)
        others = [c for c in configs if c != "bare"]
        for round_ in range(args.rounds):
            # Each round starts with the next configuration: the first pair
            # of a round came out 2-4% below the same configuration's pairs
            # later in the round (2026-12-08), which a fixed order put on
            # one configuration, plumb's, every round.
            shift = round_ % len(others)
            for config in others[shift:] + others[:shift]:
                bare_cpu, other_cpu = cpus if round_ % 2 == 0 else cpus[::-1]
                if shared:      # (name, its server's CPU, its wrk's CPU)
                    pair = (("bare", bare_cpu, other_cpu), (config, bare_cpu, other_cpu))
                else:
                    pair = (("bare", bare_cpu, other_cpu), (config, other_cpu, bare_cpu))
                for name, server_cpu, _ in pair:
                    server, _, worker = servers[name]
                    pin_process(server.pid, server_cpu)
                    pin_process(worker, server_cpu)
                    os.killpg(server.pid, signal.SIGCONT)
                for page in PAGES:
                    runs = measured_together(
                        wrk, [(f"http://127.0.0.1:{servers[name][1]}{page}",
                               servers[name][2], load_cpu) for name, _, load_cpu in pair],
                        args.duration)
                    for (name, _, _), got in zip(pair, runs):
                        if got["errors"]:
                            print(f"  {name} {page}: {got['errors']} responses not 2xx/3xx "
                                  f"(see {name}.log)", flush=True)
                    pairs[config][page].append(tuple(runs))
                for name, _, _ in pair:
                    server = servers[name][0]
                    os.killpg(server.pid, signal.SIGSTOP)
                    if server.poll() is not None:
                        fail(f"{name}: gunicorn exited with {server.returncode} "
                             f"(see {name}.log)")
                line = "  ".join(f"{page} " + "/".join(f"{run['rps']:.0f}"
                                                       for run in pairs[config][page][-1])
                                 for page in PAGES)
                print(f"round {round_ + 1} bare/{config} req/s at once (bare on CPU "
                      f"{bare_cpu}): {line}", flush=True)
    finally:
        for server, _, _ in servers.values():
            try:
                os.killpg(server.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            stop(server)
        for log in logs:
            log.close()


def measured_together(wrk, loads, duration):
    """wrk on each (url, worker, cpu) of loads at the same time, each wrk
    on its cpu; measured_run's figures for each."""
    before = [process_counters(worker) for _, worker, _ in loads]
    running = [subprocess.Popen(["taskset", "-c", str(cpu), wrk, "-t", "1", "-c", "8", "-d",
                                 f"{duration}s", url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for url, _, cpu in loads]
    outputs = [r.communicate(timeout=duration + 60) for r in running]
    results = []
    for (url, worker, _), counters, r, (stdout, stderr) in zip(loads, before, running, outputs):
        if r.returncode != 0:
            fail(f"wrk failed on {url}: {stderr.strip()}")
        got = wrk_figures(stdout)
        got.update(per_request(counters, process_counters(worker), got["requests"]))
        got["rss_kib"] = rss_kib(worker)
        results.append(got)
    return results


def report_pairs(pairs, rounds, shared=False):
    if shared:
        print(f"\non one CPU, {rounds} round(s): each configuration loaded at the same time "
              "as bare, both servers on one CPU; ratio = bare's CPU time a request over its "
              "own in the same seconds (the throughput ratio on a CPU of its own)")
    else:
        print(f"\nside by side, {rounds} round(s): each configuration loaded at the same time "
              "as bare; ratio = its req/s over bare's in the same seconds")
    header = f"{'page':12s} {'config':16s} {'paired median':>13s} {'quartiles':>11s} " \
             f"{'range':>11s} {'bare CPU us':>11s} {'+CPU us':>8s} {'+CPU quartiles':>15s}"
    print(header)
    print("-" * len(header))
    for config, by_page in pairs.items():
        for page, runs in by_page.items():
            ratios = [bare["cpu_us"] / other["cpu_us"] if shared else other["rps"] / bare["rps"]
                      for bare, other in runs]
            added = [other["cpu_us"] - bare["cpu_us"] for bare, other in runs]
            q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [min(ratios)] * 3
            qa = statistics.quantiles(added, n=4) if len(added) >= 4 else [min(added)] * 3
            print(f"{page:12s} {config:16s} {statistics.median(ratios):13.3f} "
                  f"{q[0]:5.2f}-{q[2]:4.2f} {min(ratios):5.2f}-{max(ratios):4.2f} "
                  f"{statistics.median(b['cpu_us'] for b, _ in runs):11.1f} "
                  f"{statistics.median(added):+8.1f} {qa[0]:+7.1f}/{qa[2]:+6.1f}")
    print("goal: ratio >= 0.97 on both pages, < 20 us per request + 2 us per query")
    if shared:
        print("\nreq/s over bare's in the same seconds (paired median), and the configuration's "
              "share of the CPU the two workers took: " + "; ".join(
                  f"{page} {config} {statistics.median(o['rps'] / b['rps'] for b, o in runs):.3f}"
                  f" ({statistics.median(o['cpu_s'] / (o['cpu_s'] + b['cpu_s']) for b, o in runs):.1%})"
                  for config, by_page in pairs.items() for page, runs in by_page.items()))
    print("\nwhere the added CPU goes, per request: bare's median, then the paired "
          "median of the configuration's minus bare's")
    keys = (("sampler_us", "sampler thread us"), ("user_us", "user us"),
            ("system_us", "system us"), ("minor_faults", "faults"),
            ("voluntary_switches", "vol. switches"), ("involuntary_switches", "invol. switches"))
    header = f"{'page':12s} {'config':16s} " + " ".join(f"{label:>22s}" for _, label in keys)
    print(header)
    print("-" * len(header))
    for config, by_page in pairs.items():
        for page, runs in by_page.items():
            cells = []
            for key, _ in keys:
                bare = statistics.median(b[key] for b, _ in runs)
                added = statistics.median(o[key] - b[key] for b, o in runs)
                cells.append(f"{bare:10.3f} {added:+11.3f}")
            print(f"{page:12s} {config:16s} " + " ".join(f"{c:>22s}" for c in cells))


def measured_run(wrk, url, worker, duration):
    """wrk on `url` for `duration` s, with the worker's CPU time per request
    and its resident memory after."""
    counters = process_counters(worker)
    got = run_wrk(wrk, url, duration)
    got.update(per_request(counters, process_counters(worker), got["requests"]))
    got["rss_kib"] = rss_kib(worker)
    return got


def per_request(before, after, requests):
    """A run's worker counters per request, from process_counters before and
    after it: cpu_us (the threads' run time, user and system, from the
    kernel's schedstat in ns), cpu_s (the same in all), sampler_us (that
    of plumb's sampler thread, told by its name), user_us and
    system_us (clock ticks), system_share, and
    the kernel's events a request cost (minor page faults, voluntary and
    involuntary context switches), which neither the instruction counts nor
    strace's system calls show."""
    got = {key: (after[key] - before[key]) / requests if requests else float("nan")
           for key in before}
    got["user_us"] = got.pop("user_s") * 1e6
    got["system_us"] = got.pop("system_s") * 1e6
    got["cpu_s"] = (after["run_ns"] - before["run_ns"]) / 1e9
    got["cpu_us"] = got.pop("run_ns") / 1e3
    got["sampler_us"] = got.pop("sampler_ns") / 1e3
    ticks_us = got["user_us"] + got["system_us"]
    got["system_share"] = got["system_us"] / ticks_us if ticks_us else float("nan")
    return got


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, server, config, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail(f"{config}: gunicorn exited with {server.returncode} before serving")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    fail(f"{config}: gunicorn did not listen within {timeout} s")


def gunicorn_worker(master, config, timeout=30):
    """The master's only child (ddtrace-run and newrelic-admin exec
    gunicorn, so the master keeps the started process's id)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{master}/task/{master}/children") as f:
                children = f.read().split()
        except OSError:
            children = []
        if len(children) == 1:
            return int(children[0])
        time.sleep(0.1)
    fail(f"{config}: no single gunicorn worker under process {master}")


def process_counters(pid):
    """The whole process's (all its threads') user and system CPU seconds,
    minor page faults, and voluntary and involuntary context switches (those
    of threads that have exited are not counted: the worker's threads live
    as long as it does)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: state is field 3, minflt 10,
    # utime 14, stime 15.
    got = {"user_s": int(fields[11]) / CLOCK_TICKS, "system_s": int(fields[12]) / CLOCK_TICKS,
           "minor_faults": int(fields[7]), "voluntary_switches": 0, "involuntary_switches": 0,
           "run_ns": 0, "sampler_ns": 0}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            # The time the thread ran, in nanoseconds (utime and stime above
            # are clock ticks of 10 ms: a 4-s run's CPU to within 1%).
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                ran = int(f.read().split()[0])
            got["run_ns"] += ran
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                if f.read().strip() == "plumb-sampler":     # its native thread's name
                    got["sampler_ns"] += ran
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        got["voluntary_switches"] += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        got["involuntary_switches"] += int(line.split()[1])
        except FileNotFoundError:      # a thread that ended meanwhile
            pass
    return got


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_wrk(wrk, url, seconds):
    got = subprocess.run([wrk, "-t", "1", "-c", "8", "-d", f"{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 60)
    if got.returncode != 0:
        fail(f"wrk failed on {url}: {got.stderr.strip()}")
    return wrk_figures(got.stdout)


def wrk_figures(stdout):
    requests = re.search(r"(\d+) requests in", stdout)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    socket_errors = re.search(r"Socket errors: (.*)", stdout)
    if not (requests and rps):
        fail(f"cannot read wrk's output: {stdout!r}")
    return {"rps": float(rps.group(1)), "requests": int(requests.group(1)),
            "errors": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def stop(server, timeout=30):
    """A graceful stop (plumb flushes its last harvest on SIGTERM), then a
    kill of the whole session if it lingers."""
    try:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def report(results, sent, rounds):
    configs = list(results)
    print(f"\nmedians of {rounds} round(s); ratio = req/s over bare's; "
          "CPU = the worker's CPU time per request, +CPU over bare's")
    print("paired = the median and range over rounds of req/s over the same round's bare "
          "(a shared machine's load drifts between rounds)")
    header = f"{'page':12s} {'config':9s} {'req/s':>8s} {'ratio':>6s} {'paired':>17s} " \
             f"{'CPU us':>8s} {'+CPU us':>8s} {'RSS MiB':>8s} {'errors':>7s}"
    print(header)
    print("-" * len(header))
    added, quartiles = {}, {}
    for page in PAGES:
        bare = medians(results["bare"][page])
        for config in configs:
            m = medians(results[config][page])
            added[config, page] = m["cpu_us"] - bare["cpu_us"]
            errors = sum(r["errors"] for r in results[config][page])
            paired = [r["rps"] / b["rps"] for r, b in zip(results[config][page],
                                                         results["bare"][page])]
            spread = f"{statistics.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"
            if len(paired) >= 4:
                q1, _, q3 = statistics.quantiles(paired, n=4)
                quartiles[config, page] = f"{q1:.2f}-{q3:.2f}"
            print(f"{page:12s} {config:9s} {m['rps']:8.0f} {m['rps'] / bare['rps']:6.2f} "
                  f"{spread:>17s} {m['cpu_us']:8.1f} {added[config, page]:+8.1f} "
                  f"{m['rss_kib'] / 1024:8.1f} {errors:7d}")
    print("\nthe worker's system time, a share of its CPU time (median): " + "; ".join(
        f"{page} {config} {statistics.median(r['system_share'] for r in results[config][page]):.0%}"
        for page in PAGES for config in configs))
    if quartiles:
        print("\npaired ratios' quartiles (the middle half of the rounds): " + "; ".join(
            f"{page} {config} {q}" for (config, page), q in quartiles.items()
            if config != "bare"))
    print("\nexporters' requests to the local sink per server (median): " +
          ", ".join(f"{c} {statistics.median(n):.0f}" for c, n in sent.items()))
    if "plumb" in configs:
        per_query = (added["plumb", "/catalogue/"] - added["plumb", "/"]) / CATALOGUE_QUERIES
        print(f"plumb's added CPU: {added['plumb', '/']:+.1f} us per trivial request, "
              f"{added['plumb', '/catalogue/']:+.1f} us per catalogue request; "
              f"(catalogue - trivial) / {CATALOGUE_QUERIES} queries = {per_query:+.2f} us "
              "per query (the template's share counted in)")
        print(f"goal: ratio >= 0.97 on both pages, < 20 us per request "
              f"+ 2 us per query (< {20 + 2 * CATALOGUE_QUERIES} us on the catalogue)")


def medians(runs):
    return {key: statistics.median(r[key] for r in runs) for key in ("rps", "cpu_us", "rss_kib")}


if __name__ == "__main__":
    main()
