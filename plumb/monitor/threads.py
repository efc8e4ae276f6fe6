"""Work a request hands to a worker thread keeps the request's thread tag,
so the sampler labels it with the request: the context variable that holds
the request's record crosses into the thread (asgiref and Starlette copy
the context), but the tag, which the sampler reads from outside the
interpreter, lives per thread and has to be set there.

Covered: Starlette's and FastAPI's run_in_threadpool (synchronous endpoints
and dependencies), and Django's view under its ASGI handler (through the
view instrument, plumb.contrib.django.handler)."""
import functools
import sys
import threading

from .. import _plumb
from ..web.trace import current
from .record import RequestRecord

_set_tag = _plumb.set_thread_tag
_install_lock = threading.Lock()


def tagged(func, tag):
    """func, setting this thread's tag to tag while it runs."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        previous = _set_tag(tag)
        try:
            return func(*args, **kwargs)
        finally:
            _set_tag(previous)
    return run


def current_tag():
    record = current()
    return record.tag if type(record) is RequestRecord else 0


def install_starlette():
    """Wraps run_in_threadpool where Starlette and FastAPI call it from."""
    concurrency = sys.modules.get("starlette.concurrency")
    if concurrency is None:
        return
    with _install_lock:
        original = concurrency.run_in_threadpool
        if getattr(original, "_plumb", False):
            return

        async def run_in_threadpool(func, *args, **kwargs):
            tag = current_tag()
            if tag:
                func = tagged(func, tag)
            return await original(func, *args, **kwargs)

        run_in_threadpool._plumb = True
        run_in_threadpool.__wrapped__ = original
        for name in ("starlette.concurrency", "starlette.routing", "fastapi.routing",
                     "fastapi.dependencies.utils", "fastapi.concurrency"):
            module = sys.modules.get(name)
            if module is not None and getattr(module, "run_in_threadpool", None) is original:
                module.run_in_threadpool = run_in_threadpool
