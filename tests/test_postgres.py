"""Against a real PostgreSQL server (Debian's, started here; see
postgres_server.py): psycopg used directly under the WSGI and ASGI
middleware, and Django on PostgreSQL under gunicorn with a load generator
(wrk).  The server logs every statement it runs; the traces must hold the
same queries, and every request served must have its profile and trace."""
import asyncio
import concurrent.futures
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import default_signals, env_with_plumb, free_port, http_get as get
from conftest import wait_for_files, wait_for_port
from postgres_server import PostgresServer, binaries, native_env

import psycopg  # noqa: E402  (installed by scripts/setup-venvs.sh: its absence is a failure)
from psycopg import sql as pgsql  # noqa: E402

from plumb.web import ASGIMiddleware, WSGIMiddleware  # noqa: E402
from plumb.web.trace import normalize_sql  # noqa: E402

if binaries() is None:
    pytest.skip("PostgreSQL is not installed: skipping its tests (scripts/system-deps.sh --test "
                "installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()


def shapes(statements, table):
    return [normalize_sql(s) for s in statements if table in s]


def trace_of(directory):
    name = [n for n in wait_for_files(directory, 2) if n.endswith(".trace.json")][0]
    return json.loads((directory / name).read_text())


# -- psycopg without a framework ---------------------------------------------

def test_psycopg_under_wsgi_matches_the_server_log(postgres, tmp_path):
    postgres.create_database("direct")
    dsn = postgres.dsn.replace("dbname=postgres", "dbname=direct")
    with psycopg.connect(dsn, autocommit=True) as conn:   # before: not in any trace
        conn.execute("CREATE TABLE plumb_direct (id int, name text)")

    def app(environ, start_response):
        with psycopg.connect(dsn) as conn:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO plumb_direct VALUES (%s, %s)",
                                [(i, f"n{i}") for i in range(3)])
                names = [cur.execute("SELECT name FROM plumb_direct WHERE id = %s",
                                     params=(i,)).fetchone()[0]   # as a keyword too
                         for i in range(3)]
            count = conn.execute(pgsql.SQL("SELECT count(*) FROM {}").format(
                pgsql.Identifier("plumb_direct"))).fetchone()[0]
            try:
                conn.execute("SELECT nothing FROM plumb_direct")
            except psycopg.errors.UndefinedColumn:
                conn.rollback()
        body = f"{' '.join(names)} {count}".encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    from test_web import ThreadingServer, QuietHandler
    import threading
    import wsgiref.simple_server

    since = postgres.log_size()
    server = wsgiref.simple_server.make_server(
        "127.0.0.1", 0, WSGIMiddleware(app, requests="all", prof_path=str(tmp_path)),
        server_class=ThreadingServer, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, headers, body = get(server.server_address[1], "/direct")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200 and body == b"n0 n1 n2 3"
    trace = trace_of(tmp_path)
    traced = [(s["name"], s.get("many", False), s.get("error")) for s in trace["segments"]]
    assert traced == [("INSERT INTO plumb_direct VALUES (...)", True, None)] + \
        [("SELECT name FROM plumb_direct WHERE id = ?", False, None)] * 3 + \
        [('SELECT count(*) FROM "plumb_direct"', False, None),
         ("SELECT nothing FROM plumb_direct", False, "UndefinedColumn")]
    # What the server ran: executemany is one execute per row there.
    seen = shapes(postgres.statements(since), "plumb_direct")
    assert seen == ["INSERT INTO plumb_direct VALUES (...)"] * 3 + [t[0] for t in traced[1:]]
    assert trace["sql"]["queries"] == 6 and "6 SQL queries" in headers["server-timing"]


def test_async_psycopg_under_asgi(postgres, tmp_path):
    async def app(scope, receive, send):
        async with await psycopg.AsyncConnection.connect(postgres.dsn) as conn:
            async with conn.cursor() as cur:
                await cur.execute("SELECT %s::int * 2 AS plumb_async", (21,))
                value = (await cur.fetchone())[0]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(value).encode()})

    async def request():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        middleware = ASGIMiddleware(app, requests="all", prof_path=str(tmp_path))
        await middleware({"type": "http", "method": "GET", "path": "/double", "headers": []},
                         receive, send)
        return sent

    since = postgres.log_size()
    sent = asyncio.run(request())
    assert sent[-1]["body"] == b"42"
    trace = trace_of(tmp_path)
    assert [s["name"] for s in trace["segments"]] == ["SELECT ?::int * ? AS plumb_async"]
    assert shapes(postgres.statements(since), "plumb_async") == ["SELECT ?::int * ? AS plumb_async"]


# -- Django on PostgreSQL, under gunicorn, with wrk ------------------------------

MODELS = """\
from django.db import models


class Order(models.Model):
    number = models.IntegerField()


class Item(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    name = models.CharField(max_length=50)
"""

VIEWS = """\
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from shop.models import Item, Order


def order_view(request, pk):
    order = Order.objects.get(pk=pk)
    items = list(order.items.all())
    names = [Item.objects.get(pk=item.pk).name for item in items]   # N+1, on purpose
    page = engines["django"].from_string("{{ number }}: {{ names|join:',' }}")
    return HttpResponse(page.render({"number": order.number, "names": names}))


urlpatterns = [path("orders/<int:pk>/", order_view)]
"""

SETTINGS = """\
SECRET_KEY = "test"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["shop", "plumb.contrib.django"]
MIDDLEWARE = ["plumb.contrib.django.middleware.ProfilingMiddleware"]
ROOT_URLCONF = "views"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "shop",
                          "USER": "plumb", "HOST": "127.0.0.1", "PORT": {port}}}}}
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": []}}]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PLUMB = {{"requests": "all", "prof_path": {out!r}}}
"""

SEED = """\
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django
django.setup()
from shop.models import Item, Order
order = Order.objects.create(number=7)
for i in range(5):
    Item.objects.create(order=order, name=f"item{i}")
print(order.pk)
"""

WSGI = """\
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""


def test_django_on_postgres_under_gunicorn_and_wrk(postgres, tmp_path):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed: skipping the load test (scripts/system-deps.sh --test)")
    postgres.create_database("shop")
    proj, out = tmp_path / "proj", tmp_path / "profiles"
    (proj / "shop").mkdir(parents=True)
    (proj / "shop" / "__init__.py").write_text("")
    (proj / "shop" / "models.py").write_text(MODELS)
    (proj / "views.py").write_text(VIEWS)
    (proj / "settings.py").write_text(SETTINGS.format(port=postgres.port, out=str(out)))
    (proj / "seed.py").write_text(SEED)
    (proj / "wsgi.py").write_text(WSGI)
    env = env_with_plumb({"DJANGO_SETTINGS_MODULE": "settings"})
    path = os.pathsep.join(filter(None, [str(proj), env.get("PYTHONPATH")]))
    got = subprocess.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"],
                         cwd=proj, env=dict(env, PYTHONPATH=path),
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    got = subprocess.run([sys.executable, "seed.py"], cwd=proj, env=env, capture_output=True,
                         text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    pk = int(got.stdout)

    port = free_port()
    access_log = tmp_path / "access.log"
    since = postgres.log_size()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--access-logfile", str(access_log), "wsgi:application"],
        cwd=proj, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    try:
        wait_for_port(port, server)
        status, _, body = get(port, f"/orders/{pk}/")
        assert status == 200 and body == b"7: item0,item1,item2,item3,item4"
        load = subprocess.run([wrk, "-t", "2", "-c", "8", "-d", "2s", f"http://127.0.0.1:{port}/orders/{pk}/"],
                              capture_output=True, text=True, timeout=60, env=native_env())
        assert load.returncode == 0, load.stderr
    finally:
        server.send_signal(signal.SIGTERM)       # graceful: requests in flight finish
        output = server.communicate(timeout=60)[0]
    served = [line for line in access_log.read_text().splitlines() if "/orders/" in line]
    assert len(served) > 20, (load.stdout, output)
    assert all('" 200 ' in line for line in served), served[:3]

    # Every request served has its profile and its trace: none lost or torn.
    names = os.listdir(out)
    profiles = [n for n in names if n.endswith(".prof")]
    traces = [n for n in names if n.endswith(".trace.json")]
    assert len(profiles) == len(served) and len(traces) == len(served), (len(names), len(served))
    assert not [n for n in names if n.startswith(".")]     # no temporary file left behind
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda n: pstats.Stats(str(out / n)).stats, profiles))
    assert all(any(name == "order_view" for (_, _, name) in stats) for stats in loaded)

    # The traces hold the queries the server ran, shape for shape.
    traced = []
    for name in traces:
        trace = json.loads((out / name).read_text())
        queries = [s["name"] for s in trace["segments"] if s["kind"] == "sql"]
        assert len(queries) == 7, queries
        assert [s["kind"] for s in trace["segments"] if s["kind"] != "sql"] == ["view", "template"]
        assert len(trace["sql"]["n_plus_one"]) == 1 and "shop_item" in trace["sql"]["n_plus_one"][0]
        traced += queries
    seen = shapes(postgres.statements(since), '"shop_')
    assert sorted(seen) == sorted(traced)
    assert len(seen) == 7 * len(served)
