"""Monitoring for any ASGI application (FastAPI, Starlette, Django's ASGI
handler):

    from plumb.monitor import ASGIMiddleware
    app = ASGIMiddleware(app)

A request runs from its first message in to the last byte of its body out.
Under asyncio many requests share the loop's thread, so the thread tag that
labels the sampler's samples (plumb._plumb.set_thread_tag) cannot be set
for the request's whole life: it is set around every step of the request's
coroutine (TaggedCoroutine), and put back when the step yields to the loop.
A sample of the loop thread is then labelled with the request whose step
was running.  What the request runs in worker threads (synchronous
endpoints in Starlette's pool) is tagged by the instruments that hand the
work over (threads.py)."""
import time

from .. import _plumb
from . import naming, queue_time, threads
from .agent import UNMATCHED, agent_for
from .options import Options

_set_tag = _plumb.set_thread_tag
MAX_HEADERS = 100            # headers looked through for X-Request-Start


class TaggedCoroutine:
    """Awaits coro with the thread tag set to tag during each of its steps."""
    __slots__ = ("_coro", "_tag")

    def __init__(self, coro, tag):
        self._coro = coro
        self._tag = tag

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        previous = _set_tag(self._tag)
        try:
            return self._coro.send(value)
        finally:
            _set_tag(previous)

    def throw(self, *args):
        previous = _set_tag(self._tag)
        try:
            return self._coro.throw(*args)
        finally:
            _set_tag(previous)

    def close(self):
        return self._coro.close()


def _queue_header(scope):
    for i, (key, value) in enumerate(scope.get("headers") or ()):
        if i >= MAX_HEADERS:
            break
        if key in (b"x-request-start", b"x-queue-start"):
            return value.decode("latin-1")
    return None


class ASGIMiddleware:
    def __init__(self, app, options=None, **settings):
        self.app = app
        self.options = options or Options(**settings)
        self.agent = agent_for(self.options) if self.options.enabled else None
        self._naming = self.options.naming
        self._default_name = naming.dotted_name(app)
        threads.install_starlette()

    async def __call__(self, scope, receive, send):
        agent = self.agent
        if agent is None or scope.get("type") != "http":
            return await self.app(scope, receive, send)
        header = _queue_header(scope)
        queued = queue_time.parse(header, time.time()) if header else None
        record = agent.begin("web", UNMATCHED, scope.get("method", ""), scope.get("path", ""),
                             scope.get("query_string", b"").decode("latin-1"), queued,
                             tag_thread=False)
        status = [None]

        async def send_seen(message):
            if message.get("type") == "http.response.start":
                status[0] = message.get("status")
            await send(message)

        try:
            await TaggedCoroutine(self.app(scope, receive, send_seen), record.tag)
        except BaseException as e:
            if not isinstance(e, GeneratorExit):
                record.error = naming.exception_name(e)
            if status[0] is None:
                status[0] = 500
            raise
        finally:
            record.name = self._name(scope, record.name)
            agent.end(record, status[0])

    def _name(self, scope, name):
        if self._naming is not None:
            try:
                return str(self._naming(scope))
            except Exception:
                return name
        if name != UNMATCHED:      # named on the way (Django's ASGI handler)
            return name
        found = naming.starlette_name(scope)
        if found is not None:
            return found
        return name if "router" in scope else self._default_name
