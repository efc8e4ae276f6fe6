"""Which threads `plumb sample --pid` samples: --gil keeps only the thread
holding the GIL, --no-idle only the threads the kernel has running, on a
target of every installed CPython (tests/attach_programs/one_busy.py: the
main thread spins in spin(), two others wait, asleep and on a lock)."""
import threading
import time

import pytest

from conftest import plumb
from plumb import Sampler
from test_attach import finish, start, targets

WAITING = ("sleep_long", "wait_on_lock")


def leaves(path):
    """{innermost function: samples} of a collapsed file."""
    counts = {}
    for line in path.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        leaf = stack.split(";")[-1].split(" ")[0]
        counts[leaf] = counts.get(leaf, 0) + int(count)
    return counts


def sampled(pid, tmp_path, *options):
    out = tmp_path / "filtered.folded"
    done = plumb("sample", "--pid", str(pid), "--duration", "1", "--rate", "200", *options,
                 "-o", str(out))
    assert done.returncode == 0, done.stderr
    return leaves(out)


@pytest.mark.parametrize("python", targets())
def test_gil_and_no_idle_keep_only_the_busy_thread(python, tmp_path):
    proc = start(python, "one_busy.py", "60")
    try:
        assert proc.stdout.readline().strip() == "ready"
        every = sampled(proc.pid, tmp_path)
        assert every.get("spin") and all(every.get(f) for f in WAITING), every
        for option in ("--gil", "--no-idle"):
            only = sampled(proc.pid, tmp_path, option)
            assert set(only) == {"spin"}, (option, only)
    finally:
        finish(proc)


def test_gil_needs_a_pid(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("pass\n")
    done = plumb("sample", "--gil", str(prog))
    assert done.returncode == 2
    assert done.stderr.strip() == "plumb: sample: --gil needs --pid (it reads another process's GIL)"


def kernel_state(native_id):
    with open(f"/proc/self/task/{native_id}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def blocked_here(release):
    release.wait()


def spin_here(seconds):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def test_idle_false_in_process_leaves_a_blocked_thread_out():
    release = threading.Event()
    waiter = threading.Thread(target=blocked_here, args=(release,), daemon=True)
    waiter.start()
    try:
        deadline = time.monotonic() + 30
        while kernel_state(waiter.native_id) != "S" and time.monotonic() < deadline:
            time.sleep(0.01)
        with Sampler(rate=500, idle=False) as sampler:
            spin_here(0.3)
        leaves = {frames[-1][2] for _, _, frames, _ in sampler.stacks()}
        assert "spin_here" in leaves and "blocked_here" not in leaves, leaves
    finally:
        release.set()
        waiter.join()


def test_no_idle_is_an_option_of_plumb_sample_too(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("import time\ndef spin():\n    t = time.monotonic() + 0.3\n"
                    "    while time.monotonic() < t:\n        pass\nspin()\n")
    out = tmp_path / "own.folded"
    done = plumb("sample", "--no-idle", "-o", str(out), str(prog))
    assert done.returncode == 0, done.stderr
    assert leaves(out).get("spin"), out.read_text()
