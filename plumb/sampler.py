"""plumb.Sampler: the statistical profiler, a native thread that samples
every Python thread's stack at a fixed rate without taking the GIL."""
import collections
import functools
import os
import sys
import threading
import time

from . import _plumb
from .formats import format_for_path, write_profile

__all__ = ["Sampler", "SamplerHarvest"]


class SamplerHarvest(collections.namedtuple("SamplerHarvest", "frames nodes tagged summary")):
    """What Sampler.harvest() took: frames [(file, line, function)] by
    function index; nodes [(parent node index or -1, function index)],
    parents first (each thread's stacks are their own chains); tagged
    [(tag, leaf node index, samples)], tag 0 for samples taken while their
    thread had no tag; summary: the rounds taken, missed, failed, stacks
    truncated, samples left under tag 0 for want of room (tag_overflow), the
    threads sampled, and the interval covered (started_ns/ended_ns on time.monotonic_ns()'s
    clock, started/ended in Unix seconds)."""

    __slots__ = ()

    def stack(self, node):
        """The frames of node's stack, outermost first."""
        path = []
        while node != -1:
            parent, func = self.nodes[node]
            path.append(self.frames[func])
            node = parent
        return tuple(reversed(path))

    def stacks(self):
        """[(tag, frames outermost first, samples)], one per (tag, leaf)."""
        return [(tag, self.stack(leaf), count) for tag, leaf, count in self.tagged]


class Sampler(_plumb.Sampler):
    """Sampler(rate=1000, mode="wall", duration=0, threads=True, tags=True, pid=0,
    gil=False, idle=True)

    pid: sample another process's CPython (3.9-3.13, whatever this one is),
    read from its memory without stopping it; refused with
    ProcessLookupError, PermissionError, ValueError (not Python, a version
    plumb does not read) or RuntimeError (no interpreter running).
    gil=True (with pid) samples only the thread holding the GIL as each
    round begins.  idle=False leaves out, in wall mode, threads the kernel
    has waiting (state other than R in /proc/PID/task/TID/stat: asleep,
    blocked on a lock, on I/O or on the GIL); CPU mode leaves them out
    anyway.

    rate: samples per second.  mode: "wall" counts every thread at every
    sample, busy or not; "cpu" counts only threads that ran on a CPU since the
    previous sample.  duration: stop sampling after this many seconds (0: run
    until stop()).  threads=False keeps only the samples of the thread that
    calls start() (a web request's), as Profile(threads=False) does.  Use
    start()/stop(), `with Sampler() as s:`, or `@Sampler(...)` on a
    function.

    tags=True counts every sample under its thread's tag at that moment
    (plumb._plumb.set_thread_tag: a request's id), which harvest() returns.
    harvest() takes what was sampled so far out of a running sampler, which
    goes on afresh; ignore_thread(ident) leaves a thread out (a monitor's
    own).

    summary() says what the sampler did: rounds taken and missed, stacks
    that failed or were truncated, and its cost since it started (or since
    the last harvest): cpu_ns (its thread's CPU time, wake-ups included),
    busy_ns (its time in rounds), stacks, reused (stacks counted again
    unread, their thread not having run since its last read: its CPU clock
    had not moved), reads (system calls) and pages (read)."""

    def __init__(self, rate=1000, mode="wall", duration=0, threads=True, tags=True, pid=0,
                 gil=False, idle=True):
        super().__init__(rate, mode, duration, tags, pid, gil, idle)
        self.threads = threads
        self._started_by = None
        # Another process (pid): its threads are its own, read from its memory.
        self.pid = pid if pid and pid != os.getpid() else 0
        # plumb's own frames (the runner, this class) stay out of the stacks.
        if not self.pid:
            self._set_own_dir(os.path.dirname(os.path.abspath(__file__)))
        self.rate = rate
        self.mode = mode
        self._previous_thread_hook = None

    # Thread names and kernel ids come from threading: the sampler thread
    # reads memory only.  Threads already running are noted at start, new
    # ones when they start, through threading.setprofile (a hook that removes
    # itself on its first event, so it costs nothing after).
    def _note(self, thread):
        if thread.ident is not None:
            self._note_thread(thread.ident, getattr(thread, "native_id", None) or 0, thread.name)

    def _on_new_thread(self, frame, event, arg):
        sys.setprofile(None)
        try:
            self._note(threading.current_thread())
        except Exception:
            pass

    def start(self):
        if self.pid:
            super().start()
            return
        for thread in threading.enumerate():
            self._note(thread)
        self._previous_thread_hook = getattr(threading, "_profile_hook", None)
        threading.setprofile(self._on_new_thread)
        self._started_by = threading.get_ident()
        super().start()

    def stop(self):
        super().stop()
        if self.pid:
            return
        if not self.threads and self._started_by is not None:
            self._keep_only_thread(self._started_by)
        if getattr(threading, "_profile_hook", None) == self._on_new_thread:
            threading.setprofile(self._previous_thread_hook)
        for thread in threading.enumerate():   # names may have changed
            self._note(thread)

    def harvest(self):
        """Takes what was sampled so far, running or stopped, as a
        SamplerHarvest; afterwards dump(), stacks() and the others hold only
        what comes after.  plumb's own frames are left out, as in every
        output."""
        frames, nodes, tagged, summary = self._harvest()
        # The monotonic clock's offset from Unix time, read once, to place
        # the interval in Unix seconds.
        offset = time.time() - time.monotonic_ns() / 1e9
        summary["started"] = summary["started_ns"] / 1e9 + offset
        summary["ended"] = summary["ended_ns"] / 1e9 + offset
        return SamplerHarvest(frames, nodes, tagged, summary)

    def ignore_thread(self, ident):
        """Stops sampling the thread with this ident (threading.get_ident());
        None or 0 samples every thread again.  One thread at most."""
        self._ignore_thread(ident or 0)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def __call__(self, func):
        """As a decorator: samples every call of func into this sampler."""
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if self.running:
                return func(*args, **kwargs)
            self.start()
            try:
                return func(*args, **kwargs)
            finally:
                self.stop()
        return wrapper

    def dump(self, path, format=None, command=None, trace=None):
        """Writes the samples to path as format (collapsed, speedscope,
        pstats, callgrind, tree, pprof, json or html; by default from the
        name)."""
        self.stop()
        write_profile(lambda out, fmt: self._write(out, fmt, command), path,
                      format or format_for_path(path), title=command, trace=trace)

    def collapsed(self):
        """Collapsed stacks ("folded"), threads merged, as a str."""
        return self._text("collapsed")

    def tree(self):
        """The top-down call tree with percentages, per thread, as a str."""
        return self._text("tree")

    def stacks(self):
        """[(thread id, thread name, [(file, line, function), ...], samples)],
        frames outermost first."""
        return self._stacks()

    def print_tree(self, stream=None):
        (stream or sys.stdout).write(self.tree())
