"""`plumb sample --pid PID --subprocesses`: a process and its Python
descendants as they come and go (a gunicorn master and its workers, a
multiprocessing pool), each sampled by its own Sampler(pid=...), written as
one profile whose stacks each start at a frame naming their process.

Descendants are found from /proc: each thread's `children` file where the
kernel has it (CONFIG_PROC_CHILDREN), else every process's parent in
/proc/*/stat.  A descendant that is not CPython 3.9-3.13 (a shell, a
compiler) or that cannot be read is tried at three polls (a worker just
forked may not be readable yet), then passed over.  At most
MAX_PROCESSES are followed at once: each is a native sampling thread here."""
import os
import sys

MAX_PROCESSES = 64
MAX_LABEL = 80        # characters of a process's command line in its root frame


def children_of(pid):
    """The pids whose parent is pid (an empty list once it has gone)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except FileNotFoundError:        # a kernel without CONFIG_PROC_CHILDREN
            return _children_by_stat(pid)
        except (OSError, ValueError):
            continue
    return found


def _children_by_stat(pid):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found.append(int(name))
    return found


def family(root, limit=MAX_PROCESSES * 4):
    """root and its descendants, parents first, at most limit of them (a
    fork bomb must not make this unbounded)."""
    seen, queue = [], [root]
    while queue and len(seen) < limit:
        pid = queue.pop(0)
        if pid in seen:
            continue
        seen.append(pid)
        queue += children_of(pid)
    return seen


def process_label(pid):
    """The root frame of a process's stacks: `process PID: COMMAND LINE`, with
    what the collapsed format would read as a separator or a place (';',
    ':', a line's trailing count) taken out."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
        text = " ".join(w.decode("utf-8", "replace") for w in words if w)
    except OSError:
        text = ""
    if not text:
        try:
            with open(f"/proc/{pid}/comm") as f:
                text = f.read().strip()
        except OSError:
            text = "?"
    text = "".join(" " if c in ";:\n\r\t" or not c.isprintable() else c for c in text)
    text = " ".join(text.split())[:MAX_LABEL]
    return f"process {pid} [{text}]"


class Family:
    """The samplers of a process and of its Python descendants.
    make_sampler(pid) returns a started Sampler or raises a refusal;
    announce(text) is told of each process followed or left."""

    REFUSALS = (ProcessLookupError, PermissionError, ValueError, RuntimeError)
    ATTEMPTS = 3            # polls at which a descendant is tried before it is passed over

    def __init__(self, root, make_sampler, announce=None):
        self.root = root
        self.make_sampler = make_sampler
        self.announce = announce or (lambda text: None)
        self.running = {}       # pid -> (label, sampler)
        self.passed = set()     # pids not followed (not Python, unreadable, over the bound)
        self.tries = {}         # pid -> refused attempts so far
        self.ended = []         # (pid, label, sampler) of processes that have gone
        self.refusal = None     # the root's, if it could not be followed

    def poll(self, is_alive):
        """Follows new descendants and lets go of those that have exited."""
        for pid, (label, sampler) in list(self.running.items()):
            if not is_alive(pid):
                sampler.stop()
                del self.running[pid]
                self.ended.append((pid, label, sampler))
                self.announce(f"process {pid} exited")
        for pid in family(self.root):
            if pid in self.running or pid in self.passed:
                continue
            if len(self.running) >= MAX_PROCESSES:
                self.passed.add(pid)
                self.announce(f"process {pid} not followed: {MAX_PROCESSES} are already")
                continue
            label = process_label(pid)
            try:
                sampler = self.make_sampler(pid)
            except self.REFUSALS as exc:
                # A worker just forked may not be readable yet: tried again
                # at the next polls, then passed over.
                tries = self.tries[pid] = self.tries.get(pid, 0) + 1
                if tries >= self.ATTEMPTS or pid == self.root:
                    self.passed.add(pid)
                    self.tries.pop(pid, None)
                if pid == self.root:
                    self.refusal = exc
                continue
            self.running[pid] = (label, sampler)
            self.announce(f"following process {pid}")

    def stop(self):
        for pid, (label, sampler) in list(self.running.items()):
            sampler.stop()
            self.ended.append((pid, label, sampler))
        self.running.clear()

    def followed(self):
        return sorted(self.ended, key=lambda ended: ended[0])   # a reused pid may come twice

    def collapsed(self):
        """Every process's stacks, each under its process's frame."""
        lines = []
        for _, label, sampler in self.followed():
            for line in sampler.collapsed().splitlines():
                if line and not line.startswith("#"):
                    lines.append(f"{label};{line}")
        return "\n".join(lines) + ("\n" if lines else "")


def write_family(family, options):
    """Writes the family's profile to options.outfile in options.format
    (checked by the command line; through the collapsed stacks, which every
    format plumb writes can be made from), or prints its call tree."""
    from . import convert

    text = family.collapsed()
    if not text:
        print("plumb: no samples were taken; no profile written", file=sys.stderr)
        return
    if not options.outfile:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="plumb-family-") as tmp:
            folded, tree = os.path.join(tmp, "all.folded"), os.path.join(tmp, "all.txt")
            with open(folded, "w") as f:
                f.write(text)
            convert.convert(folded, tree, "tree", "collapsed", options.rate)
            with open(tree) as f:
                sys.stdout.write(f.read())
        return
    fmt = options.format
    if fmt == "collapsed":
        with open(options.outfile, "w") as f:
            f.write(text)
        return
    folded = f"{options.outfile}.folded{os.getpid()}"
    try:
        with open(folded, "w") as f:
            f.write(text)
        convert.convert(folded, options.outfile, fmt, "collapsed", options.rate)
    finally:
        try:
            os.unlink(folded)
        except OSError:
            pass
