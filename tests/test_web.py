"""Per-request profiling (plumb.web): tokens, file names, which requests are
profiled, and the WSGI middleware under a real threaded WSGI server
(wsgiref) with concurrent clients: every profiled request gets its own
readable file, nothing is clobbered, and a failing profiler never fails a
request."""
import concurrent.futures
import os
import pstats
import re
import socketserver
import threading
import time
import wsgiref.simple_server

import pytest

from conftest import env_with_plumb, http_get as get, plumb, wait_for_files

from plumb.web import Options, WSGIMiddleware, check_token, make_token  # noqa: E402
from plumb.web import naming  # noqa: E402
from plumb.web.profiler import RequestProfiler  # noqa: E402


# -- tokens and names ---------------------------------------------------------

def test_tokens():
    t = make_token("s3cret", ttl=60, now=1000)
    assert check_token(t, "s3cret", now=1030)
    assert not check_token(t, "s3cret", now=1061)            # expired
    assert not check_token(t, "other", now=1030)             # another secret
    expiry, mac = t.split(".")
    assert not check_token(f"{int(expiry) + 10}.{mac}", "s3cret", now=1030)   # tampered
    assert not check_token("", "s3cret") and not check_token(t, None)
    assert not check_token("9" * 11 + "." + mac, "s3cret", now=1030)          # too far ahead
    with pytest.raises(ValueError):
        make_token("", ttl=60)
    with pytest.raises(ValueError):
        make_token("s", ttl=10 ** 9)


def test_plumb_token_command():
    got = plumb("token", "--secret", "abc", "--ttl", "120")
    assert got.returncode == 0 and check_token(got.stdout.strip(), "abc")
    got = plumb("token", env=env_with_plumb({"PLUMB_SECRET": ""}))
    assert got.returncode == 2 and "no secret" in got.stderr


def test_path_names():
    assert naming.path_field("/") == "root"
    assert naming.path_field("/shop/cart/") == "shop.cart"
    assert naming.path_field("/../etc/passwd") == "...etc.passwd"   # a name, never a path
    assert naming.path_field("/a b/ü") == "a_b._"
    assert naming.request_file_name(naming.DEFAULT_NAME, "/api/items", 12.7, 1700000000.9,
                                     "GET") == "api.items.000012ms.1700000000"
    with pytest.raises(ValueError):
        naming.check_name_format("{nope}")
    with pytest.raises(ValueError):
        naming.check_name_format("a/{path}")


def test_new_files_never_clobber(tmp_path):
    made = [naming.write_new_file(str(tmp_path), "same", ".prof",
                                  lambda p, i=i: open(p, "w").write(str(i))) for i in range(3)]
    names = [os.path.basename(p) for p in made]
    assert names[0] == "same.prof" and len(set(names)) == 3
    assert all(re.fullmatch(r"same\.\d+\.prof", n) for n in names[1:])   # plumb merge --by-path reads these
    assert [open(p).read() for p in made] == ["0", "1", "2"]
    assert sorted(os.listdir(tmp_path)) == sorted(names)   # no temporary file left


# -- which requests ---------------------------------------------------------------

def decide(environ=None, **options):
    return RequestProfiler(Options(**options)).wanted(environ or {"PATH_INFO": "/x"})


def test_which_requests():
    token = make_token("k")
    assert decide(requests="all")
    assert not decide()                                                  # trigger, none given
    # Secure by default: a trigger without secret or callback counts only in debug.
    assert not decide({"HTTP_COOKIE": "plumb_profile=1"})
    assert decide({"HTTP_COOKIE": "plumb_profile=1"}, debug=True)
    assert decide({"HTTP_COOKIE": f"a=b; plumb_profile={token}"}, secret="k")
    assert not decide({"HTTP_COOKIE": "plumb_profile=forged"}, secret="k")
    assert decide({"HTTP_X_PLUMB_PROFILE": token}, secret="k")
    assert decide({"QUERY_STRING": f"q=1&plumb-profile={token}"}, secret="k")
    assert not decide({"QUERY_STRING": "plumb-profile=1"}, secret="k")
    # A callback decides alone (staff users, say); its failure means no.
    assert decide({"PATH_INFO": "/x"}, approve=lambda req: True)
    assert not decide({"PATH_INFO": "/x"}, approve=lambda req: 1 / 0)
    assert not decide({"PATH_INFO": "/static/a.css"}, requests="all", skip_prefixes=("/static/",))
    fraction = RequestProfiler(Options(requests=0.25))
    hits = sum(fraction.wanted({"PATH_INFO": "/"}) for _ in range(4000))
    assert 700 < hits < 1300
    with pytest.raises(ValueError):
        Options(requests="some")
    with pytest.raises(ValueError):
        Options(requests=1.5)
    with pytest.raises(ValueError):
        Options(format="collapsed")        # collapsed stacks need the sampler


# -- the middleware under a real server --------------------------------------------

def busy_view(n):
    return sum(i * i for i in range(n))


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (f"{busy_view(20000 + i)}\n".encode() for i in range(5))
    if path == "/boom":
        raise RuntimeError("the view failed")
    body = f"{busy_view(30000)}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class ThreadingServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(app):
        server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, server_class=ThreadingServer,
                                                   handler_class=QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_every_request_profiled_into_its_own_file(serve, tmp_path):
    app = WSGIMiddleware(application, requests="all", prof_path=str(tmp_path))
    port = serve(app)
    status, headers, body = get(port, "/api/items/")
    assert status == 200 and body.strip() == str(busy_view(30000)).encode()
    assert headers["server-timing"].startswith("app;dur=")
    files = wait_for_files(tmp_path, 2)
    assert len(files) == 2 and files[0].startswith("api.items.") and files[0].endswith(".prof")
    # Its trace, though no SQL or HTTP happened: every profiled request has one.
    assert files[1] == files[0][:-len(".prof")] + ".trace.json"
    stats = pstats.Stats(str(tmp_path / files[0]))
    assert any(name == "busy_view" for (_, _, name) in stats.stats)
    # Only the request's thread: the server's accept loop is not in it.
    assert not any(name == "serve_forever" for (_, _, name) in stats.stats)


def test_concurrent_requests_lose_no_file(serve, tmp_path):
    app = WSGIMiddleware(application, requests="all", prof_path=str(tmp_path))
    port = serve(app)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: get(port, "/same"), range(24)))
    assert all(status == 200 for status, _, _ in results)
    files = [f for f in wait_for_files(tmp_path, 48) if f.endswith(".prof")]
    assert len(files) == 24 and len(set(files)) == 24
    for f in files:
        assert any(name == "busy_view" for (_, _, name) in pstats.Stats(str(tmp_path / f)).stats)
    # The names merge back by path.
    got = plumb("merge", "--by-path", str(tmp_path))
    assert got.returncode == 0, got.stderr
    assert os.listdir(tmp_path) == ["same.agg.prof"]
    assert pstats.Stats(str(tmp_path / "same.agg.prof")).total_calls > 24


def test_trigger_streaming_and_formats(serve, tmp_path):
    app = WSGIMiddleware(application, secret="k", prof_path=str(tmp_path), format="callgrind")
    port = serve(app)
    assert get(port, "/stream")[0] == 200
    assert get(port, "/stream", {"Cookie": "plumb_profile=forged"})[0] == 200
    time.sleep(0.2)
    assert wait_for_files(tmp_path, 1, timeout=0.5) == []
    status, headers, body = get(port, "/stream", {"X-Plumb-Profile": make_token("k")})
    assert status == 200 and len(body.splitlines()) == 5
    files = wait_for_files(tmp_path, 2)
    assert len(files) == 2 and files[0].endswith(".callgrind")
    # The streamed body's work is in the profile: it ran while the server sent it.
    text = (tmp_path / files[0]).read_text()
    assert text.count("fn=") and "busy_view" in text and "<genexpr>" in text


def test_a_failing_profiler_never_fails_the_request(serve, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be")
    app = WSGIMiddleware(application, requests="all", prof_path=str(blocked))
    port = serve(app)
    status, _, body = get(port, "/x")
    assert status == 200 and body
    # The profile ends when the server closes the body, after the client
    # has it: wait for that.
    deadline = time.time() + 10
    while app.profiler.profiled < 1 and time.time() < deadline:
        time.sleep(0.01)
    assert app.profiler.failed == 1
    # The application's own error is the application's: a 500, and the
    # profile is still written.
    app = WSGIMiddleware(application, requests="all", prof_path=str(tmp_path))
    port = serve(app)
    assert get(port, "/boom")[0] == 500
    assert len(wait_for_files(tmp_path, 3)) == 3   # not-a-dir, the profile of /boom, its trace


def test_sampled_and_html(serve, tmp_path):
    app = WSGIMiddleware(application, requests="all", prof_path=str(tmp_path), sample=True,
                         rate=2000, format="html")
    port = serve(app)
    assert get(port, "/page")[0] == 200
    files = wait_for_files(tmp_path, 1)
    assert files[0].startswith("page.") and files[0].endswith(".html")
    assert '"kind":"sampled"' in (tmp_path / files[0]).read_text().replace(" ", "")


def test_sql_shapes_and_flags(tmp_path):
    from plumb.web.trace import Trace, normalize_sql

    assert normalize_sql("SELECT * FROM t WHERE id IN (1, 2, 3)") == "SELECT * FROM t WHERE id IN (...)"
    assert normalize_sql("select a from t1 where x = 'it''s' and y=-3.5") == \
        "select a from t1 where x = ? and y=?"
    assert normalize_sql("UPDATE x SET a = %s WHERE b = %(b)s") == "UPDATE x SET a = ? WHERE b = ?"
    # Named (:b) and numbered ($1) placeholders; PostgreSQL's casts stay.
    assert normalize_sql("SELECT $1::int, :b, x::text FROM t") == "SELECT ?::int, ?, x::text FROM t"
    t = Trace("GET", "/", sql_params=False)
    for i in range(5):
        t.sql("SELECT * FROM item WHERE order_id = %s", [i], t.started, 0.001)
    t.sql("SELECT 1", [], t.started, 0.001)
    t.sql("SELECT 1", [], t.started, 0.001)
    summary = t.summary()
    assert summary["queries"] == 7 and abs(summary["sql_seconds"] - 0.007) < 1e-12
    assert summary["n_plus_one"] == ["SELECT * FROM item WHERE order_id = ?"]
    assert summary["duplicates"] == ["SELECT ?"]
    t.write(str(tmp_path / "x.trace.json"), 0.01)
    with pytest.raises(FileExistsError):   # never over another request's trace
        t.write(str(tmp_path / "x.trace.json"), 0.01)


# -- transaction traces without a framework: DB-API drivers, outbound HTTP -------

def sqlite_application(environ, start_response):
    """Runs queries straight through the sqlite3 module, and calls out."""
    import sqlite3
    import urllib.request

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE item (id INTEGER, name TEXT)")
    conn.executemany("INSERT INTO item VALUES (?, ?)", [(i, f"n{i}") for i in range(5)])
    cursor = conn.cursor()
    names = [cursor.execute("SELECT name FROM item WHERE id = ?", (i,)).fetchone()[0]
             for i in range(5)]
    try:
        conn.execute("SELECT * FROM missing")
    except sqlite3.OperationalError:
        pass
    conn.close()
    upstream = environ.get("QUERY_STRING")
    if upstream:
        with urllib.request.urlopen(f"{upstream}/level?token=private", timeout=10) as r:
            names.append(r.read().decode())
    body = " ".join(names).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_sqlite3_and_outbound_http_in_the_trace(serve, tmp_path):
    import json
    import sqlite3

    from test_django import Upstream

    upstream = Upstream()
    app = WSGIMiddleware(sqlite_application, requests="all", prof_path=str(tmp_path))
    port = serve(app)
    try:
        status, headers, body = get(port, "/stock?" + upstream.url)
    finally:
        upstream.close()
    assert status == 200 and body == b"n0 n1 n2 n3 n4 42"
    assert "8 SQL queries" in headers["server-timing"] and "1 outbound HTTP call" in headers["server-timing"]
    timing = dict((part.split(";")[0].strip(), float(part.split("dur=")[1].split(";")[0]))
                  for part in headers["server-timing"].split(","))
    assert set(timing) == {"app", "total", "db", "http"}
    assert abs(timing["app"] - (timing["total"] - timing["db"] - timing["http"])) < 0.02
    files = wait_for_files(tmp_path, 2)
    trace = json.loads((tmp_path / [f for f in files if f.endswith(".trace.json")][0]).read_text())
    got = [(s["kind"], s["name"], s.get("many", False), s.get("error"), s.get("detail"))
           for s in trace["segments"]]
    assert got == [("sql", "CREATE TABLE item (id INTEGER, name TEXT)", False, None, None),
                   ("sql", "INSERT INTO item VALUES (...)", True, None, None)] + \
        [("sql", "SELECT name FROM item WHERE id = ?", False, None, None)] * 5 + \
        [("sql", "SELECT * FROM missing", False, "OperationalError", None),
         ("http", f"GET {upstream.url}/level", False, None, "200")]
    assert trace["sql"]["n_plus_one"] == ["SELECT name FROM item WHERE id = ?"]
    assert "private" not in json.dumps(trace)

    # A caller's own factory is kept (and not traced); outside a profiled
    # request the traced connection behaves as sqlite3's own.
    class Mine(sqlite3.Connection):
        pass

    assert type(sqlite3.connect(":memory:", factory=Mine)) is Mine
    conn = sqlite3.connect(":memory:")
    assert isinstance(conn, sqlite3.Connection)
    assert conn.execute("SELECT ? + 1", (41,)).fetchone() == (42,)
    assert conn.executescript("CREATE TABLE t (a); INSERT INTO t VALUES (1);") is not None
    assert [r for r in conn.execute("SELECT a FROM t")] == [(1,)]
    conn.close()


def test_trace_options():
    with pytest.raises(ValueError, match="unknown instrument 'mysql'"):
        Options(instruments=["mysql"])
    assert Options(instruments="http").instruments == ("http",)
