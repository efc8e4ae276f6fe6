#!/usr/bin/env python3
"""Profiler overhead benchmark for plumb.

    python3 benchmarks/overhead.py [--pythons 3.11,3.12] [--repeat N]
                                   [--json OUT] [--quick]
                                   [--workloads a,b] [--profilers x,y]

For every requested CPython it prepares a venv under benchmarks/.venv/<ver>
(yappi, pyinstrument and a fresh build of plumb from this checkout), then
times each workload in benchmarks/workloads/ under each profiler. Every
measurement is a fresh interpreter running benchmarks/runner.py. Runs are
interleaved (repeat -> python -> workload -> profiler) so that machine noise
hits all profilers alike; only ratios between runs made side by side are
meaningful. Prints a table per Python plus the project's goal checks and
writes everything to a JSON file. Always exits 0 once arguments parse.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUNNER = os.path.join(HERE, "runner.py")
VENV_ROOT = os.path.join(HERE, ".venv")

PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
WORKLOADS = ["calls", "methods", "builtins_heavy", "io_bound"]
PROFILERS = ["none", "cprofile", "cprofile-nobuiltins", "yappi", "pyinstrument",
             "plumb", "plumb-nobuiltins", "plumb-nopaths"]
# Third-party module each profiler needs; the rest are stdlib.
NEEDS = {"yappi": "yappi", "pyinstrument": "pyinstrument",
         "plumb": "plumb", "plumb-nobuiltins": "plumb", "plumb-nopaths": "plumb"}
QUICK_SCALE = "0.25"   # PLUMB_BENCH_SCALE for --quick (read by the workloads)
RUN_TIMEOUT = 600      # seconds per measurement; a hang is reported as an error
TAIL_LINES = 15

# Runs inside a venv: reports the interpreter version and, for each module
# named on the command line, whether it imports, its version and location.
PROBE = r"""
import importlib, json, sys
out = {"version": sys.version.split()[0], "tools": {}}
for mod in sys.argv[1:]:
    try:
        m = importlib.import_module(mod)
    except BaseException as e:
        out["tools"][mod] = {"available": False, "error": "%s: %s" % (type(e).__name__, e)}
        continue
    try:
        from importlib.metadata import version
        v = version(mod)
    except Exception:
        v = getattr(m, "__version__", "?")
    out["tools"][mod] = {"available": True, "version": v, "path": getattr(m, "__file__", None)}
print(json.dumps(out))
"""


def tail(text, n=TAIL_LINES):
    return "\n".join((text or "").strip().splitlines()[-n:])


def sh(cmd, **kw):
    """Run a command, return (ok, combined output); never raises."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, **kw)
        return p.returncode == 0, p.stdout
    except (OSError, subprocess.SubprocessError) as e:
        return False, "%s: %s" % (type(e).__name__, e)


def clean_env(scale=None):
    env = dict(os.environ)
    # Don't let the caller's environment leak other packages into the venvs.
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(var, None)
    env["PYTHONHASHSEED"] = "0"  # same dict/set layouts in every run
    if scale is not None:
        env["PLUMB_BENCH_SCALE"] = scale
    return env


# ---------------------------------------------------------------- setup

def find_python(ver):
    """Newest pyenv build of `ver` (e.g. '3.11'), else python3.X on PATH."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for exe in glob.glob(os.path.join(root, "versions", ver + ".*", "bin", "python3")):
        m = re.fullmatch(re.escape(ver) + r"\.(\d+)", os.path.basename(os.path.dirname(os.path.dirname(exe))))
        if m:  # skips e.g. 3.11-dev or 3.11.0rc1
            found.append((int(m.group(1)), exe))
    if found:
        return max(found)[1]
    return shutil.which("python" + ver)


def build_requirements():
    """[build-system] requires from pyproject.toml (tomllib is 3.11+ only, and
    a list of quoted strings is all we need, hence the regex)."""
    try:
        with open(os.path.join(REPO, "pyproject.toml")) as f:
            text = f.read()
    except OSError:
        text = ""
    section = re.search(r"^\[build-system\](.*?)(?=^\[|\Z)", text, re.M | re.S)
    reqs = section and re.search(r"^requires\s*=\s*\[(.*?)\]", section.group(1), re.M | re.S)
    if reqs:
        return re.findall(r"[\"']([^\"']+)[\"']", reqs.group(1))
    return ["setuptools", "wheel"]


def _repo_copy_ignore(dirpath, names):
    # Keep VCS data, venvs, build artifacts and in-place built extensions out
    # of the plumb build so it is compiled from source for each Python.
    skip = {n for n in names if n in (".git", ".venv", "__pycache__")
            or n.endswith((".so", ".pyd", ".o"))}
    if os.path.samefile(dirpath, REPO):
        skip |= {n for n in names if n in ("build", "dist") or n.endswith(".egg-info")}
    return skip


def setup_venv(ver, base_python):
    """Create/reuse the venv, install the tools. Returns (python, info dict)."""
    venv = os.path.join(VENV_ROOT, ver)
    py = os.path.join(venv, "bin", "python")
    env = clean_env()
    ok, out = sh([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], env=env)
    if not ok or out.strip() != ver:  # missing or broken (e.g. base python upgraded)
        shutil.rmtree(venv, ignore_errors=True)
        ok, out = sh([base_python, "-m", "venv", venv], env=env)
        if not ok:
            return None, {"error": "venv creation failed:\n" + tail(out)}

    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    install_errors = {}
    # plumb is built without build isolation (no per-build download of its
    # build backend), so its build requirements go into the venv itself;
    # pip makes this a quick no-op once they are satisfied.
    ok, out = sh(pip + build_requirements(), env=env)
    if not ok:
        install_errors["plumb"] = "installing build requirements failed:\n" + tail(out)
    for mod in ("yappi", "pyinstrument"):
        if not sh([py, "-c", "import " + mod], env=env)[0]:
            ok, out = sh(pip + [mod], env=env)
            if not ok:
                install_errors[mod] = tail(out)

    # Always rebuild plumb so we measure the current checkout. Build from a
    # temp copy: pip builds local directories in place, which would leave
    # build/ and *.egg-info in the repo.
    with tempfile.TemporaryDirectory(prefix="plumb-build-") as tmp:
        src = os.path.join(tmp, "src")
        try:
            shutil.copytree(REPO, src, ignore=_repo_copy_ignore)
            ok, out = sh(pip + ["--force-reinstall", "--no-deps", "--no-build-isolation",
                                "--no-cache-dir", src], env=env, cwd=tmp)
        except (OSError, shutil.Error) as e:
            ok, out = False, "copying the repo failed: %s" % e
    if not ok:
        # Don't silently measure a stale plumb from an earlier invocation.
        sh([py, "-m", "pip", "uninstall", "-y", "-q", "plumb"], env=env)
        install_errors["plumb"] = (install_errors.get("plumb", "") + "\n" + tail(out)).strip()

    # cwd=HERE so the repo's plumb/ source dir can't shadow the installed one.
    ok, out = sh([py, "-c", PROBE, "yappi", "pyinstrument", "plumb"], env=env, cwd=HERE)
    try:
        info = json.loads(out.strip().splitlines()[-1]) if ok else None
    except (ValueError, IndexError):
        info = None
    if info is None:
        return None, {"error": "probing the venv failed:\n" + tail(out)}
    for mod, err in install_errors.items():
        if mod in info["tools"]:
            info["tools"][mod]["install_error"] = err
    info["executable"] = py
    info["base_python"] = base_python
    return py, info


# ---------------------------------------------------------------- measuring

def measure(py, workload, profiler, env):
    """One fresh-process measurement: (seconds, None) or (None, error text)."""
    try:
        p = subprocess.run([py, RUNNER, workload, profiler], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, cwd=HERE,
                           timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds" % RUN_TIMEOUT
    except OSError as e:
        return None, "%s: %s" % (type(e).__name__, e)
    if p.returncode != 0:
        how = ("killed by signal %d" % -p.returncode if p.returncode < 0
               else "exit code %d" % p.returncode)
        return None, "%s\n%s" % (how, tail(p.stderr))
    try:
        return float(json.loads(p.stdout.strip().splitlines()[-1])["elapsed"]), None
    except (ValueError, KeyError, IndexError, TypeError):
        return None, "unparsable runner output:\n%s\n%s" % (tail(p.stdout), tail(p.stderr))


def summarize(cells):
    """Fill in median and ratio-to-'none' for one python+workload."""
    for cell in cells.values():
        cell["median"] = statistics.median(cell["times"]) if cell["times"] else None
        # JSON only: on a noisy machine the minimum is a useful second opinion.
        cell["min"] = min(cell["times"]) if cell["times"] else None
    base = cells.get("none", {}).get("median")
    for cell in cells.values():
        cell["ratio"] = cell["median"] / base if cell["median"] is not None and base else None


# ---------------------------------------------------------------- reporting

def fmt_cell(name, cell):
    if cell["status"] == "n/a":
        return "n/a"
    if cell["status"] == "error":
        return "error"
    if name == "none" or cell["ratio"] is None:
        return "%.3fs" % cell["median"]
    return "x%.2f" % cell["ratio"]


def print_table(ver, pyinfo, results, workloads, profilers):
    tools = ", ".join("%s %s" % (m, t["version"]) if t["available"] else "%s n/a" % m
                      for m, t in pyinfo["tools"].items())
    print("\nPython %s  (%s)" % (pyinfo["version"], tools))
    print("'none' = median seconds; others = median / median('none')")
    widths = [max(len(p), 7) for p in profilers]
    wl_w = max(len(w) for w in workloads)
    print(" ".join([" " * wl_w] + [p.rjust(w) for p, w in zip(profilers, widths)]))
    errors = {}  # error text -> cells; one crash usually repeats everywhere
    for wl in workloads:
        row = [wl.ljust(wl_w)]
        for p, w in zip(profilers, widths):
            cell = results[wl][p]
            row.append(fmt_cell(p, cell).rjust(w))
            if cell["status"] == "error":
                errors.setdefault(cell["error"], []).append("%s/%s" % (wl, p))
        print(" ".join(row))
    for err, where in errors.items():
        print("  error in %s (full tail in JSON):\n    %s"
              % (", ".join(where), tail(err, 6).replace("\n", "\n    ")))


def goal_checks(all_results):
    """Numbers the project tracks; computed and reported, never asserted."""
    checks = {}
    for ver, res in all_results.items():
        c = {}
        for wl in ("calls", "methods"):
            cells = res.get(wl)
            if not cells:
                continue
            none, cpro, plumb = (cells[p]["median"] if p in cells else None
                                 for p in ("none", "cprofile", "plumb"))
            if None not in (none, cpro, plumb) and cpro > none:
                c["%s: plumb added / cProfile added" % wl] = (plumb - none) / (cpro - none)
            else:
                c["%s: plumb added / cProfile added" % wl] = None
        if "calls" in res and "plumb-nobuiltins" in res["calls"]:
            c["calls: plumb-nobuiltins slowdown"] = res["calls"]["plumb-nobuiltins"]["ratio"]
        checks[ver] = c
    return checks


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ok_u, uname = sh(["uname", "-a"])
    ok_n, nproc = sh(["nproc"])
    ok_g, commit = sh(["git", "-C", REPO, "rev-parse", "HEAD"])
    ok_d, dirty = sh(["git", "-C", REPO, "status", "--porcelain"])
    return {
        "uname": uname.strip() if ok_u else None,
        "cpu_model": cpu,
        "nproc": int(nproc) if ok_n else os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit.strip() if ok_g else None,
        "git_dirty": bool(dirty.strip()) if ok_d else None,
        "harness_python": sys.version.split()[0],
    }


# ---------------------------------------------------------------- main

def csv_arg(allowed):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError("choose from %s" % ",".join(allowed))
        return items
    return parse


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    ap.add_argument("--pythons", type=csv_arg(PYTHONS), default=PYTHONS)
    ap.add_argument("--workloads", type=csv_arg(WORKLOADS), default=WORKLOADS)
    ap.add_argument("--profilers", type=csv_arg(PROFILERS), default=PROFILERS)
    ap.add_argument("--repeat", type=int, default=None, help="runs per cell (default 7, --quick 3)")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--quick", action="store_true", help="3 repeats, smaller problem sizes")
    args = ap.parse_args()
    repeat = max(1, args.repeat or (3 if args.quick else 7))
    # Ratios need the baseline.
    profilers = ["none"] + [p for p in args.profilers if p != "none"]
    workloads = args.workloads

    pythons = {}  # ver -> (venv python, info)
    for ver in args.pythons:
        base = find_python(ver)
        if not base:
            print("Python %s: not found, skipped" % ver)
            continue
        print("Python %s: preparing venv (%s) ..." % (ver, base), flush=True)
        py, info = setup_venv(ver, base)
        if not py:
            print("Python %s: skipped, %s" % (ver, info["error"]))
            continue
        for mod, t in info["tools"].items():
            if not t["available"]:
                why = t.get("install_error") or t.get("error", "")
                why = tail(why, 5).replace("\n", "\n    ")  # full tail is in the JSON
                print("  %s unavailable on %s:\n    %s" % (mod, ver, why))
        pythons[ver] = (py, info)

    results = {ver: {wl: {} for wl in workloads} for ver in pythons}
    for ver, (py, info) in pythons.items():
        for wl in workloads:
            for p in profilers:
                tool = NEEDS.get(p)
                usable = tool is None or info["tools"][tool]["available"]
                results[ver][wl][p] = {"status": "ok" if usable else "n/a",
                                       "times": [], "error": None}

    env = clean_env(QUICK_SCALE if args.quick else None)
    started = time.time()
    if not pythons:
        print("no usable Python; nothing measured")
    for rep in range(repeat if pythons else 0):
        for ver, (py, _) in pythons.items():
            for wl in workloads:
                # Rotate the start of the round-robin each repeat so no profiler
                # is always first (e.g. right after a cold-cache workload switch).
                shift = rep % len(profilers)
                for p in profilers[shift:] + profilers[:shift]:
                    cell = results[ver][wl][p]
                    if cell["status"] != "ok":  # n/a, or already crashed once
                        continue
                    secs, err = measure(py, wl, p, env)
                    if err:
                        cell["status"], cell["error"] = "error", err
                    else:
                        cell["times"].append(secs)
        print("repeat %d/%d done (%.0fs elapsed)" % (rep + 1, repeat, time.time() - started),
              flush=True)

    for ver in pythons:
        for wl in workloads:
            summarize(results[ver][wl])
        print_table(ver, pythons[ver][1], results[ver], workloads, profilers)

    checks = goal_checks(results)
    if checks:
        print("\nGoal checks (computed, not asserted):")
        for ver, c in checks.items():
            for name, val in c.items():
                print("  %-5s %-38s %s" % (ver, name, "n/a" if val is None else "%.2f" % val))

    report = {
        "machine": machine_info(),
        "config": {"repeat": repeat, "quick": args.quick,
                   "scale": env.get("PLUMB_BENCH_SCALE", "1"),
                   "workloads": workloads, "profilers": profilers},
        "pythons": {ver: dict(info, results=results[ver]) for ver, (_, info) in pythons.items()},
        "goal_checks": checks,
    }
    try:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print("\nwrote %s" % args.json)
    except OSError as e:
        print("\ncould not write %s: %s" % (args.json, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
