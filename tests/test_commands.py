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
