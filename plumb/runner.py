"""Running a program under the profiler the way `python` would run it, and
writing its profile however it ends."""
import importlib.machinery
import importlib.util
import io
import os
import runpy   # imported here, not when the program starts: profiling is on by then
import signal
import sys
import threading
import types
import zipfile

from .errors import UsageError
from .profile import Profile

PLUMB_DIR = os.path.dirname(os.path.abspath(__file__))


class Target:
    """A script or a module to run as __main__."""

    def __init__(self, name, args, is_module):
        self.name = name
        self.args = args
        self.is_module = is_module
        self.code = None
        self.app = False

    @classmethod
    def find(cls, name, args, is_module):
        """Checks that the program exists, before anything runs."""
        if is_module:
            cls._check_module(name)
        elif not os.path.exists(name):
            raise UsageError(f"can't open file {os.path.abspath(name)!r}: "
                             f"[Errno 2] No such file or directory")
        return cls(name, args, is_module)

    @staticmethod
    def _check_module(name):
        try:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.submodule_search_locations is not None:
                if importlib.util.find_spec(name + ".__main__") is None:
                    raise UsageError(f"No module named {name}.__main__; {name!r} is a package "
                                     "and cannot be directly executed")
        except (ImportError, ValueError) as exc:
            raise UsageError(f"No module named {name} ({exc})") from None
        if spec is None:
            raise UsageError(f"No module named {name}")

    @property
    def command_line(self):
        words = (["-m", self.name] if self.is_module else [self.name]) + self.args
        return " ".join(words)

    def prepare(self):
        """sys.argv, sys.path[0] and __main__ as python sets them, and the
        script's code: everything but running it, so that none of this is
        in the profile."""
        sys.argv = [self.name] + self.args
        if self.is_module:
            sys.path[0] = os.getcwd()
            return
        if os.path.isdir(self.name) or zipfile.is_zipfile(self.name):
            # A directory or zip app: python puts it first on sys.path and
            # runs its __main__ module, with sys.argv as given.
            sys.path[0] = os.path.abspath(self.name)
            self.app = True
            return
        sys.path[0] = os.path.dirname(os.path.abspath(self.name))
        with io.open_code(self.name) as f:
            source = f.read()
        # As python (3.9+) names the script: joined to the current directory,
        # not normalised, so tracebacks match and reports made later from
        # elsewhere find the source.
        path = os.path.join(os.getcwd(), self.name)
        # A SyntaxError here is the program's, reported as python would.
        self.code = compile(source, path, "exec", dont_inherit=True)
        main = types.ModuleType("__main__")
        main.__file__ = path
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
        main.__builtins__ = __builtins__
        self.main = main

    def execute(self):
        if self.is_module:
            runpy.run_module(self.name, run_name="__main__", alter_sys=True)
        elif self.app:
            sys.modules["__main__"] = types.ModuleType("__main__")
            runpy._run_module_as_main("__main__", alter_argv=False)
        else:
            sys.modules["__main__"] = self.main
            exec(self.code, self.main.__dict__)


class ProfileSession:
    """`plumb run`: the deterministic profiler."""

    def __init__(self, options, command_line):
        self.options = options
        self.command_line = command_line
        self.profiler = Profile(builtins=not options.no_builtins)

    def start(self):
        self.profiler.enable()

    def ignore_this_thread(self):
        self.profiler._ignore_this_thread()

    def stop(self):
        self.profiler.disable()

    def write(self, path, fmt):
        self.profiler.dump(path, format=fmt, command=self.command_line)

    def print(self, stream):
        sort = self.options.sort if self.options.sort is not None else -1
        self.profiler.print_stats(sort, self.options.limit, stream=stream)


class SampleSession:
    """`plumb sample`: the statistical profiler."""

    def __init__(self, options, command_line):
        from .sampler import Sampler

        self.command_line = command_line
        self.sampler = Sampler(rate=options.rate, mode=options.mode, duration=options.duration,
                               idle=options.idle)

    def start(self):
        self.sampler.start()

    def ignore_this_thread(self):
        self.sampler._ignore_this_thread()

    def stop(self):
        self.sampler.stop()

    def write(self, path, fmt):
        self.sampler.dump(path, format=fmt, command=self.command_line)
        # The printed tree starts with this summary; a file may not hold it.
        s = self.sampler.summary()
        print(f"plumb: {s['taken']} samples taken at {s['rate']:g} Hz ({s['mode']} time), "
              f"{s['missed']} missed, {s['failed']} failed", file=sys.stderr)

    def print(self, stream):
        self.sampler.print_tree(stream)


class Reporter:
    """Stops the session and writes (or prints) its profile exactly once."""

    def __init__(self, session, options):
        self.session = session
        self.options = options
        self.done = False

    def finish(self):
        if self.done:
            return
        self.done = True
        try:
            self.session.stop()
            if self.options.outfile:
                self.session.write(self.options.outfile, self.options.format or None)
            else:
                stream = sys.stdout if sys.stdout and not sys.stdout.closed else sys.__stdout__
                self.session.print(stream)
                stream.flush()
        except Exception as exc:   # never let the profiler's failure mask the program's
            print(f"plumb: could not write the profile: {exc}", file=sys.stderr)


def wait_for_threads():
    """Waits for non-daemon threads, as the interpreter does at exit, so that
    their work is in the profile."""
    me = threading.current_thread()
    while True:
        pending = [t for t in threading.enumerate()
                   if t is not me and not t.daemon and t.is_alive()]
        if not pending:
            return
        for t in pending:
            t.join()


def wait_then_finish(reporter):
    """After the program's main code ended: wait for its threads as python
    would (still profiling them, not this wait), then write the profile;
    Ctrl-C during the wait ends it as python's own wait would, by SIGINT,
    with the profile written."""
    try:
        reporter.session.ignore_this_thread()
        wait_for_threads()
    except KeyboardInterrupt:
        reporter.finish()
        die_by_signal(signal.SIGINT)
    reporter.finish()


def print_program_traceback(exc):
    """The traceback python would print: without plumb's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(PLUMB_DIR):
        tb = tb.tb_next
    exc.__traceback__ = tb
    sys.excepthook(type(exc), exc, tb)


def die_by_signal(signum):
    """Ends the process by signum with its default action, as it would have
    ended without plumb (the shell sees 128+signum)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    return 128 + signum


def install_sigterm(reporter):
    """On SIGTERM, write the profile, then die by SIGTERM as before.  Left
    alone if the program's environment already handles SIGTERM."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum, frame):
        reporter.finish()
        die_by_signal(signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def run_profiled(target, options, session_class=ProfileSession):
    try:
        target.prepare()
    except (SyntaxError, ValueError) as exc:
        # The program never started (python says why, exit status 1): there
        # is no profile to write.
        print_program_traceback(exc)
        return 1
    session = session_class(options, target.command_line)
    reporter = Reporter(session, options)
    try:
        install_sigterm(reporter)
        session.start()
        target.execute()
    except SystemExit:
        wait_then_finish(reporter)
        raise   # python turns it into the program's exit status and message
    except KeyboardInterrupt as exc:
        reporter.finish()
        print_program_traceback(exc)
        return die_by_signal(signal.SIGINT)
    except BaseException as exc:
        print_program_traceback(exc)
        wait_then_finish(reporter)
        return 1
    wait_then_finish(reporter)
    return 0
