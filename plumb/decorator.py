"""@plumb.profile: profile every call of one function."""
import functools
import inspect
import sys
import threading

from .profile import Profile, another_profiler_active


_UNSET = object()


def profile(func=None, *, sort=_UNSET, limit=_UNSET, output=None, builtins=True):
    """Profiles each call of the decorated function.

    Without `output`, each call prints "Statistics for: NAME" and a pstats
    table (sorted by `sort`, cumulative time by default, cut to `limit`
    rows, 30 by default; limit=None prints all) to stdout.  With `output`,
    calls are added up in one profile that is written to that path (format
    from its name) after every call; nothing is printed, so sort and limit
    are refused with it (ValueError).

    Calls made while a profiler is already running (a recursive call of the
    same function, or the whole program under `plumb run`) run unprofiled,
    so that they do not disturb it."""
    if output is not None and (sort is not _UNSET or limit is not _UNSET):
        raise ValueError("sort and limit order and cut the printed table; with output= the "
                         "profile goes to a file (plumb stats -s SORT -n LIMIT prints it)")
    if func is None:
        return lambda f: profile(f, sort=sort, limit=limit, output=output, builtins=builtins)
    sort = "cumulative" if sort is _UNSET else sort
    limit = 30 if limit is _UNSET else limit

    name = f"{func.__module__}.{func.__qualname__}"
    accumulated = Profile(builtins=builtins) if output is not None else None
    lock = threading.Lock()
    # Checked first, with no call: a call made while this function's own
    # profile runs (a recursive call) would be in its table.
    running = [False]

    def start():
        if running[0] or another_profiler_active() or not lock.acquire(blocking=False):
            return None
        prof = accumulated or Profile(builtins=builtins)
        running[0] = True
        try:
            prof.enable()
        except Exception:
            running[0] = False
            lock.release()
            return None
        return prof

    def finish(prof):
        try:
            prof.disable()
            running[0] = False
            if output is not None:
                prof.dump(output)
            else:
                print(f"Statistics for: {name}", file=sys.stdout)
                prof.print_stats(sort, limit)
        except Exception as exc:  # the profiler's failures never reach the caller
            print(f"plumb: could not report the profile of {name}: {exc}", file=sys.stderr)
        finally:
            running[0] = False
            lock.release()

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            prof = start()
            if prof is None:
                return await func(*args, **kwargs)
            try:
                return await func(*args, **kwargs)
            finally:
                finish(prof)
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        prof = start()
        if prof is None:
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        finally:
            finish(prof)
    return wrapper
