"""Builtin-heavy workload: C functions and methods of builtin types."""
import os

SCALE = float(os.environ.get("PLUMB_BENCH_SCALE", "1"))
ROUNDS = max(1, round(75000 * SCALE))

WORDS = "the quick brown fox jumps over the lazy dog again and again".split()


def run():
    counts = {}
    out = []
    for i in range(ROUNDS):
        for w in WORDS:
            key = w.upper() if len(w) > 3 else w.lower()
            counts[key] = counts.get(key, 0) + 1
            if isinstance(key, str) and key.startswith("A"):
                out.append(key.replace("A", "a"))
        small = sorted([i % 7, i % 5, i % 3, len(out) % 11])
        line = " ".join(WORDS[: small[1] + 1])
        out.append(line.split()[-1].strip())
        if len(out) > 1000:
            out.clear()
    return len(counts), len(out)
