"""plumb.Stats: pstats.Stats, with profile files read and added in C.

    stats = plumb.Stats("a.prof", "b.prof")     # added together, in order
    stats.add("c.prof")
    stats.sort_stats("cumulative").print_stats(20)
    stats.dump_stats("all.prof")                 # or stats.dump("all.callgrind")

It is a pstats.Stats: every method, sort key, restriction and printed column
is pstats' own.  What differs is the reading: files go to plumb's C reader,
which adds them without building Python objects, and accepts the same
files (cProfile's, the profile module's, yappi's, plumb's).  The pstats
dictionary (`.stats`) is built once, when something first looks at it, so
adding thousands of files costs what reading them costs.

A file that is not a readable profile raises StatsFileError (a ValueError)
naming the file and what is wrong with it; nothing of that file is added.
"""
import os
import pstats
import time

from . import _plumb


class StatsFileError(ValueError):
    """A profile file that cannot be read: .path and .reason."""

    def __init__(self, path, reason):
        super().__init__(f"{os.fsdecode(path)}: {reason}")
        self.path = path
        self.reason = reason


# What pstats.Stats computes from .stats (get_top_level_stats); built with
# it, on first use.
_DERIVED = ("stats", "total_calls", "prim_calls", "total_tt", "max_name_len", "top_level")


def _derived(name):
    slot = "_" + name

    def get(self):
        self._materialize()
        return self.__dict__[slot]

    def set(self, value):
        self._materialize()
        self.__dict__[slot] = value
        if name == "stats":
            self._engine_current = False   # changed outside the C engine

    return property(get, set)


def _is_path(arg):
    return isinstance(arg, (str, bytes, os.PathLike))


def _file_title(path):
    """How pstats lists a loaded file: its modification time, then its name."""
    name = os.fsdecode(path)
    try:
        return time.ctime(os.stat(path).st_mtime) + "    " + name
    except OSError:
        return name


class Stats(pstats.Stats):
    __doc__ = __doc__

    def __init__(self, *args, stream=None):
        import sys

        self.stream = stream or sys.stdout
        self.init(None)
        self.add(*args)

    def init(self, arg):
        self.__dict__.update(_stats={}, _total_calls=0, _prim_calls=0, _total_tt=0,
                             _max_name_len=0, _top_level=set())
        self._engine = _plumb.Stats()
        self._engine_current = True    # the engine holds everything in .stats
        self._pending = False          # the engine holds more than .stats shows
        self.all_callees = None
        self.files = []
        self.fcn_list = None
        self.sort_arg_dict = {}
        if arg is not None:
            self.add(arg)

    def load_stats(self, arg):
        self.init(arg)

    def _materialize(self):
        if not self.__dict__.get("_pending"):
            return
        self._pending = False
        self.__dict__.update(_stats=self._engine.pstats_dict(), _total_calls=0, _prim_calls=0,
                             _total_tt=0, _max_name_len=0, _top_level=set())
        self.get_top_level_stats()

    def _add_engine(self, engine, files):
        if self._engine_current:
            if engine is not self._engine:
                self._engine.add(engine)
            self._pending = True
        else:   # .stats was changed in Python: add the way pstats does
            other = Stats()
            other._engine = engine
            other._pending = True
            pstats.Stats.add(self, other)
        self.files += files
        self.all_callees = None
        self.fcn_list = None

    def add_file(self, path):
        """Adds one profile file; StatsFileError if it is not one."""
        engine = self._engine if self._engine_current else _plumb.Stats()
        try:
            engine.add_file(path)
        except ValueError as exc:
            raise StatsFileError(path, str(exc)) from None
        except OSError as exc:
            raise StatsFileError(path, exc.strerror or str(exc)) from None
        self._add_engine(engine, [_file_title(path)])
        return self

    def add(self, *arg_list):
        """Adds profiles in the order given: files (read in C), other Stats
        (pstats' or plumb's), or profilers (cProfile's, plumb's), as
        pstats.Stats.add accepts them."""
        import marshal

        for arg in arg_list:
            if _is_path(arg):
                self.add_file(arg)
                continue
            if isinstance(arg, Stats) and arg._engine_current:
                engine, files = arg._engine, list(arg.files)
            else:
                if not isinstance(arg, pstats.Stats):
                    arg = pstats.Stats(arg)   # a profiler: pstats takes its stats
                engine, files = _plumb.Stats(), list(arg.files)
                engine.add_bytes(marshal.dumps(arg.stats))
            self._add_engine(engine, files)
        return self

    def dump(self, path, format="pstats"):
        """Writes the stats as pstats or callgrind."""
        if self._engine_current:
            self._engine.write(path, format)
            return
        engine = _plumb.Stats()
        import marshal

        engine.add_bytes(marshal.dumps(self.stats))
        engine.write(path, format)

    def dump_stats(self, filename):
        self.dump(filename, "pstats")


for _name in _DERIVED:
    setattr(Stats, _name, _derived(_name))
del _name
