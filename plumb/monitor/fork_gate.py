"""No fork while the agent's threads are inside SQLite.

SQLite keeps process-wide mutexes (its allocator's, its file locks' list).
A process that forks while another of its threads holds one hands the
child a mutex nobody will release: the child's first sqlite3.connect()
waits forever (seen: a child forked while the parent's harvest thread
opened its store, both of the child's threads stuck in connect).  So the
agent holds this gate around each of its calls into an SQLite store, and
os.fork() (and multiprocessing's fork start) takes it first, waiting for
the call under way to end: at most FORK_WAIT_S, after which the fork goes
ahead as it would have without plumb.  subprocess does not run these
handlers and is not delayed.  The ClickHouse store is plain sockets, with
no such state: it needs no gate, and a fork never waits on its timeouts."""
import contextlib
import os
import threading

from .store.url import default_store_url, split_url

FORK_WAIT_S = 5.0   # a store call is bounded by its timeout_s (3 s lock wait, 3 s write)


class ForkGate:
    def __init__(self):
        self._lock = threading.Lock()
        self._held_for_fork = False
        os.register_at_fork(before=self._before_fork, after_in_parent=self._after_in_parent,
                            after_in_child=self._after_in_child)

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def _before_fork(self):
        self._held_for_fork = self._lock.acquire(timeout=FORK_WAIT_S)

    def _after_in_parent(self):
        if self._held_for_fork:
            self._held_for_fork = False
            self._lock.release()

    def _after_in_child(self):
        # The threads that could hold it are gone with the fork.
        self._lock = threading.Lock()
        self._held_for_fork = False


GATE = ForkGate()
_NO_GATE = contextlib.nullcontext()


def gate_for(url):
    """What the agent holds around its calls into the store url names."""
    try:
        scheme = split_url(url or default_store_url())[0]
    except Exception:   # a URL refused at start-up: gated, whatever it is
        return GATE
    return GATE if scheme == "sqlite" else _NO_GATE
