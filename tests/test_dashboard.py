"""`plumb serve`: its JSON API over a store with known contents, who may
see it (loopback names only without a token; a token off loopback, as a
bearer header or a session cookie), changes only with the header a
cross-site request cannot send, /metrics in Prometheus's format, and a
real Prometheus (Debian's) scraping it, whose histogram_quantile agrees
with plumb's own p95 within the buckets' resolution."""
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import default_signals, env_with_plumb, free_port, plumb, wait_for_port
from monitor_seed import PRODUCT, durations_us, seed_store
from postgres_server import native_env

from plumb.dashboard.prometheus import BUCKETS_S


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "m.db")
    trace_id, session = seed_store(path)
    return path, trace_id, session


def start(args, tmp_path, env=None):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "plumb", "serve", "--port", str(port), *args],
                              cwd=tmp_path, env=env or env_with_plumb(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    wait_for_port(port, server)
    return server, port


def stop(server):
    server.terminate()
    try:
        return server.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate()[0]


def fetch(port, path, headers=None, data=None, method=None):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers=headers or {}, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def served(store, tmp_path):
    path, trace_id, session = store
    server, port = start(["--store", path], tmp_path)
    yield port, trace_id, session
    stop(server)


def test_the_api_answers_from_the_store(served):
    port, trace_id, session = served
    status, headers, body = fetch(port, "/api/v1/transactions?since=1h")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    rows = {r["name"]: r for r in json.loads(body)["transactions"]}
    product = rows[PRODUCT]
    values = sorted(durations_us())
    assert product["count"] == len(values) and product["errors"] == 3
    exact_p95 = values[math.ceil(0.95 * len(values)) - 1] / 1000
    assert abs(product["p95_ms"] - exact_p95) <= exact_p95 / 64

    status, _, body = fetch(port, "/api/v1/traces")
    assert status == 200 and [t["id"] for t in json.loads(body)["traces"]] == [trace_id]
    status, _, body = fetch(port, f"/api/v1/traces/{trace_id}")
    trace = json.loads(body)
    assert trace["duration_ms"] == 60.0 and trace["document"]["segments"][0]["kind"] == "view"
    status, _, body = fetch(port, f"/api/v1/profile?transaction={PRODUCT}")
    stacks = json.loads(body)["stacks"]
    assert stacks == [[[list(f) for f in (("/srv/shop/views.py", 10, "product"),
                                          ("/srv/shop/models.py", 40, "load"))], 5]]
    status, _, body = fetch(port, "/api/v1/series?since=10m&step=60")
    points = json.loads(body)["points"]
    assert sum(p["count"] for p in points) == len(values)
    status, _, body = fetch(port, f"/api/v1/sessions/{session}")
    assert json.loads(body)["transaction"] == PRODUCT


@pytest.mark.parametrize("path, status", [
    ("/api/v1/transactions?since=yesterday", 400),
    ("/api/v1/transactions?since=1h&since=2h", 400),
    ("/api/v1/traces?limit=100000", 400),
    ("/api/v1/traces/0000", 404),
    ("/api/v1/nothing", 404),
    ("/elsewhere", 404),
])
def test_bad_requests_get_one_line_errors(served, path, status):
    port = served[0]
    got, _, body = fetch(port, path)
    assert got == status and "\n" not in json.loads(body)["error"]


def test_a_change_needs_the_header_cross_site_requests_cannot_send(served):
    port = served[0]
    body = json.dumps({"kind": "xray", "transaction": PRODUCT, "duration_s": 30}).encode()
    status, _, _ = fetch(port, "/api/v1/sessions", data=body, method="POST",
                         headers={"Content-Type": "application/json"})
    assert status == 403
    status, _, answer = fetch(port, "/api/v1/sessions", data=body, method="POST",
                              headers={"Content-Type": "application/json",
                                       "X-Plumb-Request": "1"})
    assert status == 200
    created = json.loads(answer)["id"]
    status, _, answer = fetch(port, f"/api/v1/sessions/{created}")
    assert json.loads(answer)["transaction"] == PRODUCT
    status, _, _ = fetch(port, "/api/v1/sessions", data=b'{"kind": "bogus"}', method="POST",
                         headers={"X-Plumb-Request": "1"})
    assert status == 400


def test_without_a_token_only_loopback_names_are_answered(served):
    port = served[0]
    status, _, _ = fetch(port, "/api/v1/transactions", headers={"Host": "attacker.example"})
    assert status == 403
    status, _, _ = fetch(port, "/api/v1/transactions", headers={"Host": f"localhost:{port}"})
    assert status == 200


def test_off_loopback_it_refuses_to_start_without_a_token(store, tmp_path):
    env = env_with_plumb()
    env.pop("PLUMB_DASHBOARD_TOKEN", None)
    got = plumb("serve", "--store", store[0], "--host", "0.0.0.0", "--port", str(free_port()),
                env=env, timeout=60)
    assert got.returncode == 2 and "token" in got.stderr and got.stderr.count("\n") == 1


def test_off_loopback_the_token_is_asked_for(store, tmp_path):
    server, port = start(["--store", store[0], "--host", "0.0.0.0", "--token", "s3cret t\u00f8ken"],
                         tmp_path)
    try:
        assert fetch(port, "/api/v1/transactions")[0] == 401
        assert fetch(port, "/api/v1/transactions",
                     headers={"Authorization": "Bearer wrong"})[0] == 401
        ok, _, _ = fetch(port, "/api/v1/transactions",
                         headers={"Authorization": "Bearer s3cret t\u00f8ken"})
        assert ok == 200
        quoted = urllib.parse.quote("s3cret t\u00f8ken")
        status, headers, _ = fetch(port, f"/api/v1/hosts?token={quoted}")
        assert status == 303 and headers["Location"] == "/api/v1/hosts"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "s3cret" not in cookie and "HttpOnly" in headers["Set-Cookie"]
        assert "SameSite=Strict" in headers["Set-Cookie"]
        assert fetch(port, "/api/v1/hosts", headers={"Cookie": cookie})[0] == 200
        assert fetch(port, "/api/v1/hosts", headers={"Cookie": cookie + "x"})[0] == 401
    finally:
        stop(server)


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, rest = head.partition("{")
        labels = frozenset(tuple(part.split("=", 1)) for part in
                           rest.rstrip("}").replace('"', "").split(",") if part) if rest else frozenset()
        samples[(name, labels)] = float(value)
    return samples


def test_metrics_in_the_exposition_format(served):
    port = served[0]
    status, headers, body = fetch(port, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(body.decode())
    who = (("transaction", PRODUCT), ("kind", "web"), ("host", "web-1"))
    values = durations_us()
    assert samples[("plumb_requests_total", frozenset(who))] == len(values)
    assert samples[("plumb_errors_total", frozenset(who))] == 3
    buckets = [samples[("plumb_request_duration_seconds_bucket", frozenset(who + (("le", str(le)),)))]
               for le in BUCKETS_S]
    assert buckets == sorted(buckets)
    for le, count in zip(BUCKETS_S, buckets):
        # Exact for a threshold within 1/33 below le: between the counts there.
        below = sum(1 for v in values if v <= le * 1e6 * 32 / 33)
        at = sum(1 for v in values if v <= le * 1e6)
        assert below <= count <= at, le
    assert samples[("plumb_request_duration_seconds_count", frozenset(who))] == len(values)
    assert samples[("plumb_request_duration_seconds_sum", frozenset(who))] == \
        pytest.approx(sum(values) / 1e6)


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (scripts/system-deps.sh --test)")
def test_prometheus_scrapes_it_and_agrees_on_the_p95(served, tmp_path):
    port = served[0]
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: plumb\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n")
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        cwd=tmp_path, env=native_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=default_signals)
    query = ('histogram_quantile(0.95, sum by (le) (plumb_request_duration_seconds_bucket'
             f'{{transaction="{PRODUCT}"}}))')
    try:
        wait_for_port(prom_port, prometheus, timeout=60)
        deadline = time.time() + 60
        answer = None
        while time.time() < deadline:    # until a scrape has landed (no timing is asserted)
            url = (f"http://127.0.0.1:{prom_port}/api/v1/query?"
                   + urllib.parse.urlencode({"query": query}))
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    result = json.loads(r.read())["data"]["result"]
            except urllib.error.HTTPError as error:
                if error.code != 503:    # 503: its storage is still opening
                    raise
                result = None
            if result:
                answer = float(result[0]["value"][1])
                break
            time.sleep(0.5)
    finally:
        prometheus.terminate()
        output = prometheus.communicate(timeout=30)[0]
    assert answer is not None, output[-2000:]
    _, _, body = fetch(port, "/api/v1/transactions?since=1h")
    ours = next(r for r in json.loads(body)["transactions"] if r["name"] == PRODUCT)["p95_ms"] / 1000
    # Prometheus interpolates inside the bucket holding the 95th percentile:
    # plumb's p95 must lie in that same bucket (its edges give or take 1/33).
    upper = next(le for le in BUCKETS_S if le >= answer)
    lower = max([0.0] + [le for le in BUCKETS_S if le < upper])
    assert lower * 32 / 33 <= ours <= upper * 33 / 32, (answer, ours, lower, upper)
