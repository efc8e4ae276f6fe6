"""plumb.contrib.django with a real Django: `manage.py runprofileserver`
serving a project over HTTP (django-extensions' options), and the
middleware choosing requests by signed token under Django's own request
handling, streaming responses included."""
import json
import pstats
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

from conftest import default_signals, env_with_plumb, free_port, http_get as get
from conftest import wait_for_files as files_in, wait_for_port

import django  # noqa: E402,F401  (installed by scripts/setup-venvs.sh: its absence is a failure)

SETTINGS = """\
SECRET_KEY = "test"
DEBUG = {debug}
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["django.contrib.staticfiles", "plumb.contrib.django"]
MIDDLEWARE = {middleware}
ROOT_URLCONF = "urls"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
STATIC_URL = "/static/"
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": []}}]
USE_TZ = True
PLUMB = {plumb}
"""

URLS = """\
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path


def busy_view(request, item):
    total = sum(i * i for i in range(40000))
    return HttpResponse(f"item {item}: {total}")


def spin_view(request, item):
    # Busy for 30 ms of wall time: a sampled request needs rounds to show,
    # and a fixed amount of arithmetic can take under a sampling interval.
    import time
    end = time.perf_counter() + 0.03
    total = 0
    while time.perf_counter() < end:
        total += sum(i * i for i in range(1000))
    return HttpResponse(f"item {item}: {total > 0}")


def chunk(i):
    return f"{sum(range(20000 + i))}\\n"


def stream_view(request):
    return StreamingHttpResponse(chunk(i) for i in range(5))


def queries_view(request):
    from django.db import connection

    with connection.cursor() as cursor:
        for i in range(6):                       # a query per item: N+1
            cursor.execute("SELECT %s + 1", [i])
        for _ in range(2):                       # the same query twice
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s",
                           ["secret_table"])
    return HttpResponse("ok")


def page_view(request):
    from django.template import engines

    engine = engines["django"]
    row = engine.from_string("<li>{{ item }}</li>")
    rows = "".join(row.render({"item": i}) for i in range(3))
    return HttpResponse(engine.from_string("<ul>{{ rows|safe }}</ul>").render({"rows": rows}))


def order_view(request, order):
    import os
    import urllib.request
    from django.db import connection
    from django.template import engines

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s * 2", [order])
        doubled = cursor.fetchone()[0]
    with urllib.request.urlopen(os.environ["UPSTREAM"] + "/stock?key=hidden", timeout=10) as r:
        stock = r.read().decode()
    page = engines["django"].from_string("{{ order }}: {{ doubled }} {{ stock }}")
    return HttpResponse(page.render({"order": order, "doubled": doubled, "stock": stock}))


def run_select(n):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s + 1", [n])
        return cursor.fetchone()[0]


async def async_view(request, n):
    import asyncio
    from asgiref.sync import sync_to_async

    await asyncio.sleep(0.001)
    return HttpResponse(f"async {await sync_to_async(run_select)(n)}")


async def async_stream_view(request):
    import asyncio

    async def lines():
        for i in range(3):
            await asyncio.sleep(0)
            yield chunk(i)
    return StreamingHttpResponse(lines())


def is_staff(request):
    return request.headers.get("X-Staff") == "yes"


urlpatterns = [path("items/<int:item>/", busy_view), path("spin/<int:item>/", spin_view),
               path("stream/", stream_view),
               path("queries/", queries_view), path("page/", page_view),
               path("orders/<int:order>/", order_view), path("async/<int:n>/", async_view),
               path("async-stream/", async_stream_view)]
"""

MIDDLEWARE_MODULE = """\
import time


class SlowMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        time.sleep(0.002)
        return self.get_response(request)


def tagging_middleware(get_response):
    def middleware(request):
        response = get_response(request)
        response["X-Tag"] = "t"
        return response
    return middleware
"""

ASGI = """\
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.asgi import get_asgi_application
application = get_asgi_application()
"""

MANAGE = """\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""


def project(tmp_path, debug=True, middleware=(), plumb=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "settings.py").write_text(SETTINGS.format(
        debug=debug, middleware=list(middleware), plumb=repr(plumb or {})))
    (tmp_path / "urls.py").write_text(URLS)
    (tmp_path / "mw.py").write_text(MIDDLEWARE_MODULE)
    (tmp_path / "asgi.py").write_text(ASGI)
    (tmp_path / "manage.py").write_text(MANAGE)
    return tmp_path


class Server:
    def __init__(self, directory, *args, env=None):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runprofileserver", f"127.0.0.1:{self.port}",
             "--noreload", *args],
            cwd=directory, env=env_with_plumb(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=default_signals)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"runprofileserver did not start:\n{self.output}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output = self.proc.stdout.read()
        return self.output


def one_request(tmp_path, path, *args):
    """(status, headers, body, profile folder) of one GET through
    runprofileserver with ARGS."""
    proj = project(tmp_path / "proj")
    out = tmp_path / "profiles"
    out.mkdir()
    server = Server(proj, "--prof-path", str(out), *args)
    try:
        status, headers, body = get(server.port, path)
    finally:
        server.stop()
    return status, headers, body, out


def test_runprofileserver(tmp_path):
    proj = project(tmp_path / "proj")
    out = tmp_path / "profiles"
    out.mkdir()
    server = Server(proj, "--prof-path", str(out), "--nomedia", "--use-cprofile")
    try:
        status, headers, body = get(server.port, "/items/42/")
        assert status == 200 and body.startswith(b"item 42:")
        assert headers["server-timing"].startswith("app;dur=")
        assert get(server.port, "/static/missing.css")[0] == 404   # served, not profiled
        assert get(server.port, "/stream/")[0] == 200
    finally:
        output = server.stop()
    assert "plumb: profiling every request into" in output
    names = files_in(out, 4)   # a profile and a trace for each
    assert len(names) == 4, names
    item = [n for n in names if n.startswith("items.42.") and n.endswith(".prof")][0]
    trace = json.loads((out / (item[:-len(".prof")] + ".trace.json")).read_text())
    view = [s for s in trace["segments"] if s["kind"] == "view"]
    assert [(s["name"], s["detail"]) for s in view] == [("urls.busy_view", "item=42")]
    stats = pstats.Stats(str(out / item))
    assert any(name == "busy_view" for (_, _, name) in stats.stats)
    stream = [n for n in names if n.startswith("stream.") and n.endswith(".prof")][0]
    assert any(name == "chunk" for (_, _, name) in pstats.Stats(str(out / stream)).stats)


def test_runprofileserver_kcachegrind_and_sample(tmp_path):
    proj = project(tmp_path / "proj")
    for args, ext in ((("--kcachegrind",), ".callgrind"), (("--sample", "--format", "collapsed"), ".folded")):
        out = tmp_path / ("out" + ext)
        out.mkdir()
        server = Server(proj, "--prof-path", str(out), "--prof-file", "{method}-{path}", *args)
        try:
            assert get(server.port, "/items/7/")[0] == 200
        finally:
            server.stop()
        assert files_in(out, 2) == ["GET-items.7" + ext, "GET-items.7.trace.json"]


CLIENT = """\
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django
django.setup()
from django.test import Client
from plumb.web import make_token
c = Client()
results = {}
results["plain"] = c.get("/items/1/").has_header("Server-Timing")
results["forged"] = c.get("/items/2/", HTTP_X_PLUMB_PROFILE="123.abc").has_header("Server-Timing")
r = c.get("/items/3/", HTTP_X_PLUMB_PROFILE=make_token("k"))
results["token"] = r.has_header("Server-Timing") and r.status_code == 200
c.cookies["plumb_profile"] = make_token("k")
r = c.get("/stream/")
results["stream"] = b"".join(r.streaming_content).count(b"\\n")
del c.cookies["plumb_profile"]
results["staff"] = c.get("/items/4/", HTTP_X_STAFF="yes").has_header("Server-Timing")
print(json.dumps(results))
"""


def test_middleware_chooses_by_token_and_callback(tmp_path):
    out = tmp_path / "profiles"
    proj = project(tmp_path / "proj", debug=False,
                   middleware=["plumb.contrib.django.middleware.ProfilingMiddleware"],
                   plumb={"secret": "k", "approve": "urls.is_staff", "prof_path": str(out)})
    (proj / "client.py").write_text(CLIENT)
    got = subprocess.run([sys.executable, "client.py"], cwd=proj, env=env_with_plumb(),
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    results = json.loads(got.stdout)
    assert results == {"plain": False, "forged": False, "token": True, "stream": 5, "staff": True}
    names = [n for n in files_in(out, 6) if not n.endswith(".trace.json")]
    assert sorted(n.split(".")[0] for n in names) == ["items", "items", "stream"]
    stream = [n for n in names if n.startswith("stream.") and n.endswith(".prof")][0]
    assert any(name == "chunk" for (_, _, name) in pstats.Stats(str(out / stream)).stats)


def test_without_secret_triggers_need_debug(tmp_path):
    out = tmp_path / "profiles"
    for debug, expected in ((False, False), (True, True)):
        proj = project(tmp_path / f"proj{debug}", debug=debug,
                       middleware=["plumb.contrib.django.middleware.ProfilingMiddleware"],
                       plumb={"prof_path": str(out)})
        script = textwrap.dedent("""\
            import os
            os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
            import django
            django.setup()
            from django.test import Client
            print(Client().get("/items/1/", HTTP_X_PLUMB_PROFILE="1").has_header("Server-Timing"))
            """)
        got = subprocess.run([sys.executable, "-c", script], cwd=proj, env=env_with_plumb(),
                             capture_output=True, text=True, timeout=120)
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == str(expected)


def test_sql_trace_beside_the_profile(tmp_path):
    status, headers, _, out = one_request(tmp_path, "/queries/")
    assert status == 200
    assert 'db;dur=' in headers["server-timing"] and "8 SQL queries" in headers["server-timing"]
    names = files_in(out, 2)
    prof = [n for n in names if n.endswith(".prof")][0]
    trace_name = prof[:-len(".prof")] + ".trace.json"
    assert trace_name in names
    trace = json.loads((out / trace_name).read_text())
    assert trace["path"] == "/queries/" and trace["method"] == "GET"
    sql = [s for s in trace["segments"] if s["kind"] == "sql"]
    assert len(sql) == 8 and trace["sql"]["queries"] == 8
    assert all(0 <= s["start"] <= trace["duration"] and s["duration"] >= 0 for s in sql)
    # Literals and parameters are not kept: only the statements' shapes.
    assert "secret_table" not in (out / trace_name).read_text()
    assert trace["sql"]["n_plus_one"] == ["SELECT ? + ?"]
    assert trace["sql"]["duplicates"] == [
        "SELECT name FROM sqlite_master WHERE type = ? AND name = ?"]


def test_html_report_of_a_request_embeds_its_trace(tmp_path):
    status, _, _, out = one_request(tmp_path, "/queries/", "--format", "html")
    assert status == 200
    names = files_in(out, 2)
    assert len(names) == 2, names
    html = (out / [n for n in names if n.endswith(".html")][0]).read_text()
    meta = re.search(r'<script type="application/json" id="plumb-meta">(.*?)</script>', html, re.S)
    trace = json.loads(meta.group(1))["trace"]
    assert trace["path"] == "/queries/" and trace["sql"]["queries"] == 8
    assert '"plumb_trace":1' in (out / [n for n in names if n.endswith(".trace.json")][0]).read_text()


def test_template_renders_in_the_trace(tmp_path):
    status, headers, body, out = one_request(tmp_path, "/page/")
    assert status == 200 and body == b"<ul><li>0</li><li>1</li><li>2</li></ul>"
    assert "tpl;dur=" in headers["server-timing"] and "4 template renders" in headers["server-timing"]
    trace_file = [n for n in files_in(out, 2) if n.endswith(".trace.json")][0]
    trace = json.loads((out / trace_file).read_text())
    templates = [s for s in trace["segments"] if s["kind"] == "template"]
    assert len(templates) == 4 and trace["sql"]["templates"] == 4
    assert all(s["name"] == "<string>" for s in templates)


class Upstream:
    """A real HTTP server for a view's outbound calls."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"42")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_middleware_view_sql_template_and_http_segments_nest(tmp_path):
    """The trace splits a request into its middleware (class and function
    style), the view with its URL arguments, and what the view did: SQL,
    a template render and an outbound HTTP call, each inside its parent."""
    upstream = Upstream()
    proj = project(tmp_path / "proj", middleware=["django.middleware.common.CommonMiddleware",
                                                  "mw.SlowMiddleware", "mw.tagging_middleware"])
    out = tmp_path / "profiles"
    out.mkdir()
    server = Server(proj, "--prof-path", str(out), env={"UPSTREAM": upstream.url})
    try:
        status, headers, body = get(server.port, "/orders/21/")
    finally:
        server.stop()
        upstream.close()
    assert status == 200 and body == b"21: 42 42" and headers["x-tag"] == "t"
    assert 'http;dur=' in headers["server-timing"] and "1 outbound HTTP call" in headers["server-timing"]
    trace_file = [n for n in files_in(out, 2) if n.endswith(".trace.json")][0]
    trace = json.loads((out / trace_file).read_text())
    got = [(s["depth"], s["kind"], s["name"], s.get("detail")) for s in trace["segments"]]
    assert got == [
        (0, "middleware", "django.middleware.common.CommonMiddleware", None),
        (1, "middleware", "mw.SlowMiddleware", None),
        (2, "middleware", "mw.tagging_middleware.<locals>.middleware", None),
        (3, "view", "urls.order_view", "order=21"),
        (4, "sql", "SELECT ? * ?", None),
        (4, "http", f"GET {upstream.url}/stock", "200"),   # no query string: it may hold keys
        (4, "template", "<string>", None)], got
    segments = trace["segments"]
    for outer, inner in zip(segments, segments[1:4]):
        assert outer["start"] <= inner["start"]
        assert inner["start"] + inner["duration"] <= outer["start"] + outer["duration"] + 1e-9
    assert segments[1]["duration"] >= 0.002        # SlowMiddleware's sleep is its own
    assert trace["sql"]["http_calls"] == 1 and "hidden" not in (out / trace_file).read_text()


def test_async_views_under_uvicorn(tmp_path):
    """Django's ASGI handler under uvicorn: the middleware runs async, the
    profile covers the async view and the ORM work asgiref runs in a worker
    thread, the trace holds that thread's queries (the request's context
    goes with it), and an async streaming response is profiled whole."""
    out = tmp_path / "profiles"
    proj = project(tmp_path / "proj", middleware=[
        "plumb.contrib.django.middleware.ProfilingMiddleware",
        "django.middleware.common.CommonMiddleware"],
        plumb={"requests": "all", "prof_path": str(out)})
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "asgi:application", "--port", str(port),
                             "--no-access-log"], cwd=proj, env=env_with_plumb(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=default_signals)
    try:
        wait_for_port(port, proc)
        status, headers, body = get(port, "/async/5/")
        assert (status, body) == (200, b"async 6") and "1 SQL query" in headers["server-timing"]
        status, _, body = get(port, "/async-stream/")
        assert status == 200 and len(body.splitlines()) == 3
        names = files_in(out, 4)    # a profile and a trace for each
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert len(names) == 4, (names, output)
    view = [n for n in names if n.startswith("async.5.")]
    prof = [n for n in view if n.endswith(".prof")][0]
    functions = {name for (_, _, name) in pstats.Stats(str(out / prof)).stats}
    assert {"async_view", "run_select"} <= functions
    trace = json.loads((out / [n for n in view if n.endswith(".trace.json")][0]).read_text())
    got = [(s["depth"], s["kind"], s["name"], s.get("detail")) for s in trace["segments"]]
    assert got == [(0, "middleware", "django.middleware.common.CommonMiddleware", None),
                   (1, "view", "urls.async_view", "n=5"),
                   (2, "sql", "SELECT ? + ?", None)], got
    stream = [n for n in names if n.startswith("async-stream.") and n.endswith(".prof")][0]
    assert "chunk" in {name for (_, _, name) in pstats.Stats(str(out / stream)).stats}
