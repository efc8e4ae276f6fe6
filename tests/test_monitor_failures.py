"""plumb.monitor under bad input and failure: 100,000 distinct URLs, a
streaming response the client abandons, a worker killed inside a harvest's
write, a store made read-only while requests flow, a corrupt or foreign
file at start, Django's ASGI handler under uvicorn, two processes creating
a store while `plumb transactions` reads it, and hostile X-Request-Start
headers through gunicorn.

Whatever goes wrong, every request must be answered as without plumb, and
what the store holds must be exact where it can be known (the servers'
access logs count what was served) and never more than was served where
it cannot."""
import collections
import contextlib
import http.client
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from conftest import default_signals, env_with_plumb, free_port, http_get, plumb as run_plumb, \
    wait_for_port
from test_monitor_servers import shop, stop

import plumb.monitor.agent as agent_module
from plumb.monitor import WSGIMiddleware
from plumb.monitor.store import open_store

WINDOW = (time.time() - 3600, time.time() + 3 * 3600)


def rows_by_name(url, host=None):
    with open_store(url) as store:
        return {r["name"]: r for r in store.transactions(*WINDOW, host=host)}


def drops_of(url):
    with open_store(url) as store:
        return store.drops(WINDOW[0])


def plain_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def call(app, path):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "wsgi.input": None}
    seen = []
    body = app(environ, lambda status, headers, exc_info=None: seen.append(status))
    b"".join(body)
    body.close()
    return seen[0]


@pytest.fixture
def agents():
    """The agents a test made, shut down and forgotten afterwards."""
    made = []
    yield made
    for app in made:
        agent_module._agents.pop(app.options.store, None)
        app.agent.shutdown()


def monitored(agents, url, **options):
    options.setdefault("rate", 0)
    options.setdefault("harvest_interval", 3600)
    app = WSGIMiddleware(plain_app, store=url, naming=lambda environ: environ["PATH_INFO"],
                         **options)
    agents.append(app)
    return app


# -- 1. 100,000 distinct URLs ----------------------------------------------------------

DISTINCT = 100_000
# What the agent keeps for 1,000 names (the name, its key and index: a few
# hundred bytes each) and one harvest of 1,001 rows, with room to spare; one
# entry kept per request instead (a tuple, a float and a dict slot, ~150
# bytes) would be 15 MB for 100,000 requests.
PEAK_BOUND = 4 << 20
# What the second 100,000 may leave beyond the first: nothing per request.
GROWTH_BOUND = 64 << 10


def structure_sizes(agent):
    return {"names": len(agent.names), "running": len(agent.running),
            "finished": len(agent.finished), "kept": len(agent.kept),
            "error_classes": len(agent.error_classes),
            "pending_samples": len(agent.pending_samples), "buffer": len(agent.buffer)}


def test_100000_distinct_urls_stay_within_the_caps(agents, tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    app = monitored(agents, url)
    agent = app.agent
    cap = app.options.max_transactions
    assert call(app, "/warm-up") == "200 OK"      # the harvest thread, the store, imports
    agent.harvest()
    tracemalloc.start()
    try:
        measured = []
        for run in range(2):
            tracemalloc.reset_peak()
            for i in range(DISTINCT):
                assert call(app, f"/run{run}/item/{i}") == "200 OK"
            sizes = structure_sizes(agent)
            agent.harvest()
            measured.append((tracemalloc.get_traced_memory(), sizes))
    finally:
        tracemalloc.stop()
    for (current, peak), sizes in measured:
        assert sizes == {"names": cap + 1, "running": 0, "finished": 0, "kept": 0,
                         "error_classes": 0, "pending_samples": 0, "buffer": 0}, sizes
        assert peak < PEAK_BOUND, (peak, sizes)
    (first, _), _ = measured[0]
    (second, _), _ = measured[1]
    assert second - first < GROWTH_BOUND, (first, second)

    rows = rows_by_name(url)
    folded = rows.pop(agent_module.FOLDED)["count"]
    assert len(rows) == cap and all(r["count"] == 1 for r in rows.values())
    assert folded == 2 * DISTINCT + 1 - cap
    assert drops_of(url).get("names_folded") == folded


def test_requests_ended_between_harvests_are_remembered_up_to_a_cap(agents, tmp_path,
                                                                    monkeypatch):
    """With a sampler running, an ended request's tag is remembered until
    the next harvest (its samples may still be in the sampler); past the
    cap the rest are counted, not remembered."""
    monkeypatch.setattr(agent_module, "MAX_FINISHED", 100)
    # The harvest thread's drain every few seconds lets ended requests go;
    # on a loaded machine one fell inside the loop below (800 over the cap,
    # not 900).  The cap is what is tested here: no drain.
    monkeypatch.setattr(agent_module.Agent, "drain_samples", lambda self: None)
    url = f"sqlite:///{tmp_path}/m.db"
    app = monitored(agents, url, rate=10)
    for i in range(1000):
        assert call(app, f"/r{i % 7}") == "200 OK"
    if app.agent.sampler is None:
        pytest.skip("the sampler did not start here")
    assert len(app.agent.finished) <= 100
    app.agent.harvest()
    assert drops_of(url).get("finished_over_cap") == 900
    assert sum(r["count"] for r in rows_by_name(url).values()) == 1000


# -- servers ---------------------------------------------------------------------------

# The process id gunicorn's worker logs ("<1234>"), the path and the status.
PID_ACCESS_FORMAT = "%(p)s %(U)s %(s)s"


def gunicorn(project, env, port, log, *extra, workers=2, threads=4, app="shop.wsgi:application"):
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
         "-k", "gthread", "-b", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "--access-logformat", PID_ACCESS_FORMAT, *extra, app],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)


def served_by(log):
    """Counter of (pid, path, status) in a PID_ACCESS_FORMAT log."""
    served = collections.Counter()
    for line in log.read_text().splitlines():
        pid, path, status = line.split()
        served[(int(pid.strip("<>")), path, int(status))] += 1
    return served


def pids_in(log):
    """The pids of a PID_ACCESS_FORMAT log being written (its complete lines)."""
    return {line.split()[0] for line in log.read_text().splitlines(True)
            if line.endswith("\n") and line.startswith("<")}


def integrity(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


# -- 2. a streaming response abandoned by the client -------------------------------------

def read_part_and_leave(port, path, wanted):
    """GET path, read about `wanted` bytes, close: a client gone away."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        got = b""
        while len(got) < wanted:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got[:100]


def test_a_streaming_response_abandoned_by_its_client_is_counted_once(tmp_path):
    project, env = shop(tmp_path)
    env["SHOP_RATE"] = "0"
    port = free_port()
    log = tmp_path / "access.log"
    server = gunicorn(project, env, port, log, workers=1)
    try:
        wait_for_port(port, server)
        for _ in range(3):
            read_part_and_leave(port, "/stream/", 8192)
        status, _, body = http_get(port, "/stream/")
        assert status == 200 and len(body) == 40 * 4096
        for _ in range(10):
            assert http_get(port, "/")[0] == 200
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    served = collections.Counter()
    for (_, path, status), n in served_by(log).items():
        assert status == 200
        served[path] += n
    assert served == {"/stream/": 4, "/": 10}, served
    rows = rows_by_name(env["PLUMB_STORE"])
    assert rows["shop.views.stream"]["count"] == 4, output
    assert rows["shop.views.stream"]["errors"] == 0     # the client left: not the app's fault
    assert rows["shop.views.home"]["count"] == 10


# -- 3. a worker killed inside a harvest's write ------------------------------------------

WORKER_APP = """\
import os
import signal

from plumb.monitor import WSGIMiddleware
from plumb.monitor.store.sqlite import SQLiteStore


def inner(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


# Each worker its own host in the store, so that what the store holds can
# be compared with what each worker served.
app = WSGIMiddleware(inner, host=f"worker-{os.getpid()}", harvest_interval=1, rate=0,
                     naming=lambda environ: environ["PATH_INFO"])

# KILL_MARKER: the first worker to write a harvest with requests after one
# such harvest has landed kills itself with SIGKILL inside that write, its
# rows inserted and not committed, after noting its pid and what it loses.
MARKER = os.environ.get("KILL_MARKER")
if MARKER:
    write, write_drops = SQLiteStore.write, SQLiteStore._write_drops
    landed = []

    def write_then_maybe_die(self, harvest):
        count = sum(t.count for t in harvest.transactions if t.session is None)
        if count and landed:
            try:
                fd = os.open(MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, f"{os.getpid()} {count}".encode())
                os.close(fd)
                self.die_in_write = True
        written = write(self, harvest)
        if count:
            landed.append(count)
        return written

    def write_drops_or_die(self, *args):
        write_drops(self, *args)
        if getattr(self, "die_in_write", False):
            os.kill(os.getpid(), signal.SIGKILL)

    SQLiteStore.write = write_then_maybe_die
    SQLiteStore._write_drops = write_drops_or_die
"""


class Load:
    """Client threads sending GETs until stopped; a request to a worker
    that dies fails, and is counted as failed."""

    def __init__(self, port, paths, clients=3):
        self.port, self.paths = port, paths
        self.ok = collections.Counter()
        self.failed = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self, i):
        n = 0
        while not self._stop.is_set():
            path = self.paths[(i + n) % len(self.paths)]
            n += 1
            try:
                status = http_get(self.port, path)[0]
            except (OSError, http.client.HTTPException):   # its worker was killed
                self.failed += 1
                continue
            self.ok[(path, status)] += 1

    def total(self):
        return sum(self.ok.values())

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def wait_until(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_worker_killed_inside_a_harvest_loses_only_that_harvest(tmp_path):
    (tmp_path / "workerapp.py").write_text(WORKER_APP)
    store_path = tmp_path / "monitor.db"
    marker = tmp_path / "killed"
    env = env_with_plumb({"PLUMB_STORE": f"sqlite:///{store_path}", "KILL_MARKER": str(marker)})
    port = free_port()
    log = tmp_path / "access.log"
    server = gunicorn(tmp_path, env, port, log, app="workerapp:app", threads=2)
    try:
        wait_for_port(port, server)
        load = Load(port, ["/a", "/b"])
        try:
            wait_until(marker.exists, "a worker to kill itself in a harvest")
            wait_until(lambda: marker.read_text().count(" ") == 1, "the marker's content")
            # Until the worker gunicorn started in its place has served.
            wait_until(lambda: len(pids_in(log)) >= 3, "the killed worker's replacement")
        finally:
            load.stop()
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    killed, lost = map(int, marker.read_text().split())
    served = collections.Counter()
    for (pid, path, status), n in served_by(log).items():
        assert status == 200
        served[pid] += n
    assert killed in served and len(served) >= 3, (killed, served)   # a worker replaced it
    assert integrity(store_path) == [("ok",)]
    url = f"sqlite:///{store_path}"
    for pid, count in served.items():
        stored = sum(r["count"] for r in rows_by_name(url, host=f"worker-{pid}").values())
        if pid == killed:
            # What landed before stays; the harvest it died writing is not
            # there, not even in part.
            assert 0 < stored and stored + lost <= count, (stored, lost, count)
        else:
            assert stored == count, (pid, stored, count)
    got = run_plumb("transactions", "--store", url, "--json", env=env_with_plumb())
    assert got.returncode == 0, got.stderr
    assert sum(r["count"] for r in json.loads(got.stdout)) <= sum(served.values())


# -- 4. a store made read-only while requests flow ---------------------------------------

@contextlib.contextmanager
def immutable(*paths):
    """Files unwritable even for root.  Not the -shm file: SQLite maps it
    into memory, and a write into a mapping of an immutable file is a
    SIGBUS, which no library can turn into an error."""
    if os.geteuid() != 0:
        pytest.skip("chattr +i needs root")
    made = subprocess.run(["chattr", "+i", *paths], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i fails here: {made.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *paths], check=True)


def test_a_store_made_read_only_mid_run_never_fails_a_request(agents, tmp_path, caplog):
    path = str(tmp_path / "m.db")
    url = f"sqlite:///{path}"
    app = monitored(agents, url)
    agent = app.agent
    for _ in range(5):
        assert call(app, "/before") == "200 OK"
    agent.harvest()
    assert agent.store is not None and os.path.exists(path + "-wal")
    failing_harvests = agent_module.MAX_BUFFERED + 2
    with immutable(path, path + "-wal"):
        for _ in range(failing_harvests):
            for _ in range(3):
                assert call(app, "/during") == "200 OK"
            agent.harvest()                                   # never raises
        assert len(agent.buffer) == agent_module.MAX_BUFFERED
    warned = [r.getMessage() for r in caplog.records if "store failed" in r.getMessage()]
    # One line per distinct failure, not one per harvest.
    assert warned and len(warned) == len(set(warned)) < failing_harvests, warned
    assert all("\n" not in m and path in m for m in warned)
    for _ in range(4):
        assert call(app, "/after") == "200 OK"
    agent.harvest()
    assert not agent.buffer
    lost = failing_harvests - agent_module.MAX_BUFFERED
    rows = rows_by_name(url)
    assert {name: r["count"] for name, r in rows.items()} == {
        "/before": 5, "/during": 3 * (failing_harvests - lost), "/after": 4}
    drops = drops_of(url)
    assert drops.get("harvests_lost") == lost and drops.get("requests_lost") == 3 * lost
    # Every failed write is counted, those of the harvests dropped included.
    assert drops.get("store_errors") == failing_harvests, drops


# -- 5. a corrupt or foreign file at start under gunicorn -----------------------------------

def corrupt_store(path):
    """A plumb store's SQLite header, then garbage pages."""
    open_store(str(path)).close()
    data = path.read_bytes()
    garbage = random.Random(7).getrandbits(8 * (len(data) - 100)).to_bytes(len(data) - 100, "little")
    path.write_bytes(data[:100] + garbage)


def foreign_store(path):
    with contextlib.closing(sqlite3.connect(str(path))) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
        conn.commit()


@pytest.mark.parametrize("make, says", [(corrupt_store, "not a plumb.monitor store"),
                                        (foreign_store, "(tables: customers)")],
                         ids=["corrupt", "foreign"])
def test_a_bad_store_file_is_refused_in_one_line_and_the_shop_serves(tmp_path, make, says):
    project, env = shop(tmp_path)
    bad = tmp_path / "bad.db"
    make(bad)
    before = bad.read_bytes()
    env.update({"PLUMB_STORE": f"sqlite:///{bad}", "SHOP_HARVEST": "1", "SHOP_RATE": "0"})
    port = free_port()
    log = tmp_path / "access.log"
    server = gunicorn(project, env, port, log, workers=1, threads=2)
    try:
        wait_for_port(port, server)
        for i in range(20):
            assert http_get(port, "/product/3/" if i % 2 else "/")[0] == 200
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    assert sum(served_by(log).values()) == 20
    said = [line for line in output.splitlines() if "plumb" in line]
    assert len(said) == 1 and "refused" in said[0] and says in said[0], output
    assert bad.read_bytes() == before and not os.path.exists(f"{bad}-wal")


# -- 6. Django's ASGI handler under uvicorn ---------------------------------------------------

def test_the_shop_under_djangos_asgi_handler_counts_every_view(tmp_path):
    project, env = shop(tmp_path)
    env.update({"SHOP_RATE": "0", "SHOP_BACKGROUND": "0"})
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--port", str(port), "--log-level", "warning",
         "shop.asgi:application"], cwd=project, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    sent = collections.Counter()
    pages = [("/ping/", "shop.views.ping", 200), ("/product/3/", "shop.views.product", 200),
             ("/", "shop.views.home", 200), ("/nowhere/", "(unmatched)", 404)]
    try:
        wait_for_port(port, server)
        for i in range(30):
            path, name, status = pages[i % len(pages)]
            assert http_get(port, path)[0] == status
            sent[name] += 1
    finally:
        output = stop(server)
    rows = rows_by_name(env["PLUMB_STORE"])
    assert {name: r["count"] for name, r in rows.items()} == dict(sent), output
    # The sync view ran in asgiref's thread, its queries still its own.
    assert rows["shop.views.product"]["sql_count"] == 7 * sent["shop.views.product"]
    assert rows["shop.views.ping"]["sql_count"] == 0


# -- 7. two processes creating a store while `plumb transactions` reads it ------------------------

WRITER = """
import sys
sys.path.insert(0, {tests!r})
from test_store import harvest, minute_row
from plumb.monitor.store import open_store

NOW = {now}                                   # the parent's: an hour may have turned since
path, writer = sys.argv[1], int(sys.argv[2])
for half in range(2):
    sys.stdin.readline()                      # the test releases each half
    with open_store(path, timeout_s=30) as store:   # the first half creates the file
        for i in range(30):
            store.write(harvest(f"{{writer}}-{{half}}-{{i}}", pid=writer, minute=NOW,
                                transactions=[minute_row(NOW, count=writer + 1)]))
    print("half", flush=True)
"""


def read_transactions(path):
    """`plumb transactions --json` on path: its rows' total count, or None
    when the file did not exist yet."""
    from test_store import NOW

    got = run_plumb("transactions", "--store", path, "--since", str(NOW - 60), "--until",
                    str(NOW + 3600), "--json")
    if got.returncode == 2 and "no store at" in got.stderr:
        return None
    assert got.returncode == 0, got.stderr
    return sum(r["count"] for r in json.loads(got.stdout))


def test_two_processes_creating_a_store_while_plumb_transactions_reads_it(tmp_path):
    path = str(tmp_path / "new.db")
    from test_store import NOW

    code = WRITER.format(tests=os.path.dirname(os.path.abspath(__file__)), now=NOW)
    writers = [subprocess.Popen([sys.executable, "-c", code, path, str(w)], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env_with_plumb())
               for w in range(2)]
    per_half = sum(30 * (w + 1) for w in range(2))
    try:
        for half in range(2):
            for writer in writers:
                writer.stdin.write("go\n")
                writer.stdin.flush()
            seen = [read_transactions(path) for _ in range(2)]     # while they write
            for writer in writers:
                assert writer.stdout.readline() == "half\n", writer.stderr.read()
            assert all(s is None or half * per_half <= s <= (half + 1) * per_half
                       for s in seen), seen
            assert read_transactions(path) == (half + 1) * per_half
    finally:
        for writer in writers:
            writer.stdin.close()
            writer.wait(60)
    assert all(w.returncode == 0 for w in writers)
    assert integrity(path) == [("ok",)]


# -- 8. hostile queue headers through gunicorn ---------------------------------------------------

HOSTILE = {
    "/huge": "t=" + "1" * 16384,
    "/garbage": "t=not a time;;==%%~!\\x00\t(",   # gunicorn refuses controls and non-ASCII
    "/nan": "t=nan",
    "/negative": "t=-1700000000",
    "/exponent": "t=1e309",
    "/dots": "t=1700000000.1.2",
    "/future": "t=9999999999",
}


def test_hostile_queue_headers_through_gunicorn_are_ignored(tmp_path):
    (tmp_path / "workerapp.py").write_text(WORKER_APP)
    url = f"sqlite:///{tmp_path}/monitor.db"
    env = env_with_plumb({"PLUMB_STORE": url})
    port = free_port()
    log = tmp_path / "access.log"
    # gunicorn itself refuses a header field over 8190 bytes by default.
    server = gunicorn(tmp_path, env, port, log, "--limit-request-field_size", "20000",
                      app="workerapp:app", workers=1, threads=2)
    try:
        wait_for_port(port, server)
        for path, value in HOSTILE.items():
            assert http_get(port, path, {"X-Request-Start": value})[0] == 200, path
            assert http_get(port, path + "/queue", {"X-Queue-Start": value})[0] == 200, path
        # One honest header: a proxy's stamp from a moment ago is counted.
        assert http_get(port, "/honest", {"X-Request-Start": f"t={time.time() - 0.01:.3f}"}
                        )[0] == 200
    finally:
        output = stop(server)
    assert server.returncode == 0, output
    rows = rows_by_name(url)
    for path in HOSTILE:
        for name in (path, path + "/queue"):
            assert rows[name]["count"] == 1 and rows[name]["queue_count"] == 0, (name, rows[name])
    assert rows["/honest"]["queue_count"] == 1
