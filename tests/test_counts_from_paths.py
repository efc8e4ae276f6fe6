"""A profile's function and caller numbers, derived from its call paths
(Profile(paths=True), the default), are the ones it counts per event
(paths=False): calls, primitive calls, tottime and cumtime, exactly.

Both runs use a timer that counts its own calls, so that two runs of the same
program see the same tick at each event and any difference in the numbers
is a difference in the accounting.  Each test program's main() runs in a
fresh interpreter (tests/counts_under.py's way: fixed string hashing, no
cyclic collector while it runs).  A program of this file also takes a
snapshot of the stats from deep inside a recursion, while frames are still
running, where the paths hold calls that have returned under calls that have
not.  Threads interleave differently from run to run, so they are left to
the C core's test of the same equality (tests/c/test_core.c,
test_counts_from_paths), which interleaves three.
"""
import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import env_with_plumb

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = sorted(glob.glob(os.path.join(HERE, "programs", "*.py")))

RUNNER = r"""
import gc, importlib.util, json, re, sys
import plumb

program, paths, builtins = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
ticks = [0]
def timer():
    ticks[0] += 1
    return float(ticks[0])

spec = importlib.util.spec_from_file_location("prog_under_test", program)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
prof = plumb.Profile(timer=timer, paths=paths, builtins=builtins)
mod.PROFILE = prof
gc.collect()
gc.disable()
prof.enable()
mod.main()
prof.disable()
gc.enable()
prof.create_stats()

def label(k):
    # Some built-ins are named after an object's repr, address and all.
    return [k[0], k[1], re.sub(" at 0x[0-9a-f]+", " at 0x?", k[2])]

def plain(stats):
    return sorted([label(k), list(v[:4]), sorted([label(c), list(n)] for c, n in v[4].items())]
                  for k, v in stats.items())

print(json.dumps({"final": plain(prof.stats),
                  "snapshots": [plain(s) for s in getattr(mod, "SNAPSHOTS", [])]}))
"""

# Recursion, mutual recursion, generators resumed from different callers,
# exceptions through frames, and snapshots while frames run.
RUNNING_PROGRAM = '''
SNAPSHOTS = []
PROFILE = None
FIVES = [0]

def snapshot():
    PROFILE.snapshot_stats()
    SNAPSHOTS.append(PROFILE.stats)

def fib(n):
    if n == 5:
        FIVES[0] += 1
        if FIVES[0] == 3:
            snapshot()
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def even(n):
    return True if n == 0 else odd(n - 1)

def odd(n):
    if n == 3:
        snapshot()
    return False if n == 0 else even(n - 1)

def gen(n):
    for i in range(n):
        yield helper(i)

def helper(i):
    return i * 2

def consume(g, k):
    return [next(g) for _ in range(k)]

def boom(n):
    if n == 0:
        raise ValueError("x")
    return boom(n - 1)

def catcher():
    try:
        boom(5)
    except ValueError:
        snapshot()

def main():
    fib(12)
    even(10)
    g = gen(10)
    consume(g, 3)
    list(g)
    for _ in range(3):
        catcher()
'''


def run(program, paths, builtins):
    env = env_with_plumb({"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"})
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, program, "1" if paths else "0", "1" if builtins else "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("builtins", [True, False], ids=["builtins", "no-builtins"])
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: os.path.basename(p)[:-3])
def test_paths_give_the_per_event_counts(program, builtins):
    from_paths = run(program, True, builtins)
    per_event = run(program, False, builtins)
    assert from_paths["final"], "nothing was profiled"
    assert from_paths == per_event


@pytest.mark.parametrize("builtins", [True, False], ids=["builtins", "no-builtins"])
def test_paths_give_the_per_event_counts_while_running(tmp_path, builtins):
    program = tmp_path / "running.py"
    program.write_text(RUNNING_PROGRAM)
    from_paths = run(str(program), True, builtins)
    per_event = run(str(program), False, builtins)
    snapshots = from_paths["snapshots"]
    assert len(snapshots) == 2 + 3
    # Inside fib, the snapshot has fib's calls that returned, every one of
    # them recursive, and no cumulative time: the outermost call runs on.
    fib = [counts for label, counts, _ in snapshots[0] if label[2] == "fib"]
    assert len(fib) == 1 and 0 < fib[0][1] < 465 and fib[0][0] == 0 and fib[0][3] == 0
    assert from_paths == per_event
