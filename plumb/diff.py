"""`plumb diff BEFORE AFTER`: what changed, per function, between two
profiles: calls, own time and cumulative time, largest change first.

Each side may be several files added together (`--before`/`--after` take
more); functions present on one side only are marked new or gone; a function
whose first line moved (same file and name, unambiguous) is one row.""" 
import math
import sys

from pstats import func_std_string

# Sort keys: pstats' names for the three columns, and the change sorted by.
KEYS = {
    "cumulative": 3, "cumtime": 3,
    "tottime": 2, "time": 2,
    "calls": 1, "ncalls": 1,
    "pcalls": 0,
}


def sort_key(text):
    matches = [k for k in KEYS if k.startswith(text)]
    if text in KEYS:
        return text
    if len({KEYS[m] for m in matches}) == 1:
        return matches[0]
    raise ValueError(f"unknown sort key {text!r} for diff; one of: {', '.join(sorted(KEYS))}")


def moved(before, after):
    """{before label: after label} for functions whose first line moved (an
    import added above them): the same file and name on each side, once
    among the labels that the other side lacks, so the match is certain."""
    def by_name(labels):
        found = {}
        for label in labels:
            found.setdefault((label[0], label[2]), []).append(label)
        return found

    gone = by_name(k for k in before if k not in after)
    new = by_name(k for k in after if k not in before)
    return {g[0]: new[key][0] for key, g in gone.items()
            if len(g) == 1 and len(new.get(key, ())) == 1}


def changes(before, after):
    """[(label, before values or None, after values or None)], where values
    are pstats' (cc, nc, tt, ct); a function that moved is one row, under
    its label after."""
    renamed = moved(before, after)
    matched = set(renamed.values())
    out = []
    for label in before:
        b = before[label]
        if label in renamed:
            a = after[renamed[label]]
            out.append((renamed[label], b[:4], a[:4]))
            continue
        a = after.get(label)
        out.append((label, b[:4], a[:4] if a else None))
    for label in after:
        if label not in before and label not in matched:
            out.append((label, None, after[label][:4]))
    return out


def delta(entry, index):
    _, b, a = entry
    return (a[index] if a else 0) - (b[index] if b else 0)


def print_diff(before, after, names, sort="cumulative", limit=None, stream=None):
    """Prints the table; before and after are pstats dicts."""
    stream = stream or sys.stdout
    index = KEYS[sort]
    rows = changes(before, after)
    was = {a: b for b, a in moved(before, after).items()}
    # Largest change first, then the larger cumulative time, then the name:
    # a stable order for equal changes.
    rows.sort(key=lambda e: (-abs(delta(e, index)),
                             -max((e[1] or (0, 0, 0, 0))[3], (e[2] or (0, 0, 0, 0))[3]),
                             func_std_string(e[0])))
    rows = [e for e in rows if any(delta(e, i) for i in range(4))]
    total_b = sum(v[2] for v in before.values())
    total_a = sum(v[2] for v in after.values())
    calls_b = sum(v[1] for v in before.values())
    calls_a = sum(v[1] for v in after.values())
    change = total_a - total_b
    share = f", {100 * change / total_b:+.1f}%" if total_b else ""
    print(f"{names[0]} -> {names[1]}", file=stream)
    print(f"  total time {total_b:.3f} s -> {total_a:.3f} s ({change:+.3f} s{share}); "
          f"{calls_b} -> {calls_a} function calls", file=stream)
    shown = len(rows)
    if isinstance(limit, float):
        shown = int(math.floor(len(rows) * limit + 0.5))
    elif isinstance(limit, int):
        shown = min(limit, len(rows))
    print(f"  {len(rows)} functions changed; sorted by the change in "
          f"{ {3: 'cumulative time', 2: 'own time', 1: 'calls', 0: 'primitive calls'}[index] }"
          + (f"; the first {shown} shown" if shown < len(rows) else ""), file=stream)
    print(file=stream)
    print(f"{'calls':^20} {'Δcalls':>8}  {'tottime':^20} {'Δtottime':>9}  "
          f"{'cumtime':^20} {'Δcumtime':>9}  function", file=stream)
    for e in rows[:shown]:
        label, b, a = e
        note = "  (new)" if b is None else "  (gone)" if a is None else ""
        if label in was:
            note = f"  (line {was[label][1]} before)"

        def pair(i, fmt):
            return f"{fmt(b[i]) if b else '-':>8} -> {fmt(a[i]) if a else '-':<8}"
        seconds = "{:.3f}".format
        print(f"{pair(1, str)} {delta(e, 1):>+8d}  {pair(2, seconds)} {delta(e, 2):>+9.3f}  "
              f"{pair(3, seconds)} {delta(e, 3):>+9.3f}  {func_std_string(label)}{note}",
              file=stream)
    return 0
