"""A monitoring store with known contents, written as a worker would write
it (one Harvest), for the tests that read stores: the README's commands and
the dashboard's API."""
import time
import uuid

from plumb.monitor import histogram
from plumb.monitor.harvest import Harvest, KeptTrace, ProfileMinute, TransactionMinute
from plumb.monitor.store import open_store

PRODUCT = "shop.views.product"
FRAMES = (("/srv/shop/views.py", 10, "product"), ("/srv/shop/models.py", 40, "load"))


def durations_us(n=1000):
    """n response times, log-uniform from 1 ms to 5 s, in a fixed order."""
    return [int(1000 * 5000 ** (i / (n - 1))) for i in range(n)]


def seed_store(path, name=PRODUCT, host="web-1"):
    """Writes a minute of `name` (durations_us(), a kept trace with samples,
    a profile) and a background task's profile; creates an X-Ray session.
    Returns (trace id, session id)."""
    now = time.time()
    minute = int(now) // 60 * 60
    values = durations_us()
    hist = {}
    for us in values:
        key = histogram.key(us)
        hist[key] = hist.get(key, 0) + 1
    trace_id = uuid.uuid4().hex
    harvest = Harvest(
        id=uuid.uuid4().hex, host=host, pid=1, started=now - 60, ended=now,
        transactions=[TransactionMinute(
            minute=minute, name=name, kind="web", count=len(values), errors=3,
            total_us=sum(values), min_us=min(values), max_us=max(values),
            satisfied=sum(1 for v in values if v <= 500_000),
            tolerating=sum(1 for v in values if 500_000 < v <= 2_000_000) - 3,
            frustrated=sum(1 for v in values if v > 2_000_000) + 3,
            sql_us=sum(values) // 4, sql_count=21 * len(values), histogram=hist,
            error_classes={"ValueError": 3})],
        traces=[KeptTrace(id=trace_id, start=now - 5, name=name, kind="web",
                          duration_us=60_000, url="/product/3/", status=200,
                          document={"plumb_trace": 1, "method": "GET", "path": "/product/3/",
                                    "start_time": now - 5, "duration": 0.06,
                                    "segments": [{"kind": "view", "name": name,
                                                  "start": 0.0, "duration": 0.05, "depth": 0}],
                                    "samples": [[list(map(list, FRAMES)), 5]],
                                    "sample_rate": 100.0})],
        profiles=[ProfileMinute(minute=minute, name=name, kind="web", stacks=[(FRAMES, 5)],
                                rate_hz=100.0),
                  ProfileMinute(minute=minute, name="shop.tasks.rebuild", kind="background",
                                stacks=[((("/srv/shop/tasks.py", 5, "rebuild"),), 3)],
                                rate_hz=100.0)])
    with open_store(path) as store:
        store.write(harvest)
        session = store.create_session("xray", transaction=name, duration_s=60, traces=10,
                                       rate_hz=500)
    return trace_id, session
