"""`plumb top PID`: drawn in a detached tmux session (an 80x24 terminal the
test reads with capture-pane), re-sorted by a key, quit with q, the
terminal restored; stopped by SIGTERM and by the target's exit; refused as
`plumb sample --pid` refuses; --once and a missing terminal without tmux.
The target is tests/attach_programs/one_busy.py (one spinning thread, two
waiting), run by the suite's Python: attaching to every version is
test_attach.py's."""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import env_with_plumb, plumb
from test_attach import finish, start

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (scripts/system-deps.sh --test installs it)")
# The view's rows: "  OWN%  TOTAL%    OWN s  TOTAL s  FUNCTION (FILE:LINE)".
ROW = re.compile(r"^\s*(\d+\.\d)\s+(\d+\.\d)\s+\d+\.\d\d\s+\d+\.\d\d\s+(\S+) \(")
# What the pane's shell prints once plumb top has ended: its status, and
# whether the terminal is back in its usual (canonical, echoing) mode.
AFTER = ('echo "plumb top exited with status $?"; '
         'stty -a | tr " ;" "\\n\\n" | grep -x -e -icanon -e icanon -e -echo -e echo; '
         'exec sleep 600')


class Pane:
    """A detached tmux session of its own server, running one command."""

    def __init__(self, tmp_path, command):
        self.socket = str(tmp_path / "tmux.sock")
        env = env_with_plumb()
        setting = f"env PYTHONPATH={shlex.quote(env.get('PYTHONPATH', ''))} "
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "top",
                  f"{setting}{command}; {AFTER}")

    def tmux(self, *args):
        return subprocess.run([TMUX, "-S", self.socket, *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def text(self):
        return self.tmux("capture-pane", "-p", "-t", "top")

    def wait_for(self, seen, what, timeout=60):
        """The pane's text once seen(text) holds (polled; the timeout is
        only a bound on a broken run)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if seen(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not seen in {timeout} s; the pane:\n{text}")
            time.sleep(0.1)

    def send(self, key):
        self.tmux("send-keys", "-t", "top", key)

    def plumb_pid(self):
        """plumb top's pid: the pane's shell's child."""
        shell = int(self.tmux("display-message", "-p", "-t", "top", "#{pane_pid}").strip())
        with open(f"/proc/{shell}/task/{shell}/children") as f:
            return int(f.read().split()[0])

    def close(self):
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True, timeout=30)


def rows(text):
    """[(own %, total %, function)] of the view's table, top to bottom."""
    found = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            found.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    return found


def restored(text):
    """The shell's report: plumb top's status and the terminal's mode."""
    lines = text.splitlines()
    return ("plumb top exited with status 0" in text and "icanon" in lines
            and "echo" in lines and "-icanon" not in lines and "-echo" not in lines)


def top_command(pid, *options):
    return " ".join(shlex.quote(a) for a in (sys.executable, "-m", "plumb", "top", str(pid),
                                             "--interval", "0.5", *options))


@pytest.fixture
def target():
    proc = start(sys.executable, "one_busy.py", "120")
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    finish(proc)


@needs_tmux
def test_top_draws_resorts_on_a_key_and_quits_on_q(tmp_path, target):
    pane = Pane(tmp_path, top_command(target.pid))
    try:
        text = pane.wait_for(lambda t: "spin (" in t and "sorted by own" in t, "spin, by own")
        assert f"pid {target.pid}" in text and "Python 3." in text
        assert "o: sort by own" in text and "q: quit" in text
        by_own = rows(text)
        assert [r[0] for r in by_own] == sorted((r[0] for r in by_own), reverse=True), text
        pane.send("t")
        text = pane.wait_for(lambda t: "sorted by total" in t and rows(t), "sorted by total")
        by_total = rows(text)
        assert [r[1] for r in by_total] == sorted((r[1] for r in by_total), reverse=True), text
        # The threads' shared frames (_bootstrap...) lead by total, a leaf by own.
        assert by_total[0][2] != by_own[0][2] and by_own[0][0] > 0 and by_total[0][0] == 0
        pane.send("o")
        pane.wait_for(lambda t: "sorted by own" in t, "sorted by own again")
        pane.send("q")
        text = pane.wait_for(restored, "the exit and the terminal restored")
        assert pane.tmux("display-message", "-p", "-t", "top", "#{alternate_on}").strip() == "0"
    finally:
        pane.close()


@needs_tmux
def test_top_stops_on_sigterm_with_the_terminal_restored(tmp_path, target):
    pane = Pane(tmp_path, top_command(target.pid))
    try:
        pane.wait_for(lambda t: "spin (" in t, "spin")
        os.kill(pane.plumb_pid(), signal.SIGTERM)
        pane.wait_for(restored, "the exit and the terminal restored")
    finally:
        pane.close()


@needs_tmux
def test_top_says_when_the_target_exits_and_stops(tmp_path):
    proc = start(sys.executable, "one_busy.py", "3")
    try:
        assert proc.stdout.readline().strip() == "ready"
        pane = Pane(tmp_path, top_command(proc.pid))
        try:
            text = pane.wait_for(restored, "the exit", timeout=90)
            assert f"plumb: process {proc.pid} exited" in text
            assert "spin (" in text   # the last view, printed as text
        finally:
            pane.close()
    finally:
        finish(proc)


def test_top_needs_a_terminal_or_once(target):
    done = plumb("top", str(target.pid))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "plumb: top: needs a terminal (stdin and stdout); --once prints one view as text"]
    done = plumb("top", str(target.pid), "--once", "--interval", "0.5")
    assert done.returncode == 0, done.stderr
    assert f"pid {target.pid}" in done.stdout and "sorted by own" in done.stdout
    functions = [r[2] for r in rows(done.stdout)]
    assert {"spin", "sleep_long", "wait_on_lock"} <= set(functions), done.stdout
    done = plumb("top", str(target.pid), "--once", "--interval", "0.5", "--no-idle")
    assert done.returncode == 0, done.stderr
    leaves = {r[2] for r in rows(done.stdout) if r[0] > 0}
    assert leaves == {"spin"}, done.stdout


def test_top_refuses_as_sample_does():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.2)
        done = plumb("top", str(proc.pid), "--once")
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
        assert "is not a Python process" in done.stderr
    finally:
        finish(proc)
    done = plumb("top", str(proc.pid), "--once")
    assert done.returncode == 2 and f"no process {proc.pid}" in done.stderr
