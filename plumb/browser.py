"""`plumb stats -i`: an interactive profile browser, like `python -m pstats`,
on plumb.Stats.  Commands: read, add, sort, stats, callers, callees, strip,
reverse, quit (and EOF), help.  With readline (where the terminal allows):
history kept in ~/.plumb_history, completion of commands, sort keys and
file names.

A file that cannot be read is reported in one line and the browser goes
on with what it had."""
import cmd
import glob
import os
import sys

from .stats import Stats, StatsFileError

HISTORY = os.path.join(os.path.expanduser("~"), ".plumb_history")


def _amounts(line, stream):
    """pstats' restriction arguments: counts, fractions in [0, 1], regexes."""
    out = []
    for term in line.split():
        try:
            out.append(int(term))
            continue
        except ValueError:
            pass
        try:
            frac = float(term)
        except ValueError:
            out.append(term)
            continue
        if 0 <= frac <= 1:
            out.append(frac)
        else:
            print("Fraction argument must be in [0, 1]", file=stream)
    return out


class Browser(cmd.Cmd):
    intro = "Welcome to plumb's profile browser (help lists the commands)."

    def __init__(self, stream=None, stdin=None):
        super().__init__(stdin=stdin, stdout=stream)
        if stdin is not None:
            self.use_rawinput = False
        self.stream = stream or sys.stdout
        self.prompt = "% "
        self.stats = None
        self.current = None

    def emptyline(self):
        return 0

    def _need_stats(self):
        if self.stats is None:
            print("No statistics object is loaded.", file=self.stream)
            return False
        return True

    def _print(self, method, line):
        if self._need_stats():
            getattr(self.stats, method)(*_amounts(line, self.stream))
        return 0

    def do_read(self, line):
        """read FILE...: read profiles (added together); without FILE, read the current ones again."""
        paths = line.split() or self.current
        if not paths:
            print("No statistics object is current -- cannot reload.", file=self.stream)
            return 0
        self.load(paths)
        return 0

    def load(self, paths):
        try:
            self.stats = Stats(*paths, stream=self.stream)
        except StatsFileError as exc:
            print(f"cannot read {exc}", file=self.stream)
            return 0
        self.current = list(paths)
        self.prompt = " ".join(paths) + "% "

    def do_add(self, line):
        """add FILE...: add profiles to the current statistics."""
        if self._need_stats():
            for path in line.split():
                try:
                    self.stats.add(path)
                except StatsFileError as exc:
                    print(f"cannot read {exc}", file=self.stream)
        return 0

    def do_sort(self, line):
        """sort KEY...: sort by pstats keys (unique prefixes accepted); alone, list the keys."""
        if not self._need_stats():
            return 0
        keys = self.stats.get_sort_arg_defs()
        if line and all(word in keys for word in line.split()):
            self.stats.sort_stats(*line.split())
        else:
            print("Valid sort keys (unique prefixes are accepted):", file=self.stream)
            for key, value in Stats.sort_arg_dict_default.items():
                print(f"{key} -- {value[1]}", file=self.stream)
        return 0

    def complete_sort(self, text, *args):
        return [key for key in Stats.sort_arg_dict_default if key.startswith(text)]

    def do_stats(self, line):
        """stats [N | FRACTION | REGEX]...: print the table."""
        return self._print("print_stats", line)

    def do_callers(self, line):
        """callers [N | FRACTION | REGEX]...: who calls each function."""
        return self._print("print_callers", line)

    def do_callees(self, line):
        """callees [N | FRACTION | REGEX]...: whom each function calls."""
        return self._print("print_callees", line)

    def do_strip(self, line):
        """strip: drop directories from file names."""
        if self._need_stats():
            self.stats.strip_dirs()
        return 0

    def do_reverse(self, line):
        """reverse: reverse the sort order."""
        if self._need_stats():
            self.stats.reverse_order()
        return 0

    def do_quit(self, line):
        """quit: leave the browser."""
        return 1

    def do_EOF(self, line):
        """EOF: leave the browser."""
        print("", file=self.stream)
        return 1

    def _complete_path(self, text, *args):
        return [p + ("/" if os.path.isdir(p) else "") for p in glob.glob(glob.escape(text) + "*")]

    complete_read = _complete_path
    complete_add = _complete_path


def browse(paths, options=None, stdin=None, stream=None):
    """Runs the browser on paths; returns the exit status."""
    browser = Browser(stream=stream, stdin=stdin)
    interactive = stdin is None and sys.stdin.isatty()
    readline = None
    if interactive:
        try:
            import readline
            readline.read_history_file(HISTORY)
        except (ImportError, OSError):
            pass
    if paths:
        browser.load(paths)
        if browser.stats is None:
            return 2
    try:
        browser.cmdloop()
    except KeyboardInterrupt:
        print("", file=browser.stream)
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY)
            except OSError:
                pass
    return 0
