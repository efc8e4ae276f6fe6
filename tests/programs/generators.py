"""Generators.

Covers: plain generators (each resume is a call for cProfile), pipelines of
generators, ``yield from`` delegation with a return value, send(), throw(),
a generator closed early with close(), one finalised by dropping the last
reference, one never started and then closed, a for loop left with break,
generators resumed from C (itertools.islice, zip, any, sum, sorted),
generator expressions (nested and short-circuited) and a generator that
raises.
"""
import itertools


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def squares(it):
    for x in it:
        yield x * x


def chain_all(*iterables):
    for it in iterables:
        yield from it


def subgen():
    yield 1
    yield 2
    return "done"


def delegating():
    result = yield from subgen()
    yield result


def deep_delegation(level):
    if level == 0:
        yield from countdown(2)
    else:
        yield level
        yield from deep_delegation(level - 1)


def averager():
    total = 0.0
    count = 0
    avg = None
    while True:
        value = yield avg
        if value is None:
            break
        total += value
        count += 1
        avg = total / count
    return avg


def naturals():
    n = 0
    while True:
        yield n
        n += 1


def note(log, item):
    log.append(item)


def with_cleanup(log):
    try:
        for i in range(10):
            yield i
    finally:
        note(log, "closed")


def catching_throw(log):
    while True:
        try:
            yield "ready"
        except ValueError as exc:
            note(log, str(exc))


def failing_gen():
    yield 1
    raise KeyError("gen")


def main():
    log = []
    sum(countdown(10))
    list(squares(countdown(5)))
    list(chain_all(countdown(3), squares(range(4)), (c for c in "ab")))
    list(delegating())
    list(deep_delegation(4))

    avg = averager()
    next(avg)
    avg.send(1)
    avg.send(3)
    try:
        avg.send(None)
    except StopIteration as stop:
        log.append(stop.value)

    # closed early with close(): GeneratorExit is thrown into the frame
    g = with_cleanup(log)
    next(g)
    next(g)
    g.close()

    # finalised when its last reference goes away
    g2 = with_cleanup(log)
    next(g2)
    del g2

    # created, never started, then closed: its frame never runs
    g3 = with_cleanup(log)
    g3.close()

    # resumed from C
    list(itertools.islice(naturals(), 5))
    list(zip(countdown(3), naturals()))
    sorted(squares(countdown(6)))

    # a for loop left with break; the generator is dropped right after
    for x in naturals():
        if x > 3:
            break

    # generator expressions
    sum(x * 2 for x in range(20) if x % 3)
    any(x > 5 for x in countdown(10))
    # a generator expression consuming another (on separate lines: two on
    # one line share a pstats label)
    inner = (x + 1 for x in range(5))
    list(y for y in inner)
    dict((k, len(k)) for k in ("a", "bb", "ccc"))

    # throw() into a generator that handles it, then close
    t = catching_throw(log)
    next(t)
    t.throw(ValueError("thrown"))
    t.close()

    # a generator whose exception propagates to the consumer
    try:
        for _ in failing_gen():
            pass
    except KeyError:
        pass
    return log


if __name__ == "__main__":
    main()
