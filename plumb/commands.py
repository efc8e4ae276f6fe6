"""The commands that read profiles: `plumb stats`, `merge`, `diff`,
`convert`, `view` (and `token`, for the web middleware); each is
NAME_command(options), called by cli.py.

Every file is read by plumb's C reader; a file that is not a readable
profile stops the command with one line naming it (UsageError: exit
status 2), and nothing is written from a merge that lost a file."""
import os
import re
import sys

from .errors import USAGE_ERROR, UsageError
from .stats import Stats, StatsFileError


def _regex(text):
    try:
        re.compile(text)
    except re.error as exc:
        raise UsageError(f"not a regular expression: {text!r} ({exc})") from None
    return text


def load(paths, stream=None):
    try:
        return Stats(*paths, stream=stream)
    except StatsFileError as exc:
        raise UsageError(str(exc)) from None


def stats_command(options):
    """print_stats, print_callers and print_callees, as pstats prints them."""
    if options.interactive:
        from .browser import browse

        return browse(options.files, options)
    stats = load(options.files)
    if options.strip_dirs:
        stats.strip_dirs()
    stats.sort_stats(*(options.sort or ["cumulative"]))
    if options.reverse:
        stats.reverse_order()
    amounts = []
    if options.filter:
        amounts.append(_regex(options.filter))
    limit = [options.limit] if options.limit is not None else []
    if options.callers is None and options.callees is None:
        stats.print_stats(*amounts, *limit)
    if options.callers is not None:
        stats.print_callers(*amounts, _regex(options.callers), *limit)
    if options.callees is not None:
        stats.print_callees(*amounts, _regex(options.callees), *limit)
    return 0


def diff_command(options):
    from .diff import print_diff, sort_key

    try:
        key = sort_key(options.sort or "cumulative")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    before = load([options.before]).stats
    after = load([options.after]).stats
    return print_diff(before, after, (options.before, options.after), key, options.limit)


def convert_command(options):
    from .convert import ConvertError, convert

    try:
        found, written = convert(options.infile, options.outfile, options.format,
                                 options.input_format, options.rate)
    except ConvertError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{exc.filename}: {exc.strerror or exc}") from None
    print(f"plumb: {options.infile} ({found}) -> {options.outfile} ({written})", file=sys.stderr)
    return 0


def view_command(options):
    from .convert import ConvertError, convert

    out = options.outfile or _report_name(options.infile)
    try:
        found, _ = convert(options.infile, out, "html", options.input_format, options.rate)
    except ConvertError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{exc.filename or out}: {exc.strerror or exc}") from None
    print(f"plumb: {options.infile} ({found}) -> {out}", file=sys.stderr)
    if options.open:
        import webbrowser

        if not webbrowser.open("file://" + os.path.abspath(out)):
            print(f"plumb: no web browser to open; the report is {out}", file=sys.stderr)
    return 0


def token_command(options):
    from .web.token import make_token

    secret = options.secret or os.environ.get("PLUMB_SECRET")
    if not secret:
        raise UsageError("no secret: pass --secret or set PLUMB_SECRET to the middleware's")
    try:
        token = make_token(secret, options.ttl)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(token)
    return 0


def _report_name(path):
    base, ext = os.path.splitext(os.fspath(path))
    if ext in (".gz",):   # x.pb.gz -> x.html
        base = os.path.splitext(base)[0]
    out = base + ".html"
    return out if out != path else out + ".html"


# runprofileserver's per-request names: {path}.{duration}ms.{time} and the
# format's extension (a ".N" before it when two requests got the same
# name: plumb/web/naming.py); NAME.trace.json beside each is its trace.
REQUEST_FILE = re.compile(r"^(?P<group>.+)\.(?P<duration>\d+)ms\.(?P<time>\d+)(?:\.\d+)?"
                          r"\.(?P<ext>prof|callgrind|folded|json|html)$")
MERGED_AS = {"prof": "pstats", "callgrind": "callgrind", "json": "json", "folded": "collapsed"}
TRACE_SUFFIX = ".trace.json"


def _replace(path, write):
    """write(tmp) writes a file that then replaces path at once: an
    aggregate is never seen half written, nor lost to a failed write."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write(stats, path, fmt):
    from .formats import write_profile

    _replace(path, lambda tmp: write_profile(stats.dump, tmp, fmt))


def merge_command(options):
    if options.by_path:
        return merge_by_path(options)
    if not options.files:
        raise UsageError("no files given (plumb merge FILE... -o OUT)")
    if not options.outfile:
        raise UsageError("no output given (-o OUT)")
    from .formats import FORMATS, format_for_path

    fmt = options.format or format_for_path(options.outfile)
    if fmt not in FORMATS:
        raise UsageError(f"cannot write {fmt} from function-level profiles "
                         f"({', '.join(FORMATS)})")
    stats = load(options.files)
    _write(stats, options.outfile, fmt)
    print(f"plumb: merged {_count(len(options.files), 'profile')} into {options.outfile}",
          file=sys.stderr)
    return 0


def merge_by_path(options):
    """Groups DIR's per-request files by path and format and writes one
    <path>.agg.<ext> per group, in the group's format; the inputs, and
    their traces, are removed once their group is written, unless --keep.
    A group with an unreadable file is not written and keeps all its
    files; the others are.  HTML reports cannot be added, and stay."""
    directory = options.by_path
    if options.files:
        raise UsageError("--by-path takes a directory, not files")
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise UsageError(f"cannot read directory {directory}: {exc.strerror or exc}") from None
    groups = {}
    reports = 0
    for name in names:
        m = REQUEST_FILE.match(name)
        if not m:
            continue
        if m.group("ext") == "html":
            reports += 1
            continue
        groups.setdefault((m.group("group"), m.group("ext")), []).append(
            os.path.join(directory, name))
    if reports:
        print(f"plumb: {reports} per-request HTML report{'s' if reports != 1 else ''} in "
              f"{directory} left as they are: a report cannot be added to another",
              file=sys.stderr)
    if not groups:
        print(f"plumb: nothing to merge: no per-request profiles "
              f"({{path}}.{{duration}}ms.{{time}}.prof, .callgrind, .json or .folded) in "
              f"{directory}", file=sys.stderr)
        return 0
    failed = 0
    for (group, ext), files in sorted(groups.items()):
        out = os.path.join(directory, f"{group}.agg.{ext}")
        inputs = list(files)
        # Without --keep the inputs go away, so an earlier aggregate is
        # carried forward; with --keep they stay, and it is rebuilt.
        if not options.keep and os.path.exists(out):
            inputs.insert(0, out)
        try:
            if ext == "folded":
                _write_text(_add_collapsed(inputs), out)
            else:
                _write(load(inputs), out, MERGED_AS[ext])
        except UsageError as exc:
            print(f"plumb: {exc}; {group} ({ext}) not merged, its files kept", file=sys.stderr)
            failed += 1
            continue
        traces = 0
        if not options.keep:
            for path in files:
                trace = path[:-len(ext) - 1] + TRACE_SUFFIX
                for gone in (path, trace):
                    try:
                        os.unlink(gone)
                        traces += gone is trace
                    except OSError:
                        pass
        print(f"plumb: {out}: {_count(len(files), 'profile')} added"
              + (f", {_count(traces, 'trace')} removed with them" if traces else ""),
              file=sys.stderr)
    return USAGE_ERROR if failed else 0


def _count(n, what):
    return f"{n} {what}{'' if n == 1 else 's'}"


def _add_collapsed(paths):
    """Collapsed stacks added exactly: the counts of equal stacks summed,
    stacks in the order first seen."""
    counts = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                for number, line in enumerate(f, 1):
                    line = line.rstrip("\n")
                    if not line.strip():
                        continue
                    stack, _, count = line.rpartition(" ")
                    if not stack or not count.isdigit():
                        raise UsageError(f"{path}: line {number}: not a collapsed stack "
                                           "(frames;joined;by;semicolons COUNT)")
                    counts[stack] = counts.get(stack, 0) + int(count)
        except OSError as exc:
            raise UsageError(f"{path}: {exc.strerror or exc}") from None
    return "".join(f"{stack} {count}\n" for stack, count in counts.items())


def _write_text(text, path):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)

    _replace(path, write)
