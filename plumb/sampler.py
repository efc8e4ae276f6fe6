"""plumb.Sampler: the statistical profiler, a native thread that samples
every Python thread's stack at a fixed rate without taking the GIL."""
import functools
import os
import sys
import threading

from . import _plumb
from .formats import format_for_path, write_profile

__all__ = ["Sampler"]


class Sampler(_plumb.Sampler):
    """Sampler(rate=1000, mode="wall", duration=0, threads=True)

    rate: samples per second.  mode: "wall" counts every thread at every
    sample, busy or not; "cpu" counts only threads that ran on a CPU since the
    previous sample.  duration: stop sampling after this many seconds (0: run
    until stop()).  threads=False keeps only the samples of the thread that
    calls start() (a web request's), as Profile(threads=False) does.  Use
    start()/stop(), `with Sampler() as s:`, or `@Sampler(...)` on a
    function."""

    def __init__(self, rate=1000, mode="wall", duration=0, threads=True):
        super().__init__(rate, mode, duration)
        self.threads = threads
        self._started_by = None
        # plumb's own frames (the runner, this class) stay out of the stacks.
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
        for thread in threading.enumerate():
            self._note(thread)
        self._previous_thread_hook = getattr(threading, "_profile_hook", None)
        threading.setprofile(self._on_new_thread)
        self._started_by = threading.get_ident()
        super().start()

    def stop(self):
        super().stop()
        if not self.threads and self._started_by is not None:
            self._keep_only_thread(self._started_by)
        if getattr(threading, "_profile_hook", None) == self._on_new_thread:
            threading.setprofile(self._previous_thread_hook)
        for thread in threading.enumerate():   # names may have changed
            self._note(thread)

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
