#!/usr/bin/env python3
"""Sampling-profiler overhead benchmark for plumb.

    python3 benchmarks/sampling.py [--pythons 3.11,3.12] [--repeat N] [--quick]
                                   [--json OUT] [--workloads calls,methods]
                                   [--profilers plumb,pyinstrument,py-spy,austin]
                                   [--rates 100,1000,10000]

For every requested CPython it prepares benchmarks/.venv/<ver> as
overhead.py does (a fresh build of plumb from a temp copy of this checkout,
pyinstrument), adds py-spy and Austin (PyPI's austin-dist, which ships the
`austin` binary), then:

1. Slowdown.  Times each workload in a fresh interpreter
   (sampling_runner.py) with no profiler and under each profiler at each
   rate.  The clock covers workload.run() only; every profiler is already
   sampling when it starts and is stopped after it ends: plumb.Sampler and
   pyinstrument are started just before the clock and stopped just after it
   (their start()/stop() durations are recorded in the JSON), py-spy and
   Austin launch the interpreter themselves and the runner spins for
   --settle seconds before starting the clock, so that their own start-up is
   excluded (a coverage run per tool and rate checks, from the tool's own
   output, that the spin was sampled).  The time is the runner's own
   in-process measurement, never the external profiler's.  Runs are
   interleaved (repeat -> python -> workload -> rate -> profiler, with
   "none" measured in every rate group, start rotated each repeat);
   ratio = median / median of all "none" runs of that workload.  A second
   table gives the main thread's CPU time in run() against no profiler's,
   and the share of run() it spent runnable but waiting for a CPU
   (/proc/thread-self/schedstat): on a machine with other work, it tells
   a profiler that takes the workload's CPU from one that slows its code.
2. Side by side (plumb only).  One interpreter per Python and workload
   runs the workload --side-by-side-repeat times with no profiler and under
   plumb.Sampler at each rate, interleaved (sampling_runner.py sidebyside),
   so each ratio compares runs made next to each other in one process:
   the tightest figure for the goals.  Run twice: with every CPU the
   machine gives, and pinned to one CPU, where the sampler thread's CPU
   comes out of the program's (a container limited to one core).
3. Sustained rate.  plumb.Sampler on a busy (recursive fib) and an idle
   (sleeping) main thread for --sustain-seconds at each of --sustain-rates;
   the share of rounds missed (summary()["missed"] / (taken + missed)) per
   rate, and the highest rate with under 1% missed at it and every lower
   rate; with the sampler thread's CPU time, its run-queue wait, its CPU
   time per round and the machine's steal time, which say why rounds were
   missed.  --sustain-timer-slack NS sets the sampler thread's timer slack
   (a diagnostic).

Problem sizes: PLUMB_BENCH_SCALE if set, else 0.5 of overhead.py's (0.25
with --quick), so that a full run of all five Pythons stays near 15 minutes
on a 2-core machine.  Prints a table per Python and the goal checks
(computed, never asserted), writes everything to --json, with the load
average at start and end.  Always exits 0 once arguments parse.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import overhead  # noqa: E402  (venv handling, machine info)

RUNNER = os.path.join(HERE, "sampling_runner.py")

PYTHONS = overhead.PYTHONS
WORKLOADS = ["calls", "methods"]
PROFILERS = ["plumb", "pyinstrument", "py-spy", "austin"]
OPTIONAL_PROFILERS = ["plumb-cpu"]      # plumb.Sampler(mode="cpu"), on request
EXTERNAL = ("py-spy", "austin")
RATES = [100, 1000, 10000]
SUSTAIN_RATES = [1000, 2000, 5000, 10000, 20000, 50000, 100000]
SUSTAIN_KINDS = ["idle", "busy"]
MISSED_LIMIT = 0.01                     # "sustained": under 1% of rounds missed
GOALS = {1000: 1.01, 10000: 1.03}       # plumb's slowdown goals per rate
QUICK_SCALE = overhead.QUICK_SCALE
DEFAULT_SCALE = "0.5"   # half of overhead.py's problem sizes
RUN_TIMEOUT = 300
# How long Austin waits for the interpreter it launched to come up (its -t;
# the default, 100 ms, is too short on a loaded machine: "Cannot launch").
AUSTIN_WAIT = "2000"
# Runs under an external profiler that fail for another reason than
# permissions are tried again this many times (each failure is kept in the
# JSON): Austin 3.7 takes the interpreter it has just launched for "not a
# Python process" in about one launch in seven on the 2-core VM.
EXTERNAL_RETRIES = 4
PERMISSION_WORDS = re.compile(r"permission|not permitted|eperm|ptrace|privilege|elevated|"
                              r"cap_sys_ptrace|insufficient", re.I)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

tail = overhead.tail
sh = overhead.sh


# ---------------------------------------------------------------- setup

def source_state():
    """What plumb is built from: the working tree may differ from the commit
    (and may change while the benchmark runs), so each build records a digest
    of the files a build copies and the paths that differ from HEAD."""
    import hashlib

    h = hashlib.sha256()
    for top in ("src", "plumb", "setup.py", "pyproject.toml", "setup.cfg"):
        path = os.path.join(overhead.REPO, top)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
            if not f.endswith((".so", ".o", ".pyc")))
        for f in files:
            try:
                with open(f, "rb") as fh:
                    h.update(os.path.relpath(f, overhead.REPO).encode() + b"\0" + fh.read())
            except OSError:
                pass
    ok, out = sh(["git", "-C", overhead.REPO, "status", "--porcelain"])
    return {"digest": h.hexdigest()[:16],
            "changed_vs_head": out.split("\n") if ok and out.strip() else []}


def tool_version(cmd, env):
    ok, out = sh(cmd + ["--version"], env=env)
    out = ANSI.sub("", out).strip()
    return ok, out


def setup_external(py, env):
    """py-spy and austin into the venv; returns {tool: info}."""
    bindir = os.path.dirname(py)
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    tools = {}
    for tool, package in (("py-spy", "py-spy"), ("austin", "austin-dist")):
        exe = os.path.join(bindir, tool)
        info = {"package": package, "executable": exe, "notes": []}
        if not os.path.exists(exe):
            ok, out = sh(pip + [package], env=env)
            if not ok:
                info["install_error"] = tail(out)
        ok, out = tool_version([exe], env) if os.path.exists(exe) else (False, "not installed")
        if not ok and tool == "austin" and "GLIBC" in out:
            # austin-dist 4.x ships a binary built against glibc 2.38; older
            # systems (Debian 12: 2.36) need the 3.x line, built for 2.17.
            info["notes"].append("newest austin-dist does not run here (%s); using austin-dist<4"
                                 % out.splitlines()[-1][:200])
            ok2, out2 = sh(pip + ["--force-reinstall", "austin-dist<4"], env=env)
            if not ok2:
                info["install_error"] = tail(out2)
            ok, out = tool_version([exe], env)
        info["available"] = ok
        if ok:
            info["version"] = out.splitlines()[-1].strip()
        else:
            info["error"] = tail(out, 5)
        ok_p, out_p = sh([py, "-m", "pip", "show", package], env=env)
        m = re.search(r"^Version: (\S+)", out_p, re.M) if ok_p else None
        info["package_version"] = m.group(1) if m else None
        tools[tool] = info
    return tools


SPIN = "import time\nend = time.perf_counter() + %s\nwhile time.perf_counter() < end: pass\n"


def probe_external(py, tools, env):
    """Whether each external tool can launch a child and attach to a running
    process; recorded, and a launch failure makes the tool unavailable."""
    for tool, info in tools.items():
        if not info["available"]:
            continue
        exe = info["executable"]
        if tool == "py-spy":
            launch = [exe, "record", "--rate", "100", "--nonblocking", "-o", os.devnull,
                      "-f", "raw", "--", py, "-c", SPIN % 0.3]
        else:
            launch = [exe, "-i", "10000", "-t", AUSTIN_WAIT, "-o", os.devnull,
                      py, "-c", SPIN % 0.3]
        for attempt in range(2):   # a loaded machine can fail a first try
            ok, out = sh(launch, env=env, timeout=60)
            n = samples_reported(tool, out)
            if ok and n:
                break
        info["launch"] = {"ok": ok and bool(n), "samples": n, "output": tail(ANSI.sub("", out), 8)}
        # Attach: a running interpreter, then the tool with --pid / -p.
        target = subprocess.Popen([py, "-c", SPIN % 4], env=env)
        try:
            time.sleep(0.3)
            if tool == "py-spy":
                attach = [exe, "dump", "--nonblocking", "--pid", str(target.pid)]
            else:
                attach = [exe, "-i", "10000", "-t", AUSTIN_WAIT, "-x", "1", "-o", os.devnull,
                          "-p", str(target.pid)]
            ok_a, out_a = sh(attach, env=env, timeout=60)
        finally:
            target.kill()
            target.wait()
        info["attach"] = {"ok": ok_a, "output": tail(ANSI.sub("", out_a), 8)}
        if not info["launch"]["ok"]:
            info["available"] = False
            out = ANSI.sub("", out)
            why = next((ln for ln in out.splitlines() if PERMISSION_WORDS.search(ln)), None)
            info["error"] = ("permission denied: " + why.strip()) if why else \
                ("launching a child under it failed: " + tail(out, 3))


def samples_reported(tool, text):
    """Total samples the tool says it took, from its closing message."""
    text = ANSI.sub("", text or "")
    if tool == "py-spy":
        m = re.search(r"Samples: (\d+)", text)
    else:
        m = re.search(r"Long sampling rate\s*:\s*\d+/(\d+)", text) or \
            re.search(r"Error rate\s*:\s*\d+/(\d+)", text)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- measuring

def external_cmd(tool, exe, rate, outfile, py, args):
    if tool == "py-spy":
        return [exe, "record", "--rate", str(int(rate)), "--nonblocking", "-o", outfile,
                "-f", "raw", "--", py] + args
    return [exe, "-i", str(max(1, int(round(1e6 / rate)))), "-t", AUSTIN_WAIT, "-o", outfile,
            py] + args


def run_runner(cmd, env):
    """(result dict, None) or (None, error text)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, cwd=HERE, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds" % RUN_TIMEOUT
    except OSError as e:
        return None, "%s: %s" % (type(e).__name__, e)
    both = ANSI.sub("", p.stdout + "\n" + p.stderr)
    result = None
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
                break
            except ValueError:
                pass
    if p.returncode != 0 or result is None:
        how = ("killed by signal %d" % -p.returncode if p.returncode < 0
               else "exit code %d" % p.returncode)
        why = next((ln for ln in both.splitlines() if PERMISSION_WORDS.search(ln)), None)
        if why:
            return None, "unavailable: " + why.strip()
        return None, "%s\n%s" % (how, tail(both))
    result["tool_output"] = tail(both, 6)
    return result, None


def measure(py, tools, workload, profiler, rate, settle, env):
    args = [RUNNER, "time", workload, "external" if profiler in EXTERNAL else profiler,
            str(rate), str(settle)]
    if profiler not in EXTERNAL:
        r, err = run_runner([py] + args, env)
        if r:
            r.pop("tool_output", None)
        return r, err
    failures = []
    for attempt in range(1 + EXTERNAL_RETRIES):
        r, err = run_runner(external_cmd(profiler, tools[profiler]["executable"], rate,
                                         os.devnull, py, args), env)
        if r is not None or err.startswith("unavailable"):
            break
        failures.append(err)   # e.g. Austin not finding the interpreter it launched
    if r is None:
        return None, err
    r["failed_attempts"] = failures
    n = samples_reported(profiler, r["tool_output"])
    r["tool_samples"] = n
    lag = re.search(r"([\d.]+)s behind in sampling", r["tool_output"])
    r["tool_lag_s"] = float(lag.group(1)) if lag else None
    if not n:   # ran, but sampled nothing: the time would be the bare program's
        return None, "no samples taken:\n" + r["tool_output"]
    return r, None


def coverage(py, tools, workload, rate, settle, env):
    """For each external tool: one run writing its samples to a file; how
    many fell in the settle spin (sampling had begun before the clock) and
    in the workload (the rate achieved while timed)."""
    out = {}
    for tool in EXTERNAL:
        info = tools.get(tool)
        if not info or not info["available"]:
            continue
        with tempfile.TemporaryDirectory(prefix="plumb-sampling-") as tmp:
            path = os.path.join(tmp, "samples.txt")
            args = [RUNNER, "time", workload, "external", str(rate), str(settle)]
            r, err = run_runner(external_cmd(tool, info["executable"], rate, path, py, args), env)
            if r is None:
                out[tool] = {"error": err}
                continue
            settle_n = work_n = 0
            try:
                with open(path, errors="replace") as f:
                    for line in f:
                        if line.startswith("#") or not line.strip():
                            continue
                        # py-spy raw: "frames COUNT"; austin: one line per sample.
                        count = int(line.rsplit(" ", 1)[1]) if tool == "py-spy" else 1
                        if "_settle" in line:
                            settle_n += count
                        elif workload + ".py" in line:
                            work_n += count
            except (OSError, ValueError, IndexError) as e:
                out[tool] = {"error": "reading %s: %s" % (path, e)}
                continue
        out[tool] = {"settle_samples": settle_n, "settle_expected": round(settle * rate),
                     "workload_samples": work_n, "workload_seconds": r["elapsed"],
                     "workload_rate": work_n / r["elapsed"] if r["elapsed"] else None}
    return out


def sustain(py, kind, rate, seconds, mode, env, slack_ns=0):
    r, err = run_runner([py, RUNNER, "sustain", kind, str(rate), str(seconds), mode,
                         str(slack_ns)], env)
    if r is None:
        return {"error": err}
    r.pop("tool_output", None)
    s = r["summary"]
    rounds = s["taken"] + s["missed"]
    r["missed_share"] = s["missed"] / rounds if rounds else None
    r["failed_share"] = s["failed"] / s["taken"] if s["taken"] else None
    r["achieved_rate"] = s["taken"] / s["elapsed"] if s.get("elapsed") else None
    return r


# ---------------------------------------------------------------- summaries

def summarize(res, profilers, rates):
    """Medians, ratios and per-repeat paired ratios for one python+workload."""
    none_times = [t for rate in rates for t in res[("none", rate)]["times"]]
    base = statistics.median(none_times) if none_times else None
    none_cpu = [r["main_cpu"] for rate in rates for r in res[("none", rate)]["runs"]]
    cpu_base = statistics.median(none_cpu) if none_cpu else None
    out = {"none": {"median": base, "min": min(none_times) if none_times else None,
                    "n": len(none_times),
                    "spread": (max(none_times) - min(none_times)) / base if base else None,
                    "cpu_median": cpu_base}}
    for rate in rates:
        _cpu_and_wait(res[("none", rate)], cpu_base)
    for p in profilers:
        for rate in rates:
            cell = res[(p, rate)]
            t = cell["times"]
            cell["median"] = statistics.median(t) if t else None
            cell["min"] = min(t) if t else None
            cell["ratio"] = cell["median"] / base if t and base else None
            # Against "none" of the same repeat and rate group, run next to it.
            nt = res[("none", rate)]["by_repeat"]
            paired = [v / nt[k] for k, v in cell["by_repeat"].items() if k in nt]
            cell["paired_ratios"] = paired
            cell["paired_median"] = statistics.median(paired) if paired else None
            _cpu_and_wait(cell, cpu_base)
    return out


def _cpu_and_wait(cell, cpu_base):
    """The main thread's CPU time during run() against no profiler's, and the
    share of run() it spent runnable but waiting for a CPU."""
    cpu = [r["main_cpu"] for r in cell["runs"]]
    waits = [r["main_runqueue_wait"] / r["elapsed"] for r in cell["runs"]
             if r.get("main_runqueue_wait") is not None and r["elapsed"]]
    cell["cpu_median"] = statistics.median(cpu) if cpu else None
    cell["cpu_ratio"] = cell["cpu_median"] / cpu_base if cpu and cpu_base else None
    cell["wait_share"] = statistics.median(waits) if waits else None


def fmt_rate(rate):
    return "%g kHz" % (rate / 1000) if rate >= 1000 else "%g Hz" % rate


def fmt_cpu_cell(cell):
    if cell["status"] != "ok" or cell.get("cpu_ratio") is None:
        return "-"
    w = cell.get("wait_share")
    return "x%.3f %s" % (cell["cpu_ratio"], "(%2.0f%%)" % (100 * w) if w is not None else "")


def fmt_cell(cell):
    if cell["status"] == "n/a":
        return cell.get("reason", "n/a")
    if cell["status"] == "error":
        e = cell["error"]
        return e.splitlines()[0][:50] if e.startswith("unavailable") else "error"
    return "x%.3f" % cell["ratio"] if cell["ratio"] is not None else "-"


def print_table(header, rows, left, indent=""):
    """Columns sized to their widest cell: the first `left` left-aligned,
    the others right-aligned."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print(indent + "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths))))


def print_tables(ver, info, res, base, workloads, profilers, rates):
    tools = ["plumb %s" % info["tools"]["plumb"].get("version", "n/a"),
             "pyinstrument %s" % info["tools"]["pyinstrument"].get("version", "n/a")]
    for t in EXTERNAL:
        x = info["external"].get(t, {})
        tools.append("%s %s" % (t, x.get("package_version") if x.get("available") else "n/a"))
    print("\nPython %s  (%s)" % (info["version"], ", ".join(tools)))
    print("none = median seconds of the workload alone; others = median / median(none)")
    header = ["workload", "rate", "none"] + profilers
    rows = []
    errors = {}
    for wl in workloads:
        for i, rate in enumerate(rates):
            b = base[wl]["none"]
            row = [wl if i == 0 else "", fmt_rate(rate),
                   ("%.3fs" % b["median"] if b["median"] else "error") if i == 0 else ""]
            for p in profilers:
                cell = res[wl][(p, rate)]
                row.append(fmt_cell(cell))
                if cell["status"] == "error" and not cell["error"].startswith("unavailable"):
                    errors.setdefault(cell["error"], []).append("%s/%s/%s" % (wl, p, rate))
            rows.append(row)
    print_table(header, rows, left=2)
    print("Main thread's CPU time in run(), median / median(none), and (in brackets; alone in "
          "the none column) the median share of run() it was runnable but waiting for a CPU:")
    rows = []
    for wl in workloads:
        for i, rate in enumerate(rates):
            n = res[wl][("none", rate)]
            row = [wl if i == 0 else "", fmt_rate(rate),
                   ("%.0f%%" % (100 * n["wait_share"]) if n.get("wait_share") is not None
                    else "-")]
            row += [fmt_cpu_cell(res[wl][(p, rate)]) for p in profilers]
            rows.append(row)
    print_table(header, rows, left=2)
    for wl in workloads:
        b = base[wl]["none"]
        if b["median"]:
            print("  %s: %d runs without a profiler, (max-min)/median %.1f%%"
                  % (wl, b["n"], 100 * b["spread"]))
    steal = [r["steal_share"] for wl in workloads for cell in res[wl].values()
             for r in cell["runs"] if r.get("steal_share") is not None]
    if steal:
        print("  machine's steal time during the timed runs: median %.1f%%, max %.1f%%"
              % (100 * statistics.median(steal), 100 * max(steal)))
    for p in profilers:
        retried = [r for wl in workloads for rate in rates for r in res[wl][(p, rate)]["runs"]
                   if r.get("failed_attempts")]
        if retried:
            first = retried[0]["failed_attempts"][0].strip().splitlines()
            print("  %s: %d run(s) succeeded only on a retry; first failure: %s"
                  % (p, len(retried), first[-1] if first else "?"))
    for p in profilers:
        cell = res[workloads[0]][(p, rates[0])]
        if cell["status"] == "n/a":
            print("  %s unavailable: %s" % (p, tail(cell["error"] or "", 3).replace("\n", "\n    ")))
    for err, where in errors.items():
        print("  error in %s (full tail in JSON):\n    %s"
              % (", ".join(where), tail(err, 6).replace("\n", "\n    ")))


def print_coverage(cov, settle):
    if not cov:
        return
    print("External profilers' own samples, one run each (calls workload):")
    for rate, tools in cov.items():
        for tool, c in tools.items():
            if "error" in c:
                print("  %-7s %-7s error: %s" % (tool, fmt_rate(rate), c["error"].splitlines()[0]))
            else:
                print("  %-7s %-7s %d samples in the %.2fs settle spin (%d at the nominal rate), "
                      "%.0f/s in the timed workload"
                      % (tool, fmt_rate(rate), c["settle_samples"], settle, c["settle_expected"],
                         c["workload_rate"] or 0))


def sustained_rate(table, kinds, rates):
    """Highest rate with missed < limit there and at every lower rate."""
    best = {}
    for kind in kinds:
        best[kind] = None
        for rate in rates:
            r = table[kind].get(rate, {})
            if r.get("missed_share") is None or r["missed_share"] >= MISSED_LIMIT:
                break
            best[kind] = rate
    vals = [v for v in best.values()]
    best["all"] = None if None in vals or not vals else min(vals)
    return best


def print_sustain(ver, table, kinds, rates, mode, seconds, slack_ns=0):
    slack = ", sampler thread's timer slack set to %d ns" % slack_ns if slack_ns else ""
    print("\nPython %s: plumb.Sampler, %s mode%s, %gs per run: missed = missed / (taken + missed) "
          "rounds; failed = failed / taken; achieved = rounds taken per second; sampler = its "
          "thread's CPU time per wall second, time it was runnable but waited for a CPU per "
          "wall second (schedstat), CPU microseconds per round taken; steal = the machine's "
          "steal time share (the hypervisor running something else)" % (ver, mode, slack, seconds))
    header = ["rate", "main thread", "missed", "failed", "achieved", "sampler cpu", "cpu wait",
              "us/round", "steal"]
    rows = []
    for rate in rates:
        for k in kinds:
            r = table[k].get(rate, {})
            if "error" in r:
                rows.append([fmt_rate(rate), k, "error"] + [""] * 6)
                continue
            t = r.get("sampler_thread") or {}
            taken = r["summary"]["taken"]
            rows.append([fmt_rate(rate), k, "%.2f%%" % (100 * r["missed_share"]),
                         "%.2f%%" % (100 * (r["failed_share"] or 0)),
                         "%.0f Hz" % r["achieved_rate"] if r["achieved_rate"] else "-",
                         "%.0f%%" % (100 * (t["cpu"] / r["wall"] if t else r["sampler_cpu_share"])),
                         "%.0f%%" % (100 * t["runqueue_wait"] / r["wall"]) if t else "-",
                         "%.0f" % (1e6 * t["cpu"] / taken) if t and taken else "-",
                         "%.1f%%" % (100 * r["steal_share"]) if r.get("steal_share") is not None
                         else "-"])
    print_table(header, rows, left=0)
    best = sustained_rate(table, kinds, rates)
    print("  highest rate with < %g%% of rounds missed there and at every lower rate: %s"
          % (100 * MISSED_LIMIT, ", ".join("%s %s" % (k, fmt_rate(v) if v else "none")
                                           for k, v in best.items())))
    for k in kinds:
        for rate in rates:
            r = table[k].get(rate, {})
            if "error" in r:
                print("  error (%s, %s): %s" % (k, fmt_rate(rate), tail(r["error"], 4)))
    return best


def side_by_side(py, workload, rates, repeat, cpus, env):
    """sampling_runner.py sidebyside: per rate, median elapsed / median with
    no profiler, the median of per-repeat ratios (each run against the
    no-profiler run of the same repeat), rounds missed, sampler CPU."""
    r, err = run_runner([py, RUNNER, "sidebyside", workload, ",".join(str(x) for x in rates),
                         str(repeat), cpus], env)
    if err:
        return {"error": err}
    cells = r["rates"]
    none = cells["0.0"]["times"]
    out = {"ncpus": r["ncpus"], "none_median": statistics.median(none), "rates": {}}
    for rate in rates:
        c = cells[str(float(rate))]
        rounds = c["taken"] + c["missed"]
        out["rates"][rate] = {
            "ratio": statistics.median(c["times"]) / statistics.median(none),
            "paired_median": statistics.median(t / n for t, n in zip(c["times"], none)),
            "missed_share": c["missed"] / rounds if rounds else None,
            "sampler_cpu_share": statistics.median(c["sampler_cpu_share"]),
            "times": c["times"]}
    out["none_times"] = none
    return out


def print_side_by_side(ver, table, rates, repeat):
    print("\nCPython %s: plumb.Sampler side by side with no profiler, one interpreter per row, "
          "%d interleaved repeats" % (ver, repeat))
    header = ["workload", "CPUs", "none"] + [fmt_rate(r) for r in rates]
    rows = []
    for (wl, cpus), cell in table.items():
        if "error" in cell:
            rows.append([wl, cpus, "error: %s" % cell["error"][:60]] + [""] * len(rates))
            continue
        row = [wl, "%s (%d)" % (cpus, cell["ncpus"]), "%.3f s" % cell["none_median"]]
        for rate in rates:
            c = cell["rates"][rate]
            row.append("x%.3f (paired x%.3f; missed %.1f%%, sampler CPU %.0f%%)"
                       % (c["ratio"], c["paired_median"], 100 * (c["missed_share"] or 0),
                          100 * c["sampler_cpu_share"]))
        rows.append(row)
    print_table(header, rows, left=len(header), indent="  ")


def goal_checks(results):
    checks = {}
    for ver, res in results.items():
        c = {}
        for (wl, cpus), cell in res.get("side_by_side", {}).items():
            if cpus != "all" or "error" in cell:
                continue
            for rate, limit in GOALS.items():
                v = cell["rates"].get(rate)
                if v:
                    c["%s @ %s, side by side" % (wl, fmt_rate(rate))] = {
                        "limit": limit, "ratio": v["ratio"], "met": v["ratio"] <= limit,
                        "paired_median": v["paired_median"],
                        "paired_range": [min(t / n for t, n in zip(v["times"], cell["none_times"])),
                                         max(t / n for t, n in zip(v["times"], cell["none_times"]))],
                        "ratio_of_minimums": min(v["times"]) / min(cell["none_times"])}
        for wl, cells in res["cells"].items():
            for rate, limit in GOALS.items():
                cell = cells.get(("plumb", rate))
                if not cell or cell.get("ratio") is None:
                    continue
                p = cell["paired_ratios"]
                c["%s @ %s" % (wl, fmt_rate(rate))] = {
                    "limit": limit, "ratio": cell["ratio"], "met": cell["ratio"] <= limit,
                    "ratio_of_minimums": cell["min"] / res["base"][wl]["none"]["min"],
                    "paired_median": cell["paired_median"],
                    "paired_range": [min(p), max(p)] if p else None}
        checks[ver] = c
    return checks


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return None


def machine_extra():
    info = {}
    ok, out = sh(["uptime"])
    info["uptime"] = out.strip() if ok else None
    info["loadavg"] = loadavg()
    ok, out = sh(["ldd", "--version"])
    info["libc"] = out.splitlines()[0].strip() if ok and out else None
    try:
        with open("/proc/self/status") as f:
            cap = re.search(r"^CapEff:\s*([0-9a-f]+)", f.read(), re.M)
        info["cap_sys_ptrace"] = bool(int(cap.group(1), 16) >> 19 & 1) if cap else None
    except OSError:
        info["cap_sys_ptrace"] = None
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            info["yama_ptrace_scope"] = f.read().strip()
    except OSError:
        info["yama_ptrace_scope"] = "absent"
    return info


# ---------------------------------------------------------------- main

def csv_arg(allowed, conv=str):
    def parse(text):
        items = [conv(x.strip()) for x in text.split(",") if x.strip()]
        bad = [x for x in items if allowed is not None and x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError("choose from %s" % ",".join(map(str, allowed)))
        return items
    return parse


def positive(conv):
    def parse(text):
        v = conv(text)
        if v <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return v
    return parse


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    ap.add_argument("--pythons", type=csv_arg(PYTHONS), default=PYTHONS)
    ap.add_argument("--workloads", type=csv_arg(overhead.WORKLOADS), default=WORKLOADS)
    ap.add_argument("--profilers", type=csv_arg(PROFILERS + OPTIONAL_PROFILERS),
                    default=PROFILERS, help="of %s" % ",".join(PROFILERS + OPTIONAL_PROFILERS))
    ap.add_argument("--rates", type=csv_arg(None, positive(float)), default=RATES)
    ap.add_argument("--repeat", type=int, default=None, help="runs per cell (default 7, --quick 3)")
    ap.add_argument("--settle", type=float, default=0.2,
                    help="seconds every run spins before the clock starts (default 0.2)")
    ap.add_argument("--sustain-rates", type=csv_arg(None, positive(float)), default=SUSTAIN_RATES)
    ap.add_argument("--sustain-seconds", type=positive(float), default=None,
                    help="per rate and workload (default 2, --quick 1)")
    ap.add_argument("--sustain-mode", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--sustain-timer-slack", type=int, default=0, metavar="NS",
                    help="diagnostic: give the sampler thread this timer slack (prctl; "
                         "default: leave the system's, normally 50000 ns)")
    ap.add_argument("--no-sustain", action="store_true", help="skip the sustained-rate part")
    ap.add_argument("--no-slowdown", action="store_true", help="skip the slowdown part")
    ap.add_argument("--side-by-side-repeat", type=int, default=None,
                    help="repeats of the side-by-side part (default 15, --quick 5; 0 skips it)")
    ap.add_argument("--json", default=os.path.join(HERE, "sampling-results.json"))
    ap.add_argument("--quick", action="store_true", help="3 repeats, smaller problem sizes")
    args = ap.parse_args()
    repeat = max(1, args.repeat or (3 if args.quick else 7))
    sustain_seconds = args.sustain_seconds or (1.0 if args.quick else 2.0)
    rates = [int(r) if r == int(r) else r for r in args.rates]
    sustain_rates = [int(r) if r == int(r) else r for r in args.sustain_rates]
    profilers, workloads = args.profilers, args.workloads

    began = time.time()
    machine = overhead.machine_info()   # git commit as the run starts
    load_start = machine_extra()
    print("load at start: %s" % load_start["uptime"], flush=True)

    # PLUMB_BENCH_SCALE from the caller wins; else --quick's (overhead.py's)
    # or DEFAULT_SCALE, which keeps a full run of every Python near 15 minutes.
    scale = os.environ.get("PLUMB_BENCH_SCALE") or (QUICK_SCALE if args.quick else DEFAULT_SCALE)
    env = overhead.clean_env(scale)

    pythons = {}
    for ver in args.pythons:
        base = overhead.find_python(ver)
        if not base:
            print("Python %s: not found, skipped" % ver)
            continue
        print("Python %s: preparing venv (%s) ..." % (ver, base), flush=True)
        state = source_state()
        py, info = overhead.setup_venv(ver, base)
        if not py:
            print("Python %s: skipped, %s" % (ver, info["error"]))
            continue
        info["plumb_source"] = state
        info["plumb_source"]["digest_after_build"] = source_state()["digest"]
        print("  plumb built from working tree %s%s" % (
            state["digest"], "" if state["digest"] == state["digest_after_build"]
            else " (the tree changed during the build: %s after)" % state["digest_after_build"]))
        info["external"] = setup_external(py, overhead.clean_env())
        probe_external(py, info["external"], overhead.clean_env())
        for tool, t in list(info["tools"].items()) + list(info["external"].items()):
            if tool == "yappi":
                continue
            if not t.get("available"):
                why = t.get("install_error") or t.get("error", "")
                print("  %s unavailable on %s:\n    %s"
                      % (tool, ver, tail(why, 5).replace("\n", "\n    ")))
        for tool, t in info["external"].items():
            if t.get("available"):
                print("  %s %s: launching a child works; attaching with a pid %s"
                      % (tool, t["package_version"], "works" if t["attach"]["ok"] else
                         "fails: " + (t["attach"]["output"].splitlines() or ["?"])[-1]))
            for note in t["notes"]:
                print("  note: " + note)
        pythons[ver] = (py, info)

    def usable(info, p):
        if p in ("plumb", "plumb-cpu"):
            t = info["tools"]["plumb"]
        elif p == "pyinstrument":
            t = info["tools"]["pyinstrument"]
        else:
            t = info["external"][p]
        return t.get("available"), t.get("error") or t.get("install_error") or "n/a"

    # res[ver][wl][(profiler, rate)] = cell
    res = {}
    for ver, (py, info) in pythons.items():
        res[ver] = {}
        for wl in workloads:
            res[ver][wl] = {}
            for p in ["none"] + profilers:
                ok, why = usable(info, p) if p != "none" else (True, None)
                for rate in rates:
                    cell = {"status": "ok" if ok else "n/a", "times": [], "by_repeat": {},
                            "runs": [], "error": None}
                    if not ok:
                        cell["reason"] = "unavailable"
                        cell["error"] = why
                    res[ver][wl][(p, rate)] = cell

    started = time.time()
    if not args.no_slowdown:
        for rep in range(repeat if pythons else 0):
            for ver, (py, info) in pythons.items():
                for wl in workloads:
                    for rate in rates:
                        order = ["none"] + profilers
                        shift = rep % len(order)
                        for p in order[shift:] + order[:shift]:
                            cell = res[ver][wl][(p, rate)]
                            if cell["status"] != "ok":
                                continue
                            r, err = measure(py, info["external"], wl, p, rate, args.settle, env)
                            if err:
                                cell["status"], cell["error"] = "error", err
                                continue
                            cell["times"].append(r["elapsed"])
                            cell["by_repeat"][rep] = r["elapsed"]
                            r.pop("tool_output", None)
                            cell["runs"].append(r)
            print("repeat %d/%d done (%.0fs elapsed)" % (rep + 1, repeat, time.time() - started),
                  flush=True)

    covs = {}
    if not args.no_slowdown:
        for ver, (py, info) in pythons.items():
            covs[ver] = {rate: coverage(py, info["external"], workloads[0], rate, args.settle, env)
                         for rate in rates if any(p in EXTERNAL for p in profilers)}

    sbs_repeat = args.side_by_side_repeat if args.side_by_side_repeat is not None else (
        5 if args.quick else 15)
    sbs_rates = [r for r in rates]
    side = {}
    if sbs_repeat > 0:
        for ver, (py, info) in pythons.items():
            if not info["tools"]["plumb"].get("available"):
                continue
            side[ver] = {(wl, cpus): side_by_side(py, wl, sbs_rates, sbs_repeat, cpus, env)
                         for cpus in ("all", "one") for wl in workloads}
            print("side-by-side runs done for %s (%.0fs elapsed)" % (ver, time.time() - started),
                  flush=True)

    sustained = {}
    if not args.no_sustain:
        for ver, (py, info) in pythons.items():
            if not info["tools"]["plumb"].get("available"):
                continue
            table = {k: {} for k in SUSTAIN_KINDS}
            for rate in sustain_rates:
                for kind in SUSTAIN_KINDS:
                    table[kind][rate] = sustain(py, kind, rate, sustain_seconds,
                                                args.sustain_mode, env, args.sustain_timer_slack)
            sustained[ver] = {"table": table, "loadavg_after": loadavg()}
            print("sustained-rate runs done for %s (%.0fs elapsed)"
                  % (ver, time.time() - started), flush=True)

    # Everything is computed and the JSON written before anything is printed,
    # so that a failure while printing (a closed pipe) loses no data.
    results = {}
    for ver in pythons:
        base = {}
        if not args.no_slowdown:
            for wl in workloads:
                base[wl] = summarize(res[ver][wl], profilers, rates)
        results[ver] = {"cells": res[ver], "base": base, "side_by_side": side.get(ver, {})}
        if ver in sustained:
            sustained[ver]["best"] = sustained_rate(sustained[ver]["table"], SUSTAIN_KINDS,
                                                    sustain_rates)
    checks = goal_checks(results)
    load_end = machine_extra()

    ok, head = sh(["git", "-C", overhead.REPO, "rev-parse", "HEAD"])
    machine.update({"load_start": load_start, "load_end": load_end,
                    "git_commit_at_end": head.strip() if ok else None})
    report = {
        "machine": machine,
        "config": {"repeat": repeat, "quick": args.quick, "scale": env.get("PLUMB_BENCH_SCALE", "1"),
                   "workloads": workloads, "profilers": ["none"] + profilers, "rates": rates,
                   "settle": args.settle, "sustain_rates": sustain_rates,
                   "sustain_seconds": sustain_seconds, "side_by_side_repeat": sbs_repeat, "sustain_mode": args.sustain_mode,
                   "sustain_timer_slack_ns": args.sustain_timer_slack or None,
                   "missed_limit": MISSED_LIMIT, "goals": {str(k): v for k, v in GOALS.items()},
                   "seconds": time.time() - began},
        "pythons": {},
        "goal_checks": checks,
    }
    for ver, (py, info) in pythons.items():
        cells = {wl: {"%s@%s" % k: dict(v, by_repeat={str(r): t for r, t in v["by_repeat"].items()})
                      for k, v in res[ver][wl].items()} for wl in workloads}
        report["pythons"][ver] = dict(
            info, slowdown=cells, baseline=results[ver]["base"],
            coverage={str(k): v for k, v in covs.get(ver, {}).items()},
            side_by_side={"%s/%s" % k: dict(v, rates={str(r): c for r, c in v.get("rates", {}).items()})
                          for k, v in side.get(ver, {}).items()},
            sustained=({"best": sustained[ver]["best"],
                        "loadavg_after": sustained[ver]["loadavg_after"],
                        "table": {k: {str(r): v for r, v in t.items()}
                                  for k, t in sustained[ver]["table"].items()}}
                       if ver in sustained else None))
    try:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        wrote = "wrote %s" % args.json
    except (OSError, TypeError, ValueError) as e:
        wrote = "could not write %s: %s" % (args.json, e)

    for ver, (py, info) in pythons.items():
        if not args.no_slowdown:
            print_tables(ver, info, res[ver], results[ver]["base"], workloads, profilers, rates)
            print_coverage(covs.get(ver), args.settle)
            print_in_process(res[ver], workloads, profilers, rates)
        if side.get(ver):
            print_side_by_side(ver, side[ver], sbs_rates, sbs_repeat)
        if ver in sustained:
            print_sustain(ver, sustained[ver]["table"], SUSTAIN_KINDS, sustain_rates,
                          args.sustain_mode, sustain_seconds, args.sustain_timer_slack)
    if any(checks.values()):
        print("\nGoal checks for plumb.Sampler (computed, not asserted): slowdown = median / "
              "median(none); paired = per repeat, against 'none' of the same rate group")
        for ver, c in checks.items():
            for name, v in c.items():
                print("  %-5s %-18s x%.3f (limit x%.2f: %s); ratio of minimums x%.3f; "
                      "paired median x%.3f, range x%.3f-x%.3f"
                      % (ver, name, v["ratio"], v["limit"], "met" if v["met"] else "NOT met",
                         v["ratio_of_minimums"], v["paired_median"], *v["paired_range"]))
    digests = {ver: info["plumb_source"]["digest"] for ver, (_, info) in pythons.items()}
    if len(set(digests.values())) > 1:
        print("\nWARNING: the working tree changed between builds; plumb was built from %s"
              % ", ".join("%s for %s" % (d, v) for v, d in digests.items()))
    print("\nload at start: %s\nload at end:   %s" % (load_start["uptime"], load_end["uptime"]))
    print("total %.0fs; %s" % (time.time() - began, wrote))
    return 0


def print_in_process(res, workloads, profilers, rates):
    """start()/stop() durations of the in-process profilers, plumb's missed
    rounds and what its thread used, over all runs of all workloads."""
    for p in ("plumb", "plumb-cpu", "pyinstrument"):
        if p not in profilers:
            continue
        for rate in rates:
            runs = [r for wl in workloads for r in res[wl][(p, rate)]["runs"]]
            if not runs:
                continue
            line = ("  %s %s: start() %.0f us, stop() %.2f ms (medians, outside the clock)"
                    % (p, fmt_rate(rate), 1e6 * statistics.median(r["start"] for r in runs),
                       1e3 * statistics.median(r["stop"] for r in runs)))
            sums = [r["info"] for r in runs if isinstance(r.get("info"), dict)
                    and "missed" in r["info"]]
            if sums:
                line += "; rounds missed %.2f%%" % (
                    100 * sum(x["missed"] for x in sums)
                    / max(1, sum(x["taken"] + x["missed"] for x in sums)))
            th = [(r["other_threads"], r["elapsed"]) for r in runs if r.get("other_threads")]
            if th and any(t["cpu"] for t, _ in th):
                line += "; its thread: CPU %.0f%%, waiting for a CPU %.0f%% of the run" % (
                    100 * statistics.median(t["cpu"] / e for t, e in th),
                    100 * statistics.median(t["runqueue_wait"] / e for t, e in th))
            print(line)

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        raise
    except Exception:   # errors are reported, never the exit status
        import traceback
        traceback.print_exc()
        sys.exit(0)
