"""Output formats, and how an output's name picks one."""
import os

PSTATS = "pstats"
CALLGRIND = "callgrind"
COLLAPSED = "collapsed"
SPEEDSCOPE = "speedscope"
TREE = "tree"
PPROF = "pprof"

FORMATS = (PSTATS, CALLGRIND)                                   # plumb run
SAMPLE_FORMATS = (COLLAPSED, SPEEDSCOPE, PSTATS, CALLGRIND, TREE, PPROF)  # plumb sample, convert


def format_for_path(path):
    """The format an output named `path` gets when none is asked for:
    callgrind for `*.callgrind` and `callgrind.out*` (what KCacheGrind
    looks for), collapsed stacks for `*.folded` and `*.collapsed`,
    speedscope for `*.speedscope.json`, a text tree for `*.txt`, pprof for
    `*.pb.gz` and `*.pprof`, and pstats for anything else, as cProfile's -o
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
