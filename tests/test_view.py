"""plumb view and -o x.html, without a browser: a report from every format
plumb reads, self-contained, with the profile it embeds readable back; the
browser tests (tests/browser) check what the page does with it."""
import json
import os
import re

from conftest import ROOT, env_with_plumb, plumb

DATA = os.path.join(ROOT, "tests", "data")
PROGRAM = """\
def inner(n):
    return sum(range(n))

def outer():
    for _ in range(200):
        inner(2000)

outer()
"""


# Two threads, in Austin's form.
AUSTIN_THREADS = """\
P4242;T7f01;/srv/app.py:main:10;/srv/app.py:work:20 75
P4242;T7f02;/srv/app.py:worker:30 25
"""


def embedded(html):
    """The JSON profile a report embeds."""
    m = re.search(r'<script type="application/json" id="plumb-profile">(.*?)</script>', html, re.S)
    assert m, "no embedded profile"
    return json.loads(m.group(1))


def sources(html):
    m = re.search(r'<script type="application/json" id="plumb-meta">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))["sources"]


def self_contained(html):
    # Nothing fetched: no src= or href= to another place, no @import, no url().
    assert not re.search(r'(src|href)\s*=\s*["\'](?!#)', html)
    assert "@import" not in html and "url(" not in html


def make_inputs(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    made = {}
    for name in ("p.prof", "p.callgrind", "p.json"):
        got = plumb("run", "-o", str(tmp_path / name), str(prog))
        assert got.returncode == 0, got.stderr
        made[name] = tmp_path / name
    got = plumb("convert", os.path.join(DATA, "pyspy-0.4.3-raw.txt"), "-o", str(tmp_path / "s.pb.gz"))
    assert got.returncode == 0, got.stderr
    got = plumb("convert", os.path.join(DATA, "pyspy-0.4.3-raw.txt"), "-o",
                str(tmp_path / "s.speedscope.json"))
    assert got.returncode == 0, got.stderr
    made["s.pb.gz"] = tmp_path / "s.pb.gz"
    made["s.speedscope.json"] = tmp_path / "s.speedscope.json"
    made["austin.txt"] = os.path.join(DATA, "austin-3.7.0-wall.txt")
    (tmp_path / "threads.txt").write_text(AUSTIN_THREADS)
    made["threads.txt"] = tmp_path / "threads.txt"
    return made, prog


def test_every_format_becomes_a_report(tmp_path):
    made, prog = make_inputs(tmp_path)
    expect = {"p.prof": ("functions", False), "p.callgrind": ("functions", False),
              "p.json": ("deterministic", True), "s.pb.gz": ("sampled", True),
              "s.speedscope.json": ("sampled", True), "austin.txt": ("sampled", True),
              "threads.txt": ("sampled", True)}
    for name, (kind, exact) in expect.items():
        out = tmp_path / (name + ".html")
        got = plumb("view", str(made[name]), "-o", str(out))
        assert got.returncode == 0, (name, got.stderr)
        html = out.read_text()
        self_contained(html)
        doc = embedded(html)
        assert doc["kind"] == kind and doc["tree"]["exact"] is exact, name
    # A deterministic profile's report keeps the source of its functions.
    html = (tmp_path / "p.json.html").read_text()
    doc = embedded(html)
    names = [doc["strings"][i] for i in doc["functions"]["name"]]
    first, lines = sources(html)[str(names.index("inner"))]
    assert first == 1 and lines == ["def inner(n):", "    return sum(range(n))"]
    # Austin's threads stay apart, with their names.
    threads = embedded((tmp_path / "threads.txt.html").read_text())["tree"]["threads"]
    assert len(threads["id"]) == 2


def test_default_name_and_open(tmp_path):
    made, _ = make_inputs(tmp_path)
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    got = plumb("view", str(made["p.prof"]), "--open", env=env_with_plumb({"BROWSER": str(browser)}))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "p.html").exists()
    assert opened.read_text().strip() == "file://" + str(tmp_path / "p.html")


def test_sample_and_merge_write_reports(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    got = plumb("sample", "-o", str(tmp_path / "s.html"), str(prog))
    assert got.returncode == 0, got.stderr
    doc = embedded((tmp_path / "s.html").read_text())
    assert doc["kind"] == "sampled" and doc["summary"]["mode"] == "wall"
    for i in (1, 2):
        assert plumb("run", "-o", str(tmp_path / f"{i}.prof"), str(prog)).returncode == 0
    got = plumb("merge", str(tmp_path / "1.prof"), str(tmp_path / "2.prof"), "-o",
                str(tmp_path / "m.html"))
    assert got.returncode == 0, got.stderr
    doc = embedded((tmp_path / "m.html").read_text())
    calls = dict(zip(doc["stats"]["function"], doc["stats"]["calls"]))
    inner = [doc["strings"][n] for n in doc["functions"]["name"]].index("inner")
    assert calls[inner] == 400


def test_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.prof"
    bad.write_bytes(b"{\x00garbage")
    got = plumb("view", str(bad), "-o", str(tmp_path / "x.html"))
    assert got.returncode == 2 and len(got.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()
    got = plumb("view", str(tmp_path / "missing.prof"))
    assert got.returncode == 2 and "No such file" in got.stderr


def test_program_output_and_status_are_untouched(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("import sys\nprint('hello')\nsys.exit(3)\n")
    got = plumb("run", "-o", str(tmp_path / "r.html"), str(prog))
    assert got.returncode == 3 and got.stdout == "hello\n"
    assert embedded((tmp_path / "r.html").read_text())["kind"] == "deterministic"
