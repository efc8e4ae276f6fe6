"""runprofileserver's folders through plumb merge --by-path, its option
errors, sampling the request's thread only, file modes; traces under plain
WSGI."""
import os
import stat
import subprocess
import sys

import pytest

from conftest import env_with_plumb, http_get, plumb, wait_for_files
from test_django import Server, get, project


def serve(tmp_path, name, *args, requests=("/items/1/", "/items/2/", "/items/1/")):
    if "--sample" in args:   # sampled requests must last some sampling rounds
        requests = tuple(r.replace("/items/", "/spin/") for r in requests)
    proj = project(tmp_path / ("proj-" + name))
    out = tmp_path / name
    out.mkdir()
    server = Server(proj, "--prof-path", str(out), *args)
    try:
        for path in requests:
            assert get(server.port, path)[0] == 200
    finally:
        server.stop()
    wait_for_files(out, 2 * len(requests))
    return out


@pytest.mark.parametrize("args, ext", [((), "prof"), (("--kcachegrind",), "callgrind"),
                                       (("--format", "json"), "json"),
                                       (("--sample", "--format", "collapsed"), "folded")])
def test_merge_by_path_takes_every_format_runprofileserver_writes(tmp_path, args, ext):
    out = serve(tmp_path, "out", *args)
    samples = sum(int(line.rpartition(" ")[2]) for name in os.listdir(out)
                  if name.startswith("spin.1.") and name.endswith(".folded")
                  for line in (out / name).read_text().splitlines())
    got = plumb("merge", "--by-path", str(out))
    assert got.returncode == 0, got.stderr
    # The per-request files and their traces are gone; one aggregate per path.
    group = "spin" if "--sample" in args else "items"
    assert sorted(os.listdir(out)) == [f"{group}.1.agg.{ext}", f"{group}.2.agg.{ext}"], got.stderr
    assert "2 profiles added, 2 traces removed with them" in got.stderr
    shown = plumb("stats", str(out / f"{group}.1.agg.{ext}"))
    assert shown.returncode == 0, shown.stderr
    if ext == "folded":   # stacks added exactly (a sampled view may be too short to show)
        lines = (out / "spin.1.agg.folded").read_text().splitlines()
        assert sum(int(line.rpartition(" ")[2]) for line in lines) == samples
    else:
        assert "busy_view" in shown.stdout


def test_merge_by_path_says_when_there_is_nothing_to_merge(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    got = plumb("merge", "--by-path", str(tmp_path))
    assert got.returncode == 0
    assert got.stderr.startswith("plumb: nothing to merge") and got.stderr.count("\n") == 1
    got = plumb("merge")
    assert got.returncode == 2 and got.stderr == "plumb: merge: no files given (plumb merge FILE... -o OUT)\n"


def test_merge_of_one_profile_says_profile(tmp_path, script):
    prog = script("print(1)")
    assert plumb("run", "-o", str(tmp_path / "a.prof"), prog).returncode == 0
    got = plumb("merge", str(tmp_path / "a.prof"), "-o", str(tmp_path / "m.prof"))
    assert got.stderr == f"plumb: merged 1 profile into {tmp_path / 'm.prof'}\n"


@pytest.mark.parametrize("args, words", [(("--prof-file", "{bogus}"), "bogus"),
                                         (("--format", "collapsed"), "--sample")])
def test_bad_options_are_one_line(tmp_path, args, words):
    proj = project(tmp_path / "proj")
    r = subprocess.run([sys.executable, "manage.py", "runprofileserver", "--noreload", *args],
                       cwd=proj, env=env_with_plumb(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert words in r.stderr


def test_sample_covers_the_request_thread_only(tmp_path):
    out = serve(tmp_path, "out", "--sample", "--format", "collapsed",
                requests=("/items/3/",) * 4)
    lines = [line for name in os.listdir(out) if name.endswith(".folded")
             for line in (out / name).read_text().splitlines()]
    assert lines
    # Every stack is the request thread's: not the server's main thread
    # (manage.py, serve_forever), and no plumb frames.
    for line in lines:
        assert "manage.py" not in line and "serve_forever" not in line, line
        assert "_run_module_as_main" not in line and "/plumb/" not in line, line


def test_request_files_have_the_usual_mode(tmp_path):
    out = serve(tmp_path, "out", requests=("/items/1/",))
    mask = os.umask(0)
    os.umask(mask)
    for name in os.listdir(out):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o666 & ~mask, name


WSGI_APP = """
import sys
from wsgiref.simple_server import make_server
from plumb.web import WSGIMiddleware

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d" % sum(range(1000))]

server = make_server("127.0.0.1", int(sys.argv[1]), WSGIMiddleware(app, requests="all",
                     prof_path=sys.argv[2]))
server.serve_forever()
"""


def test_wsgi_request_without_sql_or_http_gets_its_trace(tmp_path):
    from conftest import free_port, wait_for_port

    (tmp_path / "app.py").write_text(WSGI_APP)
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(tmp_path / "app.py"), str(port), str(out)],
                            env=env_with_plumb(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, proc)
        assert http_get(port, "/hello")[0] == 200
        names = wait_for_files(out, 2)
    finally:
        proc.kill()
        proc.wait()
    assert len(names) == 2 and any(n.endswith(".trace.json") for n in names), names
