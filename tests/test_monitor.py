"""plumb.monitor in one process: options, queue time, every request counted
and named, apdex and percentiles from known durations, slow traces kept
with their segments, names bounded, background tasks, a failing store never
failing a request, fork, and the commands that read the store.

Durations are made exact with a clock the test moves (the agent's and the
record's perf_counter), so every figure is arithmetic, never a timing."""
import json
import math
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import env_with_plumb, plumb as run_plumb

import plumb.monitor.agent as agent_module
from plumb.monitor import WSGIMiddleware, background_task, histogram, queue_time
from plumb.monitor.options import Options
from plumb.monitor.store import open_store


class Clock:
    """time, with perf_counter() where the test puts it."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self):
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(agent_module, "time", c)
    return c


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    yield url
    agent = agent_module._agents.pop(url, None)
    if agent is not None:
        agent.shutdown()


def call(app, path, method="GET", headers=None):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               "wsgi.input": None}
    environ.update(headers or {})
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    try:
        body = app(environ, start_response)
    except Exception as e:
        return "raised", type(e).__name__
    data = b"".join(body)
    body.close()
    return seen["status"], data


def routed_app(clock, durations):
    """A plain WSGI app: /ok, /fail (raises), /unavailable (503); each
    request lasts what durations[path] says, on the test's clock."""
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        clock.now += durations.get(path, 0.001)
        if path == "/fail":
            raise KeyError("boom")
        status = "503 Service Unavailable" if path == "/unavailable" else "200 OK"
        start_response(status, [("Content-Type", "text/plain")])
        return [b"hello"]
    return app


def monitored(app, store_url, **options):
    options.setdefault("rate", 0)
    options.setdefault("harvest_interval", 3600)
    return WSGIMiddleware(app, store=store_url, naming=lambda env: env["PATH_INFO"], **options)


def rows_of(store_url, **kw):
    store = open_store(store_url)
    try:
        return {(r["name"], r["kind"]): r for r in
                store.transactions(time.time() - 3600, time.time() + 120, **kw)}
    finally:
        store.close()


# -- options ------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"harvest_interval": -1}, "harvest_interval"),
    ({"apdex_t": "fast"}, "apdex_t"),
    ({"apdex_t": float("nan")}, "apdex_t"),
    ({"store": "mongodb://x/y"}, "mongodb"),
    ({"mode": "both"}, "mode"),
    ({"max_traces": 1.5}, "max_traces"),
    ({"rate": 10_000}, "rate must lie in [0, 1000] Hz"),
    ({"instruments": ("redis",)}, "redis"),
    ({"naming": "path"}, "naming"),
    ({"transaction_apdex_t": {"a": -1}}, "transaction_apdex_t"),
])
def test_bad_options_fail_at_start_in_one_line(options, message, tmp_path):
    options.setdefault("store", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ValueError) as e:
        Options(**options)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_plumb_store_overrides_the_store(monkeypatch, tmp_path):
    monkeypatch.setenv("PLUMB_STORE", f"sqlite:///{tmp_path}/env.db")
    assert Options(store=f"sqlite:///{tmp_path}/code.db").store.endswith("env.db")
    monkeypatch.delenv("PLUMB_STORE")
    assert Options(store=f"sqlite:///{tmp_path}/code.db").store.endswith("code.db")


# -- queue time -------------------------------------------------------------------------

def test_queue_time_in_every_unit():
    now = 1_700_000_000.0
    for header in ("t=1699999999.9", "1699999999.9", "t=1699999999900",
                   "t=1699999999900000", "t=1699999999900000000"):
        assert queue_time.parse(header, now) == pytest.approx(0.1, abs=1e-3), header


@pytest.mark.parametrize("header", [
    "", "t=", "t=abc", "t=-5", "t=1.2.3", "t=" + "9" * 100, "t=\u00b2\u00b3", "t=.5",
    "t=1800000000",            # in the future
    "t=1600000000",            # more than an hour ago
    "garbage t=1699999999",
])
def test_hostile_queue_headers_are_ignored(header):
    assert queue_time.parse(header, 1_700_000_000.0) is None


# -- every request counted and named ----------------------------------------------------

def test_every_request_is_counted_by_transaction(clock, store_url):
    app = monitored(routed_app(clock, {}), store_url)
    for _ in range(30):
        assert call(app, "/ok")[0] == "200 OK"
    for _ in range(3):
        assert call(app, "/fail") == ("raised", "KeyError")
    for _ in range(2):
        assert call(app, "/unavailable")[0].startswith("503")
    app.agent.harvest()
    rows = rows_of(store_url)
    assert rows[("/ok", "web")]["count"] == 30 and rows[("/ok", "web")]["errors"] == 0
    assert rows[("/fail", "web")]["count"] == 3 and rows[("/fail", "web")]["errors"] == 3
    assert rows[("/fail", "web")]["error_classes"] == {"KeyError": 3}
    assert rows[("/unavailable", "web")]["errors"] == 2
    assert rows[("/unavailable", "web")]["error_classes"] == {"HTTP 503": 2}


def test_apdex_and_percentiles_are_the_arithmetic_of_the_durations(clock, store_url):
    durations = [0.0002 * 1.37 ** i for i in range(40)]     # 0.2 ms .. ~40 s
    current = {}

    def app(environ, start_response):
        clock.now += current["d"]
        start_response("200 OK", [])
        return [b""]

    wrapped = monitored(app, store_url, apdex_t=0.1)
    for d in durations:
        current["d"] = d
        call(wrapped, "/t")
    wrapped.agent.harvest()
    row = rows_of(store_url)[("/t", "web")]
    satisfied = sum(1 for d in durations if d <= 0.1)
    tolerating = sum(1 for d in durations if 0.1 < d <= 0.4)
    assert (row["satisfied"], row["tolerating"], row["frustrated"]) == \
        (satisfied, tolerating, len(durations) - satisfied - tolerating)
    assert row["min_us"] == int(durations[0] * 1e6) and row["max_us"] == int(durations[-1] * 1e6)
    ordered = sorted(int(d * 1e6) for d in durations)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
        assert abs(histogram.quantile_us(row["histogram"], q) - exact) <= 0.02 * exact, q


def test_queue_time_is_counted_when_a_proxy_sets_it(clock, store_url):
    app = monitored(routed_app(clock, {}), store_url)
    start = time.time() - 0.05
    call(app, "/ok", headers={"HTTP_X_REQUEST_START": f"t={start:.3f}"})
    call(app, "/ok", headers={"HTTP_X_REQUEST_START": "t=" + "9" * 200})
    call(app, "/ok")
    app.agent.harvest()
    row = rows_of(store_url)[("/ok", "web")]
    assert row["count"] == 3 and row["queue_count"] == 1
    assert 40_000 <= row["queue_us"] <= 10_000_000


def test_names_are_bounded_and_the_rest_folded(clock, store_url):
    app = monitored(routed_app(clock, {}), store_url, max_transactions=3)
    for i in range(10):
        call(app, f"/page/{i}")
    app.agent.harvest()
    rows = rows_of(store_url)
    assert len(rows) == 4 and rows[("(other transactions)", "web")]["count"] == 7
    store = open_store(store_url)
    try:
        assert store.drops(time.time() - 3600).get("names_folded") == 7
    finally:
        store.close()


def test_a_slow_request_keeps_its_trace_with_its_segments(clock, store_url, tmp_path):
    db = tmp_path / "app.db"
    sqlite3.connect(db).executescript("create table t(x); insert into t values (1), (2);")

    def app(environ, start_response):
        connection = sqlite3.connect(db)
        for x in (1, 2):
            connection.execute("select x from t where x = ?", (x,)).fetchall()
        connection.close()
        clock.now += 2.5 if environ["PATH_INFO"] == "/slow" else 0.01
        start_response("200 OK", [])
        return [b"done"]

    wrapped = monitored(app, store_url, instruments=("sqlite3",))
    for path in ("/fast", "/slow", "/fast"):
        call(wrapped, path)
    wrapped.agent.harvest()
    store = open_store(store_url)
    try:
        kept = store.traces(since=time.time() - 3600, until=time.time() + 60)
        assert [t["name"] for t in kept] == ["/slow"]
        trace = store.trace(kept[0]["id"])
    finally:
        store.close()
    assert trace["duration_us"] == 2_500_000
    sql = [s["name"] for s in trace["document"]["segments"] if s["kind"] == "sql"]
    assert sql == ["select x from t where x = ?"] * 2
    assert "1" not in json.dumps(trace["document"]["segments"][0].get("params", ""))

    out = tmp_path / "trace.html"
    got = run_plumb("trace", kept[0]["id"], "--store", store_url, "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert "select x from t where x = ?" in out.read_text()


def test_background_tasks_are_their_own_kind(clock, store_url):
    app = monitored(routed_app(clock, {}), store_url)
    call(app, "/ok")

    @background_task
    def rebuild():
        clock.now += 0.2
        return 7

    @background_task(name="nightly")
    def nightly():
        raise ValueError("no")

    assert rebuild() == 7
    with pytest.raises(ValueError):
        nightly()
    with background_task("import feed"):
        clock.now += 0.1
    app.agent.harvest()
    rows = rows_of(store_url, kind="background")
    assert rows[("test_monitor.test_background_tasks_are_their_own_kind.<locals>.rebuild",
                 "background")]["count"] == 1
    assert rows[("nightly", "background")]["errors"] == 1
    assert rows[("import feed", "background")]["total_us"] == 100_000
    assert ("/ok", "web") not in rows


def test_a_failing_store_never_fails_a_request(clock, tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's directory should be")
    url = f"sqlite:///{blocker}/m.db"
    try:
        app = monitored(routed_app(clock, {}), url)
        for _ in range(5):
            assert call(app, "/ok")[0] == "200 OK"
        for _ in range(agent_module.MAX_BUFFERED + 3):
            app.agent.harvest()            # never raises
        assert len(app.agent.buffer) == agent_module.MAX_BUFFERED
        assert call(app, "/ok")[0] == "200 OK"
    finally:
        agent = agent_module._agents.pop(url, None)
        if agent is not None:
            agent.shutdown()


def test_a_foreign_store_file_is_refused_at_start_and_the_app_serves(clock, tmp_path, caplog):
    path = tmp_path / "foreign.db"
    path.write_bytes(b"this is not a database, it is a text file\n" * 10)
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    try:
        app = monitored(routed_app(clock, {}), url)
        assert call(app, "/ok")[0] == "200 OK"
        app.agent.harvest()
        assert any("refused" in r.getMessage() for r in caplog.records)
        assert path.read_bytes() == before
    finally:
        agent = agent_module._agents.pop(url, None)
        if agent is not None:
            agent.shutdown()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_afresh(clock, store_url):
    app = monitored(routed_app(clock, {}), store_url)
    for _ in range(4):
        call(app, "/parent")
    pid = os.fork()
    if pid == 0:
        try:
            for _ in range(3):
                call(app, "/child")
            app.agent.shutdown()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    app.agent.harvest()
    rows = rows_of(store_url)
    assert rows[("/parent", "web")]["count"] == 4       # counted once, by the parent
    assert rows[("/child", "web")]["count"] == 3


# -- samples labelled by transaction -----------------------------------------------------

def spin_in_view(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_samples_of_a_request_are_labelled_with_its_transaction(store_url):
    def app(environ, start_response):
        spin_in_view(0.3)
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIMiddleware(app, store=store_url, rate=200, harvest_interval=3600,
                             naming=lambda env: "spin", sampler_cpu=0.5)
    call(wrapped, "/spin")
    wrapped.agent.harvest()
    store = open_store(store_url)
    try:
        web = store.profile(transaction="spin", since=time.time() - 3600, until=time.time() + 60)
        everything = store.profile(since=time.time() - 3600, until=time.time() + 60)
    finally:
        store.close()

    def in_spin(stacks):
        return sum(c for frames, c in stacks if any(f[2] == "spin_in_view" for f in frames))
    total_spin = in_spin(everything["stacks"])
    if total_spin < 20:
        pytest.skip(f"the sampler got {total_spin} samples of the view on this loaded host")
    assert in_spin(web["stacks"]) >= 0.9 * total_spin


# -- the commands --------------------------------------------------------------------------

def test_transactions_command(clock, store_url):
    app = monitored(routed_app(clock, {"/ok": 0.010, "/slow": 0.300}), store_url)
    for _ in range(9):
        call(app, "/ok")
    call(app, "/slow")
    app.agent.harvest()
    # A request ends at its real start plus its (fake) duration: /slow's
    # minute can be the next one, which `plumb transactions` counts only
    # once that minute has begun (seen once, a real minute turning within
    # these 0.3 s).  Real time is let past the fake ends.
    time.sleep(0.4)
    got = run_plumb("transactions", "--store", store_url, "--json")
    assert got.returncode == 0, got.stderr
    rows = {r["name"]: r for r in json.loads(got.stdout)}
    ok = rows["/ok"]
    for key in ("name", "kind", "count", "errors", "rpm", "mean_ms", "p50_ms", "p95_ms",
                "p99_ms", "apdex", "share", "sql_ms", "sql_count", "template_ms", "http_ms",
                "code_ms"):
        assert key in ok, key
    assert ok["count"] == 9 and ok["mean_ms"] == pytest.approx(10.0)
    assert ok["share"] == pytest.approx(0.09 / 0.39)
    assert ok["apdex"] == 1.0 and rows["/slow"]["apdex"] == 1.0
    table = run_plumb("transactions", "--store", store_url)
    assert table.returncode == 0 and "/slow" in table.stdout and "p95" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["transactions", "--since", "yesterday"], "not a time"),
    (["transactions", "--store", "nope://x"], "nope"),
    (["trace", "0123"], "no trace"),
    (["profile", "-o", "x.prof"], "no samples"),
])
def test_monitor_commands_refuse_in_one_line(args, message, store_url, tmp_path):
    open_store(store_url).close()
    if "--store" not in args:
        args = args + ["--store", store_url]
    got = run_plumb(*args, cwd=str(tmp_path))
    assert got.returncode == 2, got
    assert message in got.stderr and got.stderr.count("\n") == 1, got.stderr


def test_celery_tasks_are_background_transactions(clock, store_url):
    celery = pytest.importorskip("celery")
    app = monitored(routed_app(clock, {}), store_url)     # the process's agent
    call(app, "/ok")
    worker = celery.Celery("shop", broker="memory://", backend="cache+memory://")
    worker.conf.task_always_eager = True

    @worker.task(name="shop.tasks.rebuild")
    def rebuild(n):
        clock.now += 0.05
        return n * 2

    @worker.task(name="shop.tasks.fail")
    def fail():
        raise LookupError("gone")

    assert rebuild.delay(4).get() == 8
    assert rebuild.delay(5).get() == 10
    fail.apply()                       # eager: the failure is stored, not raised
    app.agent.harvest()
    rows = rows_of(store_url, kind="background")
    assert rows[("shop.tasks.rebuild", "background")]["count"] == 2
    assert rows[("shop.tasks.rebuild", "background")]["total_us"] == 100_000
    assert rows[("shop.tasks.fail", "background")]["error_classes"] == {"LookupError": 1}


def test_an_xray_session_keeps_every_trace_of_its_transaction(clock, store_url, tmp_path):
    app = monitored(routed_app(clock, {"/ok": 0.002, "/other": 0.002}), store_url)
    call(app, "/ok")                                  # the agent is running
    got = run_plumb("xray", "start", "/ok", "--store", store_url, "--traces", "3",
                    "--duration", "600")
    assert got.returncode == 0, got.stderr
    session = got.stdout.strip()
    app.agent.poll_sessions()
    for _ in range(5):
        call(app, "/ok")
        call(app, "/other")
    app.agent.harvest()
    shown = run_plumb("xray", "show", session, "--store", store_url, "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert result["state"] == "running" and result["transaction"] == "/ok"
    assert len(result["traces"]) == 3                 # fast requests, kept for the session
    assert result["transaction_stats"]["count"] == 5  # only those during the session
    store = open_store(store_url)
    try:
        since, until = time.time() - 3600, time.time() + 60
        kept = store.traces(session=session, since=since, until=until)
        assert {t["name"] for t in kept} == {"/ok"}
        # None was slow: every trace kept is the session's.
        assert {t["id"] for t in store.traces(since=since, until=until)} == {t["id"] for t in kept}
        assert rows_of(store_url)[("/ok", "web")]["count"] == 6  # the usual rows still count all
    finally:
        store.close()
    listed = run_plumb("xray", "list", "--store", store_url)
    assert session in listed.stdout


def test_session_commands_refuse_bad_values(store_url):
    open_store(store_url).close()
    for args in (["xray", "start", "x", "--duration", "0"], ["threads", "start", "--rate", "5000"],
                 ["xray", "show", "nope"], ["xray"]):
        got = run_plumb(*args, "--store", store_url)
        assert got.returncode == 2 and got.stderr.count("\n") == 1, (args, got.stderr)


DJANGO_BAD_OPTIONS = """\
import django
from django.conf import settings
settings.configure(SECRET_KEY="x", INSTALLED_APPS=["plumb.contrib.django"],
                   PLUMB_MONITOR={OPTIONS})
django.setup()
from django.core.exceptions import ImproperlyConfigured
from plumb.contrib.django.middleware import MonitoringMiddleware
try:
    MonitoringMiddleware(lambda request: None)
except ImproperlyConfigured as e:
    print(e)
"""


@pytest.mark.parametrize("options, message", [
    ('{"harvest_intervall": 5}', "unknown option 'harvest_intervall'"),
    ('{"apdex_t": -1}', "apdex_t must lie in"),
    ('{"store": "redis://cache/0"}', "unknown scheme 'redis'"),
])
def test_django_settings_errors_are_one_line_at_start(options, message, tmp_path):
    script = tmp_path / "check.py"
    script.write_text(DJANGO_BAD_OPTIONS.replace("{OPTIONS}", options))
    got = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, env=env_with_plumb(), timeout=120)
    assert got.returncode == 0, got.stderr
    line = got.stdout.strip()
    assert line.startswith("settings.PLUMB_MONITOR: ") and message in line and "\n" not in line


def test_the_sampler_rate_follows_its_cost(store_url):
    """What the sampler cost over a harvest (its time in rounds) sets the
    next harvest's rate: scaled down to sampler_cpu, back up when cheap,
    never above `rate`; summaries are made up here, so no timing is read."""
    app = WSGIMiddleware(lambda e, s: (s("200 OK", []), [b""])[1], store=store_url, rate=100,
                         harvest_interval=3600, sampler_cpu=0.01)
    call(app, "/")
    agent = app.agent
    assert agent.sampler_rate == 100

    def adapt(agent, summary):          # as a harvest calls it: its lock held
        with agent._harvest_lock:
            agent._adapt_rate(summary)

    adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 5 * 10**8})   # 5%
    assert agent.sampler_rate == pytest.approx(18.0) and agent.sampler.rate == agent.sampler_rate
    adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 10**7})       # 0.1%
    assert agent.sampler_rate == pytest.approx(27.0)
    for _ in range(10):
        adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 0})
    assert agent.sampler_rate == 100                                  # never above `rate`
    adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 9 * 10**9})   # 90%
    assert agent.sampler_rate == agent_module.MIN_RATE
    for _ in range(10):
        adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 0})
    assert agent.sampler_rate == 100
    # The thread's CPU time, where the summary has it, is what counts: its
    # wake-ups cost what its time in rounds leaves out.
    adapt(agent, {"started_ns": 0, "ended_ns": 10 * 10**9, "busy_ns": 10**7,
                       "cpu_ns": 5 * 10**8})
    assert agent.sampler_rate == pytest.approx(18.0)
    # The session poll, every few seconds, keeps the lowered rate (it once
    # set options.rate again).
    agent.poll_sessions()
    assert agent.sampler_rate == pytest.approx(18.0)


def test_a_sampler_far_over_its_cost_is_slowed_before_the_harvest(store_url):
    """Between harvests the session poll looks at what the sampler cost
    since it started (a made-up summary: no timing is read) and slows it at
    once when it took more than 1.5 x sampler_cpu; what it had sampled is
    kept for the harvest."""
    app = WSGIMiddleware(lambda e, s: (s("200 OK", []), [b""])[1], store=store_url, rate=100,
                         harvest_interval=3600, sampler_cpu=0.01)
    call(app, "/")
    agent = app.agent
    first = agent.sampler
    agent._cost_since = time.monotonic() - 10
    first.summary = lambda: {"cpu_ns": 10**8}             # 1% over 10 s: within budget
    agent.poll_sessions()
    assert agent.sampler is first and agent.sampler_rate == 100
    first.summary = lambda: {"cpu_ns": 3 * 10**8}         # 3%
    agent.poll_sessions()
    assert agent.sampler is not first and not first.running
    assert agent.sampler_rate == pytest.approx(30.0, abs=0.5) and agent.own_rate == agent.sampler_rate
    agent.poll_sessions()                                 # just restarted: too soon to judge
    assert agent.sampler_rate == pytest.approx(30.0, abs=0.5)
    with pytest.raises(ValueError):
        Options(store=store_url, sampler_cpu=2)


DJANGO_NAMING = """\
import json, sys
import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

def product(request, pk):
    return HttpResponse("product %d" % pk)

def guarded(request):
    return HttpResponse("the view ran")

def broken(request):
    raise ValueError("no")

class AnswersBeforeTheView:
    def __init__(self, get_response):
        self.get_response = get_response
    def __call__(self, request):
        return self.get_response(request)
    def process_view(self, request, view, args, kwargs):
        if view is guarded:
            return HttpResponse("answered by the middleware")

urlpatterns = [path("product/<int:pk>/", product), path("guarded/", guarded),
               path("broken/", broken)]
settings.configure(
    SECRET_KEY="x", DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=["plumb.contrib.django"],
    MIDDLEWARE=["plumb.contrib.django.middleware.MonitoringMiddleware",
                __name__ + ".AnswersBeforeTheView"],
    PLUMB_MONITOR={"store": sys.argv[1], "rate": 0, "harvest_interval": 3600})
django.setup()
from django.test import Client
from plumb.monitor.agent import process_agent

client = Client(raise_request_exception=False)
statuses = [client.get(url).status_code
            for url in ("/product/1/", "/product/2/", "/guarded/", "/nowhere/", "/broken/")]
process_agent().harvest()
print(json.dumps(statuses))
"""


def test_django_requests_are_named_by_their_view_however_they_are_answered(tmp_path):
    """The view's wrapper names a request as its view runs; a request a
    middleware answers before the view (process_view) is named by its URL's
    match all the same, one no URL matched shares the unmatched name, and a
    view that raises keeps its own name."""
    store = f"sqlite:///{tmp_path / 'monitor.db'}"
    script = tmp_path / "site.py"
    script.write_text(DJANGO_NAMING)
    got = subprocess.run([sys.executable, str(script), store], capture_output=True, text=True,
                         cwd=tmp_path, env=env_with_plumb(), timeout=120)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout.splitlines()[-1]) == [200, 200, 200, 404, 500]
    with open_store(store) as s:
        rows = {r["name"]: r for r in s.transactions(0, time.time() + 3600)}
    assert {name: r["count"] for name, r in rows.items()} == {
        "__main__.product": 2, "__main__.guarded": 1, agent_module.UNMATCHED: 1,
        "__main__.broken": 1}
    assert rows["__main__.broken"]["errors"] == 1
    assert rows["__main__.broken"]["error_classes"] == {"ValueError": 1}
