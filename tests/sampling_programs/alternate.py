"""The loop the one-thread programs share: run each (name, function,
seconds) part in turn until the duration is up, and total what each
function measured of itself (wall seconds, CPU seconds)."""
from time import perf_counter


def alternate(parts, duration):
    totals = {name: [0.0, 0.0] for name, _, _ in parts}
    deadline = perf_counter() + duration
    while perf_counter() < deadline:
        for name, work, seconds in parts:
            wall, cpu = work(seconds)
            totals[name][0] += wall
            totals[name][1] += cpu
    return {name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in totals.items()}
