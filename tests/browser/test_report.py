"""The HTML report in a real browser: Debian's chromium, driven by
Playwright for Python (no browser download).  Reports are made by the real
commands from real profiles; the tests click, zoom, search, sort and follow
callers and callees, and check what the page then shows.

scripts/run-browser-tests.sh runs this file with the newest CPython's venv;
without chromium or Playwright it fails (make test-deps installs both)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import plumb  # noqa: E402

sys.path.insert(0, HERE)
from chromium import browser  # noqa: E402,F401  (the fixture)

PROGRAM = """\
import threading

def leaf(n):
    total = 0
    for i in range(n):
        total += i
    return total

def a():
    return leaf(3000)

def b():
    return leaf(30000)

def main():
    for _ in range(30):
        a()
        b()

main()
t = threading.Thread(target=main, name="worker")
t.start()
t.join()
"""


class Report:
    """One open report, with the page's errors and any network request
    collected: a self-contained report makes none."""

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
                     else self.requests.append(r.url))
        self.page.goto("file://" + os.path.abspath(path))
        self.page.wait_for_selector("body[data-ready='1']", timeout=20000)

    def frames(self):
        return self.page.evaluate("plumbReport.frames()")

    def frame(self, name):
        found = [f for f in self.frames() if f["name"] == name]
        assert found, f"no frame {name!r} drawn"
        return max(found, key=lambda f: f["w"])

    def click_frame(self, name):
        """Clicks a frame's label: in the squaremap, a rectangle's header
        strip (its middle belongs to its children)."""
        f = self.frame(name)
        squaremap = self.page.get_attribute("body", "data-view") == "squaremap"
        self.page.mouse.click(f["x"] + min(f["w"], 40) / 2, f["y"] + (7 if squaremap else f["h"] / 2))

    def tab(self, view):
        self.page.click(f"#tabs button[data-view={view}]")
        assert self.page.get_attribute("body", "data-view") == view

    def profile(self):
        """The JSON profile the page embeds."""
        return json.loads(self.page.evaluate(
            "document.getElementById('plumb-profile').textContent"))

    def text(self, selector):
        return self.page.inner_text(selector)

    def close(self):
        assert self.errors == [], self.errors
        assert self.requests == [], self.requests
        self.page.close()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The program's report, from `plumb run`."""
    d = tmp_path_factory.mktemp("report")
    prog = d / "prog.py"
    prog.write_text(PROGRAM)
    got = plumb("run", "-o", str(d / "prof.html"), str(prog))
    assert got.returncode == 0, got.stderr
    return d


def leaf_share(doc):
    """leaf's share of the profile's time from the JSON: what a search for
    leaf must report."""
    t, s, fn = doc["tree"], doc["strings"], doc["functions"]
    n = len(t["parent"])
    incl = [0] * n
    for i in range(n - 1, -1, -1):
        incl[i] += t["self"][i]
        if t["parent"][i] >= 0:
            incl[t["parent"][i]] += incl[i]
    total = sum(incl[r] for r in t["threads"]["root"])

    def is_leaf(i):
        return t["func"][i] >= 0 and s[fn["name"][t["func"][i]]] == "leaf"

    under = 0
    for i in range(n):
        if not is_leaf(i):
            continue
        j = t["parent"][i]
        while j >= 0 and not is_leaf(j):
            j = t["parent"][j]
        if j < 0:
            under += incl[i]
    return under / total


def test_flame_graph_zoom_breadcrumbs_and_search(browser, made):
    r = Report(browser, made / "prof.html")
    names = {f["name"] for f in r.frames()}
    assert {"main", "a", "b", "leaf", "all threads"} <= names
    # Flame graph: the root at the bottom.
    frames = r.frames()
    root = [f for f in frames if f["depth"] == 0][0]
    assert all(f["y"] <= root["y"] for f in frames)

    r.click_frame("b")
    assert r.page.evaluate("plumbReport.focus()") == "b"
    assert r.text("#crumbs").split("\n")[-1].strip() == "b" or r.text("#crumbs").endswith("b")
    zoomed = r.frames()
    assert {f["name"] for f in zoomed} <= {"b", "leaf"}
    width = r.page.evaluate("document.getElementById('canvas').getBoundingClientRect().width")
    assert abs(r.frame("b")["w"] - width) < 2   # b now spans the width
    # Clicking opened b's details: called by main, calls leaf.
    assert r.text("#detail-name") == "b"
    assert "main" in r.text("#callers") and "leaf" in r.text("#callees")

    r.page.click("#crumbs button >> nth=0")
    assert r.page.evaluate("plumbReport.focus()") is None

    r.page.fill("#search", "leaf")
    r.page.wait_for_function("plumbReport.matchShare() !== null")
    want = leaf_share(r.profile())
    got = r.page.evaluate("plumbReport.matchShare()")
    assert abs(got - want) < 1e-9, (got, want)
    assert 0.3 < got < 1
    assert "1 function matches" in r.text("#search-share")
    r.close()


def test_icicle_and_squaremap(browser, made):
    r = Report(browser, made / "prof.html")
    r.tab("icicle")
    frames = r.frames()
    root = [f for f in frames if f["depth"] == 0][0]
    assert all(f["y"] >= root["y"] for f in frames)   # the root on top
    r.tab("squaremap")
    squares = r.frames()
    assert {"main", "a", "b", "leaf"} <= {s["name"] for s in squares}
    # Nested: b's rectangle lies inside main's, and leaf's inside b's.
    main = r.frame("main")
    b = r.frame("b")
    assert main["x"] <= b["x"] and b["x"] + b["w"] <= main["x"] + main["w"] + 0.5
    assert main["y"] <= b["y"] and b["y"] + b["h"] <= main["y"] + main["h"] + 0.5
    leaf = max((f for f in squares if f["name"] == "leaf" and b["x"] <= f["x"] < b["x"] + b["w"]
                and b["y"] <= f["y"] < b["y"] + b["h"]), key=lambda f: f["w"] * f["h"])
    assert leaf["x"] + leaf["w"] <= b["x"] + b["w"] + 0.5 and leaf["y"] + leaf["h"] <= b["y"] + b["h"] + 0.5
    # Areas follow times: the larger rectangle of a and b belongs to the one
    # with more cumulative time in the profile (b does ten times a's work,
    # but what a run measures depends on the host, so the profile decides;
    # headers and padding make areas only roughly proportional).
    a = r.frame("a")
    doc = r.profile()
    names, st, fn = doc["strings"], doc["stats"], doc["functions"]
    total = {names[fn["name"][f]]: t for f, t in zip(st["function"], st["total"])}
    assert (b["w"] * b["h"] > a["w"] * a["h"]) == (total["b"] > total["a"]), (a, b, total)
    r.click_frame("b")
    assert r.page.evaluate("plumbReport.focus()") == "b"
    r.close()


def test_function_table_sort_filter_and_navigation(browser, made):
    r = Report(browser, made / "prof.html")
    doc = r.profile()
    r.tab("table")
    rows = r.page.locator("#functions tbody tr")
    assert rows.count() == len(doc["stats"]["function"])
    # Sorted by cumulative time first; Own sorts by own time, twice reverses.
    r.page.click("#functions th[data-key=own]")
    first = r.page.inner_text("#functions tbody tr >> nth=0 >> td >> nth=0")
    s, fn, st = doc["strings"], doc["functions"], doc["stats"]
    by_own = max(range(len(st["function"])), key=lambda k: st["own"][k])
    expected = s[fn["name"][st["function"][by_own]]]
    assert first == expected
    r.page.click("#functions th[data-key=own]")
    assert "sorted-asc" in r.page.get_attribute("#functions th[data-key=own]", "class")
    r.page.click("#functions th[data-key=name]")
    names = [r.page.inner_text(f"#functions tbody tr >> nth={i} >> td >> nth=0") for i in range(5)]
    assert names == sorted(names, key=str.lower)

    r.page.fill("#filter", "leaf")
    assert rows.count() == 1
    rows.first.click()
    assert r.text("#detail-name") == "leaf"
    assert "def leaf(n):" in r.text("#source")
    first_line = r.page.inner_text("#source .first .ln")
    assert first_line == "3"
    # Follow a caller, then go back and forward.
    r.page.click('#callers tr[data-function] >> text="a"')
    assert r.text("#detail-name") == "a"
    r.page.click('#callees tr[data-function] >> text="leaf"')
    assert r.text("#detail-name") == "leaf"
    r.page.click("#back")
    assert r.text("#detail-name") == "a"
    r.page.click("#back")
    assert r.text("#detail-name") == "leaf"
    assert r.page.is_disabled("#back")
    r.page.click("#forward")
    assert r.text("#detail-name") == "a"
    r.close()


def test_trees_and_thread_selector(browser, made):
    r = Report(browser, made / "prof.html")
    r.tab("topdown")
    tree = r.text("#tree")
    # Opened along the hottest path (which one is hottest depends on the
    # run: the main thread's work or its wait for the worker).
    assert "<module>" in tree and "%" in tree
    assert r.page.locator("#tree .tn[aria-expanded=true]").count() >= 3
    # Open main -> b by hand: leaf appears under b.
    for name in ("main", "b"):
        row = r.page.locator("#tree .tn", has=r.page.locator(".nm", has_text=re.compile(f"^{name}$"))).first
        if row.get_attribute("aria-expanded") != "true":
            row.locator(".tw").click()
    assert "leaf" in r.text("#tree")
    r.tab("bottomup")
    first = r.page.locator("#tree > .tn").first.inner_text()
    # Own time is mostly in leaf's loop.
    assert "leaf" in first or "acquire" in first, first
    # Threads: the main thread alone, then the worker alone.
    r.tab("flame")
    options = r.page.locator("#thread option").all_inner_texts()
    assert options[0].startswith("All threads (2)") and any("MainThread" in o for o in options)
    r.page.select_option("#thread", index=1)
    assert r.frame(r.frames()[0]["name"])  # redrawn
    labels = {f["name"] for f in r.frames() if f["depth"] == 0}
    assert labels == {"MainThread"}
    r.close()


def test_rebuilt_tree_is_announced(browser, tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(tmp_path / "c.prof"), str(prog)],
                   check=True, capture_output=True)
    got = plumb("view", str(tmp_path / "c.prof"))
    assert got.returncode == 0, got.stderr
    r = Report(browser, tmp_path / "c.html")
    assert "rebuilt from caller" in r.text("#notice")
    assert {"main", "b", "leaf"} <= {f["name"] for f in r.frames()}
    r.close()


def test_sampled_profile_and_hostile_names(browser, tmp_path):
    evil = "</script><script>window.pwned=1</script>"
    folded = (f"main (app.py:1);{evil} (x.py:2) 40\n"
              "main (app.py:1);<!--comment (y.py:3) 60\n")
    (tmp_path / "in.folded").write_text(folded)
    got = plumb("view", str(tmp_path / "in.folded"), "-o", str(tmp_path / "s.html"))
    assert got.returncode == 0, got.stderr
    r = Report(browser, tmp_path / "s.html")
    assert r.page.evaluate("window.pwned") is None
    assert "sampled profile" in r.text("#facts")
    r.tab("table")
    names = r.page.locator("#functions tbody td.name").all_inner_texts()
    assert evil in names and "<!--comment" in names
    r.close()


def test_a_profile_of_100000_nodes_opens_and_zooms(browser, tmp_path):
    # 100,000 distinct stacks: 100 modules x 10 handlers x 100 leaves.
    lines = []
    for m in range(100):
        for h in range(10):
            for leaf in range(100):
                lines.append(f"main (app.py:1);mod{m} (m{m}.py:1);h{h} (m{m}.py:{h + 10});"
                             f"leaf{leaf} (l.py:{leaf + 1}) {1 + (leaf % 7)}")
    (tmp_path / "big.folded").write_text("\n".join(lines) + "\n")
    got = plumb("view", str(tmp_path / "big.folded"), "-o", str(tmp_path / "big.html"))
    assert got.returncode == 0, got.stderr
    size = os.path.getsize(tmp_path / "big.html")
    assert size < 4 << 20, size   # strings once, numbers in columns
    r = Report(browser, tmp_path / "big.html")
    assert "mod0" in {f["name"] for f in r.frames()} or len(r.frames()) > 100
    r.click_frame("mod1")
    assert r.page.evaluate("plumbReport.focus()") == "mod1"
    assert {f["name"] for f in r.frames() if f["depth"] == 0} == {"mod1"}
    r.tab("squaremap")
    assert len(r.frames()) > 50
    r.close()


def test_thread_selector_of_a_sampled_profile(browser, tmp_path):
    austin = tmp_path / "austin.txt"
    austin.write_text("P4242;T7f01;/srv/app.py:main:10;/srv/app.py:work:20 75\n"
                      "P4242;T7f02;/srv/app.py:worker:30 25\n")
    got = plumb("view", str(austin), "-o", str(tmp_path / "a.html"))
    assert got.returncode == 0, got.stderr
    r = Report(browser, tmp_path / "a.html")
    options = r.page.locator("#thread option").all_inner_texts()
    assert len(options) == 3 and options[0].startswith("All threads (2)")
    everything = {f["name"] for f in r.frames()}
    r.page.select_option("#thread", index=1)
    one = r.frames()
    assert {f["name"] for f in one if f["depth"] == 0} == {options[1].split(" \u2014 ")[0]}
    assert {f["name"] for f in one if f["depth"] > 0} <= everything
    r.close()


def test_timeline_of_a_request(browser, made, tmp_path):
    """A per-request report with its transaction trace: the Timeline tab
    draws every segment where it ran, nested ones indented under their
    parent (a view in its middleware, queries in the view), duplicates and
    N+1 flagged, a failed outbound call marked."""
    from plumb.report import render
    from plumb.web.trace import Trace

    prog = made / "prog.py"
    assert plumb("run", "-o", str(tmp_path / "p.json"), str(prog)).returncode == 0
    trace = Trace("GET", "/orders/")
    t0 = trace.started
    for i in range(5):
        trace.sql("SELECT * FROM item WHERE order_id = %s", [i], t0 + 0.010 * i + 0.002, 0.004)
    trace.sql("SELECT * FROM orders", [], t0 + 0.060, 0.002)
    trace.sql("SELECT * FROM orders", [], t0 + 0.070, 0.002)
    trace.segment("http", "GET http://stock.internal/level", t0 + 0.080, 0.005,
                  error="ConnectionRefusedError")
    trace.segment("view", "shop.views.order", t0 + 0.001, 0.090, detail="order=7")
    trace.segment("middleware", "shop.middleware.Auth", t0, 0.095)
    page = render((tmp_path / "p.json").read_text(), "GET /orders/", trace.document(0.1))
    (tmp_path / "r.html").write_text(page)
    r = Report(browser, tmp_path / "r.html")
    r.tab("timeline")
    rows = r.page.locator("#timeline tbody tr")
    assert rows.count() == 10
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(10)]
    assert kinds == ["middleware", "view"] + ["sql"] * 7 + ["http"]
    assert r.text("#timeline tbody tr >> nth=1 >> td.name") == "viewshop.views.order(order=7)"
    indent = [float(rows.nth(i).locator("td.name").evaluate("e => e.style.paddingLeft")[:-2])
              for i in (0, 1, 2, 9)]
    assert indent[0] < indent[1] < indent[2] == indent[3]
    assert r.page.locator("#timeline tbody tr.flagged").count() == 8
    assert r.page.locator("#timeline .flag", has_text="N+1").count() == 5
    assert r.page.locator("#timeline .flag", has_text="duplicate").count() == 2
    assert r.page.locator("#timeline .flag", has_text="ConnectionRefusedError").count() == 1
    summary = r.text("#timeline-summary")
    assert "7 SQL queries" in summary and "24.0 ms" in summary and "1 N+1 pattern" in summary
    assert "1 outbound HTTP call in 5.00 ms" in summary
    # The bars sit where the segments ran: the last query starts at 70% of the request.
    left = r.page.locator("#timeline tbody tr >> nth=8 >> .wf i").evaluate("e => e.style.left")
    assert abs(float(left.rstrip("%")) - 70) < 1e-6
    r.close()
