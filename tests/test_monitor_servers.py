"""plumb.monitor under real servers and real load: the example shop
(examples/shop, Django) under gunicorn with 2 workers x 4 threads, with and
without --preload, loaded by wrk with a known mix of pages; FastAPI under
uvicorn; Flask under gunicorn.  After a graceful stop the store must hold
every request the server's access log holds, exactly, by transaction; the
slow page must have kept traces with segments; CPU-bound work must be
labelled with its view, and a background thread's work must not be."""
import collections
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, default_signals, env_with_plumb, free_port, http_get, wait_for_port
from postgres_server import native_env

from plumb.monitor import histogram
from plumb.monitor.store import open_store

WRK = shutil.which("wrk")
needs_wrk = pytest.mark.skipif(WRK is None, reason="wrk is not installed (scripts/system-deps.sh --test)")

# Gunicorn's access log: path, status, and its own measure of the request
# in microseconds (from reading it to the response sent), which encloses
# what the middleware measures.
ACCESS_FORMAT = "%(U)s %(s)s %(D)s"


# The servers' store: counts are compared exactly, so a harvest must not be
# dropped because a loaded machine (the sanitized suite at load 8) kept the
# other worker's write holding the lock past the default 3 s.
def store_url(tmp_path):
    return f"sqlite:///{tmp_path}/monitor.db?timeout_s=30"


def shop(tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(os.path.join(ROOT, "examples", "shop"), project)
    env = env_with_plumb({"DJANGO_SETTINGS_MODULE": "shop.settings",
                          "SHOP_DB": str(tmp_path / "shop.db"),
                          "PLUMB_STORE": store_url(tmp_path),
                          "SHOP_HARVEST": "2", "SHOP_RATE": "200", "SHOP_BACKGROUND": "1",
                          # samples are counted: their rate must not follow their cost
                          "SHOP_SAMPLER_CPU": "0.5"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project), env.get("PYTHONPATH")]))
    for command in (["migrate", "--run-syncdb", "-v", "0"], ["seed"]):
        got = subprocess.run([sys.executable, "manage.py", *command], cwd=project, env=env,
                             capture_output=True, text=True, timeout=120)
        assert got.returncode == 0, got.stderr
    return project, env


def load(port, paths, seconds=2):
    """wrk on each path at once, two connections each."""
    runs = [subprocess.Popen([WRK, "-t", "1", "-c", "2", "-d", f"{seconds}s",
                              f"http://127.0.0.1:{port}{path}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=native_env())
            for path in paths]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err


def stop(server):
    server.send_signal(signal.SIGTERM)     # graceful: each worker flushes its last harvest
    try:
        return server.communicate(timeout=90)[0]
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate()[0]


def access_log(path):
    """{path: [(status, microseconds), ...]} from gunicorn's log."""
    served = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        url, status, micros = line.split()
        served[url].append((int(status), int(micros)))
    return served


def window():
    return time.time() - 3600, time.time() + 120


def stored(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/monitor.db")
    try:
        since, until = window()
        rows = {(r["name"], r["kind"]): r for r in store.transactions(since, until)}
        return store, rows
    except BaseException:
        store.close()
        raise


PAGES = {"/": "shop.views.home", "/product/3/": "shop.views.product",
         "/slow/": "shop.views.slow", "/crunch/": "shop.views.crunch",
         "/broken/": "shop.views.broken", "/nowhere/": "(unmatched)"}


def spent_in(stacks, function):
    return sum(count for frames, count in stacks if any(f[2] == function for f in frames))


@needs_wrk
@pytest.mark.parametrize("worker, preload", [("gthread", False), ("gthread", True), ("sync", False)],
                         ids=["gthread", "gthread-preload", "sync"])
def test_shop_under_gunicorn_every_request_counted(tmp_path, worker, preload):
    project, env = shop(tmp_path)
    port = free_port()
    log = tmp_path / "access.log"
    threads = ["--threads", "4"] if worker == "gthread" else []
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", *threads, "-k", worker,
         "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "--access-logformat", ACCESS_FORMAT] + (["--preload"] if preload else []) +
        ["shop.wsgi:application"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    try:
        wait_for_port(port, server)
        assert http_get(port, "/product/3/")[0] == 200
        load(port, list(PAGES))
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    served = access_log(log)
    store, rows = stored(tmp_path)
    try:
        for path, name in PAGES.items():
            row = rows.get((name, "web"))
            assert row is not None, (name, sorted(rows), output[-2000:])
            assert row["count"] == len(served[path]), (name, row["count"], len(served[path]))
            errors = sum(1 for status, _ in served[path] if status >= 500)
            assert row["errors"] == errors, name
        assert rows[("shop.views.broken", "web")]["error_classes"] == \
            {"RuntimeError": len(served["/broken/"])}
        assert rows[("shop.views.product", "web")]["sql_count"] == \
            7 * len(served["/product/3/"])   # the product, its reviews, then each review again

        # Percentiles: the slow page sleeps 250 ms, and its histogram holds
        # every request, between the minimum and the maximum measured.
        # (How they agree with known durations, exactly, is test_monitor's:
        # here no clock outside the middleware sees the same span, since
        # gunicorn logs a request before it closes the response.)
        slow = rows[("shop.views.slow", "web")]
        assert histogram.count(slow["histogram"]) == len(served["/slow/"])
        quantiles = [histogram.quantile_us(slow["histogram"], q) for q in (0.0, 0.5, 0.95, 1.0)]
        assert 0.98 * 250_000 <= quantiles[0] <= quantiles[1] <= quantiles[2] <= quantiles[3]
        assert 0.98 * slow["min_us"] <= quantiles[0] and quantiles[3] <= 1.02 * slow["max_us"]

        # The slow page's traces were kept, with their segments.
        since, until = window()
        kept = store.traces(transaction="shop.views.slow", since=since, until=until)
        assert kept, "no trace kept for the slow page"
        trace = store.trace(kept[0]["id"])
        kinds = [s["kind"] for s in trace["document"]["segments"]]
        assert "view" in kinds and "middleware" in kinds

        # Samples: the CPU-bound view's function under its transaction; the
        # background thread's work never under a web transaction.
        crunch = store.profile(transaction="shop.views.crunch", since=since, until=until)
        everything = store.profile(since=since, until=until)
        web = store.profile(kind="web", since=since, until=until)
        background = store.profile(kind="background", since=since, until=until)
    finally:
        store.close()
    total = spent_in(everything["stacks"], "crunch_numbers")
    if total >= 20:      # judged when the sampler got enough of it on this host
        assert spent_in(crunch["stacks"], "crunch_numbers") >= 0.9 * total
    assert spent_in(web["stacks"], "background_spin") == 0
    if spent_in(everything["stacks"], "background_spin") >= 20:
        assert spent_in(background["stacks"], "background_spin") > 0


FASTAPI_APP = """\
import time
from fastapi import FastAPI
from plumb.monitor import ASGIMiddleware

api = FastAPI()


def busy(n):
    return sum(i * i for i in range(n))


@api.get("/users/{user}")
async def user_view(user: int):
    return {"user": user, "total": busy(20000)}


@api.get("/sync/{item}")
def sync_view(item: int):
    return {"item": item, "total": busy(20000)}


app = ASGIMiddleware(api, harvest_interval=2, rate=200, sampler_cpu=0.5)
"""

FLASK_APP = """\
from flask import Flask
from plumb.monitor import WSGIMiddleware

app = Flask(__name__)


@app.route("/orders/<int:order>")
def order_view(order):
    return {"order": order}


app.wsgi_app = WSGIMiddleware(app.wsgi_app, harvest_interval=2, rate=200, sampler_cpu=0.5)
"""


def test_fastapi_under_uvicorn_named_by_route(tmp_path):
    (tmp_path / "api.py").write_text(FASTAPI_APP)
    env = env_with_plumb({"PLUMB_STORE": store_url(tmp_path)})
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "api:app"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    counts = collections.Counter()
    try:
        wait_for_port(port, server)
        for i in range(40):
            path = f"/users/{i}" if i % 2 else f"/sync/{i}"
            assert http_get(port, path)[0] == 200
            counts["/users/{user}" if i % 2 else "/sync/{item}"] += 1
        assert http_get(port, "/missing")[0] == 404
        counts["(unmatched)"] += 1
    finally:
        output = stop(server)
    store, rows = stored(tmp_path)
    store.close()
    assert {name: row["count"] for (name, _), row in rows.items()} == dict(counts), output


@needs_wrk
def test_flask_under_gunicorn_named_by_endpoint(tmp_path):
    (tmp_path / "flaskapp.py").write_text(FLASK_APP)
    env = env_with_plumb({"PLUMB_STORE": store_url(tmp_path)})
    port = free_port()
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT, "flaskapp:app"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    try:
        wait_for_port(port, server)
        # A worker answers before the load: one still booting when wrk's
        # second ends would get the SIGTERM before serving anything.
        assert http_get(port, "/orders/7")[0] == 200
        load(port, ["/orders/7", "/nope"], seconds=1)
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    served = access_log(log)
    store, rows = stored(tmp_path)
    store.close()
    assert served["/orders/7"] and served["/nope"], served.keys()
    assert ("order_view", "web") in rows, (sorted(rows), output[-2000:])
    assert rows[("order_view", "web")]["count"] == len(served["/orders/7"]), output[-2000:]
    assert rows[("(unmatched)", "web")]["count"] == len(served["/nope"]), output[-2000:]


def test_shop_under_runserver_counts_until_ctrl_c(tmp_path):
    project, env = shop(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    try:
        wait_for_port(port, server)
        for _ in range(7):
            assert http_get(port, "/")[0] == 200
        for _ in range(3):
            assert http_get(port, "/product/2/")[0] == 200
    finally:
        server.send_signal(signal.SIGINT)          # Ctrl-C
        output = server.communicate(timeout=60)[0]
    store, rows = stored(tmp_path)
    store.close()
    assert rows[("shop.views.home", "web")]["count"] == 7, output
    assert rows[("shop.views.product", "web")]["count"] == 3
