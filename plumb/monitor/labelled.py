"""Profiles whose samples say what they were: each (transaction, kind, host)
a group of stacks carrying those as pprof labels, so that `go tool pprof
-tagfocus=transaction=NAME` keeps one transaction's samples, and a
Pyroscope-compatible server (plumb.monitor.pyroscope) gets labelled series.
Used by `plumb profile -o x.pb.gz` and the pusher."""
from ..formats import PPROF, write_gzipped

LABEL_KEYS = ("transaction", "kind", "host", "worker")


def label_pairs(labels):
    """The labels that say something, in LABEL_KEYS order: kind "other"
    samples have no transaction, and a store without workers gives none."""
    return tuple((key, str(labels[key])) for key in LABEL_KEYS
                 if labels.get(key) not in (None, ""))


def group_name(labels):
    """The name pprof's "thread" label gets: the transaction, else the kind."""
    return str(labels.get("transaction") or labels.get("kind") or "(unlabelled)")


def write_labelled_pprof(groups, path, rate_hz, mode="wall"):
    """Writes groups [(labels dict, [(frames, count), ...]), ...] to path as
    gzipped pprof, every sample of a group labelled with its labels."""
    from .. import _plumb

    entries = [(group_name(labels), label_pairs(labels),
                [(frames, int(count)) for frames, count in stacks if count > 0 and frames])
               for labels, stacks in groups]
    interval = 1.0 / rate_hz if rate_hz and rate_hz > 0 else 0.01
    write_gzipped(lambda tmp: _plumb.write_labelled_stacks(entries, tmp, PPROF, interval,
                                                           mode == "cpu"), path)
