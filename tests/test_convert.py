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
          str(tmp_path / "w.prof")], "no functions"),
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


def read_protobuf(data):
    """A minimal protobuf reader for the test: {field: [values]}, where a
    value is an int (varint) or bytes (length-delimited)."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value
    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            fields.setdefault(field, []).append(varint())
        elif wire == 2:
            n = varint()
            fields.setdefault(field, []).append(data[i:i + n])
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return fields


def packed(data):
    out, value, shift = [], 0, 0
    for b in data:
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            out.append(value)
            value = shift = 0
    return out


def test_pprof(tmp_path):
    """profile.proto, gzipped: strings, functions, locations, samples and
    their totals as pprof defines them; and `go tool pprof` reads it when
    Go is installed (scripts/system-deps.sh installs Debian's golang-go)."""
    import gzip
    import shutil

    src = write(tmp_path, "in.folded", PYSPY)
    out = str(tmp_path / "out.pb.gz")
    got = plumb("convert", src, "-o", out, "--rate", "100")
    assert got.returncode == 0, got.stderr
    prof = read_protobuf(gzip.open(out).read())
    strings = [s.decode() for s in prof[6]]
    assert strings[0] == ""
    types = [read_protobuf(t) for t in prof[1]]
    assert [(strings[t[1][0]], strings[t[2][0]]) for t in types] == [("samples", "count"),
                                                                     ("wall", "nanoseconds")]
    assert prof[12] == [10_000_000]                       # period: 10 ms
    funcs = {f[1][0]: f for f in map(read_protobuf, prof[5])}
    names = {fid: strings[f[2][0]] for fid, f in funcs.items()}
    locations = {l[1][0]: read_protobuf(l[4][0])[1][0] for l in map(read_protobuf, prof[4])}
    stacks = {}
    for sample in map(read_protobuf, prof[2]):
        path = [names[locations[loc]] for loc in packed(sample[1][0])]
        count, ns = packed(sample[2][0])
        assert ns == count * 10_000_000
        stacks[";".join(reversed(path))] = count
    assert stacks == {"main;handle;query": 30, "main;handle": 10, "main;render": 60}
    go = shutil.which("go")
    if go:
        top = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=samples", out],
                             capture_output=True, text=True, timeout=300)
        assert top.returncode == 0, top.stderr
        import re

        # flat, flat%, sum%, cum, cum%, name: render has 60 of the 100 samples.
        assert re.search(r"^\s*60\s+60\.00%\s+\S+\s+60\s+60\.00%\s+render$", top.stdout, re.M), top.stdout
        assert re.search(r"^\s*0\s+0%\s+\S+\s+100\s+100%\s+main$", top.stdout, re.M), top.stdout
    else:
        print("go not installed: go tool pprof not run")


def test_sampler_writes_pprof(tmp_path):
    out = tmp_path / "run.pb.gz"
    prog = write(tmp_path, "prog.py", "import time\ndef work():\n    time.sleep(0.05)\nwork()\n")
    got = plumb("sample", "-o", str(out), prog)
    assert got.returncode == 0, got.stderr
    import gzip

    prof = read_protobuf(gzip.open(out).read())
    assert "work" in [s.decode() for s in prof[6]] and prof.get(2)


EVENTED = {
    "$schema": "https://www.speedscope.app/file-format-schema.json",
    "shared": {"frames": [{"name": "main", "file": "app.py", "line": 1},
                          {"name": "w\u00e9rk", "file": "app.py", "line": 5},
                          {"name": "io"}]},
    "profiles": [
        {"type": "evented", "name": "MainThread", "unit": "milliseconds", "startValue": 0,
         "endValue": 10,
         "events": [{"type": "O", "frame": 0, "at": 0}, {"type": "O", "frame": 1, "at": 1},
                    {"type": "O", "frame": 2, "at": 2.5}, {"type": "C", "frame": 2, "at": 4},
                    {"type": "C", "frame": 1, "at": 6}]},
        {"type": "sampled", "name": "worker", "unit": "none", "startValue": 0, "endValue": 3,
         "samples": [[0, 1], [0]], "weights": [2, 1]},
    ],
}


def test_speedscope_in(tmp_path):
    """Evented and sampled profiles: time between events becomes samples of
    1/rate seconds (main 1 ms + 4 ms after work returns, work 1.5 + 2 ms,
    io 1.5 ms at 2 kHz), a sampled profile in unit none gives counts; each
    profile is a thread."""
    src = tmp_path / "in.speedscope.json"
    src.write_text(json.dumps(EVENTED))
    out = str(tmp_path / "out.collapsed")
    got = plumb("convert", str(src), "-o", out, "--rate", "2000")
    assert got.returncode == 0, got.stderr
    lines = dict(l.rsplit(" ", 1) for l in open(out, encoding="utf-8").read().splitlines())
    assert lines == {"main (app.py:1)": str(2 + 8 + 1),
                     "main (app.py:1);w\u00e9rk (app.py:5)": str(3 + 4 + 2),
                     "main (app.py:1);w\u00e9rk (app.py:5);io": "3"}


def test_sampler_speedscope_round_trip(tmp_path):
    """plumb sample's speedscope file, converted back to collapsed stacks,
    gives the stacks plumb sample's collapsed output has."""
    prog = write(tmp_path, "prog.py", "import time\ndef a():\n    time.sleep(0.03)\n"
                                      "def b():\n    a()\n    time.sleep(0.02)\nb()\n")
    sc = tmp_path / "run.speedscope.json"
    got = plumb("sample", "-o", str(sc), prog)
    assert got.returncode == 0, got.stderr
    back = str(tmp_path / "back.collapsed")
    got = plumb("convert", str(sc), "-o", back)
    assert got.returncode == 0, got.stderr
    text = open(back).read()
    assert "b (" in text and ";a (" in text
    original = json.load(open(sc))
    total = sum(sum(p["weights"]) for p in original["profiles"])
    assert sum(int(l.rsplit(" ", 1)[1]) for l in text.splitlines()) == round(total * 1000)


def test_bad_speedscope(tmp_path):
    cases = {
        "not json": "{'a': 1}",
        "no profiles": json.dumps({"shared": {"frames": []}, "speedscope": 1}),
        "bad index": json.dumps(dict(EVENTED, profiles=[{
            "type": "sampled", "unit": "none", "samples": [[7]], "weights": [1]}])),
        "unbalanced": json.dumps(dict(EVENTED, profiles=[{
            "type": "evented", "unit": "seconds", "events": [{"type": "C", "frame": 0, "at": 0}]}])),
        "deep": "[" * 10000 + "]" * 10000,
    }
    for name, text in cases.items():
        src = tmp_path / "bad.speedscope.json"
        src.write_text(text)
        got = plumb("convert", str(src), "--from", "speedscope", "-o", str(tmp_path / "x.folded"))
        assert got.returncode == 2, (name, got.stderr)
        assert got.stderr.startswith("plumb: convert: ") and got.stderr.count("\n") == 1, got.stderr


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def test_real_pyspy_and_austin_output(tmp_path):
    """Files written by py-spy 0.4.3 and Austin 3.7.0 (tests/data/README.md):
    py-spy's line of frameless samples and Austin's header and marker-only
    lines are skipped; Austin's microseconds become samples of 1/rate s."""
    out = str(tmp_path / "pyspy.prof")
    got = plumb("convert", os.path.join(DATA, "pyspy-0.4.3-raw.txt"), "-o", out, "--rate", "200")
    assert got.returncode == 0, got.stderr
    inner = pstats.Stats(out).stats[("ps.py", 4, "inner")]
    assert abs(inner[3] - 68 / 200) < 1e-9           # 68 samples at 200 Hz

    out = str(tmp_path / "austin.folded")
    got = plumb("convert", os.path.join(DATA, "austin-3.7.0-wall.txt"), "-o", out)
    assert got.returncode == 0, got.stderr
    lines = dict(l.rsplit(" ", 1) for l in open(out).read().splitlines())
    spin = "<module> (/tmp/ps.py:7);outer (/tmp/ps.py:6);inner (/tmp/ps.py:4)"
    # Austin's own values for that stack, in microseconds, as 1 ms samples.
    raw = sum(int(l.rsplit(" ", 1)[1]) for l in open(os.path.join(DATA, "austin-3.7.0-wall.txt"))
              if l.rsplit(" ", 1)[0].endswith(";/tmp/ps.py:inner:4"))
    assert int(lines[spin]) == round(raw / 1000)
    threads = json.load(open(plumb_speedscope(tmp_path)))["profiles"]
    assert [p["name"] for p in threads] == ["T0:16639"]


def plumb_speedscope(tmp_path):
    out = str(tmp_path / "austin.speedscope.json")
    got = plumb("convert", os.path.join(DATA, "austin-3.7.0-wall.txt"), "-o", out)
    assert got.returncode == 0, got.stderr
    return out


VALGRIND_LIKE = """# callgrind format
version: 1
creator: valgrind-like
positions: instr line
events: Ir Dr
summary: 270

ob=(1) /bin/prog
fl=(1) main.c
fn=(1) main
0x10 3 100 2
+2 4 20
cfl=(2) lib.c
cfn=(2) helper
calls=2 0x40 10
* 5 150 7

fl=(2)
fn=(2)
0x40 10 150
"""


def test_callgrind_in(tmp_path):
    """valgrind's shape (name compression, two positions, subpositions,
    two events, the first counted as nanoseconds) into pstats."""
    src = write(tmp_path, "in.callgrind", VALGRIND_LIKE)
    out = str(tmp_path / "out.prof")
    got = plumb("convert", src, "-o", out)
    assert got.returncode == 0, got.stderr
    st = pstats.Stats(out).stats
    main, helper = st[("main.c", 0, "main")], st[("lib.c", 0, "helper")]
    assert abs(main[2] - 120e-9) < 1e-15 and abs(main[3] - 270e-9) < 1e-15
    assert helper[:2] == (2, 2) and abs(helper[2] - 150e-9) < 1e-15
    assert helper[4][("main.c", 0, "main")][:2] == (2, 2)
    got = plumb("stats", src, "-s", "tottime")   # plumb stats reads callgrind too
    assert got.returncode == 0 and "lib.c:0(helper)" in got.stdout, got.stderr


def test_pstats_callgrind_pstats_round_trip(tmp_path):
    """plumb's callgrind keeps calls, own time (to the nanosecond) and, for
    functions that do not recurse, cumulative time."""
    prof = str(tmp_path / "in.prof")
    cProfile.run("import json; json.dumps([{'a': i} for i in range(2000)])", prof)
    cg, back = str(tmp_path / "mid.callgrind"), str(tmp_path / "back.prof")
    assert plumb("convert", prof, "-o", cg).returncode == 0
    got = plumb("convert", cg, "-o", back)
    assert got.returncode == 0, got.stderr
    a, b = pstats.Stats(prof).stats, pstats.Stats(back).stats
    assert set(a) <= set(b)
    for func, (cc, nc, tt, ct, callers) in a.items():
        assert abs(b[func][2] - tt) <= 1e-9, func
        if func not in callers:                          # not directly recursive
            assert abs(b[func][3] - ct) <= 1e-9 * (1 + len(a)), func
        for caller, value in callers.items():
            assert b[func][4][caller][0] == value[0], (func, caller)


def test_bad_callgrind(tmp_path):
    for text, words in (("# callgrind format\nfn=main\n0 5\n", "no events"),
                        ("events: ns\nfn=main\nthis is not callgrind\n", "line 3"),
                        ("events: ns\nfn=(7)\n0 1\n", "used before it was named"),
                        ("events: ns\ncalls=1 2\n0 1\n", "calls= line without")):
        src = write(tmp_path, "bad.callgrind", text)
        got = plumb("convert", src, "--from", "callgrind", "-o", str(tmp_path / "x.prof"))
        assert got.returncode == 2 and words in got.stderr, (text, got.stderr)
        assert got.stderr.count("\n") == 1


def test_pprof_in(tmp_path):
    """plumb's pprof back to stacks; and the same profile rewritten by Go's
    own encoder (`go tool pprof -proto`), read back the same."""
    import shutil

    src = write(tmp_path, "in.folded", PYSPY)
    pb = str(tmp_path / "p.pb.gz")
    assert plumb("convert", src, "-o", pb, "--rate", "100").returncode == 0
    back = str(tmp_path / "back.folded")
    got = plumb("convert", pb, "-o", back, "--rate", "100")
    assert got.returncode == 0, got.stderr
    assert sorted(open(back).read().splitlines()) == sorted(PYSPY.splitlines())
    go = shutil.which("go")
    if not go:
        print("go not installed: the Go-written pprof file is not tested")
        return
    rewritten = str(tmp_path / "go.pb.gz")
    with open(rewritten, "wb") as f:
        subprocess.run([go, "tool", "pprof", "-proto", pb], stdout=f, check=True, timeout=300)
    got = plumb("convert", rewritten, "-o", back, "--rate", "100")
    assert got.returncode == 0, got.stderr
    assert sorted(open(back).read().splitlines()) == sorted(PYSPY.splitlines())


def test_bad_pprof(tmp_path):
    import gzip

    cases = {
        "notgzip.pb.gz": (b"\x1f\x8bnot really gzip", "not a gzip file"),
        "junk.pb.gz": (gzip.compress(b"\xff\xff\xff"), "not a pprof profile"),
        "nostrings.pb.gz": (gzip.compress(b"\x60\x01"), "string table"),
    }
    for name, (data, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        got = plumb("convert", str(path), "-o", str(tmp_path / "x.folded"))
        assert got.returncode == 2 and words in got.stderr, (name, got.stderr)
        assert got.stderr.count("\n") == 1


def test_gzip_bomb_is_bounded():
    """A small gzip that would decompress beyond the bound is refused
    without decompressing it all."""
    import gzip

    from plumb.convert import ConvertError, gunzip

    bomb = gzip.compress(b"\0" * (4 << 20))
    try:
        gunzip(bomb, limit=1 << 20)
    except ConvertError as exc:
        assert "more than 1 MiB" in str(exc)
    else:
        raise AssertionError("a 4 MiB stream passed a 1 MiB bound")


def go_total(path):
    """`go tool pprof -top`'s total, in seconds (None if Go is missing)."""
    import re
    import shutil

    go = shutil.which("go")
    if not go:
        print("go not installed: go tool pprof not run")
        return None
    top = subprocess.run([go, "tool", "pprof", "-top", str(path)], capture_output=True, text=True,
                         timeout=300)
    assert top.returncode == 0, top.stderr
    m = re.search(r"of ([0-9.]+)(ns|us|\u00b5s|ms|s|mins|hrs)? total", top.stdout)
    assert m, top.stdout
    scale = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "mins": 60.0,
             "hrs": 3600.0}
    return float(m.group(1)) * scale[m.group(2) or "s"]


def pstats_total(tmp_path, src, *args):
    out = tmp_path / "total.prof"
    got = plumb("convert", str(src), "-o", str(out), *args)
    assert got.returncode == 0, got.stderr
    return pstats.Stats(str(out)).total_tt


def test_pprof_period_and_units_are_the_files(tmp_path):
    """A pprof file says how long a sample is (period, period_type) and
    what its values are in (sample_type units): they win over --rate, and
    plumb's totals are go tool pprof's."""
    import math

    from pprof_proto import profile

    # plumb's own file at 100 Hz, read back with the default --rate (1000).
    src = write(tmp_path, "in.folded", PYSPY)
    pb = tmp_path / "p.pb.gz"
    assert plumb("convert", src, "-o", str(pb), "--rate", "100").returncode == 0
    for rate in ([], ["--rate", "1000"], ["--rate", "7"]):
        assert math.isclose(pstats_total(tmp_path, pb, *rate), 1.0)   # 100 samples of 10 ms
    back = tmp_path / "back.folded"
    assert plumb("convert", str(pb), "-o", str(back)).returncode == 0
    assert sorted(back.read_text().splitlines()) == sorted(PYSPY.splitlines())
    go = go_total(pb)
    assert go is None or math.isclose(go, 1.0)

    stack = ["main", "work"]
    cases = {
        # Go's CPU profile: counts and nanoseconds, period 10 ms.
        "go-cpu.pb.gz": (profile([("samples", "count"), ("cpu", "nanoseconds")],
                                 [(stack, [3, 30_000_000]), (["main"], [1, 10_000_000])],
                                 period=("cpu", "nanoseconds", 10_000_000)), 0.04),
        # Microseconds, no period.
        "us.pb.gz": (profile([("samples", "count"), ("wall", "microseconds")],
                             [(stack, [1, 2500]), (["main"], [1, 500])]), 0.003),
        # Counts only, each one period of 5 ms.
        "count-period.pb.gz": (profile([("samples", "count")], [(stack, [4]), (["main"], [2])],
                                       period=("wall", "milliseconds", 5)), 0.03),
        # A time type first and bytes last: the time counts.
        "time-then-bytes.pb.gz": (profile([("cpu", "milliseconds"), ("alloc", "bytes")],
                                          [(stack, [7, 4096])]), 0.007),
    }
    for name, (data, seconds) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert math.isclose(pstats_total(tmp_path, path), seconds), name
        assert math.isclose(pstats_total(tmp_path, path, "--rate", "10"), seconds), name
        if name in ("go-cpu.pb.gz", "us.pb.gz"):   # go shows the others as counts, bytes
            go = go_total(path)
            assert go is None or math.isclose(go, seconds), (name, go)
    # Counts with no period say nothing of time: --rate does.
    path = tmp_path / "counts.pb.gz"
    path.write_bytes(profile([("samples", "count")], [(stack, [4]), (["main"], [2])]))
    assert math.isclose(pstats_total(tmp_path, path, "--rate", "100"), 0.06)


def test_deterministic_profile_through_pprof(tmp_path):
    """A deterministic profile's pprof file (nanoseconds, period 1 ns)
    reads back with its own times, as go tool pprof reads it."""
    import math

    prog = write(tmp_path, "prog.py", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                                      "fib(15)\n")
    js = tmp_path / "run.json"
    got = plumb("run", "-o", str(js), prog)
    assert got.returncode == 0, got.stderr
    pb = tmp_path / "run.pb.gz"
    assert plumb("convert", str(js), "-o", str(pb)).returncode == 0
    tree_ns = sum(json.loads(js.read_text())["tree"]["self"])
    total = pstats_total(tmp_path, pb)
    assert math.isclose(total, tree_ns * 1e-9), (total, tree_ns)
    go = go_total(pb)
    assert go is None or math.isclose(go, total, rel_tol=1e-3), (go, total)   # go prints 4 digits


def test_deterministic_profile_to_collapsed_and_back(tmp_path):
    """A deterministic profile's stacks are nanoseconds: as collapsed
    stacks they are microseconds after a "# unit: microseconds" line,
    which plumb reads back as times whatever --rate says (no --rate could
    say 1 ns: it stops at 100 kHz)."""
    prog = write(tmp_path, "prog.py", "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                                      "fib(15)\n")
    js = tmp_path / "run.json"
    assert plumb("run", "-o", str(js), prog).returncode == 0
    tree_ns = sum(json.loads(js.read_text())["tree"]["self"])
    folded = tmp_path / "run.folded"
    got = plumb("convert", str(js), "-o", str(folded))
    assert got.returncode == 0, got.stderr
    lines = folded.read_text().splitlines()
    assert lines[0] == "# unit: microseconds"
    us = sum(int(line.rsplit(" ", 1)[1]) for line in lines[1:])
    assert abs(us - tree_ns / 1000) <= 0.5, (us, tree_ns)   # rounded from the running total
    assert any("fib (" in line for line in lines)
    for rate in ("100", "1000", "100000"):
        total = pstats_total(tmp_path, folded, "--rate", rate)
        assert abs(total - us * 1e-6) < 1e-12, (rate, total, us)
    # And again: the same lines.
    again = tmp_path / "again.folded"
    assert plumb("convert", str(folded), "-o", str(again)).returncode == 0
    assert again.read_text() == folded.read_text()
    # Sampled stacks, at the highest rate, stay counts with no unit line.
    src = write(tmp_path, "in.folded", PYSPY)
    fast = tmp_path / "fast.folded"
    assert plumb("convert", src, "-o", str(fast), "--rate", "100000").returncode == 0
    assert sorted(fast.read_text().splitlines()) == sorted(PYSPY.splitlines())
    bad = write(tmp_path, "bad.folded", "# unit: fortnights\nmain 3\n")
    got = plumb("convert", bad, "-o", str(tmp_path / "bad.txt"))
    assert got.returncode == 2 and "line 1: a unit plumb does not know" in got.stderr, got.stderr
    assert got.stderr.count("\n") == 1


def test_byte_order_mark_is_not_a_frame(tmp_path):
    path = tmp_path / "bom.folded"
    path.write_bytes(b"\xef\xbb\xbf" + PYSPY.encode())
    out = tmp_path / "out.folded"
    got = plumb("convert", str(path), "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert sorted(out.read_text().splitlines()) == sorted(PYSPY.splitlines())
