"""plumb.contrib.django with a real Django: `manage.py runprofileserver`
serving a project over HTTP (django-extensions' options), and the
middleware choosing requests by signed token under Django's own request
handling, streaming responses included."""
import json
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

from conftest import default_signals, env_with_plumb, free_port, http_get as get
from conftest import wait_for_files as files_in

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


def is_staff(request):
    return request.headers.get("X-Staff") == "yes"


urlpatterns = [path("items/<int:item>/", busy_view), path("stream/", stream_view),
               path("queries/", queries_view), path("page/", page_view)]
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
    (tmp_path / "manage.py").write_text(MANAGE)
    return tmp_path


class Server:
    def __init__(self, directory, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runprofileserver", f"127.0.0.1:{self.port}",
             "--noreload", *args],
            cwd=directory, env=env_with_plumb(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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
    names = files_in(out, 2)
    assert len(names) == 2, names
    item = [n for n in names if n.startswith("items.42.")][0]
    assert item.endswith(".prof")
    stats = pstats.Stats(str(out / item))
    assert any(name == "busy_view" for (_, _, name) in stats.stats)
    stream = [n for n in names if n.startswith("stream.")][0]
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
        assert files_in(out, 1) == ["GET-items.7" + ext]


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
    names = files_in(out, 3)
    assert sorted(n.split(".")[0] for n in names) == ["items", "items", "stream"]
    stream = [n for n in names if n.startswith("stream.")][0]
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
