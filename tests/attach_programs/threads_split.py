"""A target with a known split that no timing can move: three threads
parked in three_quarters() and one in one_quarter(), each asleep in C (so
its function is the stack's leaf), so that every wall-mode round finds
three of the four there.  It prints "ready" once all four have started and
ends when stdin closes."""
import sys
import threading
import time


def three_quarters(started):
    started.release()
    while True:
        time.sleep(3600)


def one_quarter(started):
    started.release()
    while True:
        time.sleep(3600)


def main():
    started = threading.Semaphore(0)
    for work in (three_quarters, three_quarters, three_quarters, one_quarter):
        threading.Thread(target=work, args=(started,), daemon=True).start()
    for _ in range(4):
        started.acquire()
    print("ready", flush=True)
    sys.stdin.read()


main()
