"""Coroutines under asyncio.

Covers: asyncio.run, awaiting nested coroutines, asyncio.gather (including
return_exceptions=True), create_task, asyncio.sleep(0) (a bare yield to the
loop, no timers), async generators consumed by ``async for`` and by an async
comprehension, an async generator closed early with aclose(), async context
managers, exceptions raised and caught across awaits, a plain
generator-based awaitable (__await__), and coroutines driven by hand with
send()/throw()/close() (including a types.coroutine generator and a
coroutine closed before it ever ran).

Nothing here waits on time or I/O: the loop only ever has ready callbacks,
so the order of events is fixed.
"""
import asyncio
import types


async def leaf(x):
    await asyncio.sleep(0)
    return x * 2


async def middle(x):
    a = await leaf(x)
    b = await leaf(a)
    return a + b


async def no_suspend(x):
    # a coroutine that never suspends
    return x + 1


async def fan_out(n):
    return await asyncio.gather(*(middle(i) for i in range(n)))


async def ticker(n):
    for i in range(n):
        yield i
        await asyncio.sleep(0)


async def consume():
    total = 0
    async for value in ticker(4):
        total += value
    squares = [v * v async for v in ticker(3)]
    return total, squares


class Boom(Exception):
    pass


async def failing():
    await asyncio.sleep(0)
    raise Boom("boom")


async def relay():
    return await failing()


async def catcher():
    try:
        await relay()
    except Boom:
        return "caught"


class Resource:
    def __init__(self, log):
        self.log = log

    async def __aenter__(self):
        await asyncio.sleep(0)
        self.log.append("enter")
        return self

    async def __aexit__(self, exc_type, exc, tb):
        self.log.append("exit")
        return exc_type is Boom  # swallow our own exception


async def with_resource(log):
    async with Resource(log):
        await leaf(1)
    async with Resource(log):
        await failing()


async def early_exit(log):
    agen = ticker(10)
    async for value in agen:
        if value == 2:
            break
    await agen.aclose()
    log.append("aclosed")


class Ready:
    """An awaitable implemented with a plain generator-based __await__."""

    def __await__(self):
        yield from ()
        return 42


@types.coroutine
def raw_yield():
    """A generator-based coroutine: yields to whoever drives the coroutine."""
    received = yield "suspended"
    return received


async def driven():
    try:
        value = await raw_yield()
        await raw_yield()
        return value
    except Boom:
        return "thrown in"


def drive_by_hand():
    """Coroutines driven with send()/throw()/close(), without a loop."""
    coro = driven()
    coro.send(None)
    try:
        coro.send(1)
        coro.throw(Boom("by hand"))
    except StopIteration as stop:
        result = stop.value
    else:
        result = None
    unfinished = driven()
    unfinished.send(None)
    unfinished.close()
    never_started = leaf(1)
    never_started.close()
    return result


async def main_async():
    log = []
    await middle(1)
    await no_suspend(1)
    await fan_out(5)
    await consume()
    await catcher()
    task = asyncio.create_task(middle(3))
    await task
    await asyncio.gather(catcher(), failing(), no_suspend(2), return_exceptions=True)
    await with_resource(log)
    await early_exit(log)
    await Ready()
    return log


def main():
    drive_by_hand()
    return asyncio.run(main_async())


if __name__ == "__main__":
    main()
