"""Output formats, and how an output's name picks one."""
import os

PSTATS = "pstats"
CALLGRIND = "callgrind"
FORMATS = (PSTATS, CALLGRIND)


def format_for_path(path):
    """The format an output named `path` gets when none is asked for:
    callgrind for `*.callgrind` and `callgrind.out*` (what KCacheGrind
    looks for), pstats for anything else, as cProfile's -o writes."""
    name = os.path.basename(os.fspath(path))
    if name.endswith(".callgrind") or name.startswith("callgrind.out"):
        return CALLGRIND
    return PSTATS
