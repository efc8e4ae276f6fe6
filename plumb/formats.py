"""Profile formats, and how an output's name picks one.  The formats are
the C core's format table (src/core/formats/format_table.c, through
_plumb.formats()): its names, the file names that choose each, and what
each writes from; the HTML report, made here from the JSON format, is the
one format of the Python layer."""
import fnmatch
import os

from . import _plumb

PSTATS = "pstats"
CALLGRIND = "callgrind"
COLLAPSED = "collapsed"
SPEEDSCOPE = "speedscope"
TREE = "tree"
PPROF = "pprof"
JSON = "json"
HTML = "html"
HTML_PATTERNS = ("*.html", "*.htm")

# (name, patterns, writes_from, gzipped, reads) per format, in the table's
# order: the first whose pattern matches a file name is that file's format.
TABLE = _plumb.formats()
_GZIPPED = {name for name, _, _, gzipped, _ in TABLE if gzipped}

# Every format a profile can be written as (plumb run, sample, convert).
SAMPLE_FORMATS = tuple(name for name, *_ in TABLE) + (HTML,)
# Those that a function-level profile (pstats' numbers, no stacks) can be
# written as: plumb merge, Stats.dump.
FORMATS = tuple(name for name, _, writes_from, _, _ in TABLE if "stats" in writes_from) + (HTML,)


def format_for_path(path):
    """The format an output named `path` gets when none is asked for: the
    table's first whose patterns match the name (callgrind for
    `*.callgrind` and `callgrind.out*`, what KCacheGrind looks for;
    collapsed stacks for `*.folded` and `*.collapsed`; speedscope for
    `*.speedscope.json`; a text tree for `*.txt`; pprof for `*.pb.gz` and
    `*.pprof`; plumb's JSON for other `*.json`), the HTML report for
    `*.html`, and pstats for anything else, as cProfile's -o writes."""
    name = os.path.basename(os.fspath(path))
    if any(fnmatch.fnmatchcase(name, p) for p in HTML_PATTERNS):
        return HTML
    for fmt, patterns, *_ in TABLE:
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return fmt
    return PSTATS


def write_profile(write_raw, path, format, title=None, trace=None):
    """Writes a profile to path as format, whatever holds it: write_raw(out,
    fmt) writes it to out in one of the table's formats (a binding's
    _write).  HTML is made from the JSON (the report), and gzipped formats
    (pprof) are compressed here."""
    if format in (JSON, HTML):
        write_via_json(lambda out: write_raw(out, JSON), path, format, title=title, trace=trace)
    elif format in _GZIPPED:
        write_gzipped(lambda tmp: write_raw(tmp, format), os.fspath(path))
    else:
        write_raw(os.fspath(path), format)


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
