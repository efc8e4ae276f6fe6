"""Readers refuse numbers no profile can hold, not only bytes no format
holds: negative counts, more primitive calls than calls, times that are
negative or not finite, callers making more calls of a function than it
received.  Each such file is refused through the real command line in
one line with exit status 2, in every format that can carry such numbers;
and the real files that look close (recursion in cProfile, yappi's own
order of counts) are still read."""
import json
import marshal
import math
import subprocess
import sys

from conftest import plumb
from pprof_proto import profile as pprof_profile

F = ("app.py", 1, "f")
G = ("app.py", 5, "g")


def pstats_file(tmp_path, name, stats):
    path = tmp_path / name
    path.write_bytes(marshal.dumps(stats))
    return str(path)


def refused(got, *words):
    assert got.returncode == 2, (got.returncode, got.stdout, got.stderr)
    assert got.stderr.count("\n") == 1 and "Traceback" not in got.stderr, got.stderr
    for w in words:
        assert w in got.stderr, got.stderr
    return got.stderr


IMPOSSIBLE_PSTATS = {
    # What `plumb stats` used to print as "-1 function calls (-5 primitive
    # calls) in nan seconds".
    "negative-nan.prof": ({F: (-5, -1, math.nan, math.nan, {})}, "negative call count"),
    "nan-time.prof": ({F: (1, 1, math.nan, 0.5, {})}, "not a finite number"),
    "inf-time.prof": ({F: (1, 1, 0.1, math.inf, {})}, "not a finite number"),
    "negative-time.prof": ({F: (1, 1, -0.25, 0.5, {})}, "negative time"),
    # 5 primitive calls of 3, with no callers to have made the others.
    "prim-above-calls.prof": ({F: (5, 3, 0.1, 0.1, {})}, "more primitive calls than calls"),
    # A caller's (nc, cc, tt, ct) with cc above nc.
    "edge-prim-above-calls.prof": ({G: (1, 1, 0, 0, {}), F: (2, 2, 0.1, 0.1, {G: (2, 3, 0.1, 0.1)})},
                                   "more primitive calls than calls"),
    "edge-negative.prof": ({G: (1, 1, 0, 0, {}), F: (2, 2, 0.1, 0.1, {G: (-1, -1, 0.1, 0.1)})},
                           "negative call count"),
    # g called f 7 times, of f's 2 calls.
    "callers-exceed.prof": ({G: (1, 1, 0, 0, {}), F: (2, 2, 0.1, 0.1, {G: (7, 7, 0.1, 0.1)})},
                            "its callers made 7 calls of it, more than its 2"),
    # The profile module's bare counts, the same.
    "count-callers-exceed.prof": ({G: (1, 1, 0, 0, {}), F: (2, 2, 0.1, 0.1, {G: 9})},
                                  "its callers made 9 calls"),
}


def test_impossible_pstats_are_refused(tmp_path):
    for name, (stats, words) in IMPOSSIBLE_PSTATS.items():
        path = pstats_file(tmp_path, name, stats)
        for cmd in (("stats", path), ("convert", path, "-o", str(tmp_path / "out.callgrind"))):
            err = refused(plumb(*cmd), name, "at byte", words)
            assert "app.py:1(f)" in err, err
    # merge takes no half: nothing is written.
    bad = pstats_file(tmp_path, "bad.prof", IMPOSSIBLE_PSTATS["negative-nan.prof"][0])
    good = pstats_file(tmp_path, "good.prof", {G: (1, 1, 0.1, 0.1, {})})
    refused(plumb("merge", good, bad, "-o", str(tmp_path / "all.prof")), "bad.prof")
    assert not (tmp_path / "all.prof").exists()


def test_real_recursion_is_read(tmp_path):
    """cProfile's counts for f -> g -> f (mutual recursion) and for a
    function g calls twice while it runs: its callers' primitive calls add
    up to more than its own, and the file is still a real one."""
    prog = tmp_path / "prog.py"
    prog.write_text(
        "def f(n):\n    if n:\n        g(n - 1)\n        g(n - 1)\n"
        "def g(n):\n    f(n)\n"
        "f(4)\n")
    out = tmp_path / "rec.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(prog)], check=True,
                   timeout=60)
    stats = marshal.loads(out.read_bytes())
    (f,) = [k for k in stats if k[2] == "f"]
    cc, nc, _, _, callers = stats[f]
    assert cc < nc and sum(c[1] for c in callers.values()) > cc   # what the checks allow
    got = plumb("stats", str(out))
    assert got.returncode == 0, got.stderr
    assert f"{nc}/{cc}" in got.stdout


CALLGRIND = """\
# callgrind format
version: 1
creator: test
events: ns

fl=app.py
fn=main:1
1 100
cfn=f:5
calls={calls} 5
5 {cost}
fn=f:5
5 {own}
"""


def test_impossible_callgrind_is_refused(tmp_path):
    cases = {
        "negative-cost.callgrind": (dict(calls=1, cost=50, own=-7), "line 13: a negative cost"),
        "negative-call-cost.callgrind": (dict(calls=1, cost=-50, own=7), "line 11: a negative cost"),
        "negative-calls.callgrind": (dict(calls=-1, cost=50, own=7), "line 10: a negative call count"),
    }
    for name, (values, words) in cases.items():
        path = tmp_path / name
        path.write_text(CALLGRIND.format(**values))
        refused(plumb("stats", str(path)), name, words)
    ok = tmp_path / "ok.callgrind"
    ok.write_text(CALLGRIND.format(calls=1, cost=50, own=7))
    assert plumb("stats", str(ok)).returncode == 0


def real_json(tmp_path):
    """A plumb JSON profile made from a real cProfile file."""
    prof = str(tmp_path / "in.prof")
    prog = tmp_path / "prog.py"
    prog.write_text("sorted([3, 1, 2], key=lambda x: -x)\n")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", prof, str(prog)], check=True,
                   timeout=60)
    out = tmp_path / "in.json"
    got = plumb("convert", prof, "-o", str(out))
    assert got.returncode == 0, got.stderr
    return json.loads(out.read_text())


def test_impossible_json_is_refused(tmp_path):
    doc = real_json(tmp_path)
    assert plumb("stats", str(tmp_path / "in.json")).returncode == 0

    def case(name, change, words):
        d = json.loads(json.dumps(doc))
        change(d)
        path = tmp_path / name
        path.write_text(json.dumps(d))
        refused(plumb("stats", str(path)), name, words)

    def set_column(table, column, i, v):
        return lambda d: d[table][column].__setitem__(i, v)

    case("negative-own.json", set_column("stats", "own", 0, -1.0), "negative time")
    case("negative-total.json", set_column("stats", "total", 0, -1e-3), "negative time")
    def prim_above(d):
        # More primitive calls than its callers could explain in yappi's
        # order too (which needs the callers to have made calls - prim).
        d["stats"]["prim_calls"][0] = 10 * d["stats"]["calls"][0] + 10
    case("prim-above.json", prim_above, "more primitive calls")
    case("edge-negative.json", set_column("edges", "total", 0, -2.0), "negative time")

    def callers_exceed(d):
        callee = d["edges"]["callee"][0]
        d["edges"]["calls"][0] = d["edges"]["prim_calls"][0] = 10 ** 6
        # The callee's own entry keeps its few calls.
        assert d["stats"]["calls"][d["stats"]["function"].index(callee)] < 10 ** 6
    case("callers-exceed.json", callers_exceed, "its callers made 1000000 calls")


def test_impossible_samples_are_refused(tmp_path):
    cases = {
        "negative.folded": ("main (app.py:1);work (app.py:5) -5\n", "line 1: a negative sample count"),
        "negative.pb.gz": (pprof_profile([("samples", "count")], [(["main", "work"], [-3])]),
                           "a negative sample value"),
        "negative.speedscope.json": (json.dumps({
            "$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": {"frames": [{"name": "main"}]},
            "profiles": [{"type": "sampled", "name": "t", "unit": "seconds", "startValue": 0,
                          "endValue": 1, "samples": [[0]], "weights": [-1.5]}]}),
            "a negative sample weight"),
    }
    for name, (data, words) in cases.items():
        path = tmp_path / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
        for out in ("out.txt", "out.html"):
            refused(plumb("convert", str(path), "-o", str(tmp_path / out)), name, words)
        refused(plumb("view", str(path), "-o", str(tmp_path / "v.html")), words)
        assert not (tmp_path / "v.html").exists()


def code_label_file(consts):
    """A pstats file whose one function is named by a code object (as
    `python -m profile -o` names the script it ran), laid out as 3.11+
    marshals code, with the given marshalled constants."""
    import struct

    def z(text):
        return b"z" + bytes([len(text)]) + text

    code = (b"c" + struct.pack("<5i", 0, 0, 0, 1, 0) + b"s\0\0\0\0" + consts + b")\0" + b")\0"
            + b"s\0\0\0\0" + z(b"x.py") + z(b"f") + z(b"f") + struct.pack("<i", 7) + b"s\0\0\0\0"
            + b"s\0\0\0\0")
    label = b")\3" + z(b"profile") + b"i\0\0\0\0" + code
    value = b")\5" + b"i\1\0\0\0" * 2 + (b"g" + struct.pack("<d", 0.5)) * 2 + b"{0"
    return b"{" + label + value + b"0"


def test_code_object_labels_are_bounded(tmp_path):
    ok = tmp_path / "ok.prof"
    ok.write_bytes(code_label_file(b")\2N" + b"l\2\0\0\0\1\0\1\0"))
    got = plumb("stats", str(ok))
    assert got.returncode == 0, got.stderr
    assert 'profile:0(<code object f, file "x.py", line 7>)' in got.stdout
    deep = tmp_path / "deep.prof"
    deep.write_bytes(code_label_file(b")\1" * 5000 + b"N"))
    refused(plumb("stats", str(deep)), "deep.prof", "nested deeper than plumb reads")
    cut = tmp_path / "cut.prof"
    cut.write_bytes(code_label_file(b"(\xff\xff\xff\x7fN"))
    refused(plumb("stats", str(cut)), "cut.prof", "longer than the file")
    odd = tmp_path / "odd.prof"
    odd.write_bytes(code_label_file(b"?"))
    refused(plumb("stats", str(odd)), "odd.prof", "an object marshal does not write")
