"""A monitoring store for the dashboard's browser tests: five transactions
over twenty minutes from two hosts of two workers each (the first worker
of a host serving two thirds of its requests), one busy minute and one
quiet one (so a chart's bars can be looked for where the data says), kept
traces with SQL
repeated as an N+1 pattern and a duplicate, profiles of web, background and
other threads, and a transaction name and a view argument holding markup
that must stay text."""
import time
import uuid

from plumb.monitor import histogram
from plumb.monitor.harvest import Harvest, KeptTrace, ProfileMinute, TransactionMinute
from plumb.monitor.store import open_store

HOSTILE = "<script>window.__pwned=1</script>"
HOSTILE_ARGUMENT = "slug='<script>window.__pwned=2</script>'"
PRODUCT = "shop.views.product"
CART = "shop.views.cart"
CHECKOUT = "shop.views.checkout"
TASK = "shop.tasks.rebuild"
MINUTES = 20
BUSY, QUIET = 5, 12          # indexes of minutes: many requests, none at all
# name: (kind, requests a minute, response time in ms, SQL share)
TRANSACTIONS = {PRODUCT: ("web", 60, 40, 0.5), CART: ("web", 30, 15, 0.2),
                CHECKOUT: ("web", 10, 300, 0.6), HOSTILE: ("web", 5, 25, 0.0),
                TASK: ("background", 2, 900, 0.1)}
BUSY_FACTOR = 10
HOSTS = {"web-1": (101, 102), "web-2": (201, 202)}     # host: its workers' pids
SQL_N_PLUS_ONE = "SELECT * FROM shop_price WHERE product_id = ?"
SQL_DUPLICATE = "SELECT * FROM shop_product WHERE id = ?"


def first_minute(now):
    """The first seeded minute: the twenty end two minutes before now."""
    return int(now) // 60 * 60 - (MINUTES + 2) * 60


def worker_share(count, worker_index):
    """How many of a host's `count` requests its worker serves: the first
    two thirds (rounded up), the second the rest."""
    first = -(-2 * count // 3)
    return first if worker_index == 0 else count - first


def minute_of(name, minute, index, count, ms, sql_share):
    """count requests of name spread from 0.5 ms to 2 ms around ms."""
    values = [int(ms * 1000 * (0.5 + 1.5 * i / max(1, count - 1))) for i in range(count)]
    hist = {}
    for us in values:
        key = histogram.key(us)
        hist[key] = hist.get(key, 0) + 1
    total = sum(values)
    errors = 1 if name == CHECKOUT and index % 4 == 0 else 0
    satisfied = sum(1 for v in values if v <= 500_000) - errors
    return TransactionMinute(
        minute=minute, name=name, kind=TRANSACTIONS[name][0], count=count, errors=errors,
        total_us=total, min_us=min(values), max_us=max(values), satisfied=satisfied,
        tolerating=count - satisfied - errors, frustrated=errors, sql_us=int(total * sql_share),
        sql_count=count * 3, template_us=int(total * 0.1), histogram=hist,
        error_classes={"ValueError": errors} if errors else {})


def trace_document(name, start, duration_s, argument):
    segments = [{"kind": "middleware", "name": "django.middleware.common.CommonMiddleware",
                 "start": 0.0, "duration": duration_s, "depth": 0},
                {"kind": "view", "name": name, "start": 0.001, "duration": duration_s * 0.9,
                 "depth": 1, "detail": argument}]
    at = 0.002
    for i in range(6):
        segments.append({"kind": "sql", "name": SQL_N_PLUS_ONE, "start": at,
                         "duration": duration_s * 0.05, "depth": 2})
        at += duration_s * 0.06
    for i in range(2):
        segments.append({"kind": "sql", "name": SQL_DUPLICATE, "start": at,
                         "duration": duration_s * 0.02, "depth": 2})
        at += duration_s * 0.03
    segments.append({"kind": "template", "name": "shop/product.html", "start": at,
                     "duration": duration_s * 0.1, "depth": 2})
    return {"plumb_trace": 1, "method": "GET", "path": "/product/3/", "start_time": start,
            "duration": duration_s, "segments": segments,
            "sql": {"queries": 8, "sql_seconds": duration_s * 0.34,
                    "duplicates": [SQL_DUPLICATE], "n_plus_one": [SQL_N_PLUS_ONE],
                    "templates": 1, "template_seconds": duration_s * 0.1,
                    "http_calls": 0, "http_seconds": 0.0},
            "samples": [[[["/srv/shop/views.py", 10, "product"],
                          ["/srv/shop/models.py", 40, "load_prices"]], 7],
                        [[["/srv/shop/views.py", 10, "product"],
                          ["/srv/shop/render.py", 5, "render_page"]], 3]],
            "sample_rate": 100.0}


def stacks_of(name):
    leaf = {PRODUCT: "load_prices", CART: "cart_total", CHECKOUT: "charge_card",
            HOSTILE: "hostile_view"}.get(name, "rebuild_index")
    return [((("/srv/shop/views.py", 10, "dispatch"), ("/srv/shop/work.py", 20, leaf)), 8)]


def seed(path, now=None):
    """Writes the store; returns {"traces": {name: [ids]}, "first": minute}."""
    now = time.time() if now is None else now
    first = first_minute(now)
    traces = {}
    with open_store(path) as store:
        for host_index, (host, pids) in enumerate(HOSTS.items()):
            for worker_index, pid in enumerate(pids):
                seed_worker(store, host, pid, host_index == 0 and worker_index == 0,
                            worker_index, first, traces)
    return {"traces": traces, "first": first}


def seed_worker(store, host, pid, keeps_traces, worker_index, first, traces):
    """One worker's twenty minutes: its share of each transaction's requests
    and a profile; the first worker of the first host keeps the traces."""
    for index in range(MINUTES):
        if index == QUIET:
            continue
        minute = first + index * 60
        rows, kept, profiles = [], [], []
        for name, (kind, per_minute, ms, sql_share) in TRANSACTIONS.items():
            count = worker_share(per_minute * (BUSY_FACTOR if index == BUSY else 1),
                                 worker_index)
            if count:
                rows.append(minute_of(name, minute, index, count, ms, sql_share))
            profiles.append(ProfileMinute(minute=minute, name=name, kind=kind,
                                          stacks=stacks_of(name), rate_hz=100.0))
            if kind == "web" and index % 6 == 1 and keeps_traces:
                trace_id = uuid.uuid4().hex
                duration = ms * 2 / 1000
                argument = HOSTILE_ARGUMENT if name in (PRODUCT, HOSTILE) else "id=3"
                kept.append(KeptTrace(
                    id=trace_id, start=minute + 10, name=name, kind=kind,
                    duration_us=int(duration * 1e6), url=f"/{name.rsplit('.', 1)[-1]}/3/",
                    status=200, document=trace_document(name, minute + 10, duration,
                                                        argument)))
                traces.setdefault(name, []).append(trace_id)
        profiles.append(ProfileMinute(
            minute=minute, name="", kind="other", rate_hz=100.0,
            stacks=[((("/usr/lib/python3/threading.py", 1000, "run"),
                      ("/srv/shop/cache.py", 7, "cache_janitor")), 4)]))
        store.write(Harvest(id=uuid.uuid4().hex, host=host, pid=pid,
                            started=minute, ended=minute + 60, transactions=rows,
                            traces=kept, profiles=profiles))
