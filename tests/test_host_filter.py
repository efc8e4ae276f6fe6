"""The host filter where readers meet it, over both stores: two hosts'
harvests, the API's `host=` (each host's share, and /api/v1/hosts' totals
of each; a bad host is a 400 in one line), /metrics' `host` label, the command line's `--host NAME` (a bad one
is one line and exit status 2), and the `host` option (PLUMB_HOST)."""
import json
import socket
import time
from urllib.parse import quote

import pytest

from clickhouse_server import clickhouse_server, clickhouse_url  # noqa: F401 (fixtures)
from conftest import plumb as run_plumb
from store_backends import open_backend, store  # noqa: F401 (fixtures: every backend)
from test_dashboard import parse_exposition
from test_store import harvest, minute_row
from plumb.dashboard.app import DashboardApp
from plumb.monitor.harvest import KeptTrace, ProfileMinute
from plumb.monitor.options import Options

NOW = int(time.time()) // 60 * 60 - 600          # within /api's default hour
HOSTS = {"web-1": 3, "web-2": 5}                   # requests of /a a minute
MAIN = ("app.py", 1, "main")


@pytest.fixture
def app(store):
    for host, count in HOSTS.items():
        for i in range(4):
            minute = NOW + 60 * i
            store.write(harvest(
                f"{host}-{i}", host=host, pid=10 + i % 2, minute=minute,
                transactions=[minute_row(minute, count=count)],
                profiles=[ProfileMinute(minute=minute, name="/a", kind="web", rate_hz=100.0,
                                        stacks=[((MAIN,), count)])],
                traces=[KeptTrace(id=f"{host[-1]}{i:031x}", start=minute + 1, name="/a",
                                  kind="web", duration_us=100 * count + i, url="/a")]))
    return DashboardApp(store)


def get(app, path, query=""):
    got = app.respond("GET", path, query)
    return got.status, json.loads(got.body)


def test_each_host_has_its_share_and_they_add_up(app):
    window = f"since={NOW}&until={NOW + 240}"
    shares = {}
    for host in ("", *HOSTS):
        status, body = get(app, "/api/v1/transactions", f"{window}&host={host}")
        assert status == 200
        shares[host] = {r["name"]: r["count"] for r in body["transactions"]}
    assert shares["web-1"] == {"/a": 3 * 4} and shares["web-2"] == {"/a": 5 * 4}
    assert shares[""] == {"/a": shares["web-1"]["/a"] + shares["web-2"]["/a"]}
    _, body = get(app, "/api/v1/series", f"{window}&transaction=/a&host=web-2")
    assert [p["count"] for p in body["points"]] == [5, 5, 5, 5]
    _, body = get(app, "/api/v1/traces", f"{window}&host=web-1")
    assert {t["host"] for t in body["traces"]} == {"web-1"} and len(body["traces"]) == 4
    _, body = get(app, "/api/v1/profile", f"{window}&host=web-2")
    assert body["stacks"] == [[[list(MAIN)], 20]]
    _, body = get(app, "/api/v1/hosts", window)
    assert [(h["host"], h["harvests"]) for h in body["hosts"]] == [("web-1", 4), ("web-2", 4)]
    assert get(app, "/api/v1/transactions", f"{window}&host=nowhere")[1]["transactions"] == []
    # The overview's per-host breakdown.
    _, body = get(app, "/api/v1/hosts", window + "&totals=1")
    totals = {h["host"]: h["totals"] for h in body["hosts"]}
    assert {host: (t["count"], t["errors"]) for host, t in totals.items()} == {
        "web-1": (12, 4), "web-2": (20, 4)}
    assert totals["web-1"]["mean_ms"] == 1.0 and totals["web-1"]["apdex"] == 1.0
    assert get(app, "/api/v1/hosts", window + "&totals=yes")[0] == 400


def test_metrics_carry_the_host(app):
    samples = parse_exposition(app.respond("GET", "/metrics", "").body.decode())
    for host, count in HOSTS.items():
        who = frozenset((("transaction", "/a"), ("kind", "web"), ("host", host)))
        assert samples[("plumb_requests_total", who)] == count * 4


@pytest.mark.parametrize("value", [" web-1", "a\nb", "x" * 513, "tab\there"])
def test_a_bad_host_is_a_400_in_one_line(app, value):
    for path in ("/api/v1/transactions", "/api/v1/series", "/api/v1/traces", "/api/v1/profile",
                 "/report/profile"):
        status, body = get(app, path, "host=" + quote(value))
        assert status == 400 and "is not a host" in body["error"], (path, body)
        assert "\n" not in body["error"]


def test_the_command_line_reads_one_host(open_backend, tmp_path):
    with open_backend() as store:
        for host, count in HOSTS.items():
            store.write(harvest(f"{host}-cli", host=host, minute=NOW,
                                transactions=[minute_row(NOW, count=count)]))
    for host, count in HOSTS.items():
        got = run_plumb("transactions", "--store", open_backend.url, "--host", host, "--json", "--since",
                        str(NOW - 60), cwd=str(tmp_path))
        assert got.returncode == 0, got.stderr
        assert [(r["name"], r["count"]) for r in json.loads(got.stdout)] == [("/a", count)]


@pytest.mark.parametrize("command", [["transactions"], ["traces"], ["profile", "-o", "x.prof"],
                                     ["xray", "show", "0" * 32], ["threads", "show", "0" * 32]])
def test_a_bad_host_on_the_command_line_is_one_line_and_status_2(tmp_path, command):
    got = run_plumb(*command, "--store", str(tmp_path / "m.db"), "--host= web", cwd=str(tmp_path))
    assert got.returncode == 2, got
    assert "is not a host" in got.stderr and got.stderr.count("\n") == 1, got.stderr


def test_the_host_option_and_plumb_host(monkeypatch):
    monkeypatch.delenv("PLUMB_HOST", raising=False)
    assert Options().host == socket.gethostname()
    assert Options(host="web-7").host == "web-7"
    monkeypatch.setenv("PLUMB_HOST", "box-3")
    assert Options(host="web-7").host == "box-3"
    monkeypatch.setenv("PLUMB_HOST", "bad\nname")
    with pytest.raises(ValueError, match="host must be a name"):
        Options()
