"""plumb.Profile: a drop-in for cProfile.Profile on plumb's C tracer."""
import os
import sys

from . import _plumb
from .formats import PSTATS, format_for_path, thread_names, write_profile

__all__ = ["Profile", "run", "runctx", "another_profiler_active"]


class Profile(_plumb.Profiler):
    """Profile(timer=None, timeunit=0.0, subcalls=True, builtins=True, paths=True, threads=True)

    The same constructor, methods and results as cProfile.Profile, for every
    thread of the program.  `stats` (after create_stats()) is the dict that
    pstats reads.  paths=True also records every call path, so that the
    report's call tree is exact (dump to .json or .html), and the function
    and edge counts are derived from them; paths=False saves their memory
    but counts functions and edges on every call, and a report then
    rebuilds its tree from the edges.
    threads=False profiles only the thread that calls enable(), as
    cProfile did before 3.12 (per-request profiling in a threaded server)."""

    def __init__(self, timer=None, timeunit=0.0, subcalls=True, builtins=True, paths=True,
                 threads=True):
        super().__init__(timer, timeunit, subcalls, builtins, paths, threads)

    def create_stats(self):
        self.disable()
        self.snapshot_stats()

    def snapshot_stats(self):
        self.stats = self._stats()

    def print_stats(self, sort=-1, limit=None, stream=None):
        import pstats

        stats = pstats.Stats(self, stream=stream or sys.stdout)
        stats.strip_dirs().sort_stats(sort)
        if limit is None:
            stats.print_stats()
        else:
            stats.print_stats(limit)

    def dump_stats(self, file):
        """Writes a pstats file, as cProfile's dump_stats does."""
        self.dump(file, format=PSTATS)

    def dump(self, path, format=None, command=None, trace=None):
        """Writes the profile to `path` as `format`: 'pstats', 'callgrind',
        'json', 'html', or, from the call paths, 'collapsed' (microseconds
        of own time), 'speedscope', 'tree' or 'pprof'; by default chosen
        from the name (plumb.formats).  trace: a web request's transaction
        trace, for the report."""
        self.disable()
        names = thread_names()
        write_profile(lambda out, fmt: self._write(out, fmt, command, names), path,
                      format or format_for_path(path), title=command, trace=trace)

    def run(self, cmd):
        import __main__

        namespace = __main__.__dict__
        return self.runctx(cmd, namespace, namespace)

    def runctx(self, cmd, globals, locals):
        self.enable()
        try:
            exec(cmd, globals, locals)
        finally:
            self.disable()
        return self

    def runcall(self, func, /, *args, **kw):
        self.enable()
        try:
            return func(*args, **kw)
        finally:
            self.disable()

    def __enter__(self):
        self.enable()
        return self

    def __exit__(self, *exc_info):
        self.disable()


def another_profiler_active():
    """Whether a profiler (plumb's or another) already takes the events that
    plumb would: sys.monitoring's profiler slot on 3.12+, this thread's
    profile hook before."""
    if _plumb.enabled_profilers():
        return True
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        return monitoring.get_tool(monitoring.PROFILER_ID) is not None
    return sys.getprofile() is not None


def _run_and_report(prof, action, filename, sort):
    try:
        action()
    except SystemExit:
        pass
    finally:
        if filename is not None:
            prof.dump(filename)
        else:
            prof.print_stats(sort)


def run(statement, filename=None, sort=-1):
    """Runs `statement` in __main__ under a profiler, as cProfile.run does:
    prints the table sorted by `sort`, or writes `filename`."""
    prof = Profile()
    _run_and_report(prof, lambda: prof.run(statement), filename, sort)


def runctx(statement, globals, locals, filename=None, sort=-1):
    """Like run(), with the given namespaces; the way to profile one call
    from a REPL: plumb.runctx("f(x)", globals(), locals())."""
    prof = Profile()
    _run_and_report(prof, lambda: prof.runctx(statement, globals, locals), filename, sort)
