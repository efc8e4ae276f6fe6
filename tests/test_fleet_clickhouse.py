"""A fleet writing to one ClickHouse: two "hosts" (each the example shop
under gunicorn with two workers, PLUMB_HOST naming it) loaded by wrk at
once, all writing to one ClickHouse server.  After a graceful stop the
totals across hosts equal the requests their access logs hold, exactly,
and the host filter gives each host's share; with ClickHouse stopped for
10 s mid-load and started again, the same: nothing lost (the harvests
waited in each worker's buffer), nothing counted twice."""
import subprocess
import sys
import threading
import time

import pytest

from clickhouse_server import clickhouse_server, clickhouse_url  # noqa: F401 (fixtures)
from conftest import default_signals, free_port, http_get, wait_for_port
from test_monitor_servers import ACCESS_FORMAT, WRK, access_log, load, shop, stop

from plumb.monitor.store import open_store

HOSTS = ("shop-a", "shop-b")
PAGES = {"/": "shop.views.home", "/product/3/": "shop.views.product",
         "/broken/": "shop.views.broken"}
OUTAGE_S = 10


def start_host(tmp_path, host, store_url):
    project, env = shop(tmp_path / host)
    # A harvest every 3 s: the outage and the restart take fewer harvests
    # than a worker's buffer holds (agent.MAX_BUFFERED).
    env.update(PLUMB_STORE=store_url, PLUMB_HOST=host, SHOP_HARVEST="3")
    port = free_port()
    log = tmp_path / host / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "2",
         "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "--access-logformat", ACCESS_FORMAT, "shop.wsgi:application"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    wait_for_port(port, server)
    assert http_get(port, "/")[0] == 200
    return server, port, log


@pytest.mark.skipif(WRK is None, reason="wrk is not installed (scripts/system-deps.sh --test)")
@pytest.mark.parametrize("outage", [False, True], ids=["steady", "clickhouse-stopped-10s"])
def test_hosts_add_up_in_one_clickhouse(tmp_path, clickhouse_server, clickhouse_url, outage):
    open_store(clickhouse_url).close()                    # the schema, before the load
    started = time.time()
    servers = {}
    try:
        for host in HOSTS:
            servers[host] = start_host(tmp_path, host, clickhouse_url)
        seconds = 4 + (OUTAGE_S + 4 if outage else 0)
        loads = [threading.Thread(target=load, args=(port, list(PAGES), seconds))
                 for _, port, _ in servers.values()]
        for thread in loads:
            thread.start()
        if outage:
            time.sleep(2)                                 # some harvests written first
            clickhouse_server.stop()
            time.sleep(OUTAGE_S)                          # the workers keep serving
            clickhouse_server.start()
        for thread in loads:
            thread.join()
    finally:
        if not clickhouse_server.process:
            clickhouse_server.start()
        outputs = {host: stop(server) for host, (server, _, _) in servers.items()}
    for host, (server, _, _) in servers.items():
        assert server.returncode == 0, outputs[host][-3000:]
    served = {host: access_log(log) for host, (_, _, log) in servers.items()}
    since, until = started - 60, time.time() + 120
    with open_store(clickhouse_url) as store:
        drops = store.drops(since)
        every = {r["name"]: r for r in store.transactions(since, until)}
        for path, name in PAGES.items():
            assert every[name]["count"] == sum(len(s[path]) for s in served.values()), \
                (name, drops, {host: out[-3000:] for host, out in outputs.items()})
        for host in HOSTS:
            share = {r["name"]: r for r in store.transactions(since, until, host=host)}
            for path, name in PAGES.items():
                assert share[name]["count"] == len(served[host][path]), (host, name)
                errors = sum(1 for status, _ in served[host][path] if status >= 500)
                assert share[name]["errors"] == errors, (host, name)
        assert [h["host"] for h in store.hosts(since, until)] == list(HOSTS)
    assert "harvests_lost" not in drops and "requests_lost" not in drops, drops
    if outage:     # the outage was seen, and reported, and nothing of it was lost
        assert drops.get("store_errors", 0) > 0, (drops, outputs)
        assert any("harvests wait" in out for out in outputs.values()), outputs
