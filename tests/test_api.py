"""plumb.Profile as a drop-in for cProfile.Profile, plumb.run/runctx, and
the @plumb.profile decorator, on the real extension."""
import io
import marshal
import pstats
import sys
import threading

import pytest

import plumb


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def key_of(stats, name):
    (key,) = [k for k in stats if k[2] == name]
    return key


def test_enable_disable_and_stats():
    prof = plumb.Profile()
    prof.enable()
    fib(10)
    [].append(1)
    prof.disable()
    prof.create_stats()
    f = key_of(prof.stats, "fib")
    cc, nc, tt, ct, callers = prof.stats[f]
    assert (cc, nc) == (1, 177)
    assert ct >= tt > 0
    # fib -> fib: 176 calls; 2 of them outermost on that edge (fib(10) calls
    # fib(9), then fib(8)), as cProfile counts them.
    assert callers[f][:2] == (176, 2)
    assert ("~", 0, "<method 'append' of 'list' objects>") in prof.stats


def test_caller_values_match_cprofile_layout():
    import cProfile

    def run(prof):
        prof.enable()
        fib(8)
        prof.disable()
        prof.create_stats()
        f = key_of(prof.stats, "fib")
        return {k: v[:2] for k, v in prof.stats[f][4].items()}, prof.stats[f][:2]

    assert run(plumb.Profile()) == run(cProfile.Profile())


def test_context_manager_runcall_runctx_run():
    with plumb.Profile() as prof:
        fib(5)
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "fib")][1] == 15

    prof = plumb.Profile()
    assert prof.runcall(fib, 6) == 8
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "fib")][1] == 25

    prof = plumb.Profile()
    assert prof.runctx("fib(4)", {"fib": fib}, {}) is prof
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "fib")][1] == 9


def test_pstats_reads_the_profile_object_and_file(tmp_path):
    prof = plumb.Profile()
    prof.runcall(fib, 12)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats()
    assert "fib" in out.getvalue()
    path = tmp_path / "x.prof"
    prof.dump_stats(str(path))
    prof.create_stats()        # pstats.Stats(prof) took prof.stats and left {}
    with open(path, "rb") as f:
        assert marshal.load(f) == prof.stats
    stats = pstats.Stats(str(path))
    assert stats.total_calls == sum(v[1] for v in prof.stats.values())


def test_print_stats_sorts_like_cprofile(capsys):
    prof = plumb.Profile()
    prof.runcall(fib, 10)
    prof.print_stats("tottime")
    out = capsys.readouterr().out
    assert "Ordered by: internal time" in out and "177/1" in out


def test_dump_formats(tmp_path):
    prof = plumb.Profile()
    prof.runcall(fib, 8)
    prof.dump(tmp_path / "a.callgrind")
    prof.dump(tmp_path / "b.prof")
    prof.dump(tmp_path / "c.prof", format="callgrind")
    assert (tmp_path / "a.callgrind").read_text().startswith("# callgrind format")
    assert (tmp_path / "c.prof").read_text().startswith("# callgrind format")
    pstats.Stats(str(tmp_path / "b.prof"))
    with pytest.raises(ValueError):
        prof.dump(tmp_path / "d", format="xml")
    with pytest.raises(OSError):
        prof.dump(tmp_path / "missing" / "x.prof")


def test_builtins_false_and_subcalls_false():
    prof = plumb.Profile(builtins=False, subcalls=False)
    prof.enable()
    len([1])
    fib(3)
    prof.disable()
    prof.create_stats()
    assert not [k for k in prof.stats if k[0] == "~"]
    assert all(v[4] == {} for v in prof.stats.values())


def test_external_timer_in_seconds_and_units():
    ticks = iter(range(0, 10**9, 10))
    prof = plumb.Profile(timer=lambda: next(ticks), timeunit=0.001)
    prof.runcall(fib, 3)
    prof.create_stats()
    f = prof.stats[key_of(prof.stats, "fib")]
    # Every clock reading advances 10 units of 1 ms: times are whole 10 ms steps.
    assert f[3] > 0 and abs(f[3] / 0.01 - round(f[3] / 0.01)) < 1e-9

    clock = iter(x * 0.5 for x in range(10**6))
    prof = plumb.Profile(timer=lambda: next(clock))
    prof.runcall(fib, 2)
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "fib")][3] % 0.5 == 0


def test_a_failing_timer_never_reaches_the_program():
    seen = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(u.exc_type)
    try:
        prof = plumb.Profile(timer=lambda: 1 / 0)
        assert prof.runcall(fib, 5) == 5
    finally:
        sys.unraisablehook = old
    assert ZeroDivisionError in seen


def test_a_python_timer_without_builtins():
    # On 3.9-3.11 builtins=False takes events from a PEP 523 evaluator,
    # which sees the timer's own frames too, and frames that end by raising
    # with their exception still set: neither may reach the timer's caller.
    ticks = [0]

    def timer():
        ticks[0] += 1
        return float(ticks[0])

    def boom():
        raise ValueError("boom")

    def caught():
        try:
            boom()
        except ValueError:
            return fib(3)

    prof = plumb.Profile(timer=timer, builtins=False)
    assert prof.runcall(caught) == 2
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "boom")][1] == 1
    assert prof.stats[key_of(prof.stats, "fib")][1] == 5
    assert not [k for k in prof.stats if k[2] == "timer"]
    assert ticks[0] > 0


def test_clear_and_reuse():
    prof = plumb.Profile()
    prof.runcall(fib, 5)
    prof.clear()
    prof.runcall(fib, 3)
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "fib")][1] == 5


def test_second_profiler_is_refused_or_takes_over_cleanly():
    outer = plumb.Profile()
    outer.enable()
    try:
        inner = plumb.Profile()
        if sys.version_info >= (3, 12):
            with pytest.raises(ValueError, match="already active"):
                inner.enable()
        else:
            inner.enable()   # the legacy hook: the newest profiler wins, as with cProfile
            inner.disable()
    finally:
        outer.disable()


def test_threads_have_their_own_stacks():
    barrier = threading.Barrier(2)

    def both_inside():
        barrier.wait()       # both threads are inside this function at once
        fib(6)
        barrier.wait()

    prof = plumb.Profile()
    prof.enable()
    t = threading.Thread(target=both_inside)
    t.start()
    both_inside()
    t.join()
    prof.disable()
    prof.create_stats()
    cc, nc = prof.stats[key_of(prof.stats, "both_inside")][:2]
    assert (cc, nc) == (2, 2)      # not recursion: each thread called it once
    cc, nc = prof.stats[key_of(prof.stats, "fib")][:2]
    assert (cc, nc) == (2, 50)


def test_run_and_runctx_module_functions(tmp_path, capsys):
    plumb.runctx("fib(7)", {"fib": fib}, {}, sort="calls")
    assert "Ordered by: call count" in capsys.readouterr().out
    out = tmp_path / "r.prof"
    plumb.runctx("fib(7)", {"fib": fib}, {}, filename=str(out))
    assert pstats.Stats(str(out)).total_calls > 0


def test_decorator_prints_each_call(capsys):
    @plumb.profile
    def critical(n):
        return fib(n)

    assert critical(8) == 21
    assert critical(5) == 5
    out = capsys.readouterr().out
    assert out.count("Statistics for: test_api.test_decorator_prints_each_call.<locals>.critical") == 2
    assert "67/1" in out and "15/1" in out


def test_decorator_with_options_accumulates_into_output(tmp_path):
    out = tmp_path / "crit.prof"

    @plumb.profile(output=str(out))
    def critical(n):
        return fib(n)

    critical(4)
    critical(4)
    stats = pstats.Stats(str(out)).stats
    assert stats[key_of(stats, "fib")][1] == 18


def test_decorator_refuses_table_options_with_output(tmp_path):
    # sort and limit shape a printed table; with output= nothing is printed.
    with pytest.raises(ValueError, match="output="):
        plumb.profile(sort="tottime", limit=5, output=str(tmp_path / "x.prof"))


def test_decorator_table_holds_only_the_program(capsys):
    @plumb.profile(limit=None)
    def rec(n):
        return rec(n - 1) if n else 0

    rec(3)
    out = capsys.readouterr().out
    assert "4/1" in out
    assert "enabled_profilers" not in out and "get_tool" not in out and "acquire" not in out


def test_decorator_recursion_and_exceptions(capsys):
    @plumb.profile(limit=3)
    def rec(n):
        if n == 0:
            raise KeyError("bottom")
        return rec(n - 1)

    with pytest.raises(KeyError):
        rec(3)
    out = capsys.readouterr().out
    assert out.count("Statistics for:") == 1 and "4/1" in out


def test_decorator_inside_a_running_profiler_passes_through(capsys):
    @plumb.profile
    def critical():
        return fib(4)

    with plumb.Profile() as outer:
        critical()
    outer.create_stats()
    assert "Statistics for" not in capsys.readouterr().out
    assert outer.stats[key_of(outer.stats, "critical")][1] == 1


def test_decorator_on_coroutine_function(capsys):
    import asyncio

    @plumb.profile
    async def handler():
        await asyncio.sleep(0)
        return fib(5)

    assert asyncio.run(handler()) == 5
    assert "Statistics for:" in capsys.readouterr().out


def test_names_of_c_functions_match_cprofile():
    import cProfile

    def calls():
        d = {}
        d.get(1)
        "a,b".split(",")
        sorted([3, 1])
        isinstance(1, int)
        f = [].append
        f(2)
        dict.fromkeys([1])

    def c_names(prof):
        prof.enable()
        calls()
        prof.disable()
        prof.create_stats()
        return sorted(k[2] for k in prof.stats if k[0] == "~" and "disable" not in k[2])

    assert c_names(plumb.Profile()) == c_names(cProfile.Profile())


def test_event_source_follows_version_and_builtins():
    def source(**kw):
        prof = plumb.Profile(**kw)
        prof.enable()
        try:
            return prof.event_source
        finally:
            prof.disable()

    if sys.version_info >= (3, 12):
        assert source() == source(builtins=False) == "sys.monitoring"
    else:
        assert source() == "PyEval_SetProfile"
        assert source(builtins=False) == "PEP 523 frame evaluation"


def test_generators_made_but_never_started_are_not_calls():
    def gen():
        yield 1

    prof = plumb.Profile(builtins=False)
    prof.enable()
    made = [gen() for _ in range(3)]
    next(made[0])
    prof.disable()
    prof.create_stats()
    assert prof.stats[key_of(prof.stats, "gen")][:2] == (1, 1)


def test_own_times_add_up_to_the_wall_time():
    import time

    def spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    def work():
        spin(0.05)
        time.sleep(0.05)
        fib(15)

    prof = plumb.Profile()
    prof.enable()
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    prof.disable()
    prof.create_stats()
    total_own = sum(v[2] for v in prof.stats.values())
    # The profiled region is the measured one plus the two clock calls: the
    # own times of everything in it account for its wall time.
    assert abs(total_own - wall) <= 0.05 * wall + 0.002, (total_own, wall)
    assert prof.stats[key_of(prof.stats, "work")][3] <= total_own + 1e-6


def test_decorator_passes_through_inside_any_plumb_profiler(capsys):
    @plumb.profile
    def critical():
        return fib(3)

    for builtins in (True, False):
        with plumb.Profile(builtins=builtins) as outer:
            critical()
        outer.create_stats()
        assert outer.stats[key_of(outer.stats, "critical")][1] == 1
    assert "Statistics for" not in capsys.readouterr().out


def test_two_profilers_without_builtins_do_not_steal_events():
    outer = plumb.Profile(builtins=False)
    outer.enable()
    try:
        inner = plumb.Profile(builtins=False)
        try:
            inner.enable()
            fib(5)
            inner.disable()
        except ValueError:      # 3.12+: sys.monitoring's slot is taken
            assert sys.version_info >= (3, 12)
        fib(4)
    finally:
        outer.disable()
    outer.create_stats()
    # The outer profile saw fib(4) whatever the inner one did.
    assert outer.stats[key_of(outer.stats, "fib")][1] >= 9
