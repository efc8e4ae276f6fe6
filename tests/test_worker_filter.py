"""The worker filter where readers meet it: the JSON API (`worker=`, and the
workers /api/v1/hosts lists) and the command line (`--worker PID`), over
monitor_seed's store, whose host has two workers (the first with the
even-numbered durations, 2 of the 3 errors, the kept trace and 3 of the 5
samples).  One worker's numbers and the other's add up to the host's; a
bad worker is a 400 or an exit status 2, in one line.  The transaction
series carry apdex per step."""
import json

import pytest

from conftest import plumb as run_plumb
from monitor_seed import PRODUCT, WORKERS, durations_us, seed_store

from plumb.dashboard.app import DashboardApp
from plumb.monitor import apdex
from plumb.monitor.store import open_store

FIRST, SECOND = WORKERS


@pytest.fixture
def seeded(tmp_path):
    path = str(tmp_path / "m.db")
    trace_id, _ = seed_store(path)
    return path, trace_id


@pytest.fixture
def app(seeded):
    with open_store(seeded[0]) as store:
        yield DashboardApp(store)


def get(app, path, query=""):
    got = app.respond("GET", path, query)
    return got.status, json.loads(got.body)


def product(rows):
    return next(r for r in rows if r["name"] == PRODUCT)


def test_hosts_list_the_two_workers(app):
    status, body = get(app, "/api/v1/hosts")
    [host] = body["hosts"]
    assert status == 200 and host["host"] == "web-1"
    assert [w["pid"] for w in host["workers"]] == [FIRST, SECOND]
    assert all(w["harvests"] == 1 for w in host["workers"])


def test_transactions_of_one_worker_add_up_to_the_host(app):
    rows = {}
    for worker in ("", f"&worker={FIRST}", f"&worker={SECOND}"):
        status, body = get(app, "/api/v1/transactions", "since=1h&host=web-1" + worker)
        assert status == 200
        rows[worker] = product(body["transactions"])
    everyone, first, second = rows.values()
    assert (first["count"], first["errors"]) == (500, 2)
    assert (second["count"], second["errors"]) == (500, 1)
    assert first["count"] + second["count"] == everyone["count"] == len(durations_us())
    # The first worker has the faster of each pair of durations.
    assert first["mean_ms"] < second["mean_ms"]
    assert first["mean_ms"] * 500 + second["mean_ms"] * 500 == \
        pytest.approx(everyone["mean_ms"] * 1000)


def test_series_traces_and_profiles_of_one_worker(app, seeded):
    status, body = get(app, "/api/v1/series", f"transaction={PRODUCT}&since=10m&worker={SECOND}")
    assert status == 200 and sum(p["count"] for p in body["points"]) == 500
    _, body = get(app, "/api/v1/traces", f"worker={FIRST}")
    assert [t["id"] for t in body["traces"]] == [seeded[1]]
    assert [t["pid"] for t in body["traces"]] == [FIRST]
    assert get(app, "/api/v1/traces", f"worker={SECOND}")[1]["traces"] == []
    assert get(app, "/api/v1/traces", f"host=web-2&worker={FIRST}")[1]["traces"] == []
    for worker, samples in ((FIRST, 3), (SECOND, 2)):
        _, body = get(app, "/api/v1/profile", f"transaction={PRODUCT}&worker={worker}")
        assert [count for _, count in body["stacks"]] == [samples]
    report = app.respond("GET", "/report/profile", f"transaction={PRODUCT}&worker={SECOND}")
    assert report.status == 200 and b"No samples" not in report.body


def test_series_points_carry_their_apdex(app):
    _, body = get(app, "/api/v1/series", f"transaction={PRODUCT}&since=10m")
    [point] = [p for p in body["points"] if p["count"]]
    values = durations_us()
    satisfied = sum(1 for v in values if v <= 500_000)
    tolerating = sum(1 for v in values if 500_000 < v <= 2_000_000) - 3
    assert (point["satisfied"], point["tolerating"], point["frustrated"]) == (
        satisfied, tolerating, len(values) - satisfied - tolerating)
    assert point["apdex"] == pytest.approx((satisfied + tolerating / 2) / len(values))
    _, body = get(app, "/api/v1/transactions", "since=1h")
    assert product(body["transactions"])["apdex"] == pytest.approx(point["apdex"])
    # All transactions' series: its merged rows do not tell web from background.
    assert all(p["apdex"] is None for p in get(app, "/api/v1/series", "since=10m")[1]["points"])


def test_apdex_without_requests_is_none():
    assert apdex.score(0, 0, 0) is None
    assert apdex.score(3, 2, 5) == 0.4


@pytest.mark.parametrize("value", ["abc", "0", "-4", "1.5", "99999999999", "\u0664\u0662"])
def test_a_bad_worker_is_a_400_in_one_line(app, value):
    for path in ("/api/v1/transactions", "/api/v1/series", "/api/v1/traces", "/api/v1/profile"):
        status, body = get(app, path, "worker=" + value)
        assert status == 400 and "is not a worker" in body["error"], (path, body)
        assert "\n" not in body["error"]
    status, body = get(app, "/api/v1/transactions", f"worker={FIRST}&worker={SECOND}")
    assert status == 400 and "more than once" in body["error"]


def test_the_command_line_reads_one_worker(seeded):
    path, trace_id = seeded
    got = run_plumb("transactions", "--store", path, "--worker", str(SECOND), "--json")
    assert got.returncode == 0, got.stderr
    row = product(json.loads(got.stdout))
    assert (row["count"], row["errors"]) == (500, 1)
    got = run_plumb("traces", "--store", path, "--host", "web-1", "--worker", str(FIRST), "--json")
    assert [(t["id"], t["pid"]) for t in json.loads(got.stdout)] == [(trace_id, FIRST)]
    got = run_plumb("traces", "--store", path, "--worker", str(SECOND), "--json")
    assert json.loads(got.stdout) == []
    out = seeded[0] + ".folded"
    got = run_plumb("profile", "--store", path, "--transaction", PRODUCT, "--worker", str(SECOND),
                    "-o", out)
    assert got.returncode == 0, got.stderr
    with open(out, encoding="utf-8") as f:
        assert f.read().split()[-1] == "2"


@pytest.mark.parametrize("command", [["transactions"], ["traces"], ["profile", "-o", "x.prof"],
                                     ["threads", "show", "0" * 32]])
@pytest.mark.parametrize("value", ["web-1", "0", "-1"])
def test_a_bad_worker_on_the_command_line_is_one_line_and_status_2(seeded, tmp_path, command,
                                                                     value):
    got = run_plumb(*command, "--store", seeded[0], f"--worker={value}", cwd=str(tmp_path))
    assert got.returncode == 2, got
    assert "is not a worker" in got.stderr and got.stderr.count("\n") == 1, got.stderr
