"""plumb.Stats: pstats.Stats, with profile files read and added in C.

    stats = plumb.Stats("a.prof", "b.prof")     # added together, in order
    stats.add("c.prof")
    stats.sort_stats("cumulative").print_stats(20)
    stats.dump_stats("all.prof")                 # or stats.dump("all.callgrind")

It is a pstats.Stats: every method, sort key, restriction and printed column
is pstats' own.  What differs is the reading: files go to plumb's C reader,
which adds them without building Python objects, and accepts the same
files (cProfile's, the profile module's, yappi's, plumb's), callgrind
files (src/core/read_callgrind.c says what they cannot carry), plumb's
JSON, and stacks (collapsed, speedscope, pprof: their function-level
numbers, without call counts), recognised by content as plumb convert
does.  The pstats
dictionary (`.stats`) is built once, when something first looks at it, so
adding thousands of files costs what reading them costs.

Printing a large profile does not build the dictionary either: while the
profile is as read (no strip_dirs, no change from Python), sort_stats sorts
in C and print_stats and print_callers run pstats' own code over a
read-only view that fetches only the rows they print.

A file that is not a readable profile raises StatsFileError (a ValueError)
naming the file and what is wrong with it; nothing of that file is added.
"""
import collections.abc
import contextlib
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


# What pstats.Stats computes from .stats (get_top_level_stats): while the
# dictionary is not built, the C engine gives them.
_TOTALS = ("total_calls", "prim_calls", "total_tt", "max_name_len", "top_level")


def _stats_property():
    def get_stats(self):
        if self.__dict__.get("_view") is not None:
            return self._view
        self._materialize()
        return self.__dict__["_stats"]

    def set_stats(self, value):
        self._materialize()
        self.__dict__["_stats"] = value
        self._engine_current = False   # changed outside the C engine

    return property(get_stats, set_stats)


def _total_property(index, name):
    slot = "_" + name

    def get_total(self):
        if self.__dict__.get("_pending"):
            totals = self._engine.totals()
            return set(totals[4]) if name == "top_level" else totals[index]
        return self.__dict__[slot]

    def set_total(self, value):
        self._materialize()
        self.__dict__[slot] = value

    return property(get_total, set_total)


class _EngineView(collections.abc.Mapping):
    """pstats' dictionary, read-only, fetched from the C engine one entry
    at a time."""

    def __init__(self, engine):
        self._engine = engine
        self._labels = None

    def __getitem__(self, label):
        return self._engine.get(label)

    def __len__(self):
        return self._engine.functions

    def __iter__(self):
        if self._labels is None:
            self._labels = self._engine.labels()
        return iter(self._labels)

    def __contains__(self, label):
        try:
            self._engine.get(label)
        except KeyError:
            return False
        return True


def _is_path(arg):
    return isinstance(arg, (str, bytes, os.PathLike))


def _file_format(path):
    """The format of the file at path, recognised by its content as plumb
    convert recognises it (convert.sniff); None (read as pstats, whose
    reader says what is wrong) when unknown or empty."""
    from .convert import TRACE_IS_NO_PROFILE, sniff

    with open(path, "rb") as f:
        found = sniff(f.read(2048))
    if found == "trace":
        raise StatsFileError(path, TRACE_IS_NO_PROFILE)
    return found


def _add_stacks(engine, path):
    """Stacks (collapsed, speedscope, pprof) added as their function-level
    numbers, through plumb convert's readers: times from samples, no call
    counts, as plumb sample's pstats files."""
    import tempfile

    from .convert import ConvertError, convert

    fd, tmp = tempfile.mkstemp(suffix=".prof")
    os.close(fd)
    try:
        try:
            convert(path, tmp, "pstats")
        except ConvertError as exc:
            reason = str(exc)
            prefix = f"{os.fsdecode(path)}: "
            raise StatsFileError(path, reason[len(prefix):] if reason.startswith(prefix)
                                 else reason) from None
        engine.add_file(tmp)
    finally:
        os.unlink(tmp)


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
                             _max_name_len=0, _top_level=set(), _view=None)
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
        calls, prim, tt, width, top = self._engine.totals()
        self.__dict__.update(_stats=self._engine.pstats_dict(), _total_calls=calls,
                             _prim_calls=prim, _total_tt=tt, _max_name_len=width,
                             _top_level=set(top))
        self._pending = False

    @contextlib.contextmanager
    def _engine_view(self):
        """pstats' code reads .stats through _EngineView meanwhile, if the
        dictionary is not built yet."""
        if not self.__dict__.get("_pending") or self.__dict__.get("_view") is not None:
            yield
            return
        self._view = _EngineView(self._engine)
        try:
            yield
        finally:
            self._view = None

    def sort_stats(self, *field):
        if not self.__dict__.get("_pending"):
            return super().sort_stats(*field)
        if not field:
            self.fcn_list = 0
            return self
        if len(field) == 1 and isinstance(field[0], int):
            field = [{-1: "stdname", 0: "calls", 1: "time", 2: "cumulative"}[field[0]]]
        elif len(field) >= 2:
            for arg in field[1:]:
                if type(arg) != type(field[0]):
                    raise TypeError("Can't have mixed argument type")
        defs = self.get_sort_arg_defs()
        sort_tuple = ()
        self.sort_type = ""
        connector = ""
        for word in field:
            if isinstance(word, pstats.SortKey):
                word = word.value
            sort_tuple = sort_tuple + defs[word][0]
            self.sort_type += connector + defs[word][1]
            connector = ", "
        self.fcn_list = self._engine.sorted_labels(sort_tuple)
        return self

    def print_stats(self, *amount):
        with self._engine_view():
            return super().print_stats(*amount)

    def print_callers(self, *amount):
        with self._engine_view():
            return super().print_callers(*amount)

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
            found = _file_format(path)
            if found in ("callgrind", "json"):
                with open(path, "rb") as f:
                    engine.add_bytes(f.read(), found)
            elif found in ("collapsed", "speedscope", "pprof"):
                _add_stacks(engine, path)
            else:
                engine.add_file(path)
        except StatsFileError:
            raise
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
        """Writes the stats as pstats, callgrind, json or html (the formats
        of function-level numbers: plumb.formats.FORMATS)."""
        from .formats import write_profile

        engine = self._engine
        if not self._engine_current:
            import marshal

            engine = _plumb.Stats()
            engine.add_bytes(marshal.dumps(self.stats))
        write_profile(engine.write, path, format)

    def dump_stats(self, filename):
        self.dump(filename, "pstats")


Stats.stats = _stats_property()
for _index, _name in enumerate(_TOTALS):
    setattr(Stats, _name, _total_property(_index, _name))
del _index, _name
