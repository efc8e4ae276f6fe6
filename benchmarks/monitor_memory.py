#!/usr/bin/env python3
"""A monitored worker's memory over time: the example shop under gunicorn
(one worker, four gthread threads, as in monitor_throughput.py) loaded by
wrk without a pause, the two pages taking turns every --step seconds, the
worker's resident memory (VmRSS) printed after each turn:

    .venv/bench-3.12/bin/python benchmarks/monitor_memory.py [--config plumb] [--seconds 300]

Memory is not a rate, so a busy machine moves it little; what it shows is
whether the worker's memory settles (bounded by plumb's caps) or keeps
growing across harvests (a minute apart by default)."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import monitor_throughput as throughput  # noqa: E402  (its shop, configurations, gunicorn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="plumb", choices=("bare", "plumb", "plumb-nosampler"))
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--step", type=int, default=10, help="seconds of wrk per turn")
    args = parser.parse_args()
    if args.seconds < args.step or args.step < 1:
        throughput.fail("--seconds must be at least --step, and --step at least 1")
    wrk = shutil.which("wrk")
    if wrk is None:
        throughput.fail("wrk is not installed (scripts/system-deps.sh --test)")
    print(f"CPython {sys.version.split()[0]}; plumb {throughput.version('plumb')}; "
          f"CPU: {throughput.cpu_model()} x {os.cpu_count()}; "
          f"load average before: {throughput.load_average()}", flush=True)
    work = tempfile.mkdtemp(prefix="plumb-monitor-memory-")
    server = log = None
    try:
        project, env = throughput.prepare_shop(work, sink_port=9)   # no agents: no sink
        port = throughput.free_port()
        command, env = throughput.command_and_env(args.config, env, work, port)
        log = open(os.path.join(work, "gunicorn.log"), "w")
        server = subprocess.Popen(command, cwd=project, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        throughput.wait_for_port(port, server, args.config)
        worker = throughput.gunicorn_worker(server.pid, args.config)
        print(f"{args.config}: worker {worker}, RSS {throughput.rss_kib(worker) / 1024:.1f} MiB "
              "before any request", flush=True)
        begun = time.monotonic()
        turn = 0
        while time.monotonic() - begun < args.seconds:
            page = throughput.PAGES[turn % len(throughput.PAGES)]
            got = throughput.run_wrk(wrk, f"http://127.0.0.1:{port}{page}", args.step)
            print(f"{time.monotonic() - begun:5.0f} s  {page:12s} {got['requests']:7d} requests"
                  f"  RSS {throughput.rss_kib(worker) / 1024:.1f} MiB", flush=True)
            turn += 1
    finally:
        if server is not None:
            throughput.stop(server)
        if log is not None:
            log.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {throughput.load_average()}")


if __name__ == "__main__":
    main()
