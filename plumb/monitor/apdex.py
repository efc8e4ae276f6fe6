"""Apdex, computed here for every reader (the command line's rows, the
dashboard's series, Prometheus's gauge): requests within T are satisfied,
within 4T tolerating, slower or failed frustrated (the C core counts them,
src/core/model/metrics.c), and the score is (satisfied + tolerating / 2)
over all three.  It is a web transaction's number: background tasks are
counted the same way, but their rows get no score."""


def score(satisfied, tolerating, frustrated):
    """The apdex of those counts, or None without requests."""
    requests = satisfied + tolerating + frustrated
    return (satisfied + tolerating / 2) / requests if requests else None
