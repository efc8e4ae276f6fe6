"""Attaching to running processes (plumb dump, plumb sample --pid) from the
suite's Python to targets of every installed CPython 3.9-3.13 (pyenv's,
shared builds) and Debian's /usr/bin/python3.11 (static), started here as
children, which ptrace_scope 1 (where Yama is on) lets a parent read."""
import glob
import json
import os
import pwd
import signal
import subprocess
import sys
import time

import pytest

from conftest import SUITE_MINOR, env_with_plumb, plumb

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "attach_programs")


def targets():
    """Every installed CPython as a target.  The attacher reads a target's
    memory by the target's version, whichever Python it runs under: the
    newest suite attaches to every target, each other suite to a target of
    its own version and to the static one only (tests/conftest.py leaves
    out the targets marked other_version_target elsewhere)."""
    found = []
    for minor in range(9, 14):
        paths = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python3")))
        if paths:
            other = f"3.{minor}" != SUITE_MINOR
            found.append(pytest.param(paths[-1], id=f"pyenv-3.{minor}",
                                      marks=pytest.mark.other_version_target if other else ()))
    if os.path.exists("/usr/bin/python3.11"):
        found.append(pytest.param("/usr/bin/python3.11", id="debian-3.11-static"))
    if not found:
        found.append(pytest.param(sys.executable, id="suite-python"))
    return found


def start(python, program, *args):
    """A target process with its stdin and stdout piped; its environment has
    no PYTHONPATH (it does not import plumb)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.Popen([python, os.path.join(PROGRAMS, program), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def finish(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.parametrize("python", targets())
def test_dump_prints_every_threads_stack_as_the_target_sees_it(python):
    proc = start(python, "barrier.py")
    try:
        seen = json.loads(proc.stdout.readline())
        done = plumb("dump", str(proc.pid), "--json")
        assert done.returncode == 0, done.stderr
        dumped = json.loads(done.stdout)
        assert dumped["pid"] == proc.pid
        by_id = {str(t["thread_id"]): t for t in dumped["threads"]}
        assert set(by_id) == set(seen)
        for ident, own in seen.items():
            frames = by_id[ident]["frames"]
            assert by_id[ident]["name"] == own["name"]
            assert [f["function"] for f in frames] == own["functions"], own["name"]
            assert [f["line"] for f in frames] == own["lines"], own["name"]
        names = {own["name"] for own in seen.values()}
        by_name = {own["name"]: int(ident) for ident, own in seen.items()}
        assert {"worker-a", "worker-b", "wörker-ç-日本", "MainThread"} <= names
        native = [t["native_id"] for t in dumped["threads"]]
        assert proc.pid in native and len(set(native)) == 4
        text = plumb("dump", str(proc.pid))
        assert text.returncode == 0 and "middle_a" in text.stdout and "report" in text.stdout
        assert "'worker-a'" in text.stdout and "'wörker-ç-日本'" in text.stdout
        assert "barrier.py:%d)" % seen[str(by_name["worker-a"])]["lines"][-3] in text.stdout
    finally:
        proc.stdin.close()
        finish(proc)


def test_a_thread_whose_name_cannot_be_read_is_shown_with_its_os_name():
    # No threading module imported: the names are nowhere to be read.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-S", "-c",
                             "import sys; print('threading' in sys.modules, flush=True); "
                             "sys.stdin.readline()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        if proc.stdout.readline().strip() != "False":
            pytest.skip("this Python imports threading at start-up")
        done = plumb("dump", str(proc.pid), "--json")
        assert done.returncode == 0, done.stderr
        (thread,) = json.loads(done.stdout)["threads"]
        assert thread["name"] is None and thread["os_name"]
        text = plumb("dump", str(proc.pid))
        assert f"threading name not read, os name {thread['os_name']!r}" in text.stdout
    finally:
        proc.stdin.close()
        finish(proc)


def shares(folded):
    """Each of the split's functions' share of the samples in a collapsed file."""
    counts = {"three_quarters": 0, "one_quarter": 0}
    for line in folded.splitlines():
        stack, count = line.rsplit(" ", 1)
        leaf = stack.split(";")[-1].split(" ")[0]
        if leaf in counts:
            counts[leaf] += int(count)
    total = sum(counts.values())
    assert total >= 40, counts     # ten rounds: the split is the same in every round
    return {k: v / total for k, v in counts.items()}


@pytest.mark.parametrize("python", targets())
def test_sampled_shares_of_a_known_split(python, tmp_path):
    # A split of threads, not of time: how late this host wakes a thread
    # must not move it (the split of time is benchmarks/attach.py's).
    proc = start(python, "threads_split.py")
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = tmp_path / "split.folded"
        done = plumb("sample", "--pid", str(proc.pid), "--duration", "2", "-o", str(out))
        assert done.returncode == 0, done.stderr
        got = shares(out.read_text())
        assert abs(got["three_quarters"] - 0.75) <= 0.03, got
    finally:
        finish(proc)


def test_a_target_exiting_mid_run_gives_the_profile_so_far(tmp_path):
    proc = start(sys.executable, "split.py", "1.5")
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = tmp_path / "partial.folded"
        done = plumb("sample", "--pid", str(proc.pid), "--duration", "60", "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert f"process {proc.pid} exited" in done.stderr
        assert "three_quarters" in out.read_text()
    finally:
        finish(proc)


def test_sigterm_writes_the_profile(tmp_path):
    proc = start(sys.executable, "split.py", "30")
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = tmp_path / "stopped.folded"
        sampler = subprocess.Popen([sys.executable, "-m", "plumb", "sample", "--pid",
                                    str(proc.pid), "-o", str(out)], env=env_with_plumb(),
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        # Waits until it samples (its summary is written only at the end).
        while time.monotonic() < deadline and not os.path.exists(f"/proc/{sampler.pid}/task"):
            time.sleep(0.05)
        time.sleep(1.0)
        sampler.send_signal(signal.SIGTERM)
        _, err = sampler.communicate(timeout=30)
        assert sampler.returncode == 0, err
        assert "three_quarters" in out.read_text()
    finally:
        finish(proc)


def refused(*args):
    done = plumb(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_process_that_is_not_python_is_refused():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.2)
        assert "is not a Python process" in refused("dump", str(proc.pid))
        assert "is not a Python process" in refused("sample", "--pid", str(proc.pid))
    finally:
        finish(proc)


def test_a_vanished_process_is_refused():
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert f"no process {proc.pid}" in refused("dump", str(proc.pid))
    assert "not a process id" in refused("dump", "0")


def test_an_unprivileged_user_attaching_to_root_is_refused():
    if os.geteuid() != 0:
        pytest.skip("needs root to start a root target and drop to another user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    proc = start(sys.executable, "split.py", "30")
    try:
        assert proc.stdout.readline().strip() == "ready"

        # plumb is imported as root (nobody may not read the venv), then the
        # process becomes nobody before it attaches.
        # `plumb dump`'s own function is called (the command line's parser
        # would import more after the drop).
        code = ("import os, sys, json, plumb.attach; "
                f"os.setgid({nobody.pw_gid}); os.setuid({nobody.pw_uid}); "
                f"sys.exit(plumb.attach.dump_process({proc.pid}))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env_with_plumb(), cwd="/")
        assert done.returncode == 2, done.stderr
        line = done.stderr.strip()
        assert "not permitted" in line and "CAP_SYS_PTRACE" in line and "SYS_PTRACE" in line
        assert "ptrace_scope" in line
    finally:
        finish(proc)
