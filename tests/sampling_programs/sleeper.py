"""A worker thread alternates busy() (a 5 ms busy loop) and nap() (a 5 ms
time.sleep) for about SECONDS (argv[1], default 1.5), while the main thread
only waits for it in wait_for_worker() (blocked in Thread.join).  Nothing
else wants the GIL while the worker runs.

Every function of interest times itself from its first line to its return,
in wall time (time.perf_counter) and in its own thread's CPU time
(time.thread_time); the totals are printed as one JSON object on stdout:
{"busy": {"wall", "cpu"}, "nap": {...}, "wait_for_worker": {...}}."""
import json
import sys
import threading
import time

from time import perf_counter, thread_time

totals = {"busy": [0.0, 0.0], "nap": [0.0, 0.0], "wait_for_worker": [0.0, 0.0]}


def busy():
    wall0, cpu0 = perf_counter(), thread_time()
    end = wall0 + 0.005
    while perf_counter() < end:
        pass
    return perf_counter() - wall0, thread_time() - cpu0


def nap():
    wall0, cpu0 = perf_counter(), thread_time()
    time.sleep(0.005)
    return perf_counter() - wall0, thread_time() - cpu0


def worker(duration):
    deadline = perf_counter() + duration
    while perf_counter() < deadline:
        for name, part in (("busy", busy), ("nap", nap)):
            wall, cpu = part()
            totals[name][0] += wall
            totals[name][1] += cpu


def wait_for_worker(thread):
    wall0, cpu0 = perf_counter(), thread_time()
    thread.join()
    return perf_counter() - wall0, thread_time() - cpu0


def main(duration):
    thread = threading.Thread(target=worker, args=(duration,), name="worker")
    thread.start()
    totals["wait_for_worker"][:] = wait_for_worker(thread)
    return {name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in totals.items()}


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)))
