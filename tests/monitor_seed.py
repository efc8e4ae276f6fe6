"""A monitoring store with known contents, written as two workers of a host
would write it (a Harvest each), for the tests that read stores: the
README's commands, the dashboard's API and the command line's readers."""
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


WORKERS = (4101, 4102)       # the pids of the seeded host's two workers


def worker_minute(minute, name, values, errors):
    """A worker's minute of `name`: requests of `values` us, `errors` of
    them failed (frustrated, as the C core counts them)."""
    hist = {}
    for us in values:
        key = histogram.key(us)
        hist[key] = hist.get(key, 0) + 1
    return TransactionMinute(
        minute=minute, name=name, kind="web", count=len(values), errors=errors,
        total_us=sum(values), min_us=min(values), max_us=max(values),
        satisfied=sum(1 for v in values if v <= 500_000),
        tolerating=sum(1 for v in values if 500_000 < v <= 2_000_000) - errors,
        frustrated=sum(1 for v in values if v > 2_000_000) + errors,
        sql_us=sum(values) // 4, sql_count=21 * len(values), histogram=hist,
        error_classes={"ValueError": errors})


def seed_store(path, name=PRODUCT, host="web-1"):
    """Writes a minute of `name` (durations_us(), 3 errors; a kept trace
    with samples, a profile of 5 samples) and a background task's profile
    (3 samples), from two workers (WORKERS: the first has the even-numbered
    durations, 2 errors, the trace, 3 and 2 of the samples); creates an
    X-Ray session.  Returns (trace id, session id)."""
    now = time.time()
    minute = int(now) // 60 * 60
    values = durations_us()
    trace_id = uuid.uuid4().hex
    trace = KeptTrace(id=trace_id, start=now - 5, name=name, kind="web", duration_us=60_000,
                      url="/product/3/", status=200,
                      document={"plumb_trace": 1, "method": "GET", "path": "/product/3/",
                                "start_time": now - 5, "duration": 0.06,
                                "segments": [{"kind": "view", "name": name, "start": 0.0,
                                              "duration": 0.05, "depth": 0}],
                                "samples": [[list(map(list, FRAMES)), 5]],
                                "sample_rate": 100.0})
    with open_store(path) as store:
        for index, pid in enumerate(WORKERS):
            first = index == 0
            store.write(Harvest(
                id=uuid.uuid4().hex, host=host, pid=pid, started=now - 60, ended=now,
                transactions=[worker_minute(minute, name, values[index::2], 2 if first else 1)],
                traces=[trace] if first else [],
                profiles=[ProfileMinute(minute=minute, name=name, kind="web",
                                        stacks=[(FRAMES, 3 if first else 2)], rate_hz=100.0),
                          ProfileMinute(minute=minute, name="shop.tasks.rebuild",
                                        kind="background",
                                        stacks=[((("/srv/shop/tasks.py", 5, "rebuild"),),
                                                 2 if first else 1)], rate_hz=100.0)]))
        session = store.create_session("xray", transaction=name, duration_s=60, traces=10,
                                       rate_hz=500)
    return trace_id, session
