"""@plumb.profile: profile every call of one function."""
import functools
import inspect
import sys
import threading

from .profile import Profile, another_profiler_active


def profile(func=None, *, sort="cumulative", limit=30, output=None, builtins=True):
    """Profiles each call of the decorated function.

    Without `output`, each call prints "Statistics for: NAME" and a pstats
    table (sorted by `sort`, cut to `limit` rows; limit=None prints all) to
    stdout.  With `output`, calls are added up in one profile that is written
    to that path (format from its name) after every call.

    Calls made while a profiler is already running (a recursive call of the
    same function, or the whole program under `plumb run`) run unprofiled,
    so that they do not disturb it."""
    if func is None:
        return lambda f: profile(f, sort=sort, limit=limit, output=output, builtins=builtins)

    name = f"{func.__module__}.{func.__qualname__}"
    accumulated = Profile(builtins=builtins) if output is not None else None
    lock = threading.Lock()

    def start():
        if another_profiler_active() or not lock.acquire(blocking=False):
            return None
        prof = accumulated or Profile(builtins=builtins)
        try:
            prof.enable()
        except Exception:
            lock.release()
            return None
        return prof

    def finish(prof):
        try:
            prof.disable()
            if output is not None:
                prof.dump(output)
            else:
                print(f"Statistics for: {name}", file=sys.stdout)
                prof.print_stats(sort, limit)
        except Exception as exc:  # the profiler's failures never reach the caller
            print(f"plumb: could not report the profile of {name}: {exc}", file=sys.stderr)
        finally:
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
