"""Run one test program's main() under cProfile or plumb; print its counts as JSON.

Usage:
    python tests/counts_under.py {cprofile|plumb} PROGRAM.py [--no-builtins] [--times]

PROGRAM.py is imported as a module named ``prog_under_test`` (so its
``if __name__ == "__main__":`` block does not run) and only the call of its
main() is profiled, with ``Profile(builtins=...)`` of the chosen profiler.
The profile is then read the way pstats reads it, from ``.stats`` after
``create_stats()``, and printed as one JSON object:

    {
      "profiler": "cprofile" | "plumb",
      "profiler_location": directory the profiler was imported from,
      "python": sys.version,
      "builtins": true | false,
      "main": KEY of the program's main(),
      "functions": {KEY: {"calls": [primitive_calls, calls],
                          "callers": {CALLER_KEY: [calls, primitive_calls]}}},
      "excluded": [KEY, ...],                   # see below
      "times": {KEY: {"tottime": t, "cumtime": t,   # only with --times
                      "callers": {CALLER_KEY: [tottime, cumtime]}}}
    }

KEY is pstats' (filename, lineno, funcname) written as "filename:lineno(funcname)";
built-ins have filename "~" and lineno 0, e.g. "~:0(<built-in method builtins.len>)".
cProfile names some built-ins after the repr of an object, which contains its
address, e.g. "<built-in method __new__ of type object at 0x7f...>" (a
type's __new__ called on a type) or "<function socket.close at 0x7f...>" (a
builtin method reached through a class that overrides it in Python).  An
address differs from process to process, so " at 0x<hex>" is replaced by
" at 0x?" in every name; entries whose keys become equal that way are added
together (in both profilers' results alike).
The tuple orders follow the stats dict: a function's entry is (primitive
calls, calls, ...), a caller edge is (calls, primitive calls, ...).

What is excluded, and why: the profilers' own bookkeeping, which is not part of
the program and necessarily differs between the two profilers.
  * Built-in entries whose name mentions "_lsprof.Profiler", "plumb" or
    "disable": the profiler's own disable() method, which runs while
    profiling is still on (cProfile records
    "<method 'disable' of '_lsprof.Profiler' objects>" as a top-level call).
    Only built-in ("~") entries are matched by name; no test program defines
    anything called "disable" anyway.
  * Entries whose filename lies inside the imported plumb package (a Python
    level enable()/disable() wrapper, if plumb has one).
  * Entries that are called only by excluded entries (e.g. a builtin such as
    sys.setprofile called from a Python-level plumb disable()), found
    transitively.  An entry with no callers at all is *not* excluded by this
    rule: apart from main() and the profiler's disable(), nothing should be
    called at the top level, and anything that is must show up in the
    comparison.
  * Caller edges from an excluded entry to a kept one.
Everything else is kept as recorded, including functions of the standard
library called by the program (asyncio internals and so on).

To keep the run deterministic, string hashing is expected to be fixed by the
caller (PYTHONHASHSEED) and the cyclic garbage collector is switched off
while main() runs (after a full collection): otherwise finalizers of
collected cycles (asyncio futures, generators...) could run at points that
depend on how much the profiler itself allocates.
"""
import argparse
import gc
import importlib.util
import json
import os
import re
import sys

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def key_string(key):
    filename, lineno, funcname = key
    return "%s:%d(%s)" % (filename, lineno, ADDRESS.sub(" at 0x?", funcname))


def _add(a, b):
    return [x + y for x, y in zip(a, b)]


def load_program(path):
    spec = importlib.util.spec_from_file_location("prog_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["prog_under_test"] = module
    spec.loader.exec_module(module)
    return module


def make_profiler(kind, builtins):
    """Return (profiler, directories of the profiler's own Python code)."""
    if kind == "cprofile":
        import cProfile

        return cProfile.Profile(builtins=builtins), [os.path.dirname(os.path.abspath(cProfile.__file__))]
    import plumb

    dirs = [os.path.abspath(d) for d in getattr(plumb, "__path__", [])]
    if not dirs and getattr(plumb, "__file__", None):
        dirs = [os.path.dirname(os.path.abspath(plumb.__file__))]
    return plumb.Profile(builtins=builtins), dirs


def is_profiler_own(key, plumb_dirs):
    filename, _lineno, funcname = key
    if filename == "~":
        return "_lsprof.Profiler" in funcname or "plumb" in funcname or "disable" in funcname
    path = os.path.abspath(filename)
    return any(path == d or path.startswith(d + os.sep) for d in plumb_dirs)


def excluded_keys(stats, plumb_dirs):
    excluded = {key for key in stats if is_profiler_own(key, plumb_dirs)}
    changed = True
    while changed:
        changed = False
        for key, entry in stats.items():
            callers = entry[4]
            if key not in excluded and callers and all(c in excluded for c in callers):
                excluded.add(key)
                changed = True
    return excluded


def profile_main(program, kind, builtins):
    module = load_program(program)
    main = module.main
    prof, own_dirs = make_profiler(kind, builtins)
    gc.collect()
    gc.disable()
    try:
        prof.enable()
        try:
            main()
        finally:
            prof.disable()
    finally:
        gc.enable()
    prof.create_stats()
    code = main.__code__
    main_key = (code.co_filename, code.co_firstlineno, code.co_name)
    return prof.stats, main_key, own_dirs


def report(stats, main_key, plumb_dirs, kind, location, builtins, with_times):
    excluded = excluded_keys(stats, plumb_dirs)
    functions = {}
    times = {}
    for key, (pc, nc, tt, ct, callers) in sorted(stats.items()):
        if key in excluded:
            continue
        name = key_string(key)
        f = functions.setdefault(name, {"calls": [0, 0], "callers": {}})
        t = times.setdefault(name, {"tottime": 0.0, "cumtime": 0.0, "callers": {}})
        f["calls"] = _add(f["calls"], [pc, nc])
        t["tottime"] += tt
        t["cumtime"] += ct
        for caller, v in sorted(callers.items()):
            if caller in excluded:
                continue
            caller_name = key_string(caller)
            f["callers"][caller_name] = _add(f["callers"].get(caller_name, [0, 0]), v[:2])
            t["callers"][caller_name] = _add(t["callers"].get(caller_name, [0.0, 0.0]), v[2:4])
    for entry in list(functions.values()) + list(times.values()):
        entry["callers"] = dict(sorted(entry["callers"].items()))
    result = {
        "profiler": kind,
        "profiler_location": location,
        "python": sys.version,
        "builtins": builtins,
        "main": key_string(main_key),
        "functions": dict(sorted(functions.items())),
        "excluded": sorted(key_string(k) for k in excluded),
    }
    if with_times:
        result["times"] = dict(sorted(times.items()))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiler", choices=["cprofile", "plumb"])
    parser.add_argument("program")
    parser.add_argument("--no-builtins", dest="builtins", action="store_false")
    parser.add_argument("--times", action="store_true", help="also report tottime/cumtime")
    args = parser.parse_args(argv)

    program = os.path.abspath(args.program)
    stats, main_key, own_dirs = profile_main(program, args.profiler, args.builtins)
    location = own_dirs[0] if own_dirs else None
    # Exclusion by directory applies to plumb only: none of cProfile.py's
    # Python code runs while it profiles.
    plumb_dirs = own_dirs if args.profiler == "plumb" else []
    result = report(stats, main_key, plumb_dirs, args.profiler, location, args.builtins, args.times)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
