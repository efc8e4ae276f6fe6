"""A target for plumb dump: named threads parked in known functions; at the
barrier it writes every thread's name and stack as it sees them
(threading.enumerate, sys._current_frames: functions and current lines) as
one JSON line, then waits on stdin while plumb reads it.  One thread's
name is not ASCII and its instance dict is made a dict object (vars()):
3.11+ otherwise keep attributes in values beside the object, not in a
dict."""
import json
import sys
import threading
import time
import traceback

parked = threading.Event()


def leaf_a():
    parked.wait()


def middle_a():
    leaf_a()


def leaf_b():
    parked.wait()


def leaf_c():
    parked.wait()


def settled(threads):
    """Whether each worker is blocked in parked.wait() (Event.wait, then
    Condition.wait, which blocks in C): its stack will not change."""
    frames = sys._current_frames()
    for t in threads:
        names = [f.name for f in traceback.extract_stack(frames[t.ident])] if t.ident in frames else []
        if (len(names) < 3 or names[-3] not in ("leaf_a", "leaf_b", "leaf_c")
                or names[-2:] != ["wait", "wait"]):
            return False
    return True


def report(threads):
    while not settled(threads):
        time.sleep(0.01)
    names = {t.ident: t.name for t in threading.enumerate()}
    stacks = {}
    for ident, frame in sys._current_frames().items():
        summary = traceback.extract_stack(frame)
        stacks[str(ident)] = {"name": names.get(ident), "functions": [f.name for f in summary],
                              "lines": [f.lineno for f in summary]}
    # This thread is read while it waits on stdin, a line below the one it
    # reported its stack from: the report says the line it waits on, where
    # writing the report happens too (so that plumb finds that line
    # however soon it reads).
    stacks[str(threading.get_ident())]["lines"][-1] = sys._getframe().f_lineno + 1
    _ = sys.stdout.write(json.dumps(stacks) + "\n"), sys.stdout.flush(), sys.stdin.readline()


def main():
    threads = [threading.Thread(target=middle_a, name="worker-a", daemon=True),
               threading.Thread(target=leaf_b, name="worker-b", daemon=True),
               threading.Thread(target=leaf_c, name="wörker-ç-日本", daemon=True)]
    vars(threads[2])
    for t in threads:
        t.start()
    report(threads)
    parked.set()


main()
