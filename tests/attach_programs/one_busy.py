"""A target with one CPU-bound thread among waiting ones: the main thread
spins in spin(); thread "sleeper" sleeps in sleep_long() and thread
"blocked" waits in wait_on_lock() on a lock that is never released.  It
prints "ready" once both are about to wait, and ends after argv[1]
seconds (default 60)."""
import sys
import threading
import time


def sleep_long(started):
    started.set()
    while True:
        time.sleep(3600)


def wait_on_lock(started, lock):
    started.set()
    lock.acquire()


def spin(until):
    n = 0
    while time.monotonic() < until:
        n += 1
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    held = threading.Lock()
    held.acquire()
    waiting = []
    for name, target, args in (("sleeper", sleep_long, ()), ("blocked", wait_on_lock, (held,))):
        started = threading.Event()
        threading.Thread(target=target, args=(started, *args), name=name, daemon=True).start()
        started.wait()
        waiting.append(name)
    print("ready", flush=True)
    spin(time.monotonic() + seconds)


main()
