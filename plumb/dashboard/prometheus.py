"""/metrics in Prometheus's text exposition format, from the store: per
transaction, kind and host (a `host` label: each host's share, which
`sum without (host)` adds up) a request and an error counter, a latency
histogram with the conventional buckets, and apdex.

Counters are what the store holds (its retention window), so they only
grow between retention runs; when retention drops old minutes they fall,
which Prometheus's rate() reads as a counter reset, as it does a restart.
The histogram's buckets come from plumb's own (32 per octave): a bucket of
plumb's counts under the first `le` at or above its upper bound, so each
cumulative count is exact for a threshold within 1/33 below its `le`."""
from ..monitor import apdex, histogram

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def label(value):
    """A label value as the exposition format quotes it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    return repr(float(value)) if isinstance(value, float) else str(value)


def rows_by_host(store, until):
    """The store's transactions() of each host that wrote before `until`,
    each row with its "host"."""
    rows = []
    for host in store.hosts(0, until):
        rows += [dict(row, host=host["host"])
                 for row in store.transactions(0, until, host=host["host"])]
    return rows


def exposition(rows):
    """rows: the store's transactions() over the window (merged), each
    with its "host" (rows_by_host)."""
    lines = []

    def family(name, kind, text):
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")

    def labels_of(row, extra=""):
        return (f'transaction="{label(row["name"])}",kind="{label(row["kind"])}",'
                f'host="{label(row["host"])}"{extra}')

    family("plumb_requests_total", "counter", "Requests (web) and tasks (background) measured.")
    for row in rows:
        lines.append(f"plumb_requests_total{{{labels_of(row)}}} {row['count']}")
    family("plumb_errors_total", "counter", "Requests that ended in a 5xx response or an exception.")
    for row in rows:
        lines.append(f"plumb_errors_total{{{labels_of(row)}}} {row['errors']}")
    family("plumb_request_duration_seconds", "histogram",
           "Response time, from plumb's histograms (within 1/33 of each bucket's le).")
    bounds_us = [int(round(b * 1e6)) for b in BUCKETS_S]
    for row in rows:
        counts = histogram.cumulative(row["histogram"], bounds_us)
        for le, count in zip(BUCKETS_S, counts):
            bucket = labels_of(row, ',le="%s"' % le)
            lines.append(f"plumb_request_duration_seconds_bucket{{{bucket}}} {count}")
        bucket = labels_of(row, ',le="+Inf"')
        lines.append(f"plumb_request_duration_seconds_bucket{{{bucket}}} {row['count']}")
        lines.append(f"plumb_request_duration_seconds_sum{{{labels_of(row)}}} "
                     f"{_number(row['total_us'] / 1e6)}")
        lines.append(f"plumb_request_duration_seconds_count{{{labels_of(row)}}} {row['count']}")
    family("plumb_apdex", "gauge", "Apdex of web transactions: (satisfied + tolerating/2) / requests.")
    for row in rows:
        score = apdex.score(row["satisfied"], row["tolerating"], row["frustrated"])
        if row["kind"] == "web" and score is not None:
            lines.append(f"plumb_apdex{{{labels_of(row)}}} {_number(score)}")
    return ("\n".join(lines) + "\n").encode("utf-8")
