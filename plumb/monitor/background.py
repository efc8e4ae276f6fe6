"""Background work measured as transactions of kind "background": a
decorator and a context manager, for the same function or block.

    @plumb.monitor.background_task
    def rebuild_index(): ...

    @plumb.monitor.background_task(name="nightly report")
    async def report(): ...

    with plumb.monitor.background_task("import feed"):
        ...

(In a coroutine, decorate it rather than use `with`: the decorator tags
only the coroutine's own steps, while `with` would label the loop thread's
other tasks too.)

Its samples are labelled with it, not as web or other.  Outside a
process whose web middleware set monitoring up, the process's agent is
made from plumb.monitor.configure()'s options, or the defaults."""
import functools
import inspect

from . import naming
from . import agent as _agent_module
from .options import Options

def configure(**options):
    """Sets up the process's monitoring (for processes without a web
    middleware: task workers, scripts); returns its agent."""
    return _agent_module.configure(Options(**options))


def _agent():
    return _agent_module.process_agent()


class background_task:
    def __init__(self, name=None):
        if callable(name):          # @background_task without parentheses
            self._func = name
            self.name = naming.dotted_name(name)
            functools.update_wrapper(self, name)
        else:
            if name is not None and not isinstance(name, str):
                raise TypeError(f"a background task's name is a str, not {name!r}")
            self._func = None
            self.name = name
        self._records = []

    def __call__(self, *args, **kwargs):
        if self._func is None:      # @background_task(name=...): decorate
            func = args[0]
            return background_task(func) if self.name is None else _named(func, self.name)
        return _run(self._func, self.name, args, kwargs)

    def __get__(self, instance, owner):
        # A decorated method: bind it as a function would be.
        if instance is None or self._func is None:
            return self
        return functools.partial(self.__call__, instance)

    def __enter__(self):
        agent = _agent()
        if not agent.options.enabled:
            self._records.append(None)
            return self
        self._records.append((agent, agent.begin("background", self.name or "(background)")))
        return self

    def __exit__(self, kind, value, traceback):
        entry = self._records.pop()
        if entry is not None:
            agent, record = entry
            if value is not None and not isinstance(value, GeneratorExit):
                record.error = naming.exception_name(value)
            agent.end(record)
        return False


def _named(func, name):
    task = background_task(func)
    task.name = name
    return task


def _run(func, name, args, kwargs):
    if inspect.iscoroutinefunction(func):
        return _run_async(func, name, args, kwargs)
    with background_task(name):
        return func(*args, **kwargs)


async def _run_async(func, name, args, kwargs):
    # The loop's thread serves other tasks while this one waits: its tag
    # is set around each of this coroutine's steps only.
    from .asgi import TaggedCoroutine

    agent = _agent()
    if not agent.options.enabled:
        return await func(*args, **kwargs)
    record = agent.begin("background", name, tag_thread=False)
    try:
        return await TaggedCoroutine(func(*args, **kwargs), record.tag)
    except BaseException as e:
        if not isinstance(e, GeneratorExit):
            record.error = naming.exception_name(e)
        raise
    finally:
        agent.end(record)
