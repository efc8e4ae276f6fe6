"""The dashboard's pages in a real browser (Debian's chromium through
Playwright), served by `plumb serve` over a store with known contents
(dashboard_seed.py): each page renders the store's transactions, the charts
draw bars where the data has requests and none where it has none, a click
on a transaction opens its page and a kept trace its waterfall (the
report's Timeline), an X-Ray started from the page is running, a worker
picked in the select shows that worker's numbers, and a transaction name
and a view argument holding <script> are shown as text (no script of
theirs runs).  The same pages under a base path, as Django
mounts them, fetch and link below that base.

With PLUMB_DASHBOARD_SCREENSHOTS=FOLDER the tests save each page there
(docs/images/dashboard-*.png are made so)."""
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from conftest import default_signals, env_with_plumb, free_port, wait_for_port  # noqa: E402
import dashboard_seed as seed  # noqa: E402
from plumb.monitor import apdex  # noqa: E402
from chromium import browser  # noqa: E402,F401  (the fixture)
SHOTS = os.environ.get("PLUMB_DASHBOARD_SCREENSHOTS")
RPM_BLUE = (0x3b, 0x82, 0xa0)      # dashboard.js's COLORS.rpm
SQL_ORANGE = (0xd9, 0x77, 0x06)    # COLORS.sql
APDEX_GREEN = (0x15, 0x80, 0x3d)   # COLORS.apdex


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard")
    path = str(folder / "m.db")
    return path, seed.seed(path)


@pytest.fixture(scope="module")
def server(seeded, tmp_path_factory):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "plumb", "serve", "--store", seeded[0],
                             "--port", str(port)], cwd=str(tmp_path_factory.mktemp("serve")),
                            env=env_with_plumb(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.communicate(timeout=30)


class Dashboard:
    """One browser page on the dashboard, collecting the page's errors (a
    content security policy refusal is one) and its requests."""

    def __init__(self, browser, root):
        self.root = root
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, route):
        self.page.goto(self.root + route)
        self.ready()

    def ready(self):
        self.page.wait_for_selector("body[data-ready='1']", timeout=30000)

    def follow(self, selector):
        """Clicks a link to another route and waits for the page it opens."""
        self.page.evaluate("document.body.removeAttribute('data-ready')")
        self.page.click(selector)
        self.ready()

    def report(self):
        """The embedded report's frame of the page shown now, once drawn."""
        frame = self.page.wait_for_selector("#page iframe.report").content_frame()
        frame.wait_for_selector("body[data-ready='1']", timeout=30000)
        return frame

    def column(self, chart, t, color):
        """How many pixels of `color` the chart has in the column where it
        draws the step holding time t."""
        return self.page.evaluate("""([id, t, color]) => {
            const c = document.getElementById(id), ch = plumbDashboard.chart(id);
            const x = Math.round(ch.x(t));
            const d = c.getContext('2d').getImageData(x, ch.top, 1, ch.bottom - ch.top).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4)
                if (Math.abs(d[i] - color[0]) + Math.abs(d[i + 1] - color[1]) + Math.abs(d[i + 2] - color[2]) < 12) n++;
            return n;
        }""", [chart, t, list(color)])

    def shot(self, name):
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            self.page.wait_for_timeout(300)
            self.page.screenshot(path=os.path.join(SHOTS, f"dashboard-{name}.png"), full_page=False)

    def close(self):
        assert self.page.evaluate("window.__pwned === undefined"), "a seeded script ran"
        assert self.errors == [], self.errors
        self.page.close()


@pytest.fixture
def dash(browser, server):
    d = Dashboard(browser, server)
    yield d
    d.close()


def minute_t(seeded, index):
    return seeded[1]["first"] + index * 60 + 30


def tile(page, name):
    return page.inner_text(f"[data-tile='{name}'] .tile-value")


def requests_of(names, worker_index=None):
    """The seeded requests of `names` on one host, or of one of its workers."""
    total = 0
    for name in names:
        per = seed.TRANSACTIONS[name][1]
        for index in range(seed.MINUTES):
            if index != seed.QUIET:
                count = per * (seed.BUSY_FACTOR if index == seed.BUSY else 1)
                total += count if worker_index is None else seed.worker_share(count, worker_index)
    return total


def table_names(page, selector):
    return page.eval_on_selector_all(selector + " tbody tr td:first-child",
                                     "cells => cells.map(c => c.textContent)")


def test_overview_shows_the_transactions_and_draws_where_the_data_is(dash, seeded):
    dash.open("#/overview?since=30m")
    names = table_names(dash.page, "#top-transactions")
    assert set(names) == set(seed.TRANSACTIONS), names
    requests = sum(per * (seed.MINUTES - 1 + seed.BUSY_FACTOR - 1)
                   for _, per, _, _ in seed.TRANSACTIONS.values()) * 2
    shown = dash.page.inner_text("[data-tile='Requests'] .tile-value")
    assert int(shown.replace(",", "")) == requests
    busy, quiet, normal = (minute_t(seeded, i) for i in (seed.BUSY, seed.QUIET, seed.BUSY + 1))
    busy_px = dash.column("chart-throughput", busy, RPM_BLUE)
    normal_px = dash.column("chart-throughput", normal, RPM_BLUE)
    assert busy_px > 0 and normal_px > 0
    # Bars are as tall as the data: ten times the requests, ten times the pixels (within a pixel's rounding).
    assert abs(busy_px - seed.BUSY_FACTOR * normal_px) <= seed.BUSY_FACTOR, (busy_px, normal_px)
    assert dash.column("chart-throughput", quiet, RPM_BLUE) == 0
    assert dash.column("chart-components", normal, SQL_ORANGE) > 0
    assert dash.column("chart-components", quiet, SQL_ORANGE) == 0
    dash.shot("overview")


def test_transactions_sort_and_a_click_opens_one(dash):
    dash.open("#/transactions?since=30m")
    assert set(table_names(dash.page, "#transactions")) == set(seed.TRANSACTIONS)
    dash.page.click("#transactions th[data-key='mean_ms']")
    order = table_names(dash.page, "#transactions")
    means = {name: ms for name, (_, _, ms, _) in seed.TRANSACTIONS.items()}
    assert order == sorted(means, key=lambda n: -means[n]), order
    dash.shot("transactions")
    row = dash.page.locator("#transactions tbody tr", has=dash.page.locator(
        f"a.tx:text-is('{seed.PRODUCT}')"))
    cells = row.locator("td").all_inner_texts()
    dash.follow(f"#transactions a.tx:text-is('{seed.PRODUCT}')")
    assert dash.page.get_attribute("body", "data-page") == "transaction"
    assert dash.page.inner_text("h1.tx-name") == seed.PRODUCT
    # The page's numbers come from its series, the table's from the
    # transactions' rows: the same requests, the same percentiles.
    tiles = {name: dash.page.inner_text(f"[data-tile='{name}'] .tile-value")
             for name in ("Requests", "Throughput", "Mean", "p95", "p99", "Apdex")}
    assert tiles == {"Requests": cells[7], "Throughput": cells[6] + " rpm", "Mean": cells[3],
                     "p95": cells[4], "p99": cells[5], "Apdex": cells[9]}


def test_a_transaction_page(dash, seeded):
    dash.open(f"#/transaction?since=30m&name={seed.PRODUCT}")
    bins = dash.page.evaluate("plumbDashboard.chart('chart-histogram').bins")
    # The seeded durations run from 20 ms to 80 ms (40 ms each way): the histogram's columns too.
    drawn = sorted(2 ** (int(b) / 4) for b in bins)
    assert drawn and 18 <= drawn[0] and drawn[-1] <= 82, drawn
    assert sum(b["count"] for b in bins.values()) == 60 * (seed.MINUTES - 1 + seed.BUSY_FACTOR - 1) * 2
    assert dash.column("chart-throughput", minute_t(seeded, seed.QUIET), RPM_BLUE) == 0
    assert dash.column("chart-throughput", minute_t(seeded, seed.BUSY), RPM_BLUE) > 0
    traces = dash.page.eval_on_selector_all("#traces tbody a.trace-link", "a => a.length")
    assert traces == len(seeded[1]["traces"][seed.PRODUCT])
    dash.page.wait_for_selector("#components tbody tr")
    kinds = table_names(dash.page, "#components")
    # Own times in the seeded traces: the view 46% of the request (90% less
    # what it encloses), its 6 queries of one shape 30%, the template 10%,
    # the duplicated query 4%; middleware is left out.
    assert kinds == ["view", "sql", "template", "sql"], kinds
    report = dash.report()
    assert "load_prices" in report.evaluate("JSON.stringify(plumbReport.frames().map(f => f.name))")
    dash.shot("transaction")


def seeded_apdex(name):
    """The apdex of every seeded request of `name`, from the seed's minutes."""
    satisfied = tolerating = frustrated = 0
    for _ in seed.HOSTS:
        for worker_index in range(2):
            for index in range(seed.MINUTES):
                _, per, ms, sql_share = seed.TRANSACTIONS[name]
                count = seed.worker_share(per * (seed.BUSY_FACTOR if index == seed.BUSY else 1),
                                          worker_index)
                if index == seed.QUIET or not count:
                    continue
                row = seed.minute_of(name, 0, index, count, ms, sql_share)
                satisfied += row.satisfied
                tolerating += row.tolerating
                frustrated += row.frustrated
    return apdex.score(satisfied, tolerating, frustrated)


def test_a_transaction_page_shows_its_apdex(dash, seeded):
    dash.open(f"#/transaction?since=30m&name={seed.CHECKOUT}")
    # Checkout's requests take 150 to 600 ms (T is 500 ms), and one a
    # minute fails every fourth minute: satisfied, tolerating, frustrated.
    score = seeded_apdex(seed.CHECKOUT)
    assert 0.5 < score < 0.95
    assert tile(dash.page, "Apdex") == f"{score:.2f}"
    assert dash.column("chart-apdex", minute_t(seeded, seed.BUSY + 1), APDEX_GREEN) > 0
    assert dash.column("chart-apdex", minute_t(seeded, seed.QUIET), APDEX_GREEN) == 0
    dash.open(f"#/transaction?since=30m&name={seed.TASK}")
    assert tile(dash.page, "Apdex") == "–"       # background tasks have none


def test_picking_a_worker_shows_its_numbers(dash, seeded):
    dash.open(f"#/transaction?since=30m&host=web-1&name={seed.PRODUCT}")
    assert tile(dash.page, "Requests") == f"{requests_of([seed.PRODUCT]):,}"
    dash.page.wait_for_selector("#worker option[value='102']", state="attached")
    assert dash.page.eval_on_selector_all("#worker option", "os => os.map(o => o.value)") == [
        "", "101", "102"]
    kept = dash.page.eval_on_selector_all("#traces tbody a.trace-link", "a => a.length")
    assert kept == len(seeded[1]["traces"][seed.PRODUCT])
    dash.page.evaluate("document.body.removeAttribute('data-ready')")
    dash.page.select_option("#worker", "102")
    dash.ready()
    route = dash.page.evaluate("location.hash")
    assert "worker=102" in route and "host=web-1" in route
    assert tile(dash.page, "Requests") == f"{requests_of([seed.PRODUCT], 1):,}"
    # The traces were kept by the other worker.
    assert dash.page.eval_on_selector_all("#traces tbody a.trace-link", "a => a.length") == 0
    dash.page.wait_for_function("document.getElementById('worker').value === '102'")
    # Another host: all of its workers again.
    dash.page.evaluate("document.body.removeAttribute('data-ready')")
    dash.page.select_option("#host", "web-2")
    dash.ready()
    assert "worker=" not in dash.page.evaluate("location.hash")
    assert tile(dash.page, "Requests") == f"{requests_of([seed.PRODUCT]):,}"


def test_a_worker_of_any_host_can_be_picked_from_all_hosts(dash):
    dash.open("#/overview?since=30m")
    dash.page.wait_for_selector("#worker optgroup[label='web-2'] option[value='201']",
                                state="attached")
    groups = dash.page.eval_on_selector_all("#worker optgroup", "gs => gs.map(g => g.label)")
    assert groups == ["web-1", "web-2"]
    dash.page.evaluate("document.body.removeAttribute('data-ready')")
    dash.page.select_option("#worker", "201")
    dash.ready()
    route = dash.page.evaluate("location.hash")
    assert "worker=201" in route and "host=web-2" in route
    shown = tile(dash.page, "Requests")
    assert int(shown.replace(",", "")) == requests_of(seed.TRANSACTIONS, 0)
    dash.page.wait_for_function("document.getElementById('host').value === 'web-2'")


def test_the_overview_breaks_requests_down_by_host(dash):
    dash.open("#/overview?since=30m")
    assert table_names(dash.page, "#hosts") == ["web-1", "web-2"]
    shares = dash.page.eval_on_selector_all(
        "#hosts tbody tr", "rows => rows.map(r => [r.children[1].textContent, "
        "r.children[2].textContent])")
    each = requests_of(seed.TRANSACTIONS)
    assert shares == [["50.0%", f"{each:,}"], ["50.0%", f"{each:,}"]]
    dash.page.evaluate("document.body.removeAttribute('data-ready')")
    dash.page.click("#hosts a:text('web-2')")
    dash.ready()
    assert "host=web-2" in dash.page.evaluate("location.hash")
    assert tile(dash.page, "Requests") == f"{each:,}"
    assert dash.page.query_selector("#hosts") is None     # one host: nothing to break down


def test_a_kept_trace_shows_its_waterfall(dash):
    dash.open(f"#/transaction?since=30m&name={seed.PRODUCT}")
    dash.follow("#traces a.trace-link")
    assert dash.page.get_attribute("body", "data-page") == "trace"
    report = dash.report()
    assert report.evaluate("plumbReport.view()") == "timeline"
    rows = report.eval_on_selector_all("#timeline tbody tr", "rows => rows.length")
    assert rows == len(dash.page.eval_on_selector_all("#segments tbody tr", "r => r"))
    assert rows == 11
    flags = dict(zip(table_names(dash.page, "#sql-shapes"),
                     dash.page.eval_on_selector_all("#sql-shapes tbody tr td:last-child",
                                                    "cells => cells.map(c => c.textContent)")))
    assert flags == {seed.SQL_N_PLUS_ONE: "N+1", seed.SQL_DUPLICATE: "duplicate"}
    assert "load_prices" in dash.page.inner_text("#samples")
    dash.shot("trace")


def test_markup_from_requests_stays_text(dash):
    dash.open("#/transactions?since=30m")
    link = dash.page.locator("#transactions a.tx", has_text="window.__pwned=1")
    assert link.inner_text() == seed.HOSTILE and link.is_visible()
    dash.follow("#transactions a.tx:has-text('__pwned=1')")
    assert dash.page.inner_text("h1.tx-name") == seed.HOSTILE
    dash.follow("#traces a.trace-link")
    detail = dash.page.eval_on_selector_all("#segments tbody tr td:last-child",
                                            "cells => cells.map(c => c.textContent)")
    assert seed.HOSTILE_ARGUMENT in detail
    report = dash.report()
    assert seed.HOSTILE_ARGUMENT in report.inner_text("#timeline")
    assert report.evaluate("window.__pwned === undefined")
    assert dash.page.evaluate("document.querySelectorAll('script').length") == 1


def test_thread_profile(dash):
    dash.open("#/threads?since=30m&kind=background")
    report = dash.report()
    assert report.evaluate("plumbReport.view()") == "topdown"
    assert "rebuild_index" in report.inner_text("#tree")
    dash.shot("threads")
    dash.follow(".segmented a:text-is('Other')")
    assert "cache_janitor" in dash.report().inner_text("#tree")
    # A session started from the page: chosen at once, and empty (nothing
    # writes to this store).
    dash.follow("button:text-is('Start a 2-minute session')")
    chosen = dash.page.input_value("#thread-session")
    assert len(chosen) == 32 and "session" in dash.page.evaluate("location.hash")
    assert dash.report().inner_text("body") == "No samples in this window."


def test_an_xray_started_from_the_page_runs(dash, server):
    dash.open(f"#/xray?since=30m&transaction={seed.CART}")
    assert dash.page.input_value("#xray-transaction") == seed.CART
    dash.page.fill("#xray-duration", "600")
    dash.follow("#xray-start")
    assert dash.page.get_attribute("#session-state", "data-state") == "running"
    session_id = dash.page.evaluate("location.hash").split("/")[2].split("?")[0]
    with urllib.request.urlopen(server + "api/v1/sessions/" + session_id) as answer:
        stored = json.load(answer)
    assert stored["transaction"] == seed.CART and stored["status"] == "active"
    assert 599 <= stored["ends"] - stored["created"] <= 601
    dash.shot("xray")


class Below:
    """The dashboard mounted under /plumb, as Django's urls mount it: the
    app answers the path below the base (and nothing outside it)."""

    def __init__(self, app, base):
        self.app, self.base = app, base

    def respond(self, method, path, query, body=None):
        if not path.startswith(self.base + "/"):
            return self.app.respond(method, "/no-such-page", query, body)
        return self.app.respond(method, path[len(self.base):], query, body)


class Mounted:
    """plumb serve's own handler (loopback, no token) in front of Below."""

    def __init__(self, store_path):
        from plumb.dashboard.access import Access
        from plumb.dashboard.app import DashboardApp
        from plumb.dashboard.server import make_handler
        from plumb.monitor.store import open_store

        self.store = open_store(store_path)
        app = Below(DashboardApp(self.store, base="/plumb"), "/plumb")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(app, Access(None, True)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.root = f"http://127.0.0.1:{self.server.server_port}/plumb/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.store.close()


def test_under_a_base_path_every_fetch_and_link_stays_below_it(browser, seeded):
    mounted = Mounted(seeded[0])
    try:
        d = Dashboard(browser, mounted.root)
        d.open("#/overview?since=30m")
        assert set(table_names(d.page, "#top-transactions")) == set(seed.TRANSACTIONS)
        d.follow(f"#top-transactions a.tx:text-is('{seed.CHECKOUT}')")
        d.report()
        prefix = mounted.root[:-len("plumb/")]
        outside = [u for u in d.requests if not u.startswith(mounted.root)]
        assert outside == [] and any(u.startswith(prefix + "plumb/api/v1/") for u in d.requests)
        d.close()
    finally:
        mounted.close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/system-deps.sh --test)")
def test_an_xray_collects_the_traces_of_a_real_load(browser, tmp_path):
    """The example shop under gunicorn, plumb serve on its store: an X-Ray
    started from the page while wrk loads the product page shows that
    page's traces, kept by the workers, in its result."""
    from test_monitor_servers import load, shop   # the shop's set-up and wrk's load

    project, env = shop(tmp_path)
    shop_port, serve_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-k", "gthread",
         "-b", f"127.0.0.1:{shop_port}", "shop.wsgi:application"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_signals)
    serve = None
    try:
        wait_for_port(shop_port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{shop_port}/product/3/") as answer:
            assert answer.status == 200
        serve = subprocess.Popen([sys.executable, "-m", "plumb", "serve", "--store",
                                  env["PLUMB_STORE"], "--port", str(serve_port)], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, preexec_fn=default_signals)
        wait_for_port(serve_port, serve)
        d = Dashboard(browser, f"http://127.0.0.1:{serve_port}/")
        d.open("#/xray?transaction=shop.views.product")
        d.page.fill("#xray-duration", "120")
        d.page.fill("#xray-traces", "20")
        d.follow("#xray-start")
        assert d.page.get_attribute("#session-state", "data-state") == "running"
        # Workers ask for sessions every few seconds: load until they have
        # kept what the session asked for (or long enough to tell they do not).
        for _ in range(10):
            load(shop_port, ["/product/3/"], seconds=2)
            d.open(d.page.evaluate("location.hash"))
            kept = d.page.eval_on_selector_all("#traces tbody a.trace-link", "a => a.length")
            if kept >= 20:
                break
        # Each of the 2 workers keeps up to the session's number.
        assert 20 <= kept <= 40, kept
        names = set(d.page.eval_on_selector_all("#traces tbody td.name:nth-child(3)",
                                                "cells => cells.map(c => c.textContent)"))
        assert names == {"shop.views.product"}
        bins = d.page.evaluate("plumbDashboard.chart('chart-histogram').bins")
        assert sum(b["count"] for b in bins.values()) == kept
        d.shot("xray-result")
        d.close()
    finally:
        for proc in (serve, server):
            if proc is not None:
                proc.terminate()
                proc.communicate(timeout=60)
