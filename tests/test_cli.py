"""`plumb run`: the program runs as under python, the profile is written
however the program ends, and usage errors get one line and status 2."""
import json
import marshal
import os
import pstats
import signal
import sys

import pytest

from conftest import PLUMB_DIR, plumb, python

PROGRAM_STATE = """
    import json, os, sys
    def main():
        data = sys.stdin.read()
        print(json.dumps({"argv": sys.argv, "name": __name__, "path0": sys.path[0],
                          "file": __file__, "stdin": data,
                          "main": sys.modules["__main__"].__dict__ is globals()}))
    main()
"""


def stats_of(path):
    with open(path, "rb") as f:
        return marshal.load(f)


def names(stats):
    return {key[2] for key in stats}


def test_program_sees_what_python_gives_it(script, tmp_path):
    prog = script(PROGRAM_STATE)
    out = tmp_path / "out.prof"
    expected = python(prog, "a", "--flag", input="hello")
    got = plumb("run", "-o", str(out), prog, "a", "--flag", input="hello")
    assert got.returncode == expected.returncode == 0, got.stderr
    assert json.loads(got.stdout) == json.loads(expected.stdout)
    assert got.stderr == ""
    assert "main" in names(stats_of(out))


def test_options_after_the_script_belong_to_the_program(script, tmp_path):
    prog = script(PROGRAM_STATE)
    got = plumb("run", "-o", str(tmp_path / "o.prof"), prog, "-o", "x", "-s", "y", "-m", "z")
    assert json.loads(got.stdout)["argv"][1:] == ["-o", "x", "-s", "y", "-m", "z"]


def test_module_runs_as_python_dash_m(script, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text(
        "import json, sys\nprint(json.dumps({'argv': sys.argv, 'name': __name__, 'path0': sys.path[0]}))\n")
    out = tmp_path / "out.prof"
    expected = python("-m", "pkg.tool", "x", "y", cwd=tmp_path)
    got = plumb("run", "-o", str(out), "-m", "pkg.tool", "x", "y", cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == json.loads(expected.stdout)
    assert "<module>" in names(stats_of(out))


def test_exit_status_is_the_programs(script, tmp_path):
    prog = script("""
        import sys
        def work(): return sum(range(1000))
        work()
        sys.exit(3)
    """)
    out = tmp_path / "out.prof"
    got = plumb("run", "-o", str(out), prog)
    assert got.returncode == 3
    assert "work" in names(stats_of(out))


def test_exit_with_a_message(script, tmp_path):
    prog = script("import sys\nsys.exit('giving up')\n")
    expected = python(prog)
    got = plumb("run", "-o", str(tmp_path / "o.prof"), prog)
    assert (got.returncode, got.stderr) == (expected.returncode, expected.stderr) == (1, "giving up\n")


def test_exception_traceback_and_status_are_pythons(script, tmp_path):
    prog = script("""
        def inner():
            raise ValueError("boom")
        def outer():
            inner()
        print("before")
        outer()
    """)
    out = tmp_path / "out.prof"
    expected = python(prog)
    got = plumb("run", "-o", str(out), prog)
    assert got.returncode == expected.returncode == 1
    assert got.stdout == expected.stdout
    assert got.stderr == expected.stderr
    assert {"inner", "outer"} <= names(stats_of(out))


def test_syntax_error_is_reported_as_python_does(script, tmp_path):
    prog = script("def broken(:\n    pass\n")
    expected = python(prog)
    got = plumb("run", "-o", str(tmp_path / "o.prof"), prog)
    assert got.returncode == expected.returncode == 1
    assert got.stderr.splitlines()[-1] == expected.stderr.splitlines()[-1]
    assert "plumb" not in got.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_still_write_the_profile(script, tmp_path, sig):
    prog = script(f"""
        import os, signal, time
        def busy():
            return sum(i * i for i in range(20000))
        def main():
            busy()
            os.kill(os.getpid(), {int(sig)})
            time.sleep(5)
        main()
    """)
    out = tmp_path / "out.prof"
    expected = python(prog)
    got = plumb("run", "-o", str(out), prog)
    assert got.returncode == expected.returncode == -sig
    if sig == signal.SIGINT:
        assert got.stderr.splitlines()[-1] == "KeyboardInterrupt"
    stats = stats_of(out)
    assert {"busy", "main"} <= names(stats)
    pstats.Stats(str(out))


def test_program_handler_for_sigterm_is_left_alone(script, tmp_path):
    prog = script("""
        import os, signal, sys
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
        os.kill(os.getpid(), signal.SIGTERM)
    """)
    out = tmp_path / "o.prof"
    got = plumb("run", "-o", str(out), prog)
    assert got.returncode == 7
    assert out.exists()


def test_threads_are_profiled_and_waited_for(script, tmp_path):
    prog = script("""
        import threading
        def in_thread(n):
            return sum(range(n))
        def start():
            threads = [threading.Thread(target=in_thread, args=(10000,)) for _ in range(3)]
            for t in threads:
                t.start()
        start()   # not joined: python waits for them at exit, and so does plumb
    """)
    out = tmp_path / "out.prof"
    got = plumb("run", "-o", str(out), prog)
    assert got.returncode == 0, got.stderr
    stats = stats_of(out)
    (key,) = [k for k in stats if k[2] == "in_thread"]
    assert stats[key][1] == 3


def test_table_is_printed_with_pstats_columns(script):
    prog = script("""
        def f(n): return n if n < 2 else f(n - 1) + f(n - 2)
        f(15)
    """)
    got = plumb("run", "-s", "tot", "-n", "3", prog)
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    header = [i for i, line in enumerate(lines) if "ncalls" in line]
    assert header, got.stdout
    assert lines[header[0]].split() == ["ncalls", "tottime", "percall", "cumtime", "percall",
                                        "filename:lineno(function)"]
    assert "Ordered by: internal time" in got.stdout
    rows = [line for line in lines[header[0] + 1:] if line.strip()]
    assert len(rows) == 3
    assert any(row.split()[0] == "1973/1" and row.endswith("prog.py:2(f)") for row in rows)


def test_fraction_limit(script):
    prog = script("import json\nfor i in range(3): json.dumps([i])\n")
    got = plumb("run", "-n", "0.5", prog)
    assert got.returncode == 0
    assert "due to restriction <0.5>" in got.stdout


def test_no_builtins(script, tmp_path):
    prog = script("def f(): return len([1, 2])\nf()\n")
    out = tmp_path / "o.prof"
    assert plumb("run", "--no-builtins", "-o", str(out), prog).returncode == 0
    stats = stats_of(out)
    assert "f" in names(stats)
    assert not [k for k in stats if k[0] == "~"]


@pytest.mark.parametrize("name,fmt,option", [
    ("out.callgrind", "callgrind", None),
    ("callgrind.out.123", "callgrind", None),
    ("out.prof", "pstats", None),
    ("out.data", "pstats", None),
    ("out.prof", "callgrind", "callgrind"),
])
def test_format_from_name_or_option(script, tmp_path, name, fmt, option):
    prog = script("def f(): pass\nf()\n")
    out = tmp_path / name
    args = ["run", "-o", str(out)] + (["--format", option] if option else []) + [prog]
    assert plumb(*args).returncode == 0
    data = out.read_bytes()
    if fmt == "callgrind":
        assert data.startswith(b"# callgrind format\n")
    else:
        assert data[:1] == b"{"
        pstats.Stats(str(out))


def one_line_error(result):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plumb: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_script(tmp_path):
    line = one_line_error(plumb("run", str(tmp_path / "nope.py")))
    assert "nope.py" in line and "No such file" in line


def test_missing_module():
    line = one_line_error(plumb("run", "-m", "no_such_module_xyz"))
    assert "No module named no_such_module_xyz" in line


def test_package_without_main(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    assert "cannot be directly executed" in one_line_error(plumb("run", "-m", "pkg", cwd=tmp_path))


def test_unwritable_output_fails_before_the_program_runs(script, tmp_path):
    marker = tmp_path / "ran"
    prog = script(f"open({str(marker)!r}, 'w').close()\n")
    line = one_line_error(plumb("run", "-o", str(tmp_path / "no" / "dir" / "x.prof"), prog))
    assert "cannot write" in line
    assert not marker.exists()
    assert "directory" in one_line_error(plumb("run", "-o", str(tmp_path), prog))


@pytest.mark.parametrize("args", [
    ["run"], ["run", "-s", "bogus", "x.py"], ["run", "-n", "-3", "x.py"],
    ["run", "--format", "xml", "x.py"], ["frobnicate"], ["run", "--bogus", "x.py"],
])
def test_usage_errors(args):
    one_line_error(plumb(*args))


def test_help():
    got = plumb("run", "--help")
    assert got.returncode == 0 and "SCRIPT | -m MODULE" in got.stdout


def test_written_profile_has_no_plumb_frames(script, tmp_path):
    prog = script("def f(): pass\nf()\n")
    out = tmp_path / "o.prof"
    plumb("run", "-o", str(out), prog)
    plumb_dir = PLUMB_DIR
    assert not [k for k in stats_of(out) if k[0].startswith(plumb_dir)]


def test_output_lost_during_the_run_keeps_the_programs_status(script, tmp_path):
    outdir = tmp_path / "out"
    outdir.mkdir()
    prog = script(f"""
        import shutil, sys
        shutil.rmtree({str(outdir)!r})
        sys.exit(5)
    """)
    got = plumb("run", "-o", str(outdir / "p.prof"), prog)
    assert got.returncode == 5
    assert got.stderr.startswith("plumb: could not write the profile:")


def test_version():
    got = plumb("--version")
    assert got.returncode == 0 and got.stdout.startswith("plumb ")


def test_only_the_program_is_in_the_profile(script, tmp_path):
    prog = script("def f(): pass\nf()\n")
    out = tmp_path / "o.prof"
    assert plumb("run", "-o", str(out), prog).returncode == 0
    files = {k[0] for k in stats_of(out)}
    # The program and the built-ins it runs under (exec), nothing of
    # plumb's own start-up such as imports.
    assert files == {prog, "~"}, files
