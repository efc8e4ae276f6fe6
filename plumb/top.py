"""`plumb top PID`: a live view of a running Python process in the
terminal, drawn with the standard library's curses (so it works over ssh,
in tmux, in a plain 80x24 terminal).  A Sampler(pid=...) samples the target
while the view harvests it every --interval seconds; the view keeps the
last WINDOW_SECONDS of harvests (top_view.py).  The terminal is restored
however it ends: q, Ctrl-C, SIGTERM, the target's exit (then the last view
is printed as text and the exit said on stderr).  --once prints one
interval's view as text instead, for a pipe or a script."""
import curses
import os
import signal
import sys
import time

from . import _plumb
from .attach import process_state, refusal_message
from .errors import USAGE_ERROR
from .top_view import TopView

WINDOW_SECONDS = 5.0
KEY_WAIT_MS = 100      # how long a wait for a key lasts: SIGTERM is seen within it
QUIT_KEYS = (ord("q"), ord("Q"))
SORT_KEYS = {ord("o"): "own", ord("O"): "own", ord("t"): "total", ord("T"): "total"}


def fail(message):
    print(f"plumb: {message}", file=sys.stderr)
    return USAGE_ERROR


def top_process(options):
    """Exit status: 0 on q, Ctrl-C, SIGTERM or the target's exit; 2 for a
    refusal or when there is no terminal to draw on."""
    pid = options.pid
    if not options.once and not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail("top: needs a terminal (stdin and stdout); --once prints one view as text")
    from .sampler import Sampler

    try:
        version = _plumb.attach_info(pid)["version"]
        sampler = Sampler(rate=options.rate, mode=options.mode, pid=pid, gil=options.gil,
                          idle=options.idle)
    except (ProcessLookupError, PermissionError, ValueError, RuntimeError) as exc:
        return fail(refusal_message(exc))
    view = TopView(pid, version, options, max(WINDOW_SECONDS, options.interval))
    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    started = time.monotonic()
    try:
        if options.once:
            outcome = sample_once(sampler, view, options.interval, stop)
        else:
            outcome = curses.wrapper(live, sampler, view, options.interval, stop)
    except KeyboardInterrupt:
        outcome = "interrupted"
    except curses.error as exc:
        return fail(f"top: cannot draw on this terminal (TERM={os.environ.get('TERM', '')!r}): "
                    f"{exc}")
    finally:
        sampler.stop()
        signal.signal(signal.SIGTERM, previous)
    if options.once or outcome == "exited":
        sys.stdout.write("\n".join(view.lines()) + "\n")
    if outcome == "exited":
        print(f"plumb: process {pid} exited after {time.monotonic() - started:.1f} s",
              file=sys.stderr)
    return 0


def sample_once(sampler, view, seconds, stop):
    """Samples for one interval into the view; "exited" if the target did."""
    sampler.start()
    until = time.monotonic() + seconds
    while not stop and time.monotonic() < until and process_state(view.pid) is not None:
        time.sleep(min(0.05, max(until - time.monotonic(), 0)))
    view.window.add(sampler.harvest())
    return "exited" if process_state(view.pid) is None else "done"


def draw(screen, view):
    height, width = screen.getmaxyx()
    screen.erase()
    for y, line in enumerate(view.lines(height)[:height]):
        try:
            # width - 1: writing the bottom-right cell moves the cursor off
            # the screen, which curses reports as an error.
            screen.addnstr(y, 0, line, max(width - 1, 0))
        except curses.error:
            pass
    screen.refresh()


def live(screen, sampler, view, interval, stop):
    """The screen's loop: keys between refreshes; "quit", "exited" or
    "stopped" (SIGTERM)."""
    try:
        curses.curs_set(0)
    except curses.error:
        pass   # a terminal that cannot hide the cursor shows it
    screen.timeout(KEY_WAIT_MS)
    sampler.start()
    view.note = f"sampling; the first view comes in {interval:g} s"
    draw(screen, view)
    next_refresh = time.monotonic() + interval
    while not stop:
        key = screen.getch()
        if key in QUIT_KEYS:
            return "quit"
        if key in SORT_KEYS:
            view.sort = SORT_KEYS[key]
            draw(screen, view)
        elif key == curses.KEY_RESIZE:
            draw(screen, view)
        if time.monotonic() >= next_refresh:
            # From now, not from the last due time: a late refresh does not
            # bring others early to catch up.
            next_refresh = time.monotonic() + interval
            view.window.add(sampler.harvest())
            if process_state(view.pid) is None:
                view.note = f"process {view.pid} exited"
                return "exited"
            view.note = None
            draw(screen, view)
    return "stopped"
