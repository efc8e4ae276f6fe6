"""`plumb sample` and plumb.Sampler: the program runs as under python, every
thread is sampled, each output format is read by its own reader, and the
profile survives however the program ends."""
import json
import pstats
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import plumb
from conftest import plumb as plumb_cli, python

WORK = """
    import sys, threading, time
    def spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    def worker():
        spin(0.3)
    def main():
        t = threading.Thread(target=worker, name="the-worker")
        t.start()
        spin(0.3)
        t.join()
    main()
"""


def folded_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        stack, _, count = line.rpartition(" ")
        parsed.append((stack.split(";"), int(count)))
    return parsed


def frame_names(frames):
    return [f.split(" (")[0] for f in frames]


def test_collapsed_output_has_both_threads(script, tmp_path):
    prog = script(WORK)
    out = tmp_path / "out.folded"
    got = plumb_cli("sample", "--rate", "500", "-o", str(out), prog)
    assert got.returncode == 0, got.stderr
    stacks = folded_lines(out.read_text())
    assert stacks
    leaves = {}
    for frames, count in stacks:
        assert all(re.fullmatch(r".+ \(.+:\d+\)", f) for f in frames), frames
        leaves.setdefault(tuple(frame_names(frames)), 0)
        leaves[tuple(frame_names(frames))] += count
    assert any(names[-2:] == ("worker", "spin") for names in leaves), leaves
    assert any(names[-2:] == ("main", "spin") for names in leaves), leaves
    # plumb's own frames are not in the program's stacks.
    assert not any("plumb/" in f for frames, _ in stacks for f in frames if "runner" in f)
    assert not any(n in ("run_profiled", "execute") for names in leaves for n in names)


def test_summary_on_stderr(script, tmp_path):
    prog = script(WORK)
    got = plumb_cli("sample", "--rate", "200", "-o", str(tmp_path / "o.folded"), prog)
    m = re.search(r"plumb: (\d+) samples taken at 200 Hz \(wall time\), (\d+) missed, (\d+) failed",
                  got.stderr)
    assert m, got.stderr
    # How many rounds a loaded host lets the sampler take is not this test's
    # business (benchmarks/sampling.py measures it); that it took some is.
    assert int(m.group(1)) > 0


def test_speedscope_output(script, tmp_path):
    prog = script(WORK)
    out = tmp_path / "out.speedscope.json"
    assert plumb_cli("sample", "-o", str(out), prog).returncode == 0
    doc = json.loads(out.read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    names = {p["name"] for p in doc["profiles"]}
    assert any("the-worker" in n for n in names), names
    frames = doc["shared"]["frames"]
    for p in doc["profiles"]:
        assert p["type"] == "sampled" and len(p["samples"]) == len(p["weights"])
        for sample in p["samples"]:
            assert all(0 <= i < len(frames) for i in sample)


def test_pstats_output_reads_in_pstats(script, tmp_path):
    prog = script(WORK)
    out = tmp_path / "out.prof"
    assert plumb_cli("sample", "-o", str(out), prog).returncode == 0
    stats = pstats.Stats(str(out))
    spin = [k for k in stats.stats if k[2] == "spin"]
    assert spin
    cc, nc, tt, ct, callers = stats.stats[spin[0]]
    assert (cc, nc) == (0, 0)          # a sampler invents no call counts
    assert 0 < tt <= ct
    assert {k[2] for k in callers} == {"main", "worker"}


@pytest.mark.skipif(shutil.which("callgrind_annotate") is None, reason="needs valgrind")
def test_callgrind_output_reads_in_callgrind_annotate(script, tmp_path):
    prog = script(WORK)
    out = tmp_path / "out.callgrind"
    assert plumb_cli("sample", "-o", str(out), prog).returncode == 0
    text = subprocess.run(["callgrind_annotate", "--auto=no", str(out)], capture_output=True,
                          text=True, check=True, cwd="/proc").stdout
    assert "PROGRAM TOTALS" in text and ":spin:" in text


def test_tree_printed_without_output(script):
    prog = script(WORK)
    got = plumb_cli("sample", prog)
    assert got.returncode == 0, got.stderr
    assert "the-worker" in got.stdout and "spin" in got.stdout
    assert "%" in got.stdout


def test_exit_status_and_exceptions(script, tmp_path):
    prog = script("""
        import sys, time
        def spin():
            end = time.perf_counter() + 0.1
            while time.perf_counter() < end:
                pass
        spin()
        if sys.argv[1] == "exit":
            sys.exit(3)
        raise KeyError("x")
    """)
    out = tmp_path / "o.folded"

    def written(got):
        """The profile is written; what it holds is the rounds the sampler
        took (a loaded host may give it none in 0.1 s: the summary says)."""
        taken = int(re.search(r"plumb: (\d+) samples taken", got.stderr).group(1))
        return out.exists() and (taken == 0 or "spin" in out.read_text())

    got = plumb_cli("sample", "-o", str(out), prog, "exit")
    assert got.returncode == 3 and written(got), got.stderr
    expected = python(prog, "raise")
    out.unlink()
    got = plumb_cli("sample", "-o", str(out), prog, "raise")
    assert got.returncode == expected.returncode == 1
    assert expected.stderr.strip() in got.stderr
    assert written(got), got.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_still_write_the_samples(script, tmp_path, sig):
    prog = script(f"""
        import os, time
        def spin():
            end = time.perf_counter() + 0.1
            while time.perf_counter() < end:
                pass
        spin()
        os.kill(os.getpid(), {int(sig)})
        time.sleep(5)
    """)
    out = tmp_path / "o.folded"
    got = plumb_cli("sample", "-o", str(out), prog)
    assert got.returncode == -sig
    assert "spin" in out.read_text()


def test_cpu_mode_leaves_out_sleeping(script, tmp_path):
    prog = script("""
        import time
        def nap():
            time.sleep(0.3)
        def spin():
            # 0.3 s of this thread's CPU time, however long a loaded host
            # takes to give it that much.
            end = time.thread_time() + 0.3
            while time.thread_time() < end:
                pass
        nap()
        spin()
    """)
    out = tmp_path / "o.folded"
    # Wall mode sees both, CPU mode spin only.  How many of each function's
    # 300 samples (0.3 s at 1 kHz) the sampler takes depends on the host (42
    # of spin's, under ASan with both CPUs busy), so the counts asked are
    # only that a function is there.
    for mode in ("wall", "cpu"):
        assert plumb_cli("sample", "--mode", mode, "-o", str(out), prog).returncode == 0
        counts = {}
        for frames, n in folded_lines(out.read_text()):
            leaf = frame_names(frames)[-1]
            counts[leaf] = counts.get(leaf, 0) + n
        if mode == "wall":
            assert counts.get("nap", 0) >= 20 and counts.get("spin", 0) >= 20, counts
        else:
            assert counts.get("nap", 0) <= 0.05 * sum(counts.values()), counts
            assert counts.get("spin", 0) >= 20, counts


def test_duration_stops_sampling_not_the_program(script, tmp_path):
    prog = script("""
        import time
        def spin(s):
            end = time.perf_counter() + s
            while time.perf_counter() < end:
                pass
        spin(0.6)
        print("done")
    """)
    out = tmp_path / "o.folded"
    got = plumb_cli("sample", "--rate", "1000", "--duration", "0.1", "-o", str(out), prog)
    assert got.returncode == 0 and got.stdout == "done\n"
    total = sum(n for _, n in folded_lines(out.read_text()))
    assert 0 < total <= 150


@pytest.mark.parametrize("args", [
    ["sample"], ["sample", "--rate", "0", "x.py"], ["sample", "--rate", "abc", "x.py"],
    ["sample", "--mode", "gpu", "x.py"], ["sample", "--duration", "-1", "x.py"],
    ["sample", "--format", "xml", "x.py"], ["sample", "missing_script.py"],
])
def test_usage_errors(args):
    got = plumb_cli(*args)
    assert got.returncode == 2
    assert got.stderr.startswith("plumb: ") and len(got.stderr.strip().splitlines()) == 1


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_sampler_api_context_manager_and_stacks():
    with plumb.Sampler(rate=1000) as s:
        spin(0.2)
    stacks = s.stacks()
    assert stacks
    me = threading.get_ident()
    mine = [(frames, n) for tid, name, frames, n in stacks if tid == me]
    assert any(frames[-1][2] == "spin" for frames, _ in mine)
    assert all(name == "MainThread" for tid, name, _, _ in stacks if tid == me)
    summary = s.summary()
    assert summary["taken"] > 0 and summary["mode"] == "wall"
    assert "spin" in s.collapsed() and "spin" in s.tree()


def test_sampler_decorator_and_dump(tmp_path):
    sampler = plumb.Sampler(rate=500)

    @sampler
    def work():
        spin(0.1)
        return 7

    assert work() == 7 and not sampler.running
    sampler.dump(tmp_path / "s.folded")
    assert "spin" in (tmp_path / "s.folded").read_text()
    with pytest.raises(ValueError):
        sampler.dump(tmp_path / "s.x", format="xml")


def test_sampler_rejects_bad_arguments():
    with pytest.raises(ValueError):
        plumb.Sampler(rate=0)
    with pytest.raises(ValueError):
        plumb.Sampler(mode="gpu")


def test_threads_starting_and_ending_during_the_run_are_named():
    names = set()
    with plumb.Sampler(rate=1000) as s:
        threads = [threading.Thread(target=spin, args=(0.1,), name=f"short-{i}") for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for tid, name, frames, n in s.stacks():
        names.add(name)
    assert {"short-0", "short-1", "short-2"} <= names, names


def test_memory_is_bounded_by_distinct_stacks():
    """Identical stacks are stored once: sampling the same repetitive work
    for four times as many rounds adds samples, not nodes.  The work runs
    until the sampler has taken its rounds (however fast the host lets it),
    within a minute that no working sampler needs."""
    def repetitive(sampler, rounds):
        give_up = time.perf_counter() + 60
        while sampler.summary()["taken"] < rounds:
            assert time.perf_counter() < give_up, f"fewer than {rounds} rounds in 60 s"
            sorted(range(50))
            spin(0.0005)

    sizes = []
    for rounds in (100, 400):
        with plumb.Sampler(rate=5000) as s:
            repetitive(s, rounds)
        summary = s.summary()
        sizes.append((summary["nodes"], summary["taken"]))
    (short_nodes, short_taken), (long_nodes, long_taken) = sizes
    assert long_taken >= 4 * 100 and short_taken >= 100
    assert long_nodes <= short_nodes + 3, sizes


def wait_for_rounds(sampler, more):
    """Until the running sampler has taken `more` rounds beyond now (however
    slowly the host lets it), within a minute no working sampler needs."""
    target = sampler.summary()["taken"] + more
    give_up = time.perf_counter() + 60
    while sampler.summary()["taken"] < target:
        assert time.perf_counter() < give_up, f"fewer than {more} rounds in 60 s"
        time.sleep(0.005)


def parked_in_first(release, parked):
    parked.set()
    release.wait()


def parked_in_second(release, parked):
    parked.set()
    release.wait()


def test_a_thread_that_has_not_run_is_counted_again_unread_and_read_again_once_it_runs():
    """A blocked thread's stack is read once, then counted again while its
    CPU time stands still (summary's "reused"); once the thread has run it
    is read afresh, so a move from one function to another is seen."""
    first, second = threading.Event(), threading.Event()
    in_first, in_second = threading.Event(), threading.Event()

    def worker():
        parked_in_first(first, in_first)
        parked_in_second(second, in_second)

    thread = threading.Thread(target=worker, name="parked")
    with plumb.Sampler(rate=200) as s:
        thread.start()
        in_first.wait()
        wait_for_rounds(s, 5)
        reused_while_parked = s.summary()["reused"]
        first.set()
        in_second.wait()
        wait_for_rounds(s, 5)
        second.set()
        thread.join()
    assert reused_while_parked >= 3, s.summary()
    seen = {frame[2] for tid, name, frames, n in s.stacks() if name == "parked" for frame in frames}
    assert {"parked_in_first", "parked_in_second"} <= seen, seen


def test_cpu_mode_reads_no_stack_of_a_thread_that_is_not_running():
    """In CPU mode a thread that earned no sample this round is left out
    before its frames are read: a parked thread costs no reads, and its
    function never appears."""
    release, parked = threading.Event(), threading.Event()
    thread = threading.Thread(target=parked_in_first, args=(release, parked), name="parked")
    thread.start()
    parked.wait()
    try:
        with plumb.Sampler(rate=500, mode="cpu") as s:
            wait_for_rounds(s, 20)
    finally:
        release.set()
        thread.join()
    assert all(name != "parked" for tid, name, frames, n in s.stacks())
    assert "parked_in_first" not in s.collapsed()
