#!/usr/bin/env python3
"""Reading and merging pstats files: plumb against pstats, side by side.

    python3 benchmarks/analysis.py [--python PY] [--files 10000] [--functions 300]
                                   [--big-mb 50] [--repeat 3] [--keep DIR]

Runs in one interpreter (default: the newest .venv/<version>/bin/python of
this checkout, where plumb is built), in a temporary directory:

1. Merge.  Writes --files per-request profiles of about --functions
   functions each (synthetic: one set of labels in the shape of a web
   application's, with a caller graph, and per file random call counts and
   times, as requests differ), then times, alternately, --repeat times:
   - pstats: s = pstats.Stats(first); s.add(f) for the others (the loop
     Django's gather_profile_stats ran), then s.stats;
   - plumb:  plumb.Stats(*files).stats, which reads and adds in C and
     builds the same dictionary once at the end.
   Also plumb's C merge alone (no dictionary) and `plumb merge -o`, end to
   end, against the pstats loop plus dump_stats.
2. Load.  Writes one pstats file of about --big-mb MB, then times
   pstats.Stats(file) against plumb.Stats(file) (read in C: what `plumb
   stats`, `merge` and `diff` need) and plumb.Stats(file).stats (pstats'
   whole dictionary built too, for code that wants it); and what `plumb stats FILE -n 20`
   does, load + sort + print the top 20, against pstats doing the same
   (the printed text must be identical).

Every plumb result is compared with pstats' (the dictionaries must be
equal, float for float, in the same order) and the comparison printed.
Prints medians and ratios; never asserts a time.  Goals (computed, not
asserted): merging at least 20x and loading at least 10x faster.
"""
import argparse
import glob
import marshal
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GOALS = {"merge": 20.0, "load": 10.0}


def newest_venv_python():
    found = sorted(glob.glob(os.path.join(REPO, ".venv", "3.*", "bin", "python")),
                   key=lambda p: tuple(int(x) for x in p.split(os.sep)[-3].split(".")))
    return found[-1] if found else sys.executable


def labels(n, rng):
    """n function labels in a web application's shape, and a caller graph:
    each function is called from one to four others."""
    modules = [f"/srv/app/{pkg}/{mod}.py" for pkg in ("views", "models", "forms", "utils",
                                                      "middleware", "templatetags", "api")
               for mod in ("base", "core", "users", "orders", "search", "admin")]
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(("~", 0, f"<built-in method builtins.func_{i}>"))
        else:
            out.append((rng.choice(modules), rng.randint(1, 2000), f"function_{i}"))
    callers = {f: rng.sample(out[:max(1, i)], min(i, rng.randint(1, 4))) if i else []
               for i, f in enumerate(out)}
    return out, callers


def make_profile(funcs, callers, rng):
    """One request's profile: pstats' dict with random counts and times."""
    stats = {}
    for f in funcs:
        if rng.random() < 0.15:
            continue   # not every request reaches every function
        by = {}
        nc = 0
        for c in callers[f]:
            calls = rng.randint(1, 50)
            tt = rng.random() * 1e-3
            by[c] = (calls, calls, tt, tt + rng.random() * 1e-3)
            nc += calls
        nc = nc or 1
        tt = rng.random() * 2e-3
        stats[f] = (nc, nc, tt, tt + rng.random() * 5e-3, by)
    return stats


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def merge_pstats(paths):
    import pstats

    s = pstats.Stats(paths[0])
    for p in paths[1:]:
        s.add(p)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=None, help="interpreter to run in (default: newest venv)")
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--functions", type=int, default=300)
    ap.add_argument("--big-mb", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="write the files here and keep them")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if not args.inner:
        py = args.python or newest_venv_python()
        cmd = [py, os.path.abspath(__file__), "--inner", "--files", str(args.files),
               "--functions", str(args.functions), "--big-mb", str(args.big_mb),
               "--repeat", str(args.repeat)] + (["--keep", args.keep] if args.keep else [])
        # plumb as installed in that venv (make setup), not the checkout.
        return subprocess.call(cmd, cwd=os.path.dirname(py))

    import pstats

    import plumb
    from plumb import _plumb

    print(f"python {platform.python_version()} ({sys.executable}); {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    with open("/proc/loadavg") as f:
        print("load average at start:", f.read().split()[:3])
    rng = random.Random(1234)
    workdir = args.keep or tempfile.mkdtemp(prefix="plumb-analysis-")
    os.makedirs(workdir, exist_ok=True)

    # 1. Merge.
    funcs, callers = labels(args.functions, rng)
    paths = []
    t0 = time.perf_counter()
    for i in range(args.files):
        path = os.path.join(workdir, f"api.users.{i:06d}ms.{1700000000 + i}.prof")
        with open(path, "wb") as f:
            marshal.dump(make_profile(funcs, callers, rng), f)
        paths.append(path)
    size = sum(os.path.getsize(p) for p in paths)
    print(f"\nmerge: {args.files} files of about {args.functions} functions "
          f"({size / args.files / 1024:.1f} KiB each), written in {time.perf_counter() - t0:.1f} s")
    rows = {"pstats": [], "plumb": [], "plumb (C merge only)": []}
    ref = got = None
    for _ in range(args.repeat):
        t, ref = timed(lambda: merge_pstats(paths).stats)
        rows["pstats"].append(t)
        t, got = timed(lambda: plumb.Stats(*paths).stats)
        rows["plumb"].append(t)

        def c_only():
            s = _plumb.Stats()
            for p in paths:
                s.add_file(p)
            return s
        rows["plumb (C merge only)"].append(timed(c_only)[0])
    same = got == ref and list(got) == list(ref)
    report("merge", rows, same)

    out_ref, out_got = os.path.join(workdir, "ref.agg"), os.path.join(workdir, "got.agg")
    cli = {"pstats loop + dump_stats": [], "plumb merge -o": []}
    for _ in range(args.repeat):
        cli["pstats loop + dump_stats"].append(
            timed(lambda: merge_pstats(paths).dump_stats(out_ref))[0])
        cli["plumb merge -o"].append(timed(lambda: subprocess.run(
            [sys.executable, "-m", "plumb", "merge", *paths, "-o", out_got],
            check=True, capture_output=True))[0])
    same = pstats.Stats(out_got).stats == pstats.Stats(out_ref).stats
    report("merge to a file (plumb merge runs a new interpreter each time)", cli, same)

    # 2. Load one big file: sized from a small trial, since marshal's
    # references make the bytes per function depend on the shape.
    big = os.path.join(workdir, "big.prof")
    trial_funcs, trial_callers = labels(2000, random.Random(7))
    per_function = len(marshal.dumps(make_profile(trial_funcs, trial_callers, random.Random(7)))) / 2000
    n = max(1, int(args.big_mb * 1e6 / per_function))
    big_funcs, big_callers = labels(n, rng)
    big_stats = make_profile(big_funcs, big_callers, rng)
    with open(big, "wb") as f:
        marshal.dump(big_stats, f)
    print(f"\nload: one file of {os.path.getsize(big) / 1e6:.1f} MB, {len(big_stats)} functions")
    rows = {"pstats.Stats(file)": [], "plumb.Stats(file)": [],
            "plumb.Stats(file).stats": []}
    for _ in range(args.repeat):
        t, ref = timed(lambda: pstats.Stats(big).stats)
        rows["pstats.Stats(file)"].append(t)
        rows["plumb.Stats(file)"].append(timed(lambda: plumb.Stats(big))[0])
        t, got = timed(lambda: plumb.Stats(big).stats)
        rows["plumb.Stats(file).stats"].append(t)
    report("load", rows, got == ref and list(got) == list(ref), goal_row="plumb.Stats(file)")

    import io

    def top20(cls):
        out = io.StringIO()
        cls(big, stream=out).sort_stats("cumulative").print_stats(20)
        return out.getvalue()
    rows = {"pstats": [], "plumb": []}
    for _ in range(args.repeat):
        t, ref = timed(lambda: top20(pstats.Stats))
        rows["pstats"].append(t)
        t, got = timed(lambda: top20(plumb.Stats))
        rows["plumb"].append(t)
    report("load, sort by cumulative time and print the top 20 rows", rows, got == ref)
    if not args.keep:
        for p in paths + [big, out_ref, out_got]:
            try:
                os.unlink(p)
            except OSError:
                pass
        os.rmdir(workdir)
    with open("/proc/loadavg") as f:
        print("\nload average at end:", f.read().split()[:3])
    return 0


def report(what, rows, same, goal_row="plumb"):
    base_name = next(iter(rows))
    base = statistics.median(rows[base_name])
    print(f"  {what}: medians of {len(rows[base_name])} alternating runs; "
          f"results identical to pstats': {'yes' if same else 'NO'}")
    for name, times in rows.items():
        med = statistics.median(times)
        print(f"    {name:28s} {med:8.3f} s   x{base / med:6.1f} vs {base_name}   "
              f"(runs: {', '.join(f'{t:.3f}' for t in times)})")
    goal = GOALS.get(what)
    if goal:
        plumb_ratio = base / statistics.median(rows[goal_row])
        print(f"    goal ({goal_row}): at least x{goal:.0f} -> x{plumb_ratio:.1f}, "
              f"{'met' if plumb_ratio >= goal else 'NOT met'} (computed, not asserted)")


if __name__ == "__main__":
    sys.exit(main())
