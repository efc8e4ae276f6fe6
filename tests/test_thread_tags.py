"""Thread tags and harvests (issue 13's sampler side): a thread says what it
is doing with plumb._plumb.set_thread_tag (a request's id), every sample is
counted under its thread's tag at that moment, and Sampler.harvest() takes
what was sampled so far out of a running sampler, which goes on afresh.

Nothing here asserts how many rounds the sampler took: on a loaded machine
it may get few.  What is judged is where the samples went (under which tag,
in which harvest) and the sampler's own bookkeeping, which holds exactly
whatever the timing; a check that needs samples waits for them (bounded)
and skips, saying so, if the machine gave the sampler none."""
import os
import signal
import sys
import threading
import time
import warnings

import pytest

import conftest  # noqa: F401  (puts the plumb under test first on sys.path)
from plumb import _plumb
from plumb.sampler import Sampler

PLUMB_DIR = os.path.dirname(os.path.abspath(_plumb.__file__))
WAIT = 10.0          # seconds to wait for samples before giving up (skip)
ENOUGH = 20          # samples of a function before it is judged


@pytest.fixture(autouse=True)
def untagged():
    """Every test starts and ends with the main thread untagged."""
    _plumb.set_thread_tag(0)
    yield
    _plumb.set_thread_tag(0)


def test_set_returns_the_previous_tag_and_thread_tag_reads_it():
    assert _plumb.thread_tag() == 0
    assert _plumb.set_thread_tag(7) == 0
    assert _plumb.thread_tag() == 7
    assert _plumb.set_thread_tag(2**64 - 1) == 7
    assert _plumb.thread_tag() == 2**64 - 1
    assert _plumb.set_thread_tag(0) == 2**64 - 1
    assert _plumb.thread_tag() == 0


def test_threads_do_not_see_each_others_tags():
    _plumb.set_thread_tag(1000)
    seen = {}
    go = threading.Barrier(4)

    def worker(i):
        seen[i, "start"] = _plumb.thread_tag()
        _plumb.set_thread_tag(i + 1)
        go.wait()                    # every thread has set its tag
        seen[i, "after"] = _plumb.thread_tag()
        go.wait()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    go.wait()
    go.wait()
    for t in threads:
        t.join()
    assert _plumb.thread_tag() == 1000
    for i in range(3):
        assert seen[i, "start"] == 0
        assert seen[i, "after"] == i + 1


@pytest.mark.parametrize("bad, error", [(-1, OverflowError), (2**64, OverflowError),
                                        (-(2**70), OverflowError), ("1", TypeError),
                                        (1.0, TypeError), (None, TypeError)])
def test_a_tag_is_an_unsigned_64_bit_int(bad, error):
    _plumb.set_thread_tag(5)
    with pytest.raises(error, match="thread tag"):
        _plumb.set_thread_tag(bad)
    assert _plumb.thread_tag() == 5      # a refused tag changes nothing


def spins_while_tagged(stop, ready):
    ready.set()
    while not stop.is_set():
        pass


def spins_untagged(stop, ready):
    ready.set()
    while not stop.is_set():
        pass


def frame_names(stack):
    return [name for _file, _line, name in stack]


def samples_of(harvest, function):
    """{tag: samples} of the stacks holding function."""
    by_tag = {}
    for tag, stack, count in harvest.stacks():
        if function in frame_names(stack):
            by_tag[tag] = by_tag.get(tag, 0) + count
    return by_tag


def wait_for_samples(sampler, functions, harvests):
    """Harvests until each function has ENOUGH samples over the harvests
    (appended to harvests), or skips after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        time.sleep(0.05)
        harvests.append(sampler.harvest())
        counts = {f: sum(sum(samples_of(h, f).values()) for h in harvests) for f in functions}
        if all(n >= ENOUGH for n in counts.values()):
            return
        if time.monotonic() > deadline:
            pytest.skip("the sampler got too few rounds on this machine: %r" % counts)


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_samples_are_under_their_threads_tag(mode):
    stop, tagged_ready, untagged_ready = threading.Event(), threading.Event(), threading.Event()
    tag = 0xABCDEF0123456789

    def tagged():
        # The tag is set before the function is entered and cleared only
        # after the harvests: every sample in it is under the tag.
        _plumb.set_thread_tag(tag)
        spins_while_tagged(stop, tagged_ready)
        _plumb.set_thread_tag(0)

    threads = [threading.Thread(target=tagged),
               threading.Thread(target=spins_untagged, args=(stop, untagged_ready))]
    sampler = Sampler(rate=1000, mode=mode)
    sampler.start()
    harvests = []
    try:
        for t in threads:
            t.start()
        tagged_ready.wait()
        untagged_ready.wait()
        wait_for_samples(sampler, ["spins_while_tagged", "spins_untagged"], harvests)
    finally:
        stop.set()
        for t in threads:
            t.join()
        sampler.stop()
    tagged_counts, untagged_counts = {}, {}
    for h in harvests:
        for k, v in samples_of(h, "spins_while_tagged").items():
            tagged_counts[k] = tagged_counts.get(k, 0) + v
        for k, v in samples_of(h, "spins_untagged").items():
            untagged_counts[k] = untagged_counts.get(k, 0) + v
        assert h.summary["tag_overflow"] == 0
    assert list(tagged_counts) == [tag], tagged_counts
    assert list(untagged_counts) == [0], untagged_counts


def harvests_of_a_tagged_spin(tag, sampler):
    """The harvests of sampler while a thread tagged tag spins in
    spins_while_tagged, until it has ENOUGH samples."""
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=lambda: (_plumb.set_thread_tag(tag), spins_while_tagged(stop, ready)))
    sampler.start()
    harvests = []
    try:
        t.start()
        ready.wait()
        wait_for_samples(sampler, ["spins_while_tagged"], harvests)
    finally:
        stop.set()
        t.join()
        sampler.stop()
    return harvests


def test_a_harvest_rebuilds_stacks_from_frames_and_nodes():
    harvests = harvests_of_a_tagged_spin(31, Sampler(rate=1000))
    for h in harvests:
        frames, nodes, tagged, summary = h
        assert all(isinstance(f, tuple) and len(f) == 3 for f in frames)
        # Parents come before their children; every index is in range.
        for i, (parent, func) in enumerate(nodes):
            assert -1 <= parent < i and 0 <= func < len(frames)
        # No frame of plumb's own code, and no frame no node uses.
        assert not [f for f in frames if f[0].startswith(PLUMB_DIR + os.sep)]
        assert sorted({func for _parent, func in nodes}) == list(range(len(frames)))
        # The tagged rows account for every sample once.
        assert len({(tag, leaf) for tag, leaf, _n in tagged}) == len(tagged)
        for _tag, leaf, count in tagged:
            assert 0 <= leaf < len(nodes) and count > 0
    # By hand, from the plain data: the tagged thread's leaf's chain.
    found = 0
    for h in harvests:
        for tag, leaf, count in h.tagged:
            path, node = [], leaf
            while node != -1:
                parent, func = h.nodes[node]
                path.append(h.frames[func][2])
                node = parent
            if "spins_while_tagged" in path:
                # innermost first: the function, or Event.is_set under it
                assert tag == 31 and "spins_while_tagged" in path[:2], path
                found += count
    assert found >= ENOUGH


def phase_worker(phase, stop, ready):
    while not stop.is_set():
        _plumb.set_thread_tag(phase[0])
        ready.set()


def worker_samples(harvest):
    return sum(samples_of(harvest, "phase_worker").values())


def test_harvests_of_a_running_sampler_split_its_samples():
    # The worker runs through the whole sampling and tags itself with the
    # phase the test is in, which changes only after each harvest returns:
    # a harvest holds no sample of a later phase.
    phase, stop, ready = [1], threading.Event(), threading.Event()
    worker = threading.Thread(target=phase_worker, args=(phase, stop, ready))
    worker.start()
    ready.wait()
    sampler = Sampler(rate=1000)
    harvests = []
    try:
        sampler.start()
        for next_phase in (2, 3):
            deadline = time.monotonic() + WAIT
            while True:
                time.sleep(0.05)
                got = sampler.harvest()
                harvests.append((phase[0], got))
                if worker_samples(got) >= ENOUGH:
                    break
                if time.monotonic() > deadline:
                    pytest.skip("the sampler got too few rounds on this machine")
            phase[0] = next_phase
        time.sleep(0.05)
        sampler.stop()
        assert not sampler.running
        after_stop = sampler.summary()
        stacks_after_stop = sampler.stacks()
        final = sampler.harvest()
        harvests.append((3, final))
    finally:
        stop.set()
        worker.join()
        sampler.stop()
    for during, h in harvests:
        tags = samples_of(h, "phase_worker")
        assert not [t for t in tags if t > during], (during, tags)
    # Consecutive harvests cover consecutive intervals.
    for (_, a), (_, b) in zip(harvests, harvests[1:]):
        assert b.summary["started_ns"] == a.summary["ended_ns"]
    # No round or sample lost or counted twice: the harvests add up to what
    # the sampler counted since it was made (one harvest at the end would
    # have held), and none holds more of the worker's samples than the
    # rounds it covers (taken, plus missed ones a late round stands for).
    # (Not as many: the walker sees a thread with no readable frame, for a
    # moment, as one without a stack.)
    total = sampler.summary()
    assert sum(h.summary["taken"] for _, h in harvests) == total["total_taken"]
    assert sum(h.summary["missed"] for _, h in harvests) == total["total_missed"]
    assert sum(n for _, h in harvests for _t, _l, n in h.tagged) == total["total_samples"]
    for _, h in harvests:
        s = h.summary
        assert worker_samples(h) <= s["taken"] + s["missed"], s
    # What stop() reports after the last harvest is what a harvest then takes.
    assert final.summary["taken"] == after_stop["taken"]
    assert final.summary["missed"] == after_stop["missed"]
    assert sum(n for *_rest, n in stacks_after_stop) == sum(n for _t, _l, n in final.tagged)
    s = final.summary
    assert worker_samples(final) <= s["taken"] + s["missed"]
    # ... and leaves nothing behind.
    assert sampler.stacks() == [] and sampler.summary()["taken"] == 0
    empty = sampler.harvest()
    assert empty.nodes == [] and empty.tagged == [] and empty.summary["taken"] == 0


def test_a_harvest_of_a_stopped_sampler_and_outputs_after_it():
    sampler = Sampler(rate=1000)
    h = sampler.harvest()                     # never started: empty
    assert h.frames == [] and h.nodes == [] and h.tagged == []
    assert h.summary["started_ns"] == h.summary["ended_ns"]
    sampler.start()
    time.sleep(0.05)
    sampler.harvest()
    sampler.stop()
    # dump/stacks/summary cover only what came after the harvest.
    taken = sampler.summary()["taken"]
    total = sum(n for *_rest, n in sampler.stacks())
    h = sampler.harvest()
    assert h.summary["taken"] == taken
    assert sum(n for _t, _l, n in h.tagged) == total


def test_tags_off_counts_everything_under_0():
    harvests = harvests_of_a_tagged_spin(9, Sampler(rate=1000, tags=False))
    assert {tag for h in harvests for tag, _l, _n in h.tagged} == {0}


def test_ignore_thread_leaves_a_thread_out():
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=spins_untagged, args=(stop, ready))
    sampler = Sampler(rate=1000)
    t.start()
    ready.wait()
    sampler.ignore_thread(t.ident)
    sampler.start()
    harvests = []
    try:
        # The main thread's stack holds this test function all along.
        wait_for_samples(sampler, [sys._getframe().f_code.co_name], harvests)
    finally:
        stop.set()
        t.join()
        sampler.stop()
    assert not [h for h in harvests if samples_of(h, "spins_untagged")]
    sampler.ignore_thread(None)


def child_samples_itself(inherited, parent_tag, parent_thread_tag):
    """In a forked child: 0 if all is well, else a code saying what failed."""
    if _plumb.thread_tag() != parent_tag:
        return 3                          # the forking thread keeps its tag
    if inherited.running:
        return 4                          # the parent's sampler thread is not here
    if inherited.stacks():
        return 5                          # its samples are the parent's
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=spins_untagged, args=(stop, ready))
    own = Sampler(rate=1000)
    own.start()
    t.start()
    ready.wait()
    inherited.start()                     # can be started again
    deadline = time.monotonic() + WAIT
    got = {}
    while time.monotonic() < deadline and sum(got.values()) < ENOUGH:
        time.sleep(0.05)
        for tag, n in samples_of(own.harvest(), "spins_untagged").items():
            got[tag] = got.get(tag, 0) + n
    stop.set()
    t.join()
    own.stop()
    inherited.stop()
    # A new thread may have a dead parent thread's id: never its tag.
    if parent_thread_tag in got:
        return 6
    return 0


def test_a_sampler_survives_fork():
    stop, ready = threading.Event(), threading.Event()
    parent_thread_tag = 0x5151
    t = threading.Thread(target=lambda: (_plumb.set_thread_tag(parent_thread_tag),
                                         spins_while_tagged(stop, ready)))
    t.start()
    ready.wait()
    sampler = Sampler(rate=1000)
    sampler.start()
    _plumb.set_thread_tag(0x77)
    try:
        time.sleep(0.02)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads
            pid = os.fork()
        if pid == 0:
            code = 2
            try:
                code = child_samples_itself(sampler, 0x77, parent_thread_tag)
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.02)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        # The parent's sampler runs on.
        assert sampler.running
        harvests = []
        wait_for_samples(sampler, ["spins_while_tagged"], harvests)
        assert {tag for h in harvests for tag in samples_of(h, "spins_while_tagged")} \
            == {parent_thread_tag}
    finally:
        stop.set()
        t.join()
        sampler.stop()


def test_a_harvest_after_stop_keeps_to_threads_false():
    # threads=False keeps the starting thread's samples at stop(); the
    # harvest after it holds no other thread's, tagged or not.
    sampler = Sampler(rate=1000, threads=False)
    stop, ready = threading.Event(), threading.Event()
    t = threading.Thread(target=lambda: (_plumb.set_thread_tag(12), spins_while_tagged(stop, ready)))
    t.start()
    ready.wait()
    try:
        sampler.start()
        time.sleep(0.1)
        sampler.stop()
    finally:
        stop.set()
        t.join()
    h = sampler.harvest()
    assert not samples_of(h, "spins_while_tagged")
    assert {tag for tag, _l, _n in h.tagged} <= {0}
