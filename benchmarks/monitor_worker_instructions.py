#!/usr/bin/env python3
"""What plumb.monitor adds to a real gunicorn worker, in instructions: the
whole worker (its four request threads, gunicorn's own loop, plumb's
sampler and harvest threads) under valgrind's callgrind, serving a fixed
number of requests from eight client connections:

    .venv/bench-3.12/bin/python benchmarks/monitor_worker_instructions.py [--requests N] [--configs ...]

benchmarks/monitor_throughput.py measures the same worker's requests a
second under wrk, but on a shared 2-vCPU VM its rounds move by 10-30%, ten
times plumb's share; benchmarks/monitor_instructions.py counts one thread
calling Django's handler, without gunicorn, sockets or the sampler.  This
one counts what the worker process executes in user space, whatever the
machine's load: the shop (examples/shop) under gunicorn (one worker, four
gthread threads, as in monitor_throughput.py) in each configuration
(bare: SHOP_MONITOR=0; plumb: the middleware with its defaults, the
sampler at its default rate and budget; plumb-nosampler: SHOP_RATE=0),
each page warmed up, then N requests of each page, then a graceful stop:
the worker's instructions over its whole life, from callgrind's file.
Runs with every page's N and with one page's doubled: the difference over
N is one request of that page, start-up, warm-up and stop cancelling out
(as in monitor_instructions.py; valgrind's gdbserver does not follow a
forked worker, so callgrind_control cannot zero and dump it).  The
kernel's share (sockets, scheduling) is not counted; it is the same for
every configuration, so the ratio bare / plumb of user-space instructions
is a lower bound of the throughput plumb keeps if both run at the same
instructions per cycle (an estimate, said as one).

The sampler costs CPU time per second, not per request, and holds itself
to its budget (`sampler_cpu`, 0.1% of a CPU by default) by its own CPU
clock; under valgrind everything runs some 50 times slower, the sampler's
rounds too, so it keeps about the same share of the worker's work as it
would natively (it reads its own CPU time, which valgrind slows alike).

--by-thread counts each of the worker's threads apart (callgrind's
--separate-threads), each told by what it ran: gunicorn's main thread,
the request threads (summed), plumb's harvest thread and sampler.

--functions N names, per page and configuration, the N functions whose
instructions a request the configuration adds most to bare's (and the N
it takes most from), by callgrind_annotate's self cost of each function
over the same N/2N difference: of the request threads with --by-thread,
else of the whole worker.

--keep DIR keeps each run's callgrind files (callgrind_annotate
--tree=caller then says who calls a function a configuration adds).

--cache runs valgrind's cachegrind with its cache simulation instead (a
first-level cache of instructions and one of data, and a last level, as the
host's are): per request, besides the instructions, the first-level misses
and the last-level ones, and an estimate of cycles by KCachegrind's
formula (instructions + 10 x first-level misses + 100 x last-level
misses).  Where plumb's instructions miss more than bare's do, its time
exceeds what its instruction count says.  The simulation sees the
process's own accesses only: the kernel's work between them (sockets,
other processes) that evicts the process's lines is not simulated.

Needs valgrind and gunicorn, Django and
plumb importable by the interpreter running it (make bench-monitor's venv).
"""
import argparse
import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import monitor_throughput as throughput  # noqa: E402  (its shop, configurations, gunicorn)

CONFIGS = ("bare", "plumb", "plumb-nosampler")
CLIENTS = 8
START_TIMEOUT_S = 600          # Django's start-up under valgrind


def fail(message):
    print(f"monitor_worker_instructions: {message}", file=sys.stderr)
    sys.exit(2)


def send(port, path, n):
    """n GET requests of path from CLIENTS threads, each on one keep-alive
    connection (a new one if the server closes it); the count of non-200s."""
    lock = threading.Lock()
    left = [n]
    bad = [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            for attempt in (1, 2):
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        with lock:
                            bad[0] += 1
                    if response.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                    if attempt == 2:
                        with lock:
                            bad[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bad[0]


TOOL = ["--tool=callgrind"]    # with --cache: cachegrind's cache simulation
BY_THREAD = []                 # with --by-thread: True
FUNCTIONS = []                 # with --functions N: N
FUNCTION_COUNTS = {}           # (config, page) -> {function: instructions a request}
KEEP = []                      # with --keep DIR: DIR

# A function's line in callgrind_annotate's listing: its self cost, then
# "file:function [object]".
ANNOTATED = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$")


def thread_role(number, text):
    """What a thread of the worker is, by what its callgrind file shows it
    ran (threads are numbered in the order they started, which differs
    between runs): gunicorn's main thread is the first; plumb's harvest
    thread is the one that ran SQLite (the store); plumb's sampler the one
    that read stacks and ran no Python; the rest serve requests."""
    if number == "01":
        return "main"
    if "sqlite3VdbeExec" in text:
        return "harvest"
    if "plumb_sampler" in text and "_PyEval_EvalFrameDefault" not in text:
        return "sampler"
    return "request"


def totals_by_thread(out_dir, worker):
    """{role: instructions} of the worker's threads (callgrind's
    --separate-threads files), the request threads summed."""
    roles = {}
    for path in sorted(glob.glob(os.path.join(out_dir, f"callgrind.out.{worker}-*"))):
        with open(path, errors="replace") as f:
            text = f.read()
        total = next((int(line.split()[1]) for line in text.splitlines()
                      if line.startswith(("summary:", "totals:"))), None)
        if total is None:
            fail(f"no totals in {path}")
        role = thread_role(path.rsplit("-", 1)[1], text)
        roles[role] = roles.get(role, 0) + total
    if not roles:
        fail(f"no callgrind file of the worker {worker}'s threads in {out_dir}")
    return roles


def function_costs(out_dir, worker):
    """{function: self instructions} over the worker's request threads
    (with --by-thread) or its whole file, from callgrind_annotate."""
    paths = sorted(glob.glob(os.path.join(out_dir, f"callgrind.out.{worker}-*"))) if BY_THREAD \
        else [os.path.join(out_dir, f"callgrind.out.{worker}")]
    costs = {}
    for path in paths:
        if BY_THREAD:
            with open(path, errors="replace") as f:
                if thread_role(path.rsplit("-", 1)[1], f.read()) != "request":
                    continue
        listing = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", "--auto=no", path],
                                 capture_output=True, text=True, check=True).stdout
        for line in listing.splitlines():
            m = ANNOTATED.match(line)
            if m and "PROGRAM TOTALS" not in m.group(2):
                # The build folder's name differs between builds: the
                # function is its file's name, the function and its object.
                name = re.sub(r"^\S*/", "", m.group(2).split(" [")[0]) + \
                    (" [" + os.path.basename(m.group(2).split(" [")[1]) if " [" in m.group(2) else "")
                costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def worker_total(out_dir, worker):
    """The worker's whole life from the file the tool writes when it exits:
    its instructions, with --cache {event: count}, with --by-thread
    {thread's role: instructions}."""
    if BY_THREAD:
        return totals_by_thread(out_dir, worker)
    path = os.path.join(out_dir, f"callgrind.out.{worker}")
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("events:"):
                    events = line.split()[1:]
                if line.startswith(("summary:", "totals:")):
                    values = [int(v) for v in line.split()[1:]]
                    if TOOL == ["--tool=callgrind"]:
                        return values[0]
                    return dict(zip(events, values))
    except OSError as error:
        fail(f"no callgrind file of the worker {worker}: {error}")
    fail(f"no totals in {path}")


def run_server(config, project, env, work, counts, warmup):
    """One server of the configuration under callgrind: each page warmed
    up, then counts[page] requests of each; the worker's instructions in
    all (start-up and stop included: they cancel out between runs)."""
    out_dir = tempfile.mkdtemp(prefix=f"callgrind-{config}-", dir=work)
    port = throughput.free_port()
    command, env = throughput.command_and_env(config, env, work, port)
    # Under valgrind a request takes 50 times longer: gunicorn's master must
    # not take the worker for hung.
    out_file = "--cachegrind-out-file" if TOOL[0] == "--tool=cachegrind" else \
        "--callgrind-out-file"
    command = ["valgrind", *TOOL, f"{out_file}={out_dir}/callgrind.out.%p", "--vgdb=no"] + command + ["--timeout", "3600",
                                                           "--graceful-timeout", "600"]
    env = dict(env, PYTHONHASHSEED="0")
    log = open(os.path.join(work, f"{config}.log"), "a")
    server = subprocess.Popen(command, cwd=project, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        throughput.wait_for_port(port, server, config, timeout=START_TIMEOUT_S)
        worker = throughput.gunicorn_worker(server.pid, config, timeout=START_TIMEOUT_S)
        for page in counts:
            if send(port, page, warmup[page]):
                fail(f"{config}: warm-up requests of {page} failed (see {config}.log)")
        for page, n in counts.items():
            bad = send(port, page, n)
            if bad:
                fail(f"{config}: {bad} of {n} requests of {page} failed (see {config}.log)")
    finally:
        throughput.stop(server, timeout=START_TIMEOUT_S)
        log.close()
    if KEEP:
        # The run's callgrind files, for callgrind_annotate --tree=caller
        # (who calls what a configuration adds) or KCachegrind.
        kept = os.path.join(KEEP[0], f"{config}-" + "-".join(
            f"{page.strip('/') or 'root'}{n}" for page, n in counts.items()))
        shutil.copytree(out_dir, kept, dirs_exist_ok=True)
        print(f"  {config}: callgrind files kept in {kept}", flush=True)
    return worker_total(out_dir, worker), function_costs(out_dir, worker) if FUNCTIONS else {}


def measure(config, project, env, work, pages, warmup):
    """{page: instructions per request} of one configuration's worker:
    runs with every page's count, and with one page's doubled; the
    difference over the count is one request of that page."""
    base, base_functions = run_server(config, project, env, work, pages, warmup)
    result = {}
    for page, n in pages.items():
        doubled, doubled_functions = run_server(config, project, env, work,
                                                dict(pages, **{page: 2 * n}), warmup)
        if FUNCTIONS:
            FUNCTION_COUNTS[config, page] = {
                f: (doubled_functions.get(f, 0) - base_functions.get(f, 0)) / n
                for f in set(base_functions) | set(doubled_functions)}
        if isinstance(base, dict):
            result[page] = {e: (doubled.get(e, 0) - base.get(e, 0)) / n
                            for e in sorted(set(base) | set(doubled))}
            print(f"  {config:15s} {page:12s} a request: " + ", ".join(
                f"{e} {v:,.0f}" for e, v in result[page].items()), flush=True)
            continue
        result[page] = (doubled - base) / n
        print(f"  {config:15s} {page:12s} {base:,} and {doubled:,} instructions with "
              f"{n} more: {result[page]:,.0f} a request", flush=True)
    return result


def thread_report(counts, pages, configs):
    """Per page, configuration and thread: instructions a request, and what
    each adds to bare's same thread."""
    print(f"{'page':12s} {'config':16s} {'thread':8s} {'instructions':>13s} {'added':>11s}")
    for page in pages:
        for config in configs:
            for role, n in counts[config][page].items():
                added = n - counts["bare"][page].get(role, 0)
                print(f"{page:12s} {config:16s} {role:8s} {n:13,.0f} {added:+11,.0f}")
    print("request: the request threads together; a count's run-to-run noise shows in the "
          "main thread's, which runs none of plumb's code")


def functions_report(pages, configs, n):
    """Per page and configuration: the n functions whose instructions a
    request it adds most to bare's, and the n it takes most from."""
    for page in pages:
        bare = FUNCTION_COUNTS["bare", page]
        for config in configs:
            if config == "bare":
                continue
            got = FUNCTION_COUNTS[config, page]
            added = {f: got.get(f, 0) - bare.get(f, 0) for f in set(got) | set(bare)}
            ranked = sorted(added.items(), key=lambda item: item[1])
            print(f"\n{page} {config}: {sum(added.values()):+,.0f} instructions a request in "
                  f"all; the functions adding most, then taking most (bare's count, added)")
            for f, a in ranked[::-1][:n] + ranked[:n][::-1]:
                print(f"  {bare.get(f, 0):11,.0f} {a:+11,.0f}  {f}")


def cache_report(counts, pages, configs):
    """Per page and configuration: instructions, misses and the estimated
    cycles a request, and what plumb adds to each."""
    def figures(c):
        l1 = c["I1mr"] + c["D1mr"] + c["D1mw"]
        ll = c["ILmr"] + c["DLmr"] + c["DLmw"]
        return {"instr": c["Ir"], "I1 miss": c["I1mr"], "D1 miss": c["D1mr"] + c["D1mw"],
                "LL miss": ll, "est. cycles": c["Ir"] + 10 * l1 + 100 * ll}
    keys = ("instr", "I1 miss", "D1 miss", "LL miss", "est. cycles")
    print(f"{'page':12s} {'config':16s} " + " ".join(f"{k:>13s}" for k in keys) +
          f" {'bare/config':>12s}")
    for page in pages:
        bare = figures(counts["bare"][page])
        for config in configs:
            got = figures(counts[config][page])
            cells = [f"{got[k]:13,.0f}" if config == "bare" else f"{got[k] - bare[k]:+13,.0f}"
                     for k in keys]
            print(f"{page:12s} {config:16s} " + " ".join(cells) +
                  f" {bare['est. cycles'] / got['est. cycles']:12.3f}")
    print("bare's row: a request's counts; the others: what they add to bare's; bare/config: "
          "of the estimated cycles (instructions + 10 x first-level misses + 100 x last-level "
          "misses, KCachegrind's formula: an estimate)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400,
                        help="requests of the trivial page counted (the catalogue: a tenth)")
    parser.add_argument("--warmup", type=int, default=100,
                        help="requests of each page before counting (the catalogue: a tenth)")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--pages", default=",".join(throughput.PAGES),
                        help="the pages counted, comma-separated (a count of thousands of the "
                             "trivial page is quicker without the catalogue)")
    parser.add_argument("--by-thread", action="store_true",
                        help="each thread of the worker counted apart (callgrind's "
                             "--separate-threads), by what it is: main, request, harvest, sampler")
    parser.add_argument("--functions", type=int, default=0, metavar="N",
                        help="the N functions whose instructions a request each configuration "
                             "adds most to bare's (and takes most from)")
    parser.add_argument("--keep", metavar="DIR",
                        help="copy each run's callgrind files into DIR/<config>-<counts>/")
    parser.add_argument("--cache", action="store_true",
                        help="cachegrind's cache simulation: misses and estimated cycles too")
    args = parser.parse_args()
    if args.cache and args.by_thread:
        fail("--cache and --by-thread: one at a time")
    if args.cache:
        TOOL[:] = ["--tool=cachegrind", "--cache-sim=yes"]
    if args.by_thread:
        TOOL.append("--separate-threads=yes")
        BY_THREAD.append(True)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        KEEP.append(os.path.abspath(args.keep))
    if args.functions:
        if args.cache or args.functions < 1:
            fail("--functions N: N at least 1, and not with --cache")
        FUNCTIONS.append(args.functions)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if "bare" not in configs or any(c not in CONFIGS for c in configs):
        fail(f"--configs: bare and any of {', '.join(CONFIGS)}")
    if args.requests < 10 or args.warmup < 10:
        fail("--requests and --warmup must be at least 10")
    for tool in ("valgrind",):
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (Debian's valgrind)")
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "gunicorn")):
        fail(f"gunicorn is not installed beside {sys.executable} (make bench-monitor)")
    print(f"CPython {sys.version.split()[0]} ({sys.executable})")
    print("versions: " + ", ".join(f"{d} {throughput.version(d)}"
                                   for d in ("django", "gunicorn", "plumb")))
    print(f"CPU: {throughput.cpu_model()} x {os.cpu_count()}; load average before: "
          f"{throughput.load_average()}", flush=True)
    wanted = [p.strip() for p in args.pages.split(",") if p.strip()]
    if not wanted or any(p not in throughput.PAGES for p in wanted):
        fail(f"--pages: any of {', '.join(throughput.PAGES)}")
    pages = {p: n for p, n in (("/", args.requests), ("/catalogue/", max(10, args.requests // 10)))
             if p in wanted}
    warmup = {p: n for p, n in (("/", args.warmup), ("/catalogue/", max(10, args.warmup // 10)))
              if p in wanted}
    work = tempfile.mkdtemp(prefix="plumb-worker-instructions-")
    try:
        project, env = throughput.prepare_shop(work, sink_port=9)   # no agents: no sink
        counts = {c: measure(c, project, env, work, pages, warmup) for c in configs}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {throughput.load_average()}\n")
    if args.cache:
        cache_report(counts, pages, configs)
        return
    if args.by_thread:
        thread_report(counts, pages, configs)
    if args.functions:
        functions_report(pages, configs, args.functions)
    if args.by_thread or args.functions:
        return
    print(f"{'page':12s} {'config':16s} {'instructions':>13s} {'added':>11s} {'bare/config':>12s}")
    for page in pages:
        bare = counts["bare"][page]
        for config in configs:
            n = counts[config][page]
            print(f"{page:12s} {config:16s} {n:13,.0f} {n - bare:+11,.0f} {bare / n:12.3f}")
    print("bare/config: the share of bare's throughput kept if user-space instructions were "
          "all a request costs (kernel work, the same for all, left out: a lower bound)")


if __name__ == "__main__":
    main()
