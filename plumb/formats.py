"""Output formats, and how an output's name picks one."""
import os

PSTATS = "pstats"
CALLGRIND = "callgrind"
COLLAPSED = "collapsed"
SPEEDSCOPE = "speedscope"
TREE = "tree"
PPROF = "pprof"
JSON = "json"
HTML = "html"

FORMATS = (PSTATS, CALLGRIND, JSON, HTML)                                     # plumb run
SAMPLE_FORMATS = (COLLAPSED, SPEEDSCOPE, PSTATS, CALLGRIND, TREE, PPROF, JSON, HTML)  # sample, convert


def format_for_path(path):
    """The format an output named `path` gets when none is asked for:
    callgrind for `*.callgrind` and `callgrind.out*` (what KCacheGrind
    looks for), collapsed stacks for `*.folded` and `*.collapsed`,
    speedscope for `*.speedscope.json`, a text tree for `*.txt`, pprof for
    `*.pb.gz` and `*.pprof`, plumb's JSON for other `*.json`, the HTML
    report for `*.html`, and pstats for anything else, as cProfile's -o
    writes."""
    name = os.path.basename(os.fspath(path))
    if name.endswith(".callgrind") or name.startswith("callgrind.out"):
        return CALLGRIND
    if name.endswith((".folded", ".collapsed")):
        return COLLAPSED
    if name.endswith(".speedscope.json"):
        return SPEEDSCOPE
    if name.endswith(".txt"):
        return TREE
    if name.endswith((".pb.gz", ".pprof")):
        return PPROF
    if name.endswith(".json"):
        return JSON
    if name.endswith((".html", ".htm")):
        return HTML
    return PSTATS


def write_gzipped(write_raw, path):
    """pprof files are gzipped protobuf: write_raw(tmp) writes the protobuf,
    then path gets it compressed (and tmp goes)."""
    import gzip
    import shutil

    tmp = f"{path}.raw{os.getpid()}"
    try:
        write_raw(tmp)
        with open(tmp, "rb") as raw, gzip.open(path, "wb") as out:
            shutil.copyfileobj(raw, out)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def thread_names():
    """{ident: name} of the threads alive now, for reports of deterministic
    profiles (the tracer knows threads only by their ident)."""
    import threading

    return {t.ident: t.name for t in threading.enumerate() if t.ident is not None}


def write_via_json(write_json, path, format, title=None, trace=None):
    """Writes `format` (JSON or HTML) to path: write_json(tmp) writes the
    JSON profile; the report (plumb/report) is made from it, with a web
    request's transaction trace (plumb/web/trace.py) if one is given."""
    if format == JSON:
        write_json(os.fspath(path))
        return
    from .report import write_report_from

    tmp = f"{os.fspath(path)}.json{os.getpid()}"
    try:
        write_json(tmp)
        write_report_from(tmp, path, title=title, trace=trace)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
