"""The dashboard's pages as DashboardApp.respond() answers them (the
browser tests in tests/browser/test_dashboard_in_browser.py draw them): the page
names its scripts and styles below the mount's base and inlines none (the
content security policy forbids inline code), its static files, and the
report made for a profile or a trace, loading its code from /static/."""
import re

import pytest

from monitor_seed import PRODUCT, seed_store

from plumb.dashboard.app import DashboardApp
from plumb.monitor.store import open_store


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "m.db")
    trace_id, _ = seed_store(path)
    with open_store(path) as opened:
        yield opened, trace_id


@pytest.mark.parametrize("base", ["", "/plumb"])
def test_the_page_loads_its_code_below_the_base_and_inlines_none(store, base):
    app = DashboardApp(store[0], base=base)
    got = app.respond("GET", "/", "")
    assert got.status == 200 and got.content_type.startswith("text/html")
    page = got.body.decode()
    assert f'data-base="{base}/"' in page
    assert f'<script src="{base}/static/dashboard.js"></script>' in page
    assert f'href="{base}/static/dashboard.css"' in page
    assert not re.search(r"<script>|<style>|\son\w+=", page)


def test_static_files_and_their_types(store):
    app = DashboardApp(store[0])
    for name, kind in [("dashboard.js", "text/javascript"), ("dashboard.css", "text/css"),
                       ("report.js", "text/javascript"), ("report.css", "text/css"),
                       ("favicon.svg", "image/svg+xml")]:
        got = app.respond("GET", f"/static/{name}", "")
        assert got.status == 200 and got.content_type.startswith(kind) and got.body
    assert app.respond("GET", "/static/../app.py", "").status == 404
    assert app.respond("GET", "/static/pages.py", "").status == 404
    assert app.respond("POST", "/", "", b"").status == 404


def test_a_profile_report_loads_the_report_code_from_static(store):
    app = DashboardApp(store[0], base="/plumb")
    got = app.respond("GET", "/report/profile", f"transaction={PRODUCT}&view=topdown")
    assert got.status == 200
    page = got.body.decode()
    assert '<script src="/plumb/static/report.js"></script>' in page
    assert '<link rel="stylesheet" href="/plumb/static/report.css">' in page
    assert "<script>" not in page and "<style>" not in page
    meta = re.search(r'<script type="application/json" id="plumb-meta">(.*?)</script>', page)
    assert '"view":"topdown"' in meta.group(1) and '"sources":{}' in meta.group(1)
    assert "load" in page


def test_a_report_without_samples_or_with_a_bad_view_says_so(store):
    app = DashboardApp(store[0])
    empty = app.respond("GET", "/report/profile", "transaction=nothing.here")
    assert empty.status == 200 and b"No samples in this window." in empty.body
    bad = app.respond("GET", "/report/profile", "view=pie")
    assert bad.status == 400 and b"view must be one of" in bad.body


def test_a_trace_report_opens_on_its_timeline(store):
    app = DashboardApp(store[0])
    got = app.respond("GET", f"/report/trace/{store[1]}", "")
    assert got.status == 200
    assert b'"view":"timeline"' in got.body and b'"segments"' in got.body
    assert app.respond("GET", "/report/trace/" + "0" * 32, "").status == 404
