"""Attaching to a running process: `plumb sample --pid PID` and `plumb dump
PID`.  The C core finds the target's interpreter (its memory map, the ELF
file holding _PyRuntime, the version's layout) and reads it with
process_vm_readv, never stopping it; this module turns refusals into one
line and exit status 2, and writes what was read."""
import json
import os
import signal
import sys
import time

from . import _plumb
from .errors import USAGE_ERROR

PTRACE_SCOPE = "/proc/sys/kernel/yama/ptrace_scope"
SCOPES = {"0": "any process of the same user", "1": "only its own descendants",
          "2": "only with CAP_SYS_PTRACE", "3": "no process at all"}


def permission_hint():
    """What would permit reading another process, given this machine."""
    try:
        with open(PTRACE_SCOPE) as f:
            scope = f.read().strip()
        found = f"ptrace_scope is {scope} ({SCOPES.get(scope, 'unknown')})"
    except OSError:
        found = "no Yama ptrace_scope here"
    return (f"{found}; run as the target's user or as root, or with CAP_SYS_PTRACE "
            "(in a container: --cap-add SYS_PTRACE)")


def refusal_message(exc):
    """The one line for an attach that failed."""
    if isinstance(exc, PermissionError):
        return f"{exc}: {permission_hint()}"
    return str(exc)


def process_state(pid):
    """The target's state letter, or None once it has exited (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else state


def thread_name(pid, native_id):
    """The kernel's name of a thread (/proc/PID/task/TID/comm), or None."""
    if not native_id:
        return None
    try:
        with open(f"/proc/{pid}/task/{native_id}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def until_stopped(duration, ended, stop_sampling):
    """Waits until duration seconds (0: no limit) have passed, Ctrl-C,
    SIGTERM, or ended(time.monotonic()) says the target has gone; then
    stop_sampling().  Returns whether the target had gone."""
    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    started = time.monotonic()
    try:
        while not stop:
            now = time.monotonic()
            if duration and now - started >= duration:
                return False
            if ended(now):
                return True
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        stop_sampling()
        signal.signal(signal.SIGTERM, previous)
    return False


def sample_process(options):
    """`plumb sample --pid PID`: samples until --duration, Ctrl-C, SIGTERM or
    the target's exit, then writes the profile (exit 0)."""
    from .sampler import Sampler

    pid = options.pid
    try:
        sampler = Sampler(rate=options.rate, mode=options.mode, duration=options.duration, pid=pid,
                          gil=options.gil, idle=options.idle)
    except (ProcessLookupError, PermissionError, ValueError, RuntimeError) as exc:
        print(f"plumb: {refusal_message(exc)}", file=sys.stderr)
        return USAGE_ERROR
    started = time.monotonic()
    sampler.start()
    exited = until_stopped(options.duration, lambda now: process_state(pid) is None,
                           sampler.stop)
    if exited:
        print(f"plumb: process {pid} exited after {time.monotonic() - started:.1f} s; "
              "the profile holds what was sampled until then", file=sys.stderr)
    command = f"plumb sample --pid {pid}"
    if options.outfile:
        sampler.dump(options.outfile, format=options.format, command=command)
        s = sampler.summary()
        print(f"plumb: {s['taken']} samples taken at {s['rate']:g} Hz ({s['mode']} time) "
              f"of process {pid}, {s['missed']} missed, {s['failed']} failed", file=sys.stderr)
    else:
        sampler.print_tree(sys.stdout)
    return 0


POLL_SECONDS = 0.5     # how often --subprocesses looks for new descendants


def sample_family(options):
    """`plumb sample --pid PID --subprocesses`: PID and its Python
    descendants as they come and go, until --duration, Ctrl-C, SIGTERM or
    the exit of them all; one profile, each stack under its process."""
    from .attach_family import Family, write_family
    from .sampler import Sampler

    def make_sampler(pid):
        sampler = Sampler(rate=options.rate, mode=options.mode, pid=pid, gil=options.gil,
                          idle=options.idle)
        sampler.start()
        return sampler

    def announce(text):
        print(f"plumb: {text}", file=sys.stderr, flush=True)

    root = options.pid
    family = Family(root, make_sampler, announce)
    family.poll(lambda pid: process_state(pid) is not None)
    if family.refusal is not None and not family.running:
        print(f"plumb: {refusal_message(family.refusal)}", file=sys.stderr)
        return USAGE_ERROR
    started = time.monotonic()
    polled = [started]

    def all_gone(now):
        if now - polled[0] < POLL_SECONDS:
            return False
        polled[0] = now
        family.poll(lambda pid: process_state(pid) is not None)
        return not family.running and process_state(root) is None

    if until_stopped(options.duration, all_gone, family.stop):
        announce(f"process {root} and its descendants exited after "
                 f"{time.monotonic() - started:.1f} s; the profile holds what was sampled")
    write_family(family, options)
    followed = family.followed()
    taken = sum(sampler.summary()["taken"] for _, _, sampler in followed)
    print(f"plumb: {taken} samples of {len(followed)} processes at {options.rate:g} Hz "
          f"({options.mode} time)", file=sys.stderr)
    return 0


def read_dump(pid):
    """The target's threads now, with threading's names (None where they
    could not be read) and the kernel's: (info, threads)."""
    info = _plumb.attach_info(pid)
    threads = _plumb.dump_threads(pid)
    for thread in threads:
        thread["os_name"] = thread_name(pid, thread["native_id"])
    return info, threads


STATES = {"R": "running", "S": "waiting", "D": "waiting (disk)", "T": "stopped", "t": "traced"}


def dump_process(pid, as_json=False, out=None):
    """`plumb dump PID`: every thread's stack, outermost call first, as a
    traceback shows it."""
    out = out or sys.stdout
    try:
        info, threads = read_dump(pid)
    except (ProcessLookupError, PermissionError, ValueError, RuntimeError) as exc:
        print(f"plumb: {refusal_message(exc)}", file=sys.stderr)
        return USAGE_ERROR
    if as_json:
        json.dump({"pid": pid, "python": info["version"], "binary": info["binary"],
                   "threads": [dict(t, frames=[{"file": f, "line": n, "function": fn,
                                                "first_line": first}
                                               for f, n, fn, first in t["frames"]])
                               for t in threads]},
                  out, indent=1)
        out.write("\n")
        return 0
    out.write(f"Process {pid}: Python {info['version']} ({info['binary']})\n")
    for t in threads:
        facts = [f"native id {t['native_id']}" if t["native_id"] else "native id unknown"]
        if t["holds_gil"]:
            facts.append("holds the GIL")
        facts.append(STATES.get(t["state"], "state unknown"))
        # The kernel's name, shown when threading's could not be read: CPython
        # sets it from threading's only from 3.14 (gh-59705), so on 3.9-3.13
        # it is the program's unless it set one.
        if t["name"] is None:
            facts.insert(0, "threading name not read" + (f", os name {t['os_name']!r}"
                                                         if t["os_name"] else ""))
        name = f" {t['name']!r}" if t["name"] is not None else ""
        out.write(f"\nThread {t['thread_id']:#x}{name} ({', '.join(facts)})\n")
        for file, line, function, _ in t["frames"]:
            out.write(f"  {function} ({file}:{line})\n")
        if t["truncated"]:
            out.write("  ... (deeper frames left out)\n")
    return 0
