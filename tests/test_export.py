"""Profiles for other tools: `plumb profile -o x.pb.gz` with transaction,
kind and host labels on every sample, and the Pyroscope pusher, checked
against what Pyroscope's HTTP ingest API documents (no Pyroscope server can
be installed here): a local server records what the pusher sends."""
import gzip
import http.server
import os
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import plumb as run_plumb
from monitor_seed import PRODUCT, seed_store
from test_monitor import spin_in_view, store_url  # noqa: F401  (store_url: a fixture)

from plumb import _plumb
from plumb.monitor import WSGIMiddleware
from plumb.monitor.options import Options
from plumb.monitor.pyroscope import parse_url, series_name

GO = shutil.which("go")


def go_pprof(*args):
    got = subprocess.run([GO, "tool", "pprof", *args], capture_output=True, text=True,
                         timeout=300)
    assert got.returncode == 0, got.stderr
    return got.stdout


def read_back(path, tmp_path):
    """A pprof file as plumb reads it: {thread name: samples}."""
    out = tmp_path / "back.txt"
    got = run_plumb("convert", str(path), "-o", str(out))
    assert got.returncode == 0, got.stderr
    counts = {}
    for line in out.read_text().splitlines():
        if line.startswith("Thread "):
            name, rest = line[len("Thread "):].rsplit(": ", 1)
            counts[name] = int(rest.split()[0])
    return counts


# -- plumb profile -o x.pb.gz --------------------------------------------------------

def test_a_stores_profile_as_pprof_carries_transaction_kind_and_host(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    seed_store(url)
    out = tmp_path / "x.pb.gz"
    got = run_plumb("profile", "--store", url, "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert read_back(out, tmp_path) == {PRODUCT: 5, "shop.tasks.rebuild": 3}
    if not GO:
        print("go not installed: go tool pprof -tagfocus not run")
        return
    tags = go_pprof("-tags", str(out))
    for value in (PRODUCT, "shop.tasks.rebuild", "web-1", "background"):
        assert value in tags, tags
    kept = go_pprof("-raw", f"-tagfocus=transaction={PRODUCT}", str(out))
    samples = kept.split("Samples:")[1].split("Locations")[0]
    assert f"transaction:[{PRODUCT}]" in samples and "shop.tasks.rebuild" not in samples
    assert "host:[web-1]" in samples and "kind:[web]" in samples
    assert [line.split()[0] for line in samples.splitlines()[2:] if ":" in line
            and line.strip()[0].isdigit()] == ["5"], samples


def test_other_formats_of_a_stores_profile_are_as_before(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    seed_store(url)
    out = tmp_path / "x.collapsed"
    got = run_plumb("profile", "--store", url, "-o", str(out), "--transaction", PRODUCT)
    assert got.returncode == 0, got.stderr
    assert out.read_text() == \
        "product (/srv/shop/views.py:10);load (/srv/shop/models.py:40) 5\n"


def test_labelled_stacks_refuse_bad_input_in_one_line(tmp_path):
    with pytest.raises(TypeError):
        _plumb.write_labelled_stacks([("t", (("k",),), [])], str(tmp_path / "x"), "pprof", 0.01)
    with pytest.raises(ValueError):
        _plumb.write_labelled_stacks([], str(tmp_path / "x"), "nonsense", 0.01)


# -- the pusher's options ------------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("localhost:4040", "http"),
    ("ftp://host", "http"),
    ("http://", "host"),
    ("http://host:port", "port"),
    ("http://host?tenant=x", "app=NAME"),
    ("http://host?app=a{b}", "app name"),
    (4040, "URL"),
])
def test_bad_pyroscope_urls_fail_at_start_in_one_line(url, message, tmp_path):
    with pytest.raises(ValueError) as e:
        Options(store=f"sqlite:///{tmp_path}/x.db", pyroscope=url)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_pyroscope_url_and_series_name():
    assert parse_url("http://h:4040") == ("http://h:4040/ingest", "plumb")
    assert parse_url("https://h/pyro/?app=shop") == ("https://h/pyro/ingest", "shop")
    assert series_name("shop", {"transaction": "GET /a/{id}", "kind": "web", "host": "h"}) \
        == "shop{transaction=GET_/a/_id_,kind=web,host=h}"
    assert series_name("shop", {"transaction": "", "kind": "other", "host": "h"}) \
        == "shop{kind=other,host=h}"


def test_plumb_pyroscope_overrides_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("PLUMB_PYROSCOPE", "http://env:4040")
    assert Options(store=f"sqlite:///{tmp_path}/x.db",
                   pyroscope="http://code:4040").pyroscope == "http://env:4040"
    monkeypatch.setenv("PLUMB_PYROSCOPE", "nonsense")
    with pytest.raises(ValueError):
        Options(store=f"sqlite:///{tmp_path}/x.db")


# -- the pusher against a recording server ------------------------------------------------

class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour):
        self.behaviour = behaviour      # "ok", "fail" (500) or "hang"
        self.requests = []
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), RecordingHandler)


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers), body))
        if self.server.behaviour == "hang":
            self.server.release.wait(30)
        status = 500 if self.server.behaviour == "fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder(request, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PLUMB_PYROSCOPE", raising=False)
    server = Recorder(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def view_app(environ, start_response):
    spin_in_view(0.2)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def serve(app, n):
    statuses = []
    for _ in range(n):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/product/3/", "QUERY_STRING": "",
                   "wsgi.input": None}
        seen = {}
        body = app(environ, lambda status, headers, exc_info=None: seen.update(status=status))
        b"".join(body)
        body.close()
        statuses.append(seen["status"])
    return statuses


def monitored(store_url, server, timeout=2.0):
    host, port = server.server_address
    return WSGIMiddleware(view_app, store=store_url, rate=200, sampler_cpu=0.5,
                          harvest_interval=3600, host="web-7",
                          naming=lambda env: PRODUCT,
                          pyroscope=f"http://{host}:{port}/?app=shop",
                          pyroscope_timeout=timeout)


def store_dropped(store_url):
    import sqlite3

    conn = sqlite3.connect(store_url[len("sqlite:///"):])
    try:
        return dict(conn.execute("SELECT reason, SUM(count) FROM drops GROUP BY reason"))
    finally:
        conn.close()


@pytest.mark.parametrize("recorder", ["ok"], indirect=True)
def test_each_harvest_pushes_its_profile_with_labels(recorder, store_url, tmp_path):
    app = monitored(store_url, recorder)
    assert serve(app, 3) == ["200 OK"] * 3
    before = time.time()
    app.agent.harvest()
    after = time.time()
    assert recorder.requests, "nothing was pushed"
    by_name = {}
    for path, headers, body in recorder.requests:
        url = urllib.parse.urlsplit(path)
        assert url.path == "/ingest"
        query = urllib.parse.parse_qs(url.query)
        assert {k: v[0] for k, v in query.items() if k != "name" and k != "from"
                and k != "until"} == {"format": "pprof", "sampleRate": "200",
                                      "spyName": "plumb"}
        start, until = int(query["from"][0]), int(query["until"][0])
        assert start <= until and until >= int(before) and until <= int(after) + 1
        by_name[query["name"][0]] = body
    name = f"shop{{transaction={PRODUCT},kind=web,host=web-7}}"
    assert name in by_name, list(by_name)
    raw = gzip.decompress(by_name[name])          # a gzipped pprof
    assert raw[:1] == b"\x0a"                     # profile.proto's field 1, sample_type
    out = tmp_path / "pushed.pb.gz"
    out.write_bytes(by_name[name])
    counts = read_back(out, tmp_path)
    if not counts:
        pytest.skip("the sampler got no samples of the view on this loaded host")
    assert list(counts) == [PRODUCT]
    if GO:
        text = go_pprof("-raw", str(out))
        assert f"transaction:[{PRODUCT}]" in text and "spin_in_view" in text
    else:
        print("go not installed: go tool pprof -raw not run")
    assert "pyroscope_failed" not in store_dropped(store_url)


@pytest.mark.parametrize("recorder", ["fail", "hang"], indirect=True)
def test_a_failing_or_hanging_endpoint_drops_the_profile_and_counts_it(recorder, store_url,
                                                                       caplog):
    app = monitored(store_url, recorder, timeout=0.5)
    assert serve(app, 2) == ["200 OK"] * 2
    app.agent.harvest()
    assert serve(app, 2) == ["200 OK"] * 2     # requests still served
    app.agent.harvest()
    if not recorder.requests:
        pytest.skip("the sampler got no samples on this loaded host: nothing to push")
    dropped = store_dropped(store_url)
    assert dropped.get("pyroscope_failed", 0) >= 1, dropped
    said = [r for r in caplog.records if "pushing profiles" in r.getMessage()]
    assert len(said) == 1                      # said once, not every harvest
