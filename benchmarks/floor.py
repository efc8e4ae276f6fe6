#!/usr/bin/env python3
"""plumb's tracer against the hook floor.

    python3 benchmarks/floor.py [--pythons 3.9,3.12] [--repeat 11]
                                [--venvs DIR] [--plumb DIR] [--plumb-old DIR]
                                [--workloads fib,methods] [--build] [--json OUT]
    python3 benchmarks/floor.py --callgrind [--pythons ...] [--variants a,b]

The floor of an event source is the cheapest hook that sees the events plumb
needs: a C callback that does nothing, or reads the TSC once and returns
(benchmarks/floor/floor.c, built per interpreter into
benchmarks/floor/.build/, never into the package).  For each CPython, one
process times each workload under each variant, interleaved (the order
rotates every round, after one warm-up round), and reports medians of
--repeat rounds.  Times are the measuring thread's CPU time (--wall: the
wall clock), so that a core taken by another process costs nobody:

  none                  no profiler
  cprofile              cProfile.Profile(), built-ins profiled
  mon-py-noop/-tsc      3.12+: sys.monitoring PY_START, PY_RESUME, PY_THROW,
                        PY_RETURN, PY_YIELD, PY_UNWIND; C vectorcall
                        callbacks, no-op or one rdtsc per event
  mon-all-noop/-tsc     the same plus CALL, C_RETURN, C_RAISE (built-ins)
  legacy-noop/-tsc      PyEval_SetProfile, a C function, no-op or one rdtsc
  pep523-2tsc           3.9-3.11: a PEP 523 frame evaluator, two rdtsc a frame
  plumb, plumb-nb       plumb's Profiler, builtins=True / builtins=False
  old, old-nb           the same from --plumb-old (another build, side by side)

plumb is compared with the floor that sees its events: builtins=True with
mon-all-tsc (3.12+) or legacy-tsc (3.9-3.11); builtins=False with mon-py-tsc
(3.12+) or pep523-2tsc (3.9-3.11).  plumb/floor is the ratio of their
times, i.e. of the slowdowns: as a ratio of medians, and paired (the median
over rounds of the ratio within a round), which the summary gives.  The script prints what it measured
(and the CPU, the load average before and after) and asserts nothing.
--callgrind counts instructions instead (valgrind --tool=callgrind, one
process per variant, only what runs under the workload's call): exact and
repeatable on a busy machine, but an instruction is not a nanosecond (one
rdtsc is one instruction and ~20 ns).  It prints instructions added per
call of fib(18) and the methods workload's total against no profiler's.
plumb's extension must be built in place in --plumb (and --plumb-old) for
each interpreter; --build builds it there with that interpreter first.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FLOOR_SRC = os.path.join(HERE, "floor", "floor.c")
FLOOR_BUILD = os.path.join(HERE, "floor", ".build")
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
FIB_N = 25
FIB_CALLS = 242785          # calls of fib made by fib(25)
CG_FIB_N = 18
CG_METHODS_STEPS = 30
METHODS_STEPS = 900         # benchmarks/workloads/methods.py, ~10-20 ms bare

MON_PY = ["PY_START", "PY_RESUME", "PY_THROW", "PY_RETURN", "PY_YIELD", "PY_UNWIND"]
MON_C = ["CALL", "C_RETURN", "C_RAISE"]

# The floor that sees the same events as plumb, per era.
MATCH = {
    "monitoring": {"plumb": "mon-all-tsc", "plumb-nb": "mon-py-tsc"},
    "legacy": {"plumb": "legacy-tsc", "plumb-nb": "pep523-2tsc"},
}


# ------------------------------------------------------------ the child

def build_floor():
    """Builds floor.c for this interpreter (if stale); returns the module."""
    import importlib.machinery
    import importlib.util
    import sysconfig

    out_dir = os.path.join(FLOOR_BUILD, sys.implementation.cache_tag)
    os.makedirs(out_dir, exist_ok=True)
    so = os.path.join(out_dir, "_plumbfloor" + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.exists(so) or os.path.getmtime(so) < os.path.getmtime(FLOOR_SRC):
        cmd = ["cc", "-std=gnu11", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror",
               "-Wno-missing-field-initializers", "-I" + sysconfig.get_paths()["include"],
               FLOOR_SRC, "-o", so + ".tmp"]
        subprocess.run(cmd, check=True)
        os.replace(so + ".tmp", so)
    return load_extension("_plumbfloor", so)


def load_extension(name, path):
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def load_plumb(tree):
    """plumb._plumb as built in place in the source tree `tree`; loaded under
    its own path so that two builds can live in one process."""
    import glob
    import sysconfig

    found = glob.glob(os.path.join(tree, "plumb", "_plumb" + sysconfig.get_config_var("EXT_SUFFIX")))
    if not found:
        raise SystemExit("no plumb extension for this interpreter in %s/plumb (use --build)" % tree)
    return load_extension("plumb._plumb", found[0])


def monitoring_variant(floor, events, tsc):
    mon = sys.monitoring
    tool = mon.PROFILER_ID
    cb = floor.callback(tsc)
    mask = 0
    for name in events:
        mask |= getattr(mon.events, name)

    def start():
        mon.use_tool_id(tool, "floor")
        for name in events:
            mon.register_callback(tool, getattr(mon.events, name), cb)
        mon.set_events(tool, mask)

    def stop():
        mon.set_events(tool, 0)
        for name in events:
            mon.register_callback(tool, getattr(mon.events, name), None)
        mon.free_tool_id(tool)

    return start, stop


def plumb_variant(mod, builtins):
    state = {}

    def start():
        state["p"] = mod.Profiler(None, 0.0, True, builtins, True, True)
        state["p"].enable()

    def stop():
        state["p"].disable()
        state["p"]._stats()    # a profile that counted garbage should fail, not look fast

    return start, stop


def variants(floor, plumb, old):
    import cProfile

    v = {"none": (lambda: None, lambda: None)}
    prof = {}

    def cp_start():
        prof["p"] = cProfile.Profile()
        prof["p"].enable()

    v["cprofile"] = (cp_start, lambda: prof["p"].disable())
    if sys.version_info >= (3, 12):
        v["mon-py-noop"] = monitoring_variant(floor, MON_PY, False)
        v["mon-py-tsc"] = monitoring_variant(floor, MON_PY, True)
        v["mon-all-noop"] = monitoring_variant(floor, MON_PY + MON_C, False)
        v["mon-all-tsc"] = monitoring_variant(floor, MON_PY + MON_C, True)
    v["legacy-noop"] = (lambda: floor.legacy_start(False), floor.legacy_stop)
    v["legacy-tsc"] = (lambda: floor.legacy_start(True), floor.legacy_stop)
    if sys.version_info < (3, 12):
        v["pep523-2tsc"] = (floor.evalframe_start, floor.evalframe_stop)
    v["plumb"] = plumb_variant(plumb, True)
    v["plumb-nb"] = plumb_variant(plumb, False)
    if old is not None:
        v["old"] = plumb_variant(old, True)
        v["old-nb"] = plumb_variant(old, False)
    return v


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def workloads(names):
    out = {}
    if "fib" in names:
        out["fib"] = lambda: fib(FIB_N)
    if "methods" in names:
        sys.path.insert(0, os.path.join(HERE, "workloads"))
        import methods

        methods.STEPS = METHODS_STEPS
        out["methods"] = methods.run
    return out


def cg_child(args):
    """One variant under callgrind: warm up, then the counted run."""
    import functools

    floor = build_floor()
    plumb = load_plumb(args.plumb)
    old = load_plumb(args.plumb_old) if args.plumb_old else None
    start, stop = variants(floor, plumb, old)[args.cg_variant]
    if args.workloads == "fib":
        work = functools.partial(fib, CG_FIB_N)
    else:
        work = workloads(["methods"])["methods"]
        import methods

        methods.STEPS = CG_METHODS_STEPS
    start()
    work()
    floor.run(work)
    stop()


def child(args):
    import gc
    import time

    floor = build_floor()
    plumb = load_plumb(args.plumb)
    old = load_plumb(args.plumb_old) if args.plumb_old else None
    vs = variants(floor, plumb, old)
    names = list(vs)
    works = workloads(args.workloads.split(","))
    times = {w: {n: [] for n in names} for w in works}
    # The thread's CPU time, not the wall clock: on a shared machine the
    # time other processes take the core away is not the profiler's cost.
    clock = time.perf_counter_ns if args.wall else time.thread_time_ns
    for rnd in range(args.repeat + 1):          # round 0 warms up, unrecorded
        for w, work in works.items():
            k = rnd % len(names)
            for n in names[k:] + names[:k]:
                start, stop = vs[n]
                gc.collect()
                start()
                t0 = clock()
                work()
                t1 = clock()
                stop()
                if rnd:
                    times[w][n].append(t1 - t0)
    print(json.dumps({
        "version": platform.python_version(),
        "era": "monitoring" if sys.version_info >= (3, 12) else "legacy",
        "clock_costs_ns": floor.clock_costs(2000000),
        "times_ns": times,
    }))


# ------------------------------------------------------------ the driver

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def find_python(minor, venvs):
    if venvs:
        exe = os.path.join(venvs, minor, "bin", "python")
        return exe if os.path.exists(exe) else None
    sys.path.insert(0, HERE)
    from overhead import find_python as pyenv_python

    return pyenv_python(minor)


def build_plumb(python, tree):
    return subprocess.run([python, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def paired(times, a, b):
    """Median over rounds of a's time / b's in the same round: the two ran
    within one round of each other, so slow phases of the machine cancel."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def report(minor, res, has_old):
    med = {w: {n: statistics.median(t) for n, t in ts.items()} for w, ts in res["times_ns"].items()}
    print("\n== CPython %s (%s)" % (res["version"], res["era"]))
    for w, m in med.items():
        none, cp = m["none"], m["cprofile"]
        print("\n%s: median of %d, ms | slowdown | added / cProfile's added%s"
              % (w, len(res["times_ns"][w]["none"]), " | ns added per call" if w == "fib" else ""))
        for n, t in m.items():
            line = "  %-14s %8.2f  x%5.2f  %6.2f" % (n, t / 1e6, t / none, (t - none) / (cp - none))
            if w == "fib":
                line += "  %6.1f" % ((t - none) / FIB_CALLS)
            print(line)
        for p in ["plumb", "plumb-nb"] + (["old", "old-nb"] if has_old else []):
            f = MATCH[res["era"]][p.replace("old", "plumb")]
            print("  %s / %s: %.3f (medians), %.3f (paired)"
                  % (p, f, m[p] / m[f], paired(res["times_ns"][w], p, f)))
    return med


def summary(results, has_old):
    print("\n== Summary (medians; slowdown = time / no profiler's; /floor = median over rounds"
          " of time / the floor's time in the same round)")
    cols = ["plumb", "plumb-nb"] + (["old", "old-nb"] if has_old else [])
    for w in next(iter(results.values()))[1]:
        print("\n%s" % w)
        print("| CPython | cProfile | " + " | ".join(
            "%s: slowdown, added/cProfile, /floor" % c for c in cols) + " |")
        for minor, (res, med) in results.items():
            m = med[w]
            none, cp = m["none"], m["cprofile"]
            cells = []
            for c in cols:
                f = MATCH[res["era"]][c.replace("old", "plumb")]
                cells.append("x%.2f, %.2f, %.3f (%s)" % (m[c] / none, (m[c] - none) / (cp - none),
                                                        paired(res["times_ns"][w], c, f), f))
            print("| %s | x%.2f | %s |" % (res["version"], cp / none, " | ".join(cells)))


def fib_calls(n):
    return 1 if n < 2 else fib_calls(n - 1) + fib_calls(n - 2) + 1


def callgrind_ir(python, args, variant, workload):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
               "--toggle-collect=floor_run", "--callgrind-out-file=" + out,
               python, os.path.abspath(__file__), "--cg-variant", variant,
               "--plumb", args.plumb, "--workloads", workload]
        if args.plumb_old:
            cmd += ["--plumb-old", args.plumb_old]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode:
            raise RuntimeError(p.stderr[-2000:])
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError("no totals in callgrind's output")


def callgrind_main(args):
    print("callgrind instruction counts (valgrind --tool=callgrind, counted under floor.run)")
    for minor in args.pythons.split(","):
        python = find_python(minor, args.venvs)
        if not python:
            print("\n== CPython %s: not found, skipped" % minor)
            continue
        probe = subprocess.run([python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                               stdout=subprocess.PIPE, text=True).stdout.strip() == "True"
        names = ["none", "cprofile"]
        names += (["mon-py-noop", "mon-py-tsc", "mon-all-noop", "mon-all-tsc"] if probe
                  else ["pep523-2tsc"])
        names += ["legacy-noop", "legacy-tsc", "plumb", "plumb-nb"]
        names += ["old", "old-nb"] if args.plumb_old else []
        if args.variants:
            names = ["none"] + [n for n in args.variants.split(",") if n in names and n != "none"]
        print("\n== CPython %s" % minor)
        for w in args.workloads.split(","):
            ir = {}
            for n in names:
                try:
                    ir[n] = callgrind_ir(python, args, n, w)
                except RuntimeError as e:
                    print("  %s: failed: %s" % (n, e))
            if "none" not in ir:
                continue
            if w == "fib":
                calls = fib_calls(CG_FIB_N)
                print("fib(%d), %d calls: instructions, instructions added per call" % (CG_FIB_N, calls))
                for n, v in ir.items():
                    print("  %-14s %10d  %7.1f" % (n, v, (v - ir["none"]) / calls))
            else:
                print("%s (%d steps): instructions, / no profiler's" % (w, CG_METHODS_STEPS))
                for n, v in ir.items():
                    print("  %-14s %10d  x%.3f" % (n, v, v / ir["none"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pythons", default=",".join(PYTHONS))
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--venvs", help="DIR/<minor>/bin/python per version (default: pyenv)")
    ap.add_argument("--plumb", default=REPO, help="source tree with plumb built in place")
    ap.add_argument("--plumb-old", help="a second tree (an older build), measured side by side")
    ap.add_argument("--workloads", default="fib,methods")
    ap.add_argument("--build", action="store_true", help="build plumb in place first")
    ap.add_argument("--json", help="write the raw times here")
    ap.add_argument("--wall", action="store_true",
                    help="time with the wall clock (default: the thread's CPU time)")
    ap.add_argument("--callgrind", action="store_true", help="count instructions instead")
    ap.add_argument("--variants", help="with --callgrind: only these variants")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cg-variant", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plumb_old:
        args.plumb_old = os.path.abspath(args.plumb_old)
    args.plumb = os.path.abspath(args.plumb)
    if args.child:
        return child(args)
    if args.cg_variant:
        return cg_child(args)
    if args.callgrind:
        return callgrind_main(args)

    print("CPU: %s, %d cores; %s" % (cpu_model(), os.cpu_count(), platform.platform()))
    print("date: %s" % datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    print("command: %s" % " ".join(sys.argv))
    print("times: %s" % ("wall clock (perf_counter)" if args.wall
                         else "the measuring thread's CPU time (thread_time)"))
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    results = {}
    for minor in args.pythons.split(","):
        python = find_python(minor, args.venvs)
        if not python:
            print("\n== CPython %s: not found, skipped" % minor)
            continue
        if args.build:
            for tree in [args.plumb] + ([args.plumb_old] if args.plumb_old else []):
                b = build_plumb(python, tree)
                if b.returncode:
                    print("\n== CPython %s: building plumb in %s failed:\n%s" % (minor, tree, b.stdout))
                    break
            else:
                b = None
            if b is not None:
                continue
        cmd = [python, os.path.abspath(__file__), "--child", "--repeat", str(args.repeat),
               "--plumb", args.plumb, "--workloads", args.workloads] + (["--wall"] if args.wall else [])
        if args.plumb_old:
            cmd += ["--plumb-old", args.plumb_old]
        env = dict(os.environ, PYTHONHASHSEED="0")
        env.pop("PYTHONPATH", None)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if p.returncode:
            print("\n== CPython %s: the measuring process failed:\n%s" % (minor, p.stderr[-3000:]))
            continue
        res = json.loads(p.stdout)
        print("\n== CPython %s clock reads, ns: %s" % (res["version"], ", ".join(
            "%s %.1f" % kv for kv in res["clock_costs_ns"].items())))
        results[minor] = (res, report(minor, res, bool(args.plumb_old)))
    print("\nload average after: %.2f %.2f %.2f" % os.getloadavg())
    if results:
        summary(results, bool(args.plumb_old))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({m: r for m, (r, _) in results.items()}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
