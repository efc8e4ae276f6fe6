"""plumb diff, stats and merge on what issue 12 found: moved functions,
every format plumb reads, runprofileserver's folders."""
import os
import sys

import pytest

from conftest import plumb

SLOW = """
def slow(n):
    return sum(range(n))
for _ in range({calls}):
    slow(20000)
"""


def test_diff_matches_a_function_whose_line_moved(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(SLOW.format(calls=2))
    assert plumb("run", "-o", str(tmp_path / "before.prof"), str(prog)).returncode == 0
    prog.write_text("import os\nimport sys\n" + SLOW.format(calls=4))
    assert plumb("run", "-o", str(tmp_path / "after.prof"), str(prog)).returncode == 0
    got = plumb("diff", str(tmp_path / "before.prof"), str(tmp_path / "after.prof"), "-s", "calls")
    assert got.returncode == 0, got.stderr
    rows = [line for line in got.stdout.splitlines() if "(slow)" in line]
    assert len(rows) == 1, got.stdout
    assert "2 -> 4" in rows[0] and "+2" in rows[0]
    assert "(new)" not in rows[0] and "(gone)" not in rows[0]
    assert "(line 2 before)" in rows[0]


@pytest.mark.parametrize("name", ["s.folded", "s.speedscope.json", "s.pb.gz", "s.json",
                                  "s.callgrind"])
def test_stats_reads_every_format_plumb_writes(tmp_path, name):
    # The sampled profile is made from known stacks (a sampler's run of a
    # short program may get no round at all on a loaded host), then written
    # by plumb in each format.
    stacks = tmp_path / "in.folded"
    stacks.write_text(f"<module> ({tmp_path}/prog.py:1);slow ({tmp_path}/prog.py:3) 97\n"
                      f"<module> ({tmp_path}/prog.py:1) 3\n")
    out = str(tmp_path / name)
    r = plumb("convert", str(stacks), "-o", out, "--rate", "2000")
    assert r.returncode == 0, r.stderr
    got = plumb("stats", out)
    assert got.returncode == 0, got.stderr
    assert "(slow)" in got.stdout
    got = plumb("merge", out, out, "-o", str(tmp_path / "sum.prof"))
    assert got.returncode == 0, got.stderr
    assert "(slow)" in plumb("stats", str(tmp_path / "sum.prof")).stdout


@pytest.mark.parametrize("command", [("stats",), ("convert", "-o", "out.prof"), ("view",)])
def test_a_transaction_trace_is_refused_in_one_line(tmp_path, command):
    trace = tmp_path / "root.000001ms.1.trace.json"
    trace.write_text('{"plumb_trace":1,"method":"GET","path":"/","segments":[]}')
    got = plumb(command[0], str(trace), *command[1:], cwd=str(tmp_path))
    assert got.returncode == 2
    assert got.stderr.count("\n") == 1 and "transaction trace" in got.stderr, got.stderr
    assert got.stderr.count(str(trace)) == 1


SPIN = """
import time
def spin():
    t = time.perf_counter()
    while time.perf_counter() - t < 0.2:
        pass
spin()
"""


@pytest.mark.parametrize("module", [False, True])
def test_sampled_stacks_start_at_the_program(tmp_path, module):
    (tmp_path / "spinner.py").write_text(SPIN)
    target = ["-m", "spinner"] if module else [str(tmp_path / "spinner.py")]
    got = plumb("sample", *target, cwd=str(tmp_path))
    assert got.returncode == 0, got.stderr
    # python's start-up (runpy's _run_module_as_main) and plumb's frames are
    # outside the program; -m runs it through runpy.run_module, as the
    # deterministic profile shows too.
    assert "_run_module_as_main" not in got.stdout
    assert "plumb" not in got.stdout.replace("plumb sample", "")
    tree = [line for line in got.stdout.splitlines() if "%" in line]
    assert ("run_module" if module else "<module>") in tree[0], got.stdout
    # The summary once: the printed tree's first line, not again on stderr.
    assert (got.stdout + got.stderr).count("taken") == 1
    folded = tmp_path / "s.folded"
    got = plumb("sample", "-o", str(folded), *target, cwd=str(tmp_path))
    assert got.stderr.count("samples taken") == 1
    for line in folded.read_text().splitlines():
        assert not line.startswith(("_run_module_as_main", "<module> (" + sys.executable)), line


def test_layers_import_downward_only():
    import subprocess

    from conftest import env_with_plumb

    code = ("import sys, plumb, plumb.runner, plumb.commands, plumb.web\n"
            "print('plumb.cli' in sys.modules)\n"
            "from plumb import cli, commands, errors, runner\n"
            "print(cli.UsageError is errors.UsageError is runner.UsageError "
            "is commands.UsageError)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env_with_plumb())
    assert r.stdout.split() == ["False", "True"], r.stderr
