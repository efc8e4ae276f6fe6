"""Attaching to a running process, side by side with py-spy (and Austin,
where it runs): the same target, the same rates.

    python benchmarks/attach.py [--target PYTHON] [--duration S] [--rates 100,1000,...]
                                [--tools DIR] [--repeat N] [--slowdown-only]

For each tool and rate, a target (tests/attach_programs/split.py: one
thread sleeping 30 ms in three_quarters(), 10 ms in one_quarter(), over
and over) is sampled for S seconds from outside, and this prints:
  cost/sample   the attacher's CPU time (user + system, from wait4) over the
                rounds it took, in microseconds;
  missed        rounds due (rate x S) that were not taken: plumb's summary
                says; for py-spy, 1 - its samples / rounds due;
  share         three_quarters()'s share of the loop's samples (truth: 75%).
Then the target's slowdown at 1 kHz: a CPU-bound target (fib) reports how
many iterations it did in S seconds, alone and under each tool.  The tool
is started first and given a second to settle, so its start-up (a Python
and its imports, for plumb) is not counted against the target; its CPU
share over the S seconds (from /proc/PID/stat) is printed beside.  Last,
a control: a process that touches nothing of the target's but burns the
same share of a CPU (busy, then asleep, a thousand times a second), which
tells the cost of any work on the machine's other CPU (on a VM, whose
vCPUs may share a core) from that of reading the target.
--tools is where py-spy and austin are (a venv's bin: pip install py-spy
austin-dist); plumb runs as `python -m plumb` with this Python."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPLIT = os.path.join(ROOT, "tests", "attach_programs", "split.py")
FIB = ("import sys, time\n"
       "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
       "print('ready', flush=True)\n"
       "sys.stdin.readline()\n"                      # "go": the tool has settled
       "end = time.monotonic() + float(sys.argv[1]); n = 0\n"
       "while time.monotonic() < end:\n    fib(20); n += 1\n"
       "print(n, flush=True)\n")
# The control: busy for SHARE of each millisecond, asleep for the rest.
BURN = ("import sys, time\n"
        "share = float(sys.argv[1]); busy, idle = share / 1000, (1 - share) / 1000\n"
        "while True:\n"
        "    t = time.perf_counter()\n"
        "    while time.perf_counter() - t < busy: pass\n"
        "    time.sleep(idle)\n")
SETTLE_S = 1.0


def start(python, args, stdin=subprocess.DEVNULL):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([python, *args], stdin=stdin, stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def run_measured(args):
    """Runs args to its end: (stderr text, CPU seconds it used)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {text.strip()[-300:]}")
    return text, usage.ru_utime + usage.ru_stime


def loop_counts(folded):
    """(three_quarters, one_quarter) samples in collapsed stacks."""
    three = one = 0
    for line in folded.splitlines():
        if not line or line.startswith("#") or " " not in line:
            continue
        stack, count = line.rsplit(" ", 1)
        leaf = stack.split(";")[-1]
        if leaf.startswith("three_quarters"):
            three += int(count)
        elif leaf.startswith("one_quarter"):
            one += int(count)
    return three, one


def attach_command(tool, tools_dir, pid, rate, duration, out):
    if tool == "plumb":
        return [sys.executable, "-m", "plumb", "sample", "--pid", str(pid), "--rate", str(rate),
                "--duration", str(duration), "-o", out]
    if tool == "py-spy":
        return [os.path.join(tools_dir, "py-spy"), "record", "--pid", str(pid), "--rate",
                str(rate), "--duration", str(duration), "--format", "raw", "-o", out,
                "--nonblocking", "--idle"]
    return [os.path.join(tools_dir, "austin"), "-i", str(max(1, int(1e6 / rate))), "-x",
            str(duration), "-p", str(pid), "-o", out]


def sample_once(tool, tools_dir, python, rate, duration):
    target = start(python, [SPLIT, str(duration + 10)])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.folded")
            err, cpu = run_measured(attach_command(tool, tools_dir, target.pid, rate, duration, out))
            with open(out) as f:
                text = f.read()
    finally:
        target.kill()
        target.wait()
    if tool == "austin":   # "P..;T..;frames count": counts are microseconds in wall mode
        text = "\n".join(line.split(";", 2)[-1] for line in text.splitlines()
                         if not line.startswith("#"))
    three, one = loop_counts(text)
    due = rate * duration
    if tool == "plumb":
        m = re.search(r"(\d+) samples taken .*?, (\d+) missed", err)
        taken, missed = int(m.group(1)), int(m.group(2))
    else:
        taken = three + one if tool == "py-spy" else due
        missed = max(0, due - taken)
    share = three / (three + one) if three + one else float("nan")
    return {"cost_us": cpu / max(taken, 1) * 1e6, "missed": missed / due, "share": share}


def cpu_seconds(pid):
    """A process's user + system CPU time so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fib_rate(python, duration, command=None):
    """(fib loops the target did in duration s, the CPU share command's
    process used meanwhile) with command (given the target's pid) running
    beside it since SETTLE_S before, or alone."""
    target = start(python, ["-c", FIB, str(duration)], stdin=subprocess.PIPE)
    beside = share = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if command:
                beside = subprocess.Popen(command(target.pid, os.path.join(tmp, "o")),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(SETTLE_S)
                before = cpu_seconds(beside.pid)
            target.stdin.write("go\n")
            target.stdin.flush()
            n = int(target.stdout.readline())
            if beside:
                share = (cpu_seconds(beside.pid) - before) / duration
                beside.terminate()
                beside.wait()
    finally:
        if beside and beside.poll() is None:
            beside.kill()
            beside.wait()
        target.wait()
    return n, share


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=shutil.which("python3.11") or sys.executable)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rates", default="100,1000,5000,10000,20000")
    parser.add_argument("--tools", default=os.path.dirname(shutil.which("py-spy") or ""))
    parser.add_argument("--repeat", type=int, default=3, help="slowdown runs per tool")
    parser.add_argument("--slowdown-only", action="store_true",
                        help="only the target's slowdown, not the table of rates")
    args = parser.parse_args()
    tools = ["plumb"]
    for tool in ("py-spy", "austin"):
        path = os.path.join(args.tools, tool)
        if os.path.exists(path) and subprocess.run([path, "--help"], capture_output=True).returncode == 0:
            tools.append(tool)
        else:
            print(f"# {tool}: not runnable here ({path})")
    duration = int(args.duration) if args.duration == int(args.duration) else args.duration
    print(f"# target {args.target}, {duration} s a run")
    print("| tool | rate | cost/sample (us) | missed | three_quarters share |")
    print("|---|---|---|---|---|")
    for tool in [] if args.slowdown_only else tools:
        for rate in (int(r) for r in args.rates.split(",")):
            try:
                r = sample_once(tool, args.tools, args.target, rate, duration)
            except RuntimeError as exc:
                print(f"| {tool} | {rate} | failed: {exc} | | |")
                continue
            print(f"| {tool} | {rate} | {r['cost_us']:.1f} | {r['missed']:.1%} | {r['share']:.1%} |",
                  flush=True)
    def median(values):
        return sorted(values)[len(values) // 2]

    def attached(tool):
        return lambda pid, out: attach_command(tool, args.tools, pid, 1000, duration + 30, out)

    # Rounds alternate the configurations, so that a drift of the machine's
    # speed spreads over all of them.
    configs = [("none", None)] + [(tool, attached(tool)) for tool in tools]
    runs = {name: [] for name, _ in configs}
    for _ in range(args.repeat):
        for name, command in configs:
            runs[name].append(fib_rate(args.target, duration, command))
    plumb_share = median([share for _, share in runs["plumb"]])
    burn = [sys.executable, "-c", BURN, f"{plumb_share:.4f}"]
    runs["control"] = [fib_rate(args.target, duration, lambda pid, out: burn)
                       for _ in range(args.repeat)]
    alone = median([n for n, _ in runs["none"]])
    print(f"\n| beside the target (1 kHz) | fib(20) loops in {duration} s (median of "
          f"{args.repeat}) | slowdown | its CPU share |")
    print("|---|---|---|---|")
    for name in list(runs):
        n = median([n for n, _ in runs[name]])
        share = median([s for _, s in runs[name]]) if name != "none" else None
        label = f"control (a burner at plumb's share)" if name == "control" else name
        print(f"| {label} | {n} | x{alone / n:.3f} | "
              f"{'' if share is None else f'{share:.1%}'} |", flush=True)


if __name__ == "__main__":
    main()
