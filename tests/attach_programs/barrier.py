"""A target for plumb dump: named threads parked in known functions; at the
barrier it writes every thread's stack as it sees it (sys._current_frames)
as one JSON line, then waits on stdin while plumb reads it."""
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


def settled(threads):
    """Whether each worker is blocked in parked.wait() (Event.wait, then
    Condition.wait, which blocks in C): its stack will not change."""
    frames = sys._current_frames()
    for t in threads:
        names = [f.name for f in traceback.extract_stack(frames[t.ident])] if t.ident in frames else []
        if len(names) < 3 or names[-3] not in ("leaf_a", "leaf_b") or names[-2:] != ["wait", "wait"]:
            return False
    return True


def report(threads):
    while not settled(threads):
        time.sleep(0.01)
    names = {t.ident: t.name for t in threading.enumerate()}
    stacks = {str(ident): {"name": names.get(ident),
                           "functions": [f.name for f in traceback.extract_stack(frame)]}
              for ident, frame in sys._current_frames().items()}
    sys.stdout.write(json.dumps(stacks) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()   # here while plumb reads: the same stack as reported


def main():
    threads = [threading.Thread(target=middle_a, name="worker-a", daemon=True),
               threading.Thread(target=leaf_b, name="worker-b", daemon=True)]
    for t in threads:
        t.start()
    report(threads)
    parked.set()


main()
