"""plumb convert: collapsed stacks and pstats in, every format that keeps
their meaning out, each read back by its own reader (pstats, json,
callgrind_annotate), and refusals in one line."""
import cProfile
import json
import os
import pstats
import subprocess

from conftest import plumb

# py-spy's and plumb's frames, and Austin's (file:function:line after
# P<pid>;T<thread> markers), and a bare name as stackcollapse writes.
PYSPY = """\
main (app.py:10);handle (app.py:20);query (db.py:5) 30
main (app.py:10);handle (app.py:20) 10
main (app.py:10);render (tpl.py:7) 60
"""
AUSTIN = """\
P4242;T7f01;/srv/app.py:main:10;/srv/app.py:work:20 75
P4242;T7f02;/srv/app.py:worker:30 25
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_collapsed_to_every_stack_format(tmp_path):
    src = write(tmp_path, "in.folded", PYSPY)
    outs = {}
    for name in ("out.collapsed", "out.speedscope.json", "out.prof", "out.callgrind", "out.txt"):
        out = str(tmp_path / name)
        got = plumb("convert", src, "-o", out, "--rate", "100")
        assert got.returncode == 0, got.stderr
        outs[name] = out
    # The same stacks come back (order aside).
    assert sorted(open(outs["out.collapsed"]).read().splitlines()) == sorted(PYSPY.splitlines())
    sc = json.load(open(outs["out.speedscope.json"]))
    assert abs(sum(sum(p["weights"]) for p in sc["profiles"]) - 1.0) < 1e-9   # 100 samples at 100 Hz
    st = pstats.Stats(outs["out.prof"])
    assert abs(st.stats[("db.py", 5, "query")][2] - 0.30) < 1e-9          # own time
    assert abs(st.stats[("app.py", 20, "handle")][3] - 0.40) < 1e-9       # cumulative
    annotate = subprocess.run(["callgrind_annotate", outs["out.callgrind"]], capture_output=True,
                              text=True, check=True).stdout
    assert "1,000,000,000" in annotate and "PROGRAM TOTALS" in annotate
    tree = open(outs["out.txt"]).read()
    assert "render" in tree and "60.0%" in tree


def test_austin_threads(tmp_path):
    src = write(tmp_path, "austin.folded", AUSTIN)
    out = str(tmp_path / "out.speedscope.json")
    got = plumb("convert", src, "-o", out)
    assert got.returncode == 0, got.stderr
    sc = json.load(open(out))
    assert sorted(p["name"] for p in sc["profiles"]) == ["T7f01", "T7f02"]
    frames = {f["name"]: f for f in sc["shared"]["frames"]}
    assert frames["work"]["file"] == "/srv/app.py" and frames["work"]["line"] == 20


def test_pstats_to_callgrind_and_back(tmp_path):
    prof = str(tmp_path / "in.prof")
    cProfile.run("sorted(range(100), key=lambda x: -x)", prof)
    out = str(tmp_path / "out.callgrind")
    got = plumb("convert", prof, "-o", out)
    assert got.returncode == 0, got.stderr
    assert "PROGRAM TOTALS" in subprocess.run(["callgrind_annotate", out], capture_output=True,
                                              text=True, check=True).stdout
    again = str(tmp_path / "again.prof")
    got = plumb("convert", prof, "-o", again)
    assert got.returncode == 0 and pstats.Stats(again).stats == pstats.Stats(prof).stats


def test_refusals(tmp_path):
    prof = str(tmp_path / "in.prof")
    cProfile.run("len([])", prof)
    cases = [
        ([prof, "-o", str(tmp_path / "x.folded")], "holds callers and callees, not stacks"),
        ([write(tmp_path, "bad.folded", "a;b;c notanumber\n"), "-o", str(tmp_path / "y.prof")],
         "line 1: not a collapsed stack"),
        ([write(tmp_path, "empty.folded", ""), "-o", str(tmp_path / "z.prof")], "empty"),
        ([write(tmp_path, "x.callgrind", "# callgrind format\nevents: ns\n"), "-o",
          str(tmp_path / "w.prof")], "reading callgrind files is not supported"),
        ([str(tmp_path / "missing.prof"), "-o", str(tmp_path / "v.prof")], "No such file"),
        ([write(tmp_path, "big.folded", "a 99999999999999999\n"), "-o", str(tmp_path / "u.prof")],
         "line 1"),
    ]
    for args, words in cases:
        got = plumb("convert", *args)
        assert got.returncode == 2, (args, got.stdout, got.stderr)
        assert got.stderr.startswith("plumb: convert: ") and got.stderr.count("\n") == 1
        assert words in got.stderr, got.stderr
    assert not any(os.path.exists(tmp_path / n) for n in ("x.folded", "y.prof", "z.prof"))
