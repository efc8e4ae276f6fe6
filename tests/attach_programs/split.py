"""A target with a known split of wall time: one thread sleeps in
three_quarters() 30 ms, then in one_quarter() 10 ms, over and over; it
prints "ready" once it runs and ends when stdin closes (or after 60 s)."""
import sys
import threading
import time


def three_quarters():
    time.sleep(0.030)


def one_quarter():
    time.sleep(0.010)


def loop(stop):
    while not stop.is_set():
        three_quarters()
        one_quarter()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    print("ready", flush=True)
    loop(stop)


main()
