"""`plumb sample --pid PID --subprocesses`: a gunicorn master and its
workers as they come and go, one profile with each stack under its process;
a child that is not Python passed over; the flag refused without --pid."""
import os
import pstats
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import default_signals, env_with_plumb, free_port, plumb, wait_for_port
from test_attach import finish, start

APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def gunicorn_available():
    return subprocess.run([sys.executable, "-c", "import gunicorn"],
                          capture_output=True).returncode == 0


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def wait_until(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def read_until(stream, wanted, seen):
    """Lines of stream (the sampler's stderr) into seen until wanted is one."""
    while wanted not in seen:
        line = stream.readline()
        if not line:
            pytest.fail(f"the sampler ended before saying {wanted!r}: {seen}")
        seen.append(line.strip())


def roots(folded):
    """{process pid: samples} of a --subprocesses collapsed file."""
    found = {}
    for line in folded.splitlines():
        stack, count = line.rsplit(" ", 1)
        root = stack.split(";")[0]
        assert root.startswith("process "), line
        pid = int(root.split()[1])
        found[pid] = found.get(pid, 0) + int(count)
    return found


@pytest.mark.skipif(not gunicorn_available(), reason="gunicorn is not installed")
def test_a_gunicorn_master_and_its_workers_as_they_come_and_go(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"],
        cwd=tmp_path, env=env_with_plumb(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, preexec_fn=default_signals)
    out = tmp_path / "family.folded"
    sampler = None
    try:
        wait_for_port(port, server)
        first = wait_until(lambda: len(children(server.pid)) == 2 and children(server.pid),
                           "two workers")
        sampler = subprocess.Popen(
            [sys.executable, "-m", "plumb", "sample", "--pid", str(server.pid), "--subprocesses",
             "--rate", "200", "-o", str(out)],
            env=env_with_plumb(), stderr=subprocess.PIPE, text=True)
        # Should a line never come, the sampler is killed and read_until fails
        # at its end of file instead of waiting for ever.
        watchdog = threading.Timer(120, sampler.kill)
        watchdog.start()
        said = []
        for pid in [server.pid] + first:
            read_until(sampler.stderr, f"plumb: following process {pid}", said)
        # A worker killed: the master starts another, which is followed too.
        os.kill(first[0], signal.SIGKILL)
        read_until(sampler.stderr, f"plumb: process {first[0]} exited", said)
        new = wait_until(lambda: [p for p in children(server.pid) if p not in first],
                         "a new worker")[0]
        read_until(sampler.stderr, f"plumb: following process {new}", said)
        sampler.send_signal(signal.SIGTERM)
        _, rest = sampler.communicate(timeout=60)
        assert sampler.returncode == 0, rest
    finally:
        if sampler is not None:
            watchdog.cancel()
        if sampler is not None and sampler.poll() is None:
            sampler.kill()
            sampler.wait()
        server.terminate()
        server.wait(timeout=60)
    sampled = roots(out.read_text())
    # The killed worker and the new one may have been followed too briefly
    # for a sample (that they were followed, their lines above say); the
    # master and the worker that lived throughout were sampled all along.
    assert {server.pid, first[1]} <= set(sampled) <= {server.pid, *first, new}, sampled
    text = out.read_text()
    # A worker's stacks are gunicorn's worker loop, under its own process.
    for pid in (first[1],):
        assert any(line.startswith(f"process {pid} [") and "gunicorn/workers/" in line
                   for line in text.splitlines()), (pid, text[:2000])


def test_a_child_that_is_not_python_is_passed_over(tmp_path):
    program = tmp_path / "parent.py"
    program.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '600'])\n"
        "print(child.pid, flush=True)\n"
        "def parked():\n"
        "    time.sleep(600)\n"
        "try:\n"
        "    parked()\n"
        "finally:\n"
        "    child.kill()\n")
    proc = subprocess.Popen([sys.executable, str(program)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(proc.stdout.readline())
        out = tmp_path / "family.prof"
        done = plumb("sample", "--pid", str(proc.pid), "--subprocesses", "--duration", "1",
                     "--rate", "100", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert f"following process {proc.pid}" in done.stderr
        assert f"following process {child}" not in done.stderr
        # Written as pstats through the collapsed stacks: pstats reads it,
        # with the process as the outermost function.
        functions = {name for _, _, name in pstats.Stats(str(out)).stats}
        assert "parked" in functions
        assert any(name.startswith(f"process {proc.pid} [") for name in functions), functions
    finally:
        finish(proc)


def test_subprocesses_needs_pid(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("pass\n")
    done = plumb("sample", "--subprocesses", str(script))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "--subprocesses needs --pid" in done.stderr


def test_a_process_that_is_not_python_is_refused():
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        done = plumb("sample", "--pid", str(sleeper.pid), "--subprocesses", "--duration", "1")
        assert done.returncode == 2
        assert done.stderr.strip().count("\n") == 0, done.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_known_split_under_its_process(tmp_path):
    proc = start(sys.executable, "threads_split.py")
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = tmp_path / "split.folded"
        done = plumb("sample", "--pid", str(proc.pid), "--subprocesses", "--duration", "1",
                     "-o", str(out))
        assert done.returncode == 0, done.stderr
        text = out.read_text()
        assert set(roots(text)) == {proc.pid}
        assert "three_quarters" in text and "one_quarter" in text
    finally:
        finish(proc)

