"""Time one workload under one profiler; print {"elapsed": seconds} as JSON.

Usage: python runner.py WORKLOAD PROFILER

Run by overhead.py in a fresh interpreter per measurement. Nothing is warmed
up. The timed region is: profiler start -> workload.run() -> profiler stop.
Collecting the profiler's results happens after the clock stops; it is done
anyway so that a profiler that records garbage or crashes while reporting
shows up as an error instead of a suspiciously fast time.
"""
import importlib
import json
import os
import sys
import tempfile
import time


def _dump_pstats(prof):
    # Exercise create_stats()/dump_stats() like a real user would.
    fd, path = tempfile.mkstemp(suffix=".pstats")
    os.close(fd)
    try:
        prof.dump_stats(path)
    finally:
        os.unlink(path)


def make_profiler(name):
    """Return (start, stop, collect) callables for the named profiler."""
    noop = lambda: None  # noqa: E731
    if name == "none":
        return noop, noop, noop
    if name in ("cprofile", "cprofile-nobuiltins"):
        import cProfile

        prof = cProfile.Profile(builtins=(name == "cprofile"))
        return prof.enable, prof.disable, lambda: _dump_pstats(prof)
    if name in ("plumb", "plumb-nobuiltins", "plumb-nopaths"):
        import plumb

        prof = plumb.Profile(builtins=(name != "plumb-nobuiltins"), paths=(name != "plumb-nopaths"))
        return prof.enable, prof.disable, lambda: _dump_pstats(prof)
    if name == "yappi":
        import yappi

        yappi.set_clock_type("wall")
        return yappi.start, yappi.stop, lambda: yappi.get_func_stats()
    if name == "pyinstrument":
        from pyinstrument import Profiler

        prof = Profiler()  # default sampling interval
        return prof.start, prof.stop, lambda: prof.last_session
    raise SystemExit(f"unknown profiler {name!r}")


def main():
    workload_name, profiler_name = sys.argv[1:3]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "workloads"))
    workload = importlib.import_module(workload_name)
    start, stop, collect = make_profiler(profiler_name)

    t0 = time.perf_counter()
    start()
    workload.run()
    stop()
    elapsed = time.perf_counter() - t0

    collect()
    print(json.dumps({"elapsed": elapsed}))


if __name__ == "__main__":
    main()
