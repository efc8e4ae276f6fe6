"""plumb.web's middleware under real frameworks and servers: Flask under
gunicorn (two worker processes, four threads each) and FastAPI under
uvicorn, with concurrent clients; every profiled request's file is whole
and readable, none is clobbered, and the app answers as it would unprofiled."""
import asyncio
import concurrent.futures
import os
import pstats
import signal
import socket
import subprocess
import sys
import time

from conftest import default_signals, env_with_plumb, free_port, http_get as get
from conftest import wait_for_files as profiles

from plumb.web import ASGIMiddleware  # noqa: E402

FLASK_APP = """\
import os
from flask import Flask
from plumb.web import WSGIMiddleware

app = Flask(__name__)


def busy(n):
    return sum(i * i for i in range(n))


@app.route("/orders/<int:order>")
def order_view(order):
    return {"order": order, "total": busy(30000)}


app.wsgi_app = WSGIMiddleware(app.wsgi_app, requests="all", prof_path=os.environ["PROF_DIR"])
"""

FASTAPI_APP = """\
import os
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from plumb.web import ASGIMiddleware

api = FastAPI()


def busy(n):
    return sum(i * i for i in range(n))


@api.get("/users/{user}")
async def user_view(user: int):
    return {"user": user, "total": busy(30000)}


@api.get("/export")
def export_view():
    return StreamingResponse((f"{busy(10000 + i)}\\n" for i in range(4)), media_type="text/plain")


app = ASGIMiddleware(api, requests="all", prof_path=os.environ["PROF_DIR"])
"""


def serve(args, cwd, env):
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    return proc


def wait_up(proc, port):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start:\n" + proc.communicate()[0])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def test_flask_under_gunicorn(tmp_path):
    (tmp_path / "flaskapp.py").write_text(FLASK_APP)
    out = tmp_path / "profiles"
    out.mkdir()
    port = free_port()
    proc = serve([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b",
                  f"127.0.0.1:{port}", "flaskapp:app"], tmp_path,
                 env_with_plumb({"PROF_DIR": str(out)}))
    try:
        wait_up(proc, port)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: get(port, f"/orders/{i % 3}"), range(30)))
    finally:
        stop(proc)
    assert all(status == 200 for status, _, _ in results)
    assert all(h["server-timing"].startswith("app;dur=") for _, h, _ in results)
    names = profiles(out, 60)
    assert len(names) == 60, names   # a profile and a trace per request
    names = [n for n in names if not n.endswith(".trace.json")]
    assert len(names) == 30, names
    for name in names:
        assert name.startswith("orders.") and name.endswith(".prof")
        stats = pstats.Stats(str(out / name))
        assert any(fn == "order_view" for (_, _, fn) in stats.stats), name


def test_fastapi_under_uvicorn(tmp_path):
    (tmp_path / "apiapp.py").write_text(FASTAPI_APP)
    out = tmp_path / "profiles"
    out.mkdir()
    port = free_port()
    proc = serve([sys.executable, "-m", "uvicorn", "--port", str(port), "--log-level", "warning",
                  "apiapp:app"], tmp_path, env_with_plumb({"PROF_DIR": str(out)}))
    try:
        wait_up(proc, port)
        status, headers, body = get(port, "/users/5")
        assert status == 200 and b'"user":5' in body and "server-timing" in headers
        status, _, body = get(port, "/export")
        assert status == 200 and len(body.splitlines()) == 4
    finally:
        stop(proc)
    names = profiles(out, 4)
    assert len(names) == 4, names   # a profile and a trace per request
    names = [n for n in names if not n.endswith(".trace.json")]
    user = [n for n in names if n.startswith("users.5.")][0]
    assert any(fn == "user_view" for (_, _, fn) in pstats.Stats(str(out / user)).stats)
    export = [n for n in names if n.startswith("export.")][0]
    assert any(fn == "busy" for (_, _, fn) in pstats.Stats(str(out / export)).stats)


def test_asgi_choices_without_a_server(tmp_path):
    """The ASGI middleware on a bare ASGI app, driven by hand: websockets and
    lifespan pass through; an unprofiled request's messages are untouched."""
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run(middleware, scope):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        await middleware(scope, receive, send)
        return sent

    scope = {"type": "http", "method": "GET", "path": "/a/b", "query_string": b"",
             "headers": [(b"cookie", b"x=1")]}
    quiet = ASGIMiddleware(app, secret="k", prof_path=str(tmp_path))
    sent = asyncio.run(run(quiet, scope))
    assert sent[0]["headers"] == [(b"x-a", b"1")] and os.listdir(tmp_path) == []
    assert asyncio.run(run(quiet, {"type": "lifespan"})) == []
    loud = ASGIMiddleware(app, requests="all", prof_path=str(tmp_path))
    sent = asyncio.run(run(loud, scope))
    assert [k for k, _ in sent[0]["headers"]] == [b"x-a", b"server-timing"]
    assert [n for n in os.listdir(tmp_path)][0].startswith("a.b.")
