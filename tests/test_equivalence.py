"""plumb.Profile must count exactly what cProfile.Profile counts.

For every program in tests/programs/ and for builtins on and off, the
program's main() is profiled in a fresh interpreter (this one's
sys.executable) once by cProfile and once by plumb (tests/counts_under.py),
and the two sets of counts must be identical: for every function its
(primitive calls, calls), for every caller edge its (calls, primitive calls).
Both runs happen on the same interpreter, so wherever cProfile's own answer
differs between Python versions (generators and coroutines under
sys.monitoring on 3.12+ versus the profile hook before, comprehensions
inlined on 3.12+, ...) plumb has to follow it.

Times cannot be compared between two runs, but plumb's own times must obey
the accounting invariants: no negative tottime, cumtime >= tottime for a
function that was never re-entered, and the time of the top-level call
(main) equals the sum of every function's tottime.
"""
import functools
import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import PLUMB_DIR, env_with_plumb

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
COUNTS_UNDER = os.path.join(HERE, "counts_under.py")
PROGRAMS_DIR = os.path.join(HERE, "programs")
# Functions that share a pstats label are one function to plumb (their
# counts add up, as pstats.Stats.add adds them across files); cProfile keeps
# the counts of whichever code object it lists last, an order that follows
# memory addresses.  That program is checked against counts known by
# construction instead (test_same_label_functions_add_up).
SAME_LABEL_PROGRAM = os.path.join(PROGRAMS_DIR, "same_line_functions.py")
PROGRAMS = sorted(p for p in glob.glob(os.path.join(PROGRAMS_DIR, "*.py"))
                  if p != SAME_LABEL_PROGRAM)

# Slack for float rounding when comparing times derived from integer ticks.
EPSILON = 1e-6
# main's cumtime vs the sum of tottimes: within 5% or 2 ms, whichever is larger.
SUM_RELATIVE = 0.05
SUM_ABSOLUTE = 0.002


def _env():
    env = {}
    # Fixed string hashing: a set or dict of strings iterates in the same
    # order in both runs.
    env["PYTHONHASHSEED"] = "0"
    # Keep tests/programs free of __pycache__.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The plumb under test, as every test finds it (conftest.py).
    return env_with_plumb(env)


@functools.lru_cache(maxsize=None)
def run_counts(profiler, program, builtins):
    cmd = [sys.executable, COUNTS_UNDER, profiler, program]
    if not builtins:
        cmd.append("--no-builtins")
    if profiler == "plumb":
        cmd.append("--times")
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(
            "%s failed (exit status %d):\n%s" % (" ".join(cmd), proc.returncode, proc.stderr)
        )
    return json.loads(proc.stdout)


def _short(key):
    """A key for display: paths inside the repository made relative."""
    prefix = REPO_ROOT + os.sep
    return key[len(prefix):] if key.startswith(prefix) else key


def describe_differences(expected, actual, expected_name="cProfile", actual_name="plumb"):
    """A readable account of the functions whose counts or callers differ."""
    lines = []
    width = max(len(expected_name), len(actual_name))
    for key in sorted(set(expected) | set(actual)):
        e = expected.get(key)
        a = actual.get(key)
        if e == a:
            continue
        lines.append(_short(key))
        if e is None or a is None:
            present, name = (a, actual_name) if e is None else (e, expected_name)
            lines.append("    only in %s: calls (primitive, total) = %s" % (name, tuple(present["calls"])))
            for caller, counts in present["callers"].items():
                lines.append("        <- %s  %s" % (_short(caller), tuple(counts)))
            continue
        if e["calls"] != a["calls"]:
            lines.append("    calls (primitive, total):")
            lines.append("        %-*s %s" % (width, expected_name, tuple(e["calls"])))
            lines.append("        %-*s %s" % (width, actual_name, tuple(a["calls"])))
        for caller in sorted(set(e["callers"]) | set(a["callers"])):
            ec = e["callers"].get(caller)
            ac = a["callers"].get(caller)
            if ec != ac:
                lines.append(
                    "    <- %s  (calls, primitive): %s %s, %s %s"
                    % (
                        _short(caller),
                        expected_name, tuple(ec) if ec else "absent",
                        actual_name, tuple(ac) if ac else "absent",
                    )
                )
    return "\n".join(lines)


def _ids(program):
    return os.path.splitext(os.path.basename(program))[0]


program_param = pytest.mark.parametrize("program", PROGRAMS, ids=_ids)
builtins_param = pytest.mark.parametrize("builtins", [True, False], ids=["builtins", "no-builtins"])


def test_there_are_programs():
    assert len(PROGRAMS) >= 5, PROGRAMS


def test_plumb_is_the_package_in_this_repository():
    result = run_counts("plumb", PROGRAMS[0], True)
    assert result["profiler_location"] == PLUMB_DIR


@program_param
@builtins_param
def test_program_is_deterministic_under_cprofile(program, builtins):
    # A harness check: if cProfile does not count a program the same way
    # twice, the program (not plumb) is at fault.
    first = run_counts("cprofile", program, builtins)
    second = run_counts.__wrapped__("cprofile", program, builtins)
    diff = describe_differences(first["functions"], second["functions"], "run 1", "run 2")
    assert first["functions"] == second["functions"], (
        "the program is not deterministic under cProfile:\n" + diff
    )


@program_param
@builtins_param
def test_counts_match_cprofile(program, builtins):
    expected = run_counts("cprofile", program, builtins)
    actual = run_counts("plumb", program, builtins)
    assert expected["main"] in expected["functions"]
    # The exclusion rule must never hide the program's own functions.
    for result in (expected, actual):
        hidden = [k for k in result["excluded"] if k.startswith(PROGRAMS_DIR + os.sep)]
        assert not hidden, (result["profiler"], hidden)
    if expected["functions"] != actual["functions"]:
        pytest.fail(
            "plumb's counts differ from cProfile's for %s (builtins=%s) on Python %s:\n%s"
            % (
                os.path.basename(program), builtins, sys.version.split()[0],
                describe_differences(expected["functions"], actual["functions"]),
            ),
            pytrace=False,
        )


@program_param
@builtins_param
def test_plumb_time_invariants(program, builtins):
    result = run_counts("plumb", program, builtins)
    functions = result["functions"]
    times = result["times"]
    problems = []
    for key, t in times.items():
        primitive, calls = functions[key]["calls"]
        if t["tottime"] < 0:
            problems.append("%s: tottime %r < 0" % (_short(key), t["tottime"]))
        if primitive == calls and t["cumtime"] < t["tottime"] - EPSILON:
            problems.append(
                "%s: cumtime %r < tottime %r (not recursive)" % (_short(key), t["cumtime"], t["tottime"])
            )
        for caller, (tt, ct) in t["callers"].items():
            if tt < 0:
                problems.append("%s <- %s: edge tottime %r < 0" % (_short(key), _short(caller), tt))
    assert not problems, "\n".join(problems)

    main = result["main"]
    assert main in times, "main() is missing from plumb's stats"
    main_cumtime = times[main]["cumtime"]
    total_tottime = sum(t["tottime"] for t in times.values())
    tolerance = max(SUM_RELATIVE * main_cumtime, SUM_ABSOLUTE)
    assert abs(main_cumtime - total_tottime) <= tolerance, (
        "main() cumtime %.6f s but the tottimes add up to %.6f s (tolerance %.6f s)"
        % (main_cumtime, total_tottime, tolerance)
    )


@builtins_param
def test_same_label_functions_add_up(builtins):
    functions = run_counts("plumb", SAME_LABEL_PROGRAM, builtins)["functions"]
    by_name = {}
    for key, value in functions.items():
        if key.startswith(SAME_LABEL_PROGRAM + ":"):
            by_name[key.rsplit("(", 1)[1].rstrip(")")] = value["calls"]
    # Two lambdas on one line, each called 3 times: one function, 6 calls.
    assert by_name["<lambda>"] == [6, 6]
    # One code object behind four function objects: 4 calls.
    assert by_name["inner"] == [4, 4]
    # leaf: 6 from the lambdas, 4 from the comprehensions, 4 from inner.
    assert by_name["leaf"] == [14, 14]
