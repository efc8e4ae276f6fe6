"""Two threads contend for the GIL: thread "a" runs run_a() -> spin_a() and
thread "b" runs run_b() -> spin_b(); both spin until the same deadline,
SECONDS (argv[1], default 1.5) after both have started.  The interpreter
hands the GIL back and forth between them (every switch interval, 5 ms by
default), so each runs Python code about half of the time and waits for the
GIL the other half.  The main thread waits for them in wait_for_threads().

Every function of interest times itself from its first line to its return,
in wall time (time.perf_counter) and in its own thread's CPU time
(time.thread_time); the totals are printed as one JSON object on stdout:
{"run_a", "spin_a", "run_b", "spin_b", "wait_for_threads"}: {"wall", "cpu"}."""
import json
import sys
import threading

from time import perf_counter, thread_time

totals = {}
shared_deadline = []


def set_deadline(duration):
    shared_deadline.append(perf_counter() + duration)


def spin_a(deadline):
    wall0, cpu0 = perf_counter(), thread_time()
    while perf_counter() < deadline:
        pass
    return perf_counter() - wall0, thread_time() - cpu0


def spin_b(deadline):
    wall0, cpu0 = perf_counter(), thread_time()
    while perf_counter() < deadline:
        pass
    return perf_counter() - wall0, thread_time() - cpu0


def run_a(both_started):
    wall0, cpu0 = perf_counter(), thread_time()
    both_started.wait()
    totals["spin_a"] = spin_a(shared_deadline[0])
    totals["run_a"] = perf_counter() - wall0, thread_time() - cpu0


def run_b(both_started):
    wall0, cpu0 = perf_counter(), thread_time()
    both_started.wait()
    totals["spin_b"] = spin_b(shared_deadline[0])
    totals["run_b"] = perf_counter() - wall0, thread_time() - cpu0


def wait_for_threads(threads):
    wall0, cpu0 = perf_counter(), thread_time()
    for thread in threads:
        thread.join()
    return perf_counter() - wall0, thread_time() - cpu0


def main(duration):
    # Both spin until one deadline, set when both have started.
    both_started = threading.Barrier(2, action=lambda: set_deadline(duration))
    threads = [threading.Thread(target=run, args=(both_started,), name=name)
               for name, run in (("a", run_a), ("b", run_b))]
    for thread in threads:
        thread.start()
    totals["wait_for_threads"] = wait_for_threads(threads)
    return {name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in totals.items()}


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5)))
