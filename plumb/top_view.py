"""What `plumb top` shows: the samples of the last seconds added up by
function, and the lines that show them (on the screen, or as text with
--once).  A function's own samples are those with it innermost; its total,
those with it anywhere in the stack, counted once per stack (recursion does
not count twice).  Shares are of every sample in the window, all threads
together, so the own shares add up to 100%."""
import collections

SORTS = ("own", "total")
KEYS_HELP = "o: sort by own  t: sort by total  q: quit"


def count_harvest(harvest):
    """{frame: [own, total]} and the samples of one SamplerHarvest."""
    own = collections.Counter()
    total = collections.Counter()
    samples = 0
    for _tag, leaf, count in harvest.tagged:
        samples += count
        own[harvest.nodes[leaf][1]] += count
        seen = set()
        node = leaf
        while node != -1:
            parent, func = harvest.nodes[node]
            if func not in seen:
                seen.add(func)
                total[func] += count
            node = parent
    counts = {harvest.frames[f]: [own[f], n] for f, n in total.items()}
    return counts, samples


def short_path(file):
    """A file's directory and name ("attach_programs/one_busy.py")."""
    parts = file.rsplit("/", 2)
    return "/".join(parts[-2:])


Part = collections.namedtuple("Part", "ended_ns counts samples taken missed failed threads")


class Window:
    """The harvests of the last `seconds` (at least the latest one)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.parts = collections.deque()
        self.interval = None    # seconds a sample stands for

    def add(self, harvest):
        counts, samples = count_harvest(harvest)
        s = harvest.summary
        self.interval = s["interval"]
        self.parts.append(Part(s["ended_ns"], counts, samples, s["taken"], s["missed"],
                               s["failed"], s.get("threads", 0)))
        oldest = s["ended_ns"] - self.seconds * 1e9
        while len(self.parts) > 1 and self.parts[0].ended_ns <= oldest:
            self.parts.popleft()

    def samples(self):
        return sum(p.samples for p in self.parts)

    def rows(self, sort="own"):
        """[(frame, own, total)], sorted by own or total (then the other,
        then the function's name and place, so that the order is
        deterministic)."""
        merged = {}
        for part in self.parts:
            for frame, (own, total) in part.counts.items():
                mine = merged.setdefault(frame, [0, 0])
                mine[0] += own
                mine[1] += total
        first = 0 if sort == "own" else 1
        rows = [(frame, own, total) for frame, (own, total) in merged.items()]
        rows.sort(key=lambda r: (-(r[1], r[2])[first], -(r[1], r[2])[1 - first],
                                 r[0][2], r[0][0], r[0][1]))
        return rows


class TopView:
    """The header, the table and the keys' help, for a width and height."""

    def __init__(self, pid, version, options, window_seconds):
        self.pid = pid
        self.version = version
        self.rate = options.rate
        self.mode = options.mode
        self.gil = options.gil
        self.idle = options.idle
        self.sort = "own"
        self.window = Window(window_seconds)
        self.note = None    # a line under the header: waiting, the target's exit

    def header(self):
        filters = []
        if self.gil:
            filters.append("GIL holder only")
        if not self.idle and self.mode == "wall":
            filters.append("waiting threads left out")
        what = f"{self.rate:g} Hz {self.mode}" + (f" ({', '.join(filters)})" if filters else "")
        first = (f"plumb top: pid {self.pid}, Python {self.version}, {what}, "
                 f"last {self.window.seconds:g} s")
        parts = self.window.parts
        taken = sum(p.taken for p in parts)
        missed = sum(p.missed for p in parts)
        failed = sum(p.failed for p in parts)
        threads = parts[-1].threads if parts else 0
        second = (f"samples {self.window.samples()} ({taken} rounds, {missed} missed, "
                  f"{failed} failed), threads {threads}, sorted by {self.sort}")
        return [first, second]

    def table(self, short_paths=False):
        samples = self.window.samples()
        lines = ["  OWN%  TOTAL%    OWN s  TOTAL s  FUNCTION (FILE:LINE)"]
        if not samples:
            lines.append("  (no samples yet)" if not self.window.parts else "  (no samples)")
            return lines
        interval = self.window.interval or 0.0
        for (file, line, function), own, total in self.window.rows(self.sort):
            lines.append(f"{100.0 * own / samples:6.1f} {100.0 * total / samples:7.1f} "
                         f"{own * interval:8.2f} {total * interval:8.2f}  "
                         f"{function} ({short_path(file) if short_paths else file}:{line})")
        return lines

    def lines(self, height=None):
        """The view's lines: every row, or as many as fit in height with the
        keys' help on the last line (files then shortened to fit a screen:
        their directory and name)."""
        head = self.header() + ([self.note] if self.note else []) + [""]
        table = self.table(short_paths=height is not None)
        if height is None:
            return head + table
        room = max(height - len(head) - 1, 0)
        body = (head + table[:room])[:max(height - 1, 0)]
        return body + [""] * (height - 1 - len(body)) + [KEYS_HELP]
