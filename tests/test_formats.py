"""The files plumb writes, read by their real readers: pstats and valgrind's
callgrind_annotate, with totals that agree with each other."""
import marshal
import pstats
import re
import shutil
import subprocess

import pytest

from conftest import plumb

PROGRAM = '''
class Shape:
    def __init__(self, n):
        self.n = n
    def area(self):
        return sum(i * i for i in range(self.n))

class Other:
    def __init__(self):          # a second __init__ in the same file
        self.shapes = [Shape(i) for i in range(50)]

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def main():
    o = Other()
    total = sum(s.area() for s in o.shapes)
    words = sorted(str(i) for i in range(500))
    fib(14)
    return total, len(words)

main()
'''

needs_annotate = pytest.mark.skipif(shutil.which("callgrind_annotate") is None,
                                    reason="callgrind_annotate (Debian's valgrind) is not installed")


def annotate(path, *options):
    # --auto=no: no annotated source lines, whose format is that of cost lines;
    # --threshold=100: every function, not only the top 99% of the cost.
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", *options, str(path)],
                         capture_output=True, cwd="/proc",   # it shortens paths under its cwd
                         text=True, check=True).stdout
    costs = {}
    total = None
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        value = int(m.group(1).replace(",", ""))
        if m.group(2).strip() == "PROGRAM TOTALS":
            total = value
        else:
            costs[m.group(2).strip()] = value
    return total, costs, out


@pytest.fixture
def both(tmp_path, script):
    """One run, written as pstats and callgrind from the same profile."""
    prog = script(PROGRAM, name="shapes.py")
    code = (
        "import plumb, runpy, sys\n"
        "prof = plumb.Profile()\n"
        "prof.enable()\n"
        f"runpy.run_path({prog!r})\n"
        "prof.disable()\n"
        f"prof.dump({str(tmp_path / 'p.prof')!r})\n"
        f"prof.dump({str(tmp_path / 'p.callgrind')!r})\n")
    from conftest import python
    result = python("-c", code)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "p.prof", "rb") as f:
        return prog, marshal.load(f), tmp_path / "p.callgrind"


@needs_annotate
def test_callgrind_annotate_totals_match_pstats(both):
    prog, stats, callgrind = both
    total, costs, out = annotate(callgrind)
    assert total is not None, out
    pstats_total_ns = sum(v[2] for v in stats.values()) * 1e9
    # Each function's cost is rounded to a whole nanosecond once.
    assert abs(total - pstats_total_ns) <= len(stats)
    assert sum(costs.values()) == total
    for (file, line, name), v in stats.items():
        label = f"{file}:{name}:{line}" if line else f"{file}:{name}"
        if round(v[2] * 1e9) > 0:
            assert abs(costs[label] - v[2] * 1e9) <= 1, label


@needs_annotate
def test_callgrind_inclusive_costs_match_cumtime(both):
    prog, stats, callgrind = both
    _, inclusive, out = annotate(callgrind, "--inclusive=yes")
    for name in ("main", "area"):
        (key,) = [k for k in stats if k[2] == name]
        label = f"{key[0]}:{name}:{key[1]}"
        assert abs(inclusive[label] - stats[key][3] * 1e9) <= len(stats), (label, out)


def test_callgrind_keeps_same_named_functions_apart(both):
    prog, stats, callgrind = both
    text = callgrind.read_text()
    inits = sorted(k[1] for k in stats if k[2] == "__init__" and k[0] == prog)
    assert len(inits) == 2
    for line in inits:
        assert re.search(rf"^c?fn=\(\d+\) __init__:{line}$", text, re.M)
    assert text.startswith("# callgrind format\nversion: 1\n")
    assert re.search(r"^events: ns$", text, re.M)


def test_pstats_file_reads_in_pstats(both):
    prog, stats, callgrind = both
    s = pstats.Stats(callgrind.with_suffix(".prof").as_posix())
    assert s.total_calls == sum(v[1] for v in stats.values())
    assert s.prim_calls == sum(v[0] for v in stats.values())


@needs_annotate
def test_odd_names_survive(tmp_path, script):
    prog = script('''
def f():
    return 1
f.__code__ = f.__code__.replace(co_name="naïve name\\nwith break")
def main():
    f()
main()
''', name="üñí côde.py")
    out = tmp_path / "odd.callgrind"
    assert plumb("run", "-o", str(out), prog).returncode == 0
    total, costs, text = annotate(out)
    assert total is not None
    assert any("naïve name with break" in label for label in costs), text
    pout = tmp_path / "odd.prof"
    assert plumb("run", "-o", str(pout), prog).returncode == 0
    assert any(k[2] == "naïve name\nwith break" and k[0].endswith("üñí côde.py")
               for k in pstats.Stats(str(pout)).stats)


def test_gprof2dot_reads_the_pstats_file(both):
    pytest.importorskip("gprof2dot", reason="gprof2dot is installed by `make setup`")
    import sys
    prog, stats, callgrind = both
    pstats_path = callgrind.with_suffix(".prof")
    out = subprocess.run([sys.executable, "-m", "gprof2dot", "-f", "pstats", "-n", "0", "-e", "0",
                          str(pstats_path)], capture_output=True, text=True, check=True).stdout
    assert out.startswith("digraph")
    for name in ("fib", "main"):
        (key,) = [k for k in stats if k[0] == prog and k[2] == name]
        assert f'label="shapes:{key[1]}:{name}' in out


def test_one_format_table_names_every_format():
    """The command line's choices and an output's format by name come from
    the C core's format table (_plumb.formats()), with the HTML report
    added by the Python layer."""
    from plumb import _plumb, formats

    table = _plumb.formats()
    names = [name for name, *_ in table]
    assert names == ["callgrind", "collapsed", "speedscope", "tree", "pprof", "json", "pstats"]
    assert formats.SAMPLE_FORMATS == tuple(names) + ("html",)
    assert set(formats.FORMATS) == {"callgrind", "json", "pstats", "html"}
    assert [name for name, _, _, gzipped, _ in table if gzipped] == ["pprof"]
    expected = {"out.callgrind": "callgrind", "callgrind.out.123": "callgrind",
                "s.folded": "collapsed", "s.collapsed": "collapsed",
                "s.speedscope.json": "speedscope", "t.txt": "tree", "p.pb.gz": "pprof",
                "p.pprof": "pprof", "x.json": "json", "r.html": "html", "r.htm": "html",
                "out.prof": "pstats", "noext": "pstats"}
    assert {path: formats.format_for_path(path) for path in expected} == expected


def test_stats_refuse_the_stack_formats(tmp_path, script):
    """A function-level profile holds callers and callees, not stacks: the
    table's stack writers refuse it in one line rather than invent them."""
    prof = tmp_path / "p.prof"
    assert plumb("run", "-o", str(prof), script("def f(): pass\nf()\n")).returncode == 0
    from plumb import Stats

    stats = Stats(str(prof))
    with pytest.raises(ValueError, match="callers and callees, not stacks"):
        stats.dump(str(tmp_path / "x.folded"), "collapsed")
    stats.dump(str(tmp_path / "x.html"), "html")
    assert "window.plumbReport" in (tmp_path / "x.html").read_text()
