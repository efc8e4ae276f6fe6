"""Screenshots of the HTML report's views for docs/images/, taken in
Debian's chromium through Playwright (as the report's tests are):

    .venv/3.13/bin/python scripts/report-screenshots.py

It profiles examples/demo.py with `plumb run -o build/demo.html`, opens the
report and saves one PNG per view."""
import os
import shutil
import subprocess
import sys

from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "images")
REPORT = os.path.join(ROOT, "build", "demo.html")


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    subprocess.run([sys.executable, "-m", "plumb", "run", "-o", REPORT,
                    os.path.join(ROOT, "examples", "demo.py")], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1360, "height": 760})
        page.goto("file://" + REPORT)
        page.wait_for_selector("body[data-ready='1']")

        def shot(name):
            path = os.path.join(OUT, f"report-{name}.png")
            page.screenshot(path=path)
            print("wrote", os.path.relpath(path, ROOT))

        shot("flame")
        page.fill("#search", "sorted")
        page.wait_for_function("plumbReport.matchShare() !== null")
        shot("search")
        page.fill("#search", "")
        page.wait_for_function("plumbReport.matchShare() === null")
        page.click("#tabs button[data-view=icicle]")
        frame = [f for f in page.evaluate("plumbReport.frames()") if f["name"] == "main"][0]
        page.mouse.click(frame["x"] + 20, frame["y"] + 8)
        shot("icicle-zoomed")
        page.click("#close")
        page.click("#crumbs button >> nth=0")
        page.click("#tabs button[data-view=squaremap]")
        shot("squaremap")
        page.click("#tabs button[data-view=table]")
        page.click("#functions tbody tr >> text=anagrams_quadratic")
        shot("functions")
        page.click("#tabs button[data-view=topdown]")
        shot("topdown")
        browser.close()


if __name__ == "__main__":
    main()
