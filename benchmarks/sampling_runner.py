"""One measurement for sampling.py, in a fresh interpreter; prints one JSON line.

    python sampling_runner.py time WORKLOAD PROFILER RATE SETTLE
    python sampling_runner.py sustain KIND RATE SECONDS MODE [TIMER_SLACK_NS]
    python sampling_runner.py sidebyside WORKLOAD RATES REPEAT CPUS

time: times WORKLOAD (a module of workloads/) under PROFILER at RATE Hz.
  PROFILER is "none", "plumb" (plumb.Sampler, wall mode), "plumb-cpu"
  (cpu mode), "pyinstrument" (interval 1/RATE), or "external": nothing in
  this process, because py-spy or Austin launched it and samples it from
  outside.  Every run first spins for SETTLE seconds in _settle(), outside
  the clock, so that an external profiler started with the process is
  already sampling when the clock starts (sampling.py checks this from the
  profilers' own output).  The clock covers workload.run() only: an
  in-process profiler is started just before it and stopped just after it,
  an external one samples from before it to the end of the process (unlike
  runner.py, which times start -> run -> stop; the external profilers'
  start and stop cannot be inside the clock, so no one's are).  Output:
  elapsed, the time start() and stop() took, for plumb its summary(), the
  main thread's CPU time and run-queue wait (time runnable but waiting for
  a CPU) during run(), the CPU and run-queue wait of the threads other
  than the main one, and the machine's steal time share (/proc/stat).

sustain: runs KIND ("busy": recursive fib, "idle": the main thread sleeping)
  for SECONDS under plumb.Sampler(RATE, MODE); prints summary() and the CPU
  time of the threads other than the main thread (the sampler's) per second,
  and their schedstat (CPU, time runnable but waiting for a CPU).
  TIMER_SLACK_NS, if given and not 0, is set with prctl(PR_SET_TIMERSLACK)
  before the sampler starts, so its thread inherits it (a diagnostic: the
  default slack, 50 us, delays every wake-up of the sampler).

sidebyside: one interpreter times WORKLOAD's run() REPEAT times with no
  profiler and under plumb.Sampler (wall mode) at each of RATES (comma
  separated), interleaved, the order rotated each repeat, so that every
  ratio compares runs made next to each other in the same process (no
  difference of interpreter start-up, address layout or warm-up).  CPUS is
  "all", or "one": the process is first pinned to one CPU it may use, so
  the sampler thread's CPU is taken from the program's (a machine or
  container with no idle core).  Prints, per rate, the elapsed times in
  repeat order, the sampler's rounds taken and missed, and the CPU time of
  the threads other than the main one per second of run().
"""
import importlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _settle(seconds):
    # Busy on purpose: a profiler that records only running threads (py-spy)
    # still sees these samples, which is how sampling.py checks coverage.
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def other_threads():
    """CPU and run-queue wait of this process's threads other than the main
    one (the sampler's), from /proc/self/task/*/schedstat: seconds on a CPU,
    seconds runnable but waiting for one, timeslices.  None if unreadable."""
    import threading

    main = threading.get_native_id() if hasattr(threading, "get_native_id") else None
    total = [0, 0, 0]
    try:
        for tid in os.listdir("/proc/self/task"):
            if main is None or int(tid) == main:
                continue
            try:
                with open("/proc/self/task/%s/schedstat" % tid) as f:
                    fields = [int(x) for x in f.read().split()[:3]]
            except (OSError, ValueError):
                continue   # ended meanwhile
            total = [a + b for a, b in zip(total, fields)]
    except OSError:
        return None
    return {"cpu": total[0] / 1e9, "runqueue_wait": total[1] / 1e9, "timeslices": total[2]}


def main_thread_schedstat():
    """(seconds on a CPU, seconds runnable but waiting for one) of the calling
    thread, or None where /proc has no schedstat."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            cpu, wait = (int(x) for x in f.read().split()[:2])
        return cpu / 1e9, wait / 1e9
    except (OSError, ValueError):
        return None


def cpu_stat():
    """(steal, total) jiffies of the whole machine from /proc/stat: time the
    hypervisor ran something else on this VM's CPUs.  None if unreadable."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])
    except (OSError, ValueError):
        return None


def steal_share(before, after):
    if not before or not after or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def make_profiler(name, rate):
    """(start, stop, collect) for the in-process profilers."""
    noop = lambda: None  # noqa: E731
    if name in ("none", "external"):
        return noop, noop, lambda: None
    if name in ("plumb", "plumb-cpu"):
        import plumb

        s = plumb.Sampler(rate=rate, mode="cpu" if name == "plumb-cpu" else "wall")

        def collect():
            # As a user would, after the clock: the summary, and the samples
            # turned into text, so a sampler that recorded garbage fails here.
            summary = s.summary()
            summary["collapsed_lines"] = len(s.collapsed().splitlines())
            return summary
        return s.start, s.stop, collect
    if name == "pyinstrument":
        from pyinstrument import Profiler

        prof = Profiler(interval=1.0 / rate)

        def collect():
            session = prof.last_session
            return {"sample_count": getattr(session, "sample_count", None),
                    "duration": getattr(session, "duration", None)}
        return prof.start, prof.stop, collect
    raise SystemExit("unknown profiler %r" % name)


def time_workload(workload_name, profiler_name, rate, settle):
    sys.path.insert(0, os.path.join(HERE, "workloads"))
    workload = importlib.import_module(workload_name)
    start, stop, collect = make_profiler(profiler_name, rate)
    _settle(settle)

    t0 = time.perf_counter()
    start()   # started before the clock, stopped after it: only run() is timed
    st1, s1, c1 = cpu_stat(), main_thread_schedstat(), time.thread_time()
    t1 = time.perf_counter()
    workload.run()
    t2 = time.perf_counter()
    c2, s2, st2 = time.thread_time(), main_thread_schedstat(), cpu_stat()
    threads = other_threads()   # outside the clock, before stop() ends them
    stop()
    t3 = time.perf_counter()

    out = {"elapsed": t2 - t1, "start": t1 - t0, "stop": t3 - t2, "info": collect(),
           "other_threads": threads, "main_cpu": c2 - c1,
           "main_runqueue_wait": s2[1] - s1[1] if s1 and s2 else None,
           "steal_share": steal_share(st1, st2)}
    print(json.dumps(out), flush=True)


def _fib(n):
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def set_timer_slack(ns):
    """prctl(PR_SET_TIMERSLACK): a thread inherits its creator's slack, so
    set before start() it is the sampler thread's (diagnostic only)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(29, ctypes.c_ulong(ns), ctypes.c_ulong(0), ctypes.c_ulong(0),
                  ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_TIMERSLACK) failed")


def sustain(kind, rate, seconds, mode, slack_ns=0):
    import plumb

    if slack_ns:
        set_timer_slack(slack_ns)
    s = plumb.Sampler(rate=rate, mode=mode)
    st0 = cpu_stat()
    cpu0, main0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
    s.start()
    end = t0 + seconds
    loops = 0
    if kind == "busy":
        while time.perf_counter() < end:
            _fib(18)
            loops += 1
    elif kind == "idle":
        while time.perf_counter() < end:
            time.sleep(0.005)
            loops += 1
    else:
        raise SystemExit("unknown kind %r" % kind)
    threads = other_threads()
    s.stop()
    st1 = cpu_stat()
    wall = time.perf_counter() - t0
    other_cpu = (time.process_time() - cpu0) - (time.thread_time() - main0)
    summary = s.summary()
    summary["collapsed_lines"] = len(s.collapsed().splitlines())
    print(json.dumps({"wall": wall, "loops": loops, "sampler_cpu_share": other_cpu / wall,
                      "sampler_thread": threads, "steal_share": steal_share(st0, st1),
                      "summary": summary}), flush=True)


def side_by_side(workload_name, rates, repeat, cpus):
    import plumb

    if cpus == "one":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    elif cpus != "all":
        raise SystemExit("CPUS is all or one")
    sys.path.insert(0, os.path.join(HERE, "workloads"))
    workload = importlib.import_module(workload_name)
    workload.run()   # warm-up, not timed: imports, caches, specialisation
    order = [0.0] + rates
    out = {str(r): {"times": [], "taken": 0, "missed": 0, "sampler_cpu_share": []}
           for r in order}
    for rep in range(repeat):
        shift = rep % len(order)
        for rate in order[shift:] + order[:shift]:
            cell = out[str(rate)]
            s = plumb.Sampler(rate=rate) if rate else None
            if s:
                s.start()
            cpu0, main0 = time.process_time(), time.thread_time()
            t1 = time.perf_counter()
            workload.run()
            t2 = time.perf_counter()
            other = (time.process_time() - cpu0) - (time.thread_time() - main0)
            if s:
                s.stop()
                summary = s.summary()
                cell["taken"] += summary["taken"]
                cell["missed"] += summary["missed"]
            cell["times"].append(t2 - t1)
            cell["sampler_cpu_share"].append(other / (t2 - t1))
    print(json.dumps({"cpus": cpus, "ncpus": len(os.sched_getaffinity(0)), "rates": out}),
          flush=True)


def main():
    cmd = sys.argv[1]
    if cmd == "time":
        time_workload(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "sustain":
        sustain(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5],
                int(sys.argv[6]) if len(sys.argv) > 6 else 0)
    elif cmd == "sidebyside":
        side_by_side(sys.argv[2], [float(r) for r in sys.argv[3].split(",")], int(sys.argv[4]),
                     sys.argv[5])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
