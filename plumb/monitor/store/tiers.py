"""Rows at three resolutions, and which rows answer a window.

Every minute row is also added into its ten minutes', hour's and day's
rows as it is written (so coarser rows are exact, late harvests included);
retention later removes minute rows past the rollup age and everything past
the retention window.  A window is answered by the coarsest rows that fit
inside it and finer rows at its edges: 7 days are at most 7 day rows, 46
hour rows, 10 ten-minute rows and 18 minute rows per transaction instead of
10080, and 24 hours at most 23 + 10 + 18.

Where the finer rows are gone (older than the rollup age), an edge is
answered by the coarser rows that start inside the window."""

MINUTE, TEN_MINUTES, HOUR, DAY = 60, 600, 3600, 86400
RESOLUTIONS = (MINUTE, TEN_MINUTES, HOUR, DAY)
# One worker's rows go up to hours (a day of them is 51 rows, not 1440
# minutes) and live as long as minutes do: a day row would never be whole.
WORKER_RESOLUTIONS = (MINUTE, TEN_MINUTES, HOUR)


def floor_to(t, step):
    return int(t // step * step)


def ceil_to(t, step):
    return int(-(-t // step) * step)


def pieces(since, until, kept_from, finest=MINUTE, coarsest=DAY):
    """[(resolution, lo, hi)]: the rows of that resolution with lo <= t < hi
    answer [since, until) together, each minute counted once.
    `kept_from[resolution]` is the time from which rows of that resolution
    are all there (0: all of them).  Only resolutions from `finest` to
    `coarsest` are used (a series of hourly buckets wants no day rows)."""
    levels = [r for r in RESOLUTIONS if finest <= r <= coarsest]
    since, until = ceil_to(since, MINUTE), ceil_to(until, MINUTE)
    found = []

    def cover(lo, hi, level):
        if lo >= hi:
            return
        res = levels[level]
        if level == 0:
            found.append((res, lo, hi))
            return
        start = max(ceil_to(lo, res), ceil_to(kept_from.get(res, 0), res))
        end = floor_to(hi, res)
        if start < end:
            found.append((res, start, end))
            edges = ((lo, start), (end, hi))
        else:
            edges = ((lo, hi),)
        finer_from = kept_from.get(levels[level - 1], 0)
        for a, b in edges:
            # Before finer_from the finer rows are gone: this resolution's
            # rows that start in [a, b) answer that part, those that end by
            # finer_from.  The row finer_from falls in is left out: the finer
            # rows answer its minutes from finer_from on, and a later write
            # can have made that row again (retention removed it as older
            # than its cut), with minutes the finer rows hold too.
            cut = min(max(a, floor_to(finer_from, res)), b)
            if a < cut:
                found.append((res, a, cut))
            cover(cut, b, level - 1)

    cover(since, until, len(levels) - 1)
    return sorted(found)
