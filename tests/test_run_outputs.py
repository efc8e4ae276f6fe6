"""`plumb run`: every output format, paths as python gives them, programs
that never start (syntax errors), zip and directory apps."""
import gzip
import json
import marshal
import os
import sys
import zipfile

import pytest

from conftest import plumb, python

WORK = """
    def slow():
        return sum(range(20000))
    def main():
        for _ in range(3):
            slow()
    main()
    print("done")
"""


@pytest.mark.parametrize("name", ["out.txt", "out.folded", "out.pb.gz", "out.speedscope.json",
                                  "out.pprof", "out.collapsed"])
def test_stack_formats_are_written_from_the_call_paths(script, tmp_path, name):
    prog = script(WORK)
    out = tmp_path / name
    r = plumb("run", "-o", str(out), prog)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "done\n"
    assert "could not write" not in r.stderr
    data = out.read_bytes()
    if name.endswith((".pb.gz", ".pprof")):
        assert gzip.decompress(data)
    elif name.endswith(".speedscope.json"):
        doc = json.loads(data)
        frames = [f["name"] for f in doc["shared"]["frames"]]
        assert "slow" in frames and "main" in frames
    elif name.endswith(".txt"):
        text = data.decode()
        assert "deterministic" in text
        assert "└─ slow" in text or "├─ slow" in text
    else:
        lines = data.decode().splitlines()
        stack = [ln for ln in lines if ";main (" in ln and ";slow (" in ln]
        assert stack, lines
    # plumb reads back what it wrote (stacks become the report's exact tree)
    back = plumb("convert", str(out), "-o", str(tmp_path / "back.prof"))
    if not name.endswith(".txt"):
        assert back.returncode == 0, back.stderr


def test_profile_dump_writes_the_stack_formats(tmp_path):
    code = ("import plumb\n"
            "def f(): return sum(range(1000))\n"
            "p = plumb.Profile()\n"
            "p.enable(); f(); p.disable()\n"
            f"p.dump({str(tmp_path / 'x.txt')!r})\n"
            f"p.dump({str(tmp_path / 'x.folded')!r})\n"
            "q = plumb.Profile(paths=False)\n"
            "q.enable(); f(); q.disable()\n"
            "try:\n"
            f"    q.dump({str(tmp_path / 'y.folded')!r})\n"
            "except ValueError as e: print(e)\n")
    r = python("-c", code)
    assert r.returncode == 0, r.stderr
    assert "f (" in (tmp_path / "x.folded").read_text()
    assert "paths=False" in r.stdout


def test_format_without_output_is_refused_before_the_program_runs(script):
    prog = script("print('ran')")
    for command in ("run", "sample"):
        r = plumb(command, "--format", "html", prog)
        assert r.returncode == 2
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1 and "-o" in r.stderr


def test_script_path_is_what_python_gives(script, tmp_path):
    prog = script("""
        import sys
        print(__file__, sys._getframe().f_code.co_filename)
        raise ValueError("boom")
    """, name="where.py")
    expected = python("where.py", cwd=str(tmp_path))
    got = plumb("run", "-o", "out.prof", "where.py", cwd=str(tmp_path))
    assert got.returncode == expected.returncode == 1
    assert got.stdout == expected.stdout
    assert os.path.isabs(got.stdout.split()[0])
    assert got.stderr == expected.stderr
    with open(tmp_path / "out.prof", "rb") as f:
        files = {key[0] for key in marshal.load(f)}
    assert os.path.join(str(tmp_path), "where.py") in files


def test_relative_output_is_relative_to_the_start_directory(script, tmp_path):
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    prog = script(f"import os\nos.chdir({str(sub)!r})\nprint('moved')\n")
    r = plumb("run", "-o", "rel.prof", prog, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rel.prof").exists()
    assert not (sub / "rel.prof").exists()


def test_syntax_error_is_pythons_and_writes_nothing(script, tmp_path):
    prog = script("def (\n", name="bad.py")
    expected = python(prog)
    for args in ((), ("-o", str(tmp_path / "bad.prof"))):
        got = plumb("run", *args, prog)
        assert got.returncode == expected.returncode == 1
        assert got.stderr == expected.stderr
        assert "could not write" not in got.stderr
    assert not (tmp_path / "bad.prof").exists()


@pytest.mark.parametrize("kind", ["zip", "pyz", "dir"])
def test_zip_and_directory_apps_run_as_under_python(tmp_path, kind):
    main = ("import sys\n"
            "def work(): return sum(range(1000))\n"
            "work()\n"
            "print(sys.argv, __name__, sys.path[0])\n")
    if kind == "dir":
        app = tmp_path / "app"
        app.mkdir()
        (app / "__main__.py").write_text(main)
    else:
        app = tmp_path / f"app.{kind}"
        with zipfile.ZipFile(app, "w") as z:
            z.writestr("__main__.py", main)
    expected = python(app.name, "x", cwd=str(tmp_path))
    got = plumb("run", "-o", "app.prof", app.name, "x", cwd=str(tmp_path))
    assert got.returncode == expected.returncode == 0, got.stderr
    assert got.stdout == expected.stdout
    assert got.stderr == ""
    with open(tmp_path / "app.prof", "rb") as f:
        assert "work" in {key[2] for key in marshal.load(f)}
