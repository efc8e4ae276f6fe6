#!/usr/bin/env python3
"""How fast the HTML report is with a big profile, in Debian's chromium
(headless, through Playwright, as the report's tests run it):

    .venv/3.13/bin/python benchmarks/report.py [--nodes 100000] [--repeat 7]

Makes a sampled profile with NODES distinct call paths (collapsed stacks
through `plumb view`), then opens the report REPEAT times and prints the
median and range of: the file's size; the time from navigation until the
first flame graph is drawn (parse the JSON, build the tree, draw); and, in
the page, the time a click takes to zoom and redraw, a search to highlight,
and the squaremap and top-down views to appear."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from playwright.sync_api import sync_playwright


def make_profile(directory, nodes):
    # main -> mod<m> -> h<h> -> leaf<l>: 1 + M + M*H + M*H*L paths.
    modules, handlers = 100, 10
    leaves = max(1, nodes // (modules * handlers))
    path = os.path.join(directory, "big.folded")
    with open(path, "w") as f:
        for m in range(modules):
            for h in range(handlers):
                for leaf in range(leaves):
                    f.write(f"main (app.py:1);mod{m} (m{m}.py:1);h{h} (m{m}.py:{h + 10});"
                            f"leaf{leaf} (l.py:{leaf + 1}) {1 + (leaf * 7 + h) % 13}\n")
    out = os.path.join(directory, "big.html")
    subprocess.run([sys.executable, "-m", "plumb", "view", path, "-o", out], check=True,
                   stderr=subprocess.DEVNULL)
    return out, 1 + modules + modules * handlers + modules * handlers * leaves


# Runs in the page: the time a synchronous action (an event's handler
# draws before returning) takes, in ms.
TIMED = """async (action) => {
  const canvas = document.getElementById('canvas');
  const t0 = performance.now();
  if (action.kind === 'click') {
    const r = canvas.getBoundingClientRect();
    canvas.dispatchEvent(new MouseEvent('click', {clientX: action.x, clientY: action.y, bubbles: true}));
  } else if (action.kind === 'tab') {
    document.querySelector('#tabs button[data-view=' + action.view + ']').click();
  } else if (action.kind === 'search') {
    plumbReport.search(action.text);
  }
  return performance.now() - t0;
}"""


def measure(report, repeat):
    rows = {"open (ms)": [], "zoom click (ms)": [], "search (ms)": [], "squaremap (ms)": [],
            "top-down (ms)": [], "icicle (ms)": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto("file://" + report)
            page.wait_for_selector("body[data-ready='1']", timeout=60000)
            rows["open (ms)"].append(page.evaluate("plumbReport.readyAt"))
            frame = [f for f in page.evaluate("plumbReport.frames()") if f["name"] == "mod1"][0]
            rows["zoom click (ms)"].append(page.evaluate(
                TIMED, {"kind": "click", "x": frame["x"] + 5, "y": frame["y"] + 5}))
            page.click("#crumbs button >> nth=0")
            rows["search (ms)"].append(page.evaluate(TIMED, {"kind": "search", "text": "leaf1"}))
            page.evaluate("plumbReport.search('')")
            for view, key in (("squaremap", "squaremap (ms)"), ("topdown", "top-down (ms)"),
                              ("icicle", "icicle (ms)")):
                rows[key].append(page.evaluate(TIMED, {"kind": "tab", "view": view}))
            page.close()
        browser.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        report, nodes = make_profile(d, args.nodes)
        size = os.path.getsize(report)
        rows = measure(report, args.repeat)
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"report of {nodes:,} call paths: {size / 1e6:.2f} MB; {version}; {args.repeat} loads")
    print(f"{'':<18}{'median':>10}{'min':>10}{'max':>10}")
    for key, values in rows.items():
        print(f"{key:<18}{statistics.median(values):>10.1f}{min(values):>10.1f}{max(values):>10.1f}")


if __name__ == "__main__":
    main()
