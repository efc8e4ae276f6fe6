"""plumb diff, stats and merge on what issue 12 found: moved functions,
every format plumb reads, runprofileserver's folders."""
import os

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


WORK = """
def slow():
    return sum(range(300000))
for _ in range(5):
    slow()
"""


@pytest.mark.parametrize("name", ["s.folded", "s.speedscope.json", "s.pb.gz", "s.json",
                                  "s.callgrind"])
def test_stats_reads_every_format_plumb_writes(tmp_path, name):
    prog = tmp_path / "prog.py"
    prog.write_text(WORK)
    out = str(tmp_path / name)
    r = plumb("sample", "--rate", "2000", "-o", out, str(prog))
    assert r.returncode == 0, r.stderr
    got = plumb("stats", out)
    assert got.returncode == 0, got.stderr
    assert "(slow)" in got.stdout
    got = plumb("merge", out, out, "-o", str(tmp_path / "sum.prof"))
    assert got.returncode == 0, got.stderr
    assert "(slow)" in plumb("stats", str(tmp_path / "sum.prof")).stdout


def test_stats_refuses_a_transaction_trace_in_one_line(tmp_path):
    trace = tmp_path / "root.000001ms.1.trace.json"
    trace.write_text('{"plumb_trace":1,"method":"GET","path":"/","segments":[]}')
    got = plumb("stats", str(trace))
    assert got.returncode == 2
    assert got.stderr.count("\n") == 1 and "transaction trace" in got.stderr
    assert got.stderr.count(str(trace)) == 1
