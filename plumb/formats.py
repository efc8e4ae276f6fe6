"""Output formats, and how an output's name picks one."""
import os

PSTATS = "pstats"
CALLGRIND = "callgrind"
COLLAPSED = "collapsed"
SPEEDSCOPE = "speedscope"
TREE = "tree"

FORMATS = (PSTATS, CALLGRIND)                                   # plumb run
SAMPLE_FORMATS = (COLLAPSED, SPEEDSCOPE, PSTATS, CALLGRIND, TREE)  # plumb sample, convert


def format_for_path(path):
    """The format an output named `path` gets when none is asked for:
    callgrind for `*.callgrind` and `callgrind.out*` (what KCacheGrind
    looks for), collapsed stacks for `*.folded` and `*.collapsed`,
    speedscope for `*.speedscope.json`, a text tree for `*.txt`, and pstats
    for anything else, as cProfile's -o writes."""
    name = os.path.basename(os.fspath(path))
    if name.endswith(".callgrind") or name.startswith("callgrind.out"):
        return CALLGRIND
    if name.endswith((".folded", ".collapsed")):
        return COLLAPSED
    if name.endswith(".speedscope.json"):
        return SPEEDSCOPE
    if name.endswith(".txt"):
        return TREE
    return PSTATS
