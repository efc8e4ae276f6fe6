"""The `plumb` command.

    plumb run [-o FILE] [-s SORT] [-n LIMIT] [--format F] [--no-builtins]
              (SCRIPT | -m MODULE) [ARGS...]
    plumb sample [--rate HZ] [--mode wall|cpu] [--duration S] [-o FILE]
              [--format F] [--no-idle] (SCRIPT | -m MODULE) [ARGS...] | --pid PID [--gil] [--subprocesses]
    plumb dump PID [--json]
    plumb top PID [--rate HZ] [--mode wall|cpu] [--interval S] [--gil] [--no-idle] [--once]
    plumb stats FILE... [-s SORT] [-n LIMIT] [--filter REGEX] [--callers REGEX]
              [--callees REGEX] [--strip-dirs] [--reverse] | -i [FILE...]
    plumb merge FILE... -o OUT [--format F] | --by-path DIR [--keep]
    plumb diff BEFORE AFTER [-s SORT] [-n LIMIT]
    plumb convert IN -o OUT [--format F] [--from F] [--rate HZ]
    plumb view FILE [-o REPORT.html] [--open] [--from F] [--rate HZ]
    plumb token [--secret S] [--ttl SECONDS]
    plumb transactions | traces | trace ID | profile | xray | threads   (monitoring)
    plumb serve [--store URL] [--host H] [--port P] [--token T]

runs a program as `python` would (same sys.argv, __main__, sys.path[0],
exit status) with every thread profiled, and prints or writes the profile
when the program ends however it ends: normally, by an exception, sys.exit,
Ctrl-C or SIGTERM.  `stats`, `merge`, `diff`, `convert` and `view` read
profiles (commands.py).  Usage
errors, and files that cannot be read, exit with status 2 and one line."""
import argparse
import os
import sys

from .errors import USAGE_ERROR, UsageError
from .formats import FORMATS, SAMPLE_FORMATS, format_for_path

# A deterministic profile has exact call paths, so it is written in every
# format a sampled one is (the stack formats from its paths).
RUN_FORMATS = SAMPLE_FORMATS

def fail(message):
    print(f"plumb: {message}", file=sys.stderr)
    return USAGE_ERROR


def sort_key(text):
    """A pstats sort key or a unique prefix of one, as pstats accepts."""
    import pstats

    known = pstats.Stats().get_sort_arg_defs()
    if text in known:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown sort key {text!r}; one of: {', '.join(sorted(pstats.Stats.sort_arg_dict_default))}")


def row_limit(text):
    """A count of rows, or a fraction of them (0.1 = the top tenth), as in
    pstats' restrictions."""
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0.0 < value <= 1.0:
            raise argparse.ArgumentTypeError(f"a fraction must lie in (0, 1]: {text!r}")
        return value
    if value < 0:
        raise argparse.ArgumentTypeError(f"a row count cannot be negative: {text!r}")
    return value


def number(text, low, high, what):
    """A float in [low, high] (low excluded when it is 0 and what says so)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what}: {text!r}")
    return value


def rate_hz(text):
    value = number(text, 0, 100000, "the rate must lie in (0, 100000] Hz")
    if value == 0:
        raise argparse.ArgumentTypeError(f"the rate must lie in (0, 100000] Hz: {text!r}")
    return value


def process_id(text):
    try:
        pid = int(text)
    except ValueError:
        pid = 0
    if pid <= 0:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return pid


def seconds(text):
    return number(text, 0, float("inf"), "a duration cannot be negative")


def refresh_seconds(text):
    return number(text, 0.1, 3600, "the interval must lie in [0.1, 3600] s")


def add_rate_and_mode(command, default_rate):
    command.add_argument("--rate", type=rate_hz, default=float(default_rate), metavar="HZ",
                         help=f"samples per second (default: {default_rate})")
    command.add_argument("--mode", choices=("wall", "cpu"), default="wall",
                         help="wall: every thread at every sample; cpu: only threads on a CPU "
                              "(default: wall)")


def add_thread_filters(command, gil_help):
    """--gil and --idle/--no-idle: which threads are sampled (docs/attach.md)."""
    command.add_argument("--gil", action="store_true", help=gil_help)
    command.add_argument("--no-idle", dest="idle", action="store_false", default=True,
                         help="in wall mode, leave out threads that are waiting (asleep, blocked "
                              "on a lock or I/O, waiting for the GIL): only threads the kernel "
                              "has running or runnable are sampled")
    command.add_argument("--idle", dest="idle", action="store_true",
                         help="sample waiting threads too (the default)")


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser():
    from . import __version__

    parser = Parser(prog="plumb", description="A profiler for Python programs, with a C engine.")
    parser.add_argument("--version", action="version", version=f"plumb {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run", help="run a program under the deterministic profiler",
        description="Run SCRIPT (or -m MODULE) with every call of every thread profiled.",
        usage="plumb run [-o FILE] [-s SORT] [-n LIMIT] [--format F] [--no-builtins] "
              "(SCRIPT | -m MODULE) [ARGS...]")
    run.error = parser.error
    run.add_argument("-o", "--outfile", metavar="FILE",
                     help="write the profile to FILE instead of printing a table")
    run.add_argument("-s", "--sort", type=sort_key, default=None,
                     help="sort the printed table by this pstats key (default: stdname)")
    run.add_argument("-n", "--limit", type=row_limit, default=None,
                     help="print at most LIMIT rows (or a fraction, e.g. 0.1)")
    run.add_argument("--format", choices=RUN_FORMATS,
                     help="output format (default: from FILE's name, as for plumb sample; "
                          "pstats otherwise)")
    run.add_argument("--no-builtins", action="store_true",
                     help="do not profile calls of built-in (C) functions")
    run.add_argument("-m", dest="module", metavar="MODULE",
                     help="run library module MODULE as a script, as python -m does")

    sample = commands.add_parser(
        "sample", help="run a program under the statistical profiler (sampling)",
        description="Run SCRIPT (or -m MODULE) while a native thread samples the stack of "
                    "every Python thread RATE times a second, without taking the GIL.",
        usage="plumb sample [--rate HZ] [--mode wall|cpu] [--duration S] [-o FILE] [--format F] "
              "[--no-idle] (SCRIPT | -m MODULE) [ARGS...] | --pid PID [--gil] [--subprocesses]")
    sample.error = parser.error
    add_rate_and_mode(sample, 1000)
    sample.add_argument("--duration", type=seconds, default=0.0, metavar="S",
                        help="stop sampling after S seconds; the program runs on (default: "
                             "sample until it ends)")
    sample.add_argument("-o", "--outfile", metavar="FILE",
                        help="write the samples to FILE instead of printing a call tree")
    sample.add_argument("--format", choices=SAMPLE_FORMATS,
                        help="output format (default: from FILE's name: .folded/.collapsed, "
                             ".speedscope.json, .callgrind, .txt, .pb.gz/.pprof; pstats "
                             "otherwise)")
    sample.add_argument("-m", dest="module", metavar="MODULE",
                        help="run library module MODULE as a script, as python -m does")
    sample.add_argument("--pid", type=process_id, metavar="PID",
                        help="sample the running Python process PID instead (CPython 3.9-3.13; "
                             "read from its memory, never stopped; Ctrl-C writes the profile)")
    add_thread_filters(sample, "with --pid: sample only the thread holding the GIL")
    sample.add_argument("--subprocesses", action="store_true",
                        help="with --pid: follow its Python descendants too, as they come and "
                             "go (a gunicorn master's workers); each stack starts at its process")

    top = commands.add_parser(
        "top", help="a live view of a running Python process's busiest functions",
        description="Sample process PID and show its functions by own and total share of the "
                    "last seconds' samples, refreshed; o and t sort by own or total, q quits.")
    top.error = parser.error
    top.add_argument("pid", type=process_id, metavar="PID")
    add_rate_and_mode(top, 100)
    top.add_argument("--interval", type=refresh_seconds, default=1.0, metavar="S",
                     help="seconds between refreshes (default: 1)")
    top.add_argument("--once", action="store_true",
                     help="sample for one interval, print the view as text and exit (no "
                          "terminal needed)")
    add_thread_filters(top, "sample only the thread holding the GIL")

    dump = commands.add_parser(
        "dump", help="print every thread's stack of a running Python process",
        description="Read every thread's Python stack of process PID now, with its native id, "
                    "whether it holds the GIL and whether it runs, without stopping it.")
    dump.error = parser.error
    dump.add_argument("pid", type=process_id, metavar="PID")
    dump.add_argument("--json", action="store_true", help="write JSON instead of text")

    stats = commands.add_parser(
        "stats", help="print profiles (pstats' tables: stats, callers, callees)",
        description="Print one profile, or several added together, as pstats prints them.",
        usage="plumb stats FILE... [-s SORT] [-n LIMIT] [--filter REGEX] [--callers REGEX] "
              "[--callees REGEX] [--strip-dirs] [--reverse] | plumb stats -i [FILE...]")
    stats.error = parser.error
    stats.add_argument("files", nargs="*", metavar="FILE")
    stats.add_argument("-s", "--sort", type=sort_key, action="append",
                       help="sort by this pstats key; repeat for ties (default: cumulative)")
    stats.add_argument("-n", "--limit", type=row_limit, default=None,
                       help="print at most LIMIT rows (or a fraction, e.g. 0.1)")
    stats.add_argument("--filter", metavar="REGEX",
                       help="only functions whose file:line(name) matches REGEX")
    stats.add_argument("--callers", metavar="REGEX",
                       help="print who calls the functions matching REGEX ('.' for all)")
    stats.add_argument("--callees", metavar="REGEX",
                       help="print whom the functions matching REGEX call ('.' for all)")
    stats.add_argument("--strip-dirs", action="store_true",
                       help="drop directories from file names (functions may merge)")
    stats.add_argument("--reverse", action="store_true", help="reverse the sort order")
    stats.add_argument("-i", "--interactive", action="store_true",
                       help="browse interactively, as python -m pstats")

    merge = commands.add_parser(
        "merge", help="add profiles together into one file",
        description="Add profiles as pstats.Stats.add does (call counts, times and callers "
                    "summed), or gather a directory of per-request profiles by path.",
        usage="plumb merge FILE... -o OUT [--format pstats|callgrind] | "
              "plumb merge --by-path DIR [--keep]")
    merge.error = parser.error
    merge.add_argument("files", nargs="*", metavar="FILE")
    merge.add_argument("-o", "--outfile", metavar="OUT", help="the merged profile")
    merge.add_argument("--format", choices=FORMATS,
                       help="output format (default: from OUT's name; pstats otherwise)")
    merge.add_argument("--by-path", metavar="DIR",
                       help="merge DIR's {path}.{duration}ms.{time}.prof files into one "
                            "<path>.agg.prof per path")
    merge.add_argument("--keep", action="store_true",
                       help="with --by-path: keep the per-request files")

    diff = commands.add_parser(
        "diff", help="compare two profiles, function by function",
        description="Per-function change in calls, own time and cumulative time between "
                    "BEFORE and AFTER, largest change first.",
        usage="plumb diff BEFORE AFTER [-s SORT] [-n LIMIT]")
    diff.error = parser.error
    diff.add_argument("before", metavar="BEFORE")
    diff.add_argument("after", metavar="AFTER")
    diff.add_argument("-s", "--sort", default=None,
                      help="the change to sort by: cumulative (default), tottime, calls, pcalls")
    diff.add_argument("-n", "--limit", type=row_limit, default=None,
                      help="print at most LIMIT rows (or a fraction, e.g. 0.1)")

    convert = commands.add_parser(
        "convert", help="convert a profile between formats",
        description="Convert a profile: pstats, callgrind, collapsed stacks, speedscope, "
                    "pprof or plumb's JSON in (recognised by content); pstats, callgrind, "
                    "collapsed, speedscope, pprof, a text tree, JSON or the HTML report out.",
        usage="plumb convert IN -o OUT [--format F] [--from F] [--rate HZ]")
    convert.error = parser.error
    convert.add_argument("infile", metavar="IN")
    convert.add_argument("-o", "--outfile", metavar="OUT", required=True)
    convert.add_argument("--format", choices=SAMPLE_FORMATS,
                         help="output format (default: from OUT's name; pstats otherwise)")
    add_input_options(convert)

    view = commands.add_parser(
        "view", help="make the interactive HTML report of a profile",
        description="Make one self-contained HTML file (flame graph, icicle, squaremap, "
                    "function table with callers and callees, trees, source) from a profile "
                    "in any format plumb reads.",
        usage="plumb view FILE [-o REPORT.html] [--open] [--from F] [--rate HZ]")
    view.error = parser.error
    view.add_argument("infile", metavar="FILE")
    view.add_argument("-o", "--outfile", metavar="REPORT.html",
                      help="where to write the report (default: FILE with .html for its extension)")
    view.add_argument("--open", action="store_true", help="open the report in a web browser")
    add_input_options(view)

    token = commands.add_parser(
        "token", help="print a signed token that asks a web app to profile a request",
        description="Print a token for plumb's web middleware: sent as the plumb_profile "
                    "cookie, the X-Plumb-Profile header or the plumb-profile query parameter, it "
                    "has a request profiled until it expires. The secret must be the one the "
                    "middleware is configured with.",
        usage="plumb token [--secret S] [--ttl SECONDS]")
    token.error = parser.error
    token.add_argument("--secret", default=None,
                       help="the middleware's secret (default: $PLUMB_SECRET)")
    token.add_argument("--ttl", type=float, default=3600.0, metavar="SECONDS",
                       help="how long the token is valid (default: 3600)")

    from .monitor import commands as monitor_commands

    monitor_commands.add_parsers(commands, parser)

    serve = commands.add_parser(
        "serve", help="the dashboard and its JSON API over a monitoring store",
        description="Serve the monitoring store's JSON API (/api/v1/, docs/api.md) and "
                    "Prometheus metrics (/metrics). Bound to loopback by default; any other "
                    "address needs a token (--token or $PLUMB_DASHBOARD_TOKEN).",
        usage="plumb serve [--store URL] [--host H] [--port P] [--token T]")
    serve.error = parser.error
    serve.add_argument("--store", metavar="URL",
                       help="the store (default: $PLUMB_STORE, else plumb-monitor.db)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8321, help="port (default: 8321; 0: any free)")
    serve.add_argument("--token", help="required off loopback (default: $PLUMB_DASHBOARD_TOKEN)")
    return parser


def add_input_options(command):
    """--from and --rate: how `convert` and `view` read their input."""
    command.add_argument("--from", dest="input_format",
                         choices=("pstats", "callgrind", "collapsed", "speedscope", "pprof",
                                  "json"),
                         help="input format (default: recognised from the content)")
    command.add_argument("--rate", type=rate_hz, default=1000.0, metavar="HZ",
                         help="samples per second: what a collapsed count stands for, and "
                              "the unit speedscope times are counted in (default: 1000)")


ANALYSIS_COMMANDS = ("stats", "merge", "diff", "convert", "view", "token")
MONITOR_COMMANDS = ("transactions", "traces", "trace", "profile", "xray", "threads", "serve")
# (plumb/monitor/commands.py)


# Options of `plumb run` that take a value: everything up to the program
# belongs to plumb, everything after it to the program.
VALUE_OPTIONS = {"--pid", "-o", "--outfile", "-s", "--sort", "-n", "--limit", "--format", "--rate",
                 "--mode", "--duration"}


def split_program(argv):
    """(plumb's own arguments, the program and its arguments)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i], argv[i + 1:]
        if arg == "-m":
            return argv[:i + 2], argv[i + 2:]
        if arg.startswith("-m") and not arg.startswith("--"):
            return argv[:i] + ["-m", arg[2:]], argv[i + 1:]
        if arg in VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            i += 1
            continue
        return argv[:i], argv[i:]
    return argv, []


def check_writable(path):
    """Fails before the program runs if the profile could not be written."""
    existed = os.path.exists(path)
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory")
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not existed:
        os.unlink(path)


def analyse(options):
    if options.command == "serve":
        from .dashboard.server import serve

        try:
            return serve(options.store, options.host, options.port, options.token)
        except UsageError as exc:
            return fail(str(exc))
    if options.command in MONITOR_COMMANDS:
        from .monitor import commands
    else:
        from . import commands

    if options.command == "stats" and not options.files and not options.interactive:
        raise UsageError("stats: no profile given (plumb stats FILE...)")
    try:
        return getattr(commands, options.command + "_command")(options)
    except UsageError as exc:
        return fail(f"{options.command}: {exc}")
    except BrokenPipeError:
        # `plumb stats big.prof | head`: the reader left; that is not an error.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def sample_attached(options):
    """`plumb sample --pid PID`: no program of its own to run."""
    if options.module is not None:
        raise UsageError("sample: --pid and -m cannot be used together")
    if options.outfile:
        fmt = options.format or format_for_path(options.outfile)
        if fmt not in SAMPLE_FORMATS:
            raise UsageError(f"sample: cannot write {fmt} ({options.outfile})")
        options.format = fmt
        check_writable(options.outfile)
    elif options.format:
        raise UsageError(f"sample: --format {options.format} needs -o FILE "
                         "(without -o the profile is printed as text)")
    if options.subprocesses:
        from .attach import sample_family

        return sample_family(options)
    from .attach import sample_process

    return sample_process(options)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        if not argv or argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0 if argv else USAGE_ERROR
        command = argv[0]
        if command in ANALYSIS_COMMANDS or command in MONITOR_COMMANDS:
            return analyse(parser.parse_args(argv))
        if command == "top":
            options = parser.parse_args(argv)
            from .top import top_process

            return top_process(options)
        if command == "dump":
            options = parser.parse_args(argv)
            from .attach import dump_process

            return dump_process(options.pid, options.json)
        if command == "sample" and any(a == "--pid" or a.startswith("--pid=")
                                       for a in split_program(argv[1:])[0]):
            return sample_attached(parser.parse_args(argv))
        if command not in ("run", "sample"):   # --version, or an unknown command
            parser.parse_args(argv)   # reports the unknown command
        own, program = split_program(argv[1:])
        options = parser.parse_args([command] + own)
        if options.module is not None:
            if not options.module:
                raise UsageError("-m needs a module name")
            program = [options.module] + program
        elif not program:
            raise UsageError(f"{command}: no script given (plumb {command} [options] SCRIPT [ARGS...])")
        if getattr(options, "gil", False):
            raise UsageError(f"{command}: --gil needs --pid (it reads another process's GIL)")
        if getattr(options, "subprocesses", False):
            raise UsageError(f"{command}: --subprocesses needs --pid (plumb {command} SCRIPT "
                             "samples only the program it runs)")
        if options.outfile:
            fmt = options.format or format_for_path(options.outfile)
            if fmt not in (RUN_FORMATS if command == "run" else SAMPLE_FORMATS):
                raise UsageError(f"{command}: cannot write {fmt} ({options.outfile})")
            # The program may change directory; its profile goes where asked.
            options.outfile = os.path.abspath(options.outfile)
            check_writable(options.outfile)
        elif options.format:
            raise UsageError(f"{command}: --format {options.format} needs -o FILE "
                             "(without -o the profile is printed as text)")
        from .runner import Target

        target = Target.find(program[0], program[1:], is_module=options.module is not None)
    except UsageError as exc:
        return fail(str(exc))

    from .runner import ProfileSession, SampleSession, run_profiled

    return run_profiled(target, options, SampleSession if command == "sample" else ProfileSession)
