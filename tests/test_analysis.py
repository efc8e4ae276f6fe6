"""plumb.Stats, `plumb stats` and `plumb merge` against pstats itself.

The profiles are real: cProfile's and the profile module's output of the
corpus programs in tests/programs/, and plumb's own.  The reference is the
pstats module of the Python running the tests: every printed table must be
pstats' text, character for character, and every merge pstats.Stats.add's
dictionary, float for float."""
import contextlib
import cProfile
import io
import marshal
import os
import profile as pyprofile
import pstats
import runpy
import sys

import pytest

from conftest import plumb

import plumb as plumb_pkg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
CORPUS = sorted(f[:-3] for f in os.listdir(PROGRAMS) if f.endswith(".py"))


def profile_program(name, path, profiler="cProfile"):
    """Runs tests/programs/NAME.py under a profiler and dumps a pstats file."""
    prof = cProfile.Profile() if profiler == "cProfile" else pyprofile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        prof.runcall(runpy.run_path, os.path.join(PROGRAMS, name + ".py"), run_name="__main__")
    prof.dump_stats(str(path))
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{(program, profiler): path} for the corpus under cProfile and profile,
    and for plumb's own profiler."""
    d = tmp_path_factory.mktemp("profiles")
    out = {}
    for name in CORPUS:
        out[(name, "cProfile")] = profile_program(name, d / f"{name}.cprof")
    for name in ("recursion", "classes"):
        out[(name, "profile")] = profile_program(name, d / f"{name}.pyprof", "profile")
        with plumb_pkg.Profile() as prof, contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(os.path.join(PROGRAMS, name + ".py"), run_name="__main__")
        path = d / f"{name}.plumb.prof"
        prof.dump(str(path))
        out[(name, "plumb")] = str(path)
    return out


def printed(stats_class, paths, ops):
    """What stats_class(paths...) prints after ops: a list of (method, args)."""
    buf = io.StringIO()
    s = stats_class(paths[0], stream=buf)
    for p in paths[1:]:
        s.add(p)
    for method, args in ops:
        getattr(s, method)(*args)
    return buf.getvalue()


OPS = [
    [("sort_stats", ("cumulative",)), ("print_stats", ())],
    [("sort_stats", ("tottime", "name")), ("print_stats", (5,))],
    [("sort_stats", ("calls",)), ("print_stats", (0.5, "py"))],
    [("sort_stats", ("stdname",)), ("reverse_order", ()), ("print_stats", ("__",))],
    [("sort_stats", ("pcalls",)), ("print_callers", ())],
    [("sort_stats", ("nfl",)), ("print_callees", ())],
    [("strip_dirs", ()), ("sort_stats", ("file", "line")), ("print_stats", ()),
     ("print_callers", (3,))],
]


@pytest.mark.parametrize("ops", OPS, ids=lambda ops: "+".join(m for m, _ in ops))
@pytest.mark.parametrize("profiler", ["cProfile", "profile", "plumb"])
def test_printing_is_pstats(files, ops, profiler):
    names = [n for n, p in files if p == profiler]
    for name in names:
        path = files[(name, profiler)]
        assert printed(plumb_pkg.Stats, [path], ops) == printed(pstats.Stats, [path], ops)


def test_added_files_print_as_pstats_adds_them(files):
    """pstats.Stats(a); add(b); add(c): plumb adds in that order too."""
    paths = [files[(n, "cProfile")] for n in CORPUS[:4]] + [files[("recursion", "plumb")]]
    for ops in OPS:
        assert printed(plumb_pkg.Stats, paths, ops) == printed(pstats.Stats, paths, ops)


@pytest.mark.parametrize("profilers", [("cProfile", "plumb"), ("profile",)])
def test_merge_equals_pstats_add(files, tmp_path, profilers):
    """plumb merge writes the dictionary pstats.Stats.add builds, float for
    float and in the same order: callers as tuples (cProfile, plumb) or as
    counts (the profile module)."""
    paths = [files[k] for k in sorted(files) if k[1] in profilers] * 3
    ref = pstats.Stats(paths[0])
    for p in paths[1:]:
        ref.add(p)
    out = tmp_path / "merged.prof"
    got = plumb("merge", *paths, "-o", str(out))
    assert got.returncode == 0, got.stderr
    with open(out, "rb") as f:
        merged = marshal.load(f)
    assert merged == ref.stats
    assert list(merged) == list(ref.stats)


def test_merge_of_counts_and_tuples(files, tmp_path):
    """One caller given as a count (profile) in one file and as a tuple
    (cProfile) in another: pstats.Stats.add raises TypeError; plumb adds the
    calls and keeps the times it has."""
    a, b = files[("recursion", "profile")], files[("recursion", "cProfile")]
    with pytest.raises(TypeError):
        pstats.Stats(a).add(b)
    merged = plumb_pkg.Stats(a, b).stats
    sa, sb = pstats.Stats(a).stats, pstats.Stats(b).stats
    for func, (cc, nc, tt, ct, callers) in merged.items():
        for caller, value in callers.items():
            va = sa.get(func, (0, 0, 0, 0, {}))[4].get(caller)
            vb = sb.get(func, (0, 0, 0, 0, {}))[4].get(caller)
            calls = (va if isinstance(va, int) else va[0] if va else 0) + (vb[0] if vb else 0)
            if isinstance(value, tuple):
                assert value[0] == calls and vb is not None
            else:
                assert value == calls and vb is None


YAPPI_PROGRAM = """
import sys, yappi
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def main():
    fib(12)
    sorted([2, 1], key=lambda x: x)
yappi.set_clock_type("wall")
yappi.start(builtins=True)
main()
yappi.stop()
yappi.get_func_stats().save(sys.argv[1], type="pstat")
"""


def test_yappi_files(tmp_path):
    """yappi's pstat files (its own labels, e.g. ('builtins', 0, 'sorted'))."""
    import yappi  # noqa: F401  (installed by scripts/setup-venvs.sh: a failure here is real)
    prog = tmp_path / "prog.py"
    prog.write_text(YAPPI_PROGRAM)
    out = tmp_path / "yappi.prof"
    import subprocess

    subprocess.run([sys.executable, str(prog), str(out)], check=True, timeout=60)
    ref = pstats.Stats(str(out))
    assert plumb_pkg.Stats(str(out)).stats == ref.stats
    assert any(name == "fib" for _, _, name in ref.stats)
    for ops in OPS:
        assert printed(plumb_pkg.Stats, [str(out)], ops) == printed(pstats.Stats, [str(out)], ops)


PROFILE_CLI_PROGRAM = """\
class K:
    def m(self):
        return [x * 2 for x in range(3)]
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
CONSTANTS = (1, 2.5, 3j, b"\\x00", None, ..., frozenset({1}), "nul\\x00", 10**30)
sorted([3, 1, 2], key=lambda x: -x)
K().m()
fib(6)
"""


def test_profile_module_command_line_files(tmp_path):
    """`python -m profile -o` labels the script's code ('profile', 0,
    <code object>): a marshalled code object (bytecode, constants, nested
    functions) where a name belongs.  plumb reads it, named as pstats
    prints it less the address, which is not in the file."""
    import re
    import subprocess

    prog = tmp_path / "prog.py"
    prog.write_text(PROFILE_CLI_PROGRAM)
    out = tmp_path / "prof.prof"
    subprocess.run([sys.executable, "-m", "profile", "-o", str(out), str(prog)], check=True,
                   capture_output=True, timeout=60)
    ref = pstats.Stats(str(out))
    label = f'<code object <module>, file "{prog}", line 1>'

    def named(key):
        file, line, name = key
        return (file, line, label) if not isinstance(name, str) else key
    expected = {named(k): (cc, nc, tt, ct, {named(c): v for c, v in callers.items()})
                for k, (cc, nc, tt, ct, callers) in ref.stats.items()}
    assert any(not isinstance(k[2], str) for k in ref.stats)   # the case under test
    assert plumb_pkg.Stats(str(out)).stats == expected
    got = plumb("stats", str(out))
    assert got.returncode == 0, got.stderr
    buf = io.StringIO()
    pstats.Stats(str(out), stream=buf).sort_stats("cumulative").print_stats()
    assert got.stdout == re.sub(r"<code object <module> at 0x[0-9a-f]+, file", "<code object <module>, file",
                                buf.getvalue())
    assert f"profile:0({label})" in got.stdout
    conv = tmp_path / "prof.callgrind"
    assert plumb("convert", str(out), "-o", str(conv)).returncode == 0


def test_yappi_callgrind_files(tmp_path):
    """yappi's callgrind files: "events: Ticks" that are microseconds, and
    names "fib /path/prog.py:4" that are (file, line, name) labels.  Read
    from one run's pstat and callgrind files, the labels are the same and
    so are own times (to yappi's whole microseconds) and callers' calls."""
    import subprocess

    import yappi  # noqa: F401
    prog = tmp_path / "prog.py"
    prog.write_text(YAPPI_PROGRAM + 'yappi.get_func_stats().save(sys.argv[2], type="callgrind")\n')
    prof, cg = tmp_path / "yappi.prof", tmp_path / "yappi.callgrind"
    subprocess.run([sys.executable, str(prog), str(prof), str(cg)], check=True, timeout=60)
    assert "events: Ticks" in cg.read_text() and "creator: yappi" in cg.read_text()
    ref = plumb_pkg.Stats(str(prof)).stats
    got = plumb_pkg.Stats(str(cg)).stats
    assert set(got) == set(ref)
    fib = (str(prog), 3, "fib")
    assert fib in got and ("builtins", 0, "sorted") in got
    for key, (cc, nc, tt, ct, callers) in ref.items():
        assert abs(got[key][2] - tt) <= 1.0000001e-6, (key, got[key], ref[key])
        for caller, (c_nc, *_rest) in callers.items():
            assert got[key][4][caller][0] == c_nc, (key, caller)
    # yappi counts fib's calls (its pstat file has them as (calls, primitive)).
    assert got[fib][1] == ref[fib][0] and got[fib][1] > 1
    printed_ = plumb("stats", str(cg), "--filter", "fib")
    assert printed_.returncode == 0 and "prog.py:3(fib)" in printed_.stdout, printed_.stderr


def test_merge_to_callgrind(files, tmp_path):
    out = tmp_path / "merged.callgrind"
    got = plumb("merge", files[("recursion", "cProfile")], files[("classes", "cProfile")],
                "-o", str(out))
    assert got.returncode == 0, got.stderr
    text = out.read_text()
    assert text.startswith("# callgrind format") and "events: ns" in text and "fn=" in text


def test_stats_command_prints_what_pstats_prints(files):
    path = files[("recursion", "cProfile")]
    got = plumb("stats", path, "-s", "tottime", "-n", "4", "--filter", "recursion")
    assert got.returncode == 0, got.stderr
    buf = io.StringIO()
    pstats.Stats(path, stream=buf).sort_stats("tottime").print_stats("recursion", 4)
    assert got.stdout == buf.getvalue()

    got = plumb("stats", path, "--callers", "fib", "--callees", "fib", "--strip-dirs")
    assert got.returncode == 0, got.stderr
    buf = io.StringIO()
    s = pstats.Stats(path, stream=buf).strip_dirs().sort_stats("cumulative")
    s.print_callers("fib")
    s.print_callees("fib")
    assert got.stdout == buf.getvalue()


def test_stats_api_is_a_pstats_stats(files, tmp_path):
    path = files[("classes", "cProfile")]
    s = plumb_pkg.Stats(path)
    ref = pstats.Stats(path)
    assert isinstance(s, pstats.Stats)
    assert s.stats == ref.stats
    assert (s.total_calls, s.prim_calls, s.total_tt) == (ref.total_calls, ref.prim_calls,
                                                           ref.total_tt)
    s.dump_stats(str(tmp_path / "again.prof"))
    assert pstats.Stats(str(tmp_path / "again.prof")).stats == ref.stats
    # A pstats.Stats (or a profiler) can be added too.
    s.add(pstats.Stats(path))
    ref.add(path)
    assert s.stats == ref.stats
    s.dump(str(tmp_path / "after.prof"))
    assert pstats.Stats(str(tmp_path / "after.prof")).stats == ref.stats


def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bad_files_get_one_line_and_status_2(files, tmp_path):
    good = open(files[("recursion", "cProfile")], "rb").read()
    cases = {
        "empty.prof": b"",
        "text.prof": b"hello, world\n",
        "list.prof": marshal.dumps([1, 2, 3]),
        "wrongkey.prof": marshal.dumps({"a": (1, 1, 0.0, 0.0, {})}),
        "wrongvalue.prof": marshal.dumps({("f.py", 1, "f"): (1, 1, 0.0)}),
        "badcaller.prof": marshal.dumps({("f.py", 1, "f"): (1, 1, 0.0, 0.0, {("g", 1, "g"): "x"})}),
        "truncated.prof": good[: len(good) // 2],
        "hugelength.prof": b"{)\x03u\xff\xff\xff\x7fabc",
    }
    for name, data in cases.items():
        path = write_bytes(tmp_path, name, data)
        got = plumb("stats", path)
        assert got.returncode == 2, (name, got.stdout, got.stderr)
        assert got.stderr.count("\n") == 1 and got.stderr.startswith(f"plumb: stats: {path}: ")
        assert "Traceback" not in got.stderr
        with pytest.raises(plumb_pkg.StatsFileError):
            plumb_pkg.Stats(path)
    # A merge never drops a file silently: nothing is written.
    out = tmp_path / "out.prof"
    got = plumb("merge", files[("recursion", "cProfile")], str(tmp_path / "truncated.prof"),
                "-o", str(out))
    assert got.returncode == 2 and "truncated.prof" in got.stderr and not out.exists()


def test_every_truncation_of_a_real_file_is_refused(files):
    """Cut a real file at every byte: each prefix is refused with a reason
    (the reader must never crash, hang or accept half a profile)."""
    data = open(files[("classes", "cProfile")], "rb").read()
    for n in range(len(data)):
        s = plumb_pkg._plumb.Stats()
        with pytest.raises(ValueError):
            s.add_bytes(data[:n])
    s = plumb_pkg._plumb.Stats()
    s.add_bytes(data)
    assert s.profiles == 1


def test_usage_errors(files, tmp_path):
    for args in (["stats"], ["stats", files[("recursion", "cProfile")], "--filter", "("],
                 ["stats", files[("recursion", "cProfile")], "-s", "nosuchkey"],
                 ["merge", files[("recursion", "cProfile")]], ["merge", "-o", "x.prof"],
                 ["merge", "--by-path", str(tmp_path / "missing")]):
        got = plumb(*args)
        assert got.returncode == 2, (args, got.stderr)
        assert got.stderr.startswith("plumb: ") and got.stderr.count("\n") == 1, got.stderr


def test_merge_by_path(files, tmp_path):
    d = tmp_path / "requests"
    d.mkdir()
    src = open(files[("recursion", "cProfile")], "rb").read()
    names = ["api.users.000012ms.1700000000.prof", "api.users.000340ms.1700000005.prof",
             "root.000003ms.1700000001.prof", "notes.txt"]
    for n in names:
        (d / n).write_bytes(src)
    got = plumb("merge", "--by-path", str(d), "--keep")
    assert got.returncode == 0, got.stderr
    assert sorted(os.listdir(d)) == sorted(names + ["api.users.agg.prof", "root.agg.prof"])
    users = pstats.Stats(str(d / "api.users.agg.prof"))
    ref = pstats.Stats(str(d / names[0]))
    ref.add(str(d / names[1]))
    assert users.stats == ref.stats

    # Without --keep: inputs go, and the next gathering adds to the aggregate.
    d = tmp_path / "gathered"
    d.mkdir()
    one = pstats.Stats(files[("recursion", "cProfile")]).total_calls
    (d / "root.000003ms.1700000001.prof").write_bytes(src)
    got = plumb("merge", "--by-path", str(d))
    assert got.returncode == 0, got.stderr
    assert os.listdir(d) == ["root.agg.prof"]
    (d / "root.000004ms.1700000009.prof").write_bytes(src)
    (d / "root.000005ms.1700000010.prof").write_bytes(src)
    got = plumb("merge", "--by-path", str(d))
    assert got.returncode == 0, got.stderr
    assert os.listdir(d) == ["root.agg.prof"]
    assert pstats.Stats(str(d / "root.agg.prof")).total_calls == 3 * one

    # A group with a bad file is not written and keeps its files.
    (d / "bad.000001ms.1700000010.prof").write_bytes(b"junk")
    (d / "bad.000002ms.1700000011.prof").write_bytes(src)
    got = plumb("merge", "--by-path", str(d))
    assert got.returncode == 2 and "bad.000001ms" in got.stderr
    assert (d / "bad.000002ms.1700000011.prof").exists() and not (d / "bad.agg.prof").exists()


def test_interactive_browser(files, tmp_path):
    path = files[("recursion", "cProfile")]
    commands = "sort tottime\nstats 3\ncallers fib\nstrip\nreverse\nstats 2\nadd nosuch.prof\nsort\nquit\n"
    got = plumb("stats", "-i", path, input=commands)
    assert got.returncode == 0, got.stderr
    buf = io.StringIO()
    ref = pstats.Stats(path, stream=buf)
    ref.sort_stats("tottime").print_stats(3)
    ref.print_callers("fib")
    ref.strip_dirs().reverse_order()
    ref.print_stats(2)
    assert buf.getvalue() in got.stdout.replace(path + "% ", "")
    assert "cannot read nosuch.prof" in got.stdout
    assert "Valid sort keys" in got.stdout


DIFF_PROGRAM = """
import sys
def slow(n):
    return sum(i * i for i in range(n))
def fast(n):
    return n
def gone():
    pass
def new():
    pass
def main(k):
    for _ in range(10):
        slow(3000 * k)
        fast(k)
    gone() if k == 2 else new()
main(int(sys.argv[1]))
"""


def test_diff(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(DIFF_PROGRAM)
    for k in (2, 1):
        got = plumb("run", "-o", str(tmp_path / f"k{k}.prof"), str(prog), str(k))
        assert got.returncode == 0, got.stderr
    before, after = str(tmp_path / "k2.prof"), str(tmp_path / "k1.prof")
    got = plumb("diff", before, after, "-s", "calls")
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    b, a = pstats.Stats(before), pstats.Stats(after)
    assert lines[0] == f"{before} -> {after}"
    assert f"{b.total_calls} -> {a.total_calls} function calls" in lines[1]
    rows = [l for l in lines if "prog.py" in l]
    # Sorted by the change in calls: the generator expression lost the most.
    assert "(<genexpr>)" in rows[0]
    genexpr = next(k for k in b.stats if k[2] == "<genexpr>")
    nb, na = b.stats[genexpr][1], a.stats[genexpr][1]
    assert f"{nb} -> {na}" in rows[0] and f"{na - nb:+d}" in rows[0]
    assert any("(gone)" in r and ":7(gone)" in r for r in rows)
    assert any("(new)" in r and ":9(new)" in r for r in rows)
    # -n keeps the first rows.
    got = plumb("diff", before, after, "-n", "2")
    assert len([l for l in got.stdout.splitlines()[5:] if l.strip()]) == 2
    got = plumb("diff", before, str(tmp_path / "missing.prof"))
    assert got.returncode == 2 and got.stderr.startswith("plumb: diff: ")
    got = plumb("diff", before, after, "-s", "nonsense")
    assert got.returncode == 2 and got.stderr.count("\n") == 1
