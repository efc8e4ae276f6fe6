"""I/O-bound workload: temp file writes/reads and short sleeps (no subprocesses)."""
import os
import tempfile
import time

SCALE = float(os.environ.get("PLUMB_BENCH_SCALE", "1"))
ROUNDS = max(1, round(60 * SCALE))


def run():
    total = 0
    with tempfile.TemporaryDirectory(prefix="plumb-bench-") as tmp:
        path = os.path.join(tmp, "data.txt")
        for i in range(ROUNDS):
            with open(path, "w") as f:
                for j in range(200):
                    f.write(f"line {i} {j}\n")
            with open(path) as f:
                total += sum(1 for _ in f)
            time.sleep(0.005)
    return total
