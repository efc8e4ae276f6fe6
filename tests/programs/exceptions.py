"""Exceptions raised and caught across frames.

Covers: an exception raised three frames down and caught at the top, one
raised by a builtin type call (int('x')), by builtin functions and methods
(next, dict.pop, str.index, getattr, math.sqrt, divmod, max), by a Python
callback running under a builtin (sorted key=, map), re-raising and
``raise ... from``, finally blocks that call functions while unwinding,
exceptions from __init__ and from a property, a context manager that
swallows an exception, StopIteration turned into RuntimeError inside a
generator (PEP 479), exceptions inside comprehensions and lambdas, and a
deep recursion unwound in one go.
"""
import contextlib
import math


class AppError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def level3(x):
    if x < 0:
        raise AppError(x)
    return x


def level2(x):
    return level3(x) + 1


def level1(x):
    try:
        return level2(x)
    except AppError as exc:
        return exc.code


def parse(text):
    return int(text)


def parse_or_default(text, default=0):
    try:
        return parse(text)
    except ValueError:
        return default


def cleanup(log):
    log.append("cleanup")


def with_finally(log, fail):
    try:
        if fail:
            raise RuntimeError("fail")
        return "ok"
    finally:
        cleanup(log)


def reraiser(log):
    try:
        level3(-1)
    except AppError:
        log.append("seen")
        raise


def chainer():
    try:
        {}["missing"]
    except KeyError as exc:
        raise AppError(7) from exc


class Fragile:
    def __init__(self, value):
        if value is None:
            raise TypeError("no value")
        self.value = value

    @property
    def checked(self):
        if self.value < 0:
            raise ValueError("negative")
        return self.value


class Swallow:
    def __init__(self, log):
        self.log = log

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.log.append(exc_type.__name__ if exc_type else None)
        return True


def bad_key(x):
    if x == 3:
        raise LookupError(x)
    return -x


def pep479():
    yield next(iter([]))


def deep(n):
    if n == 0:
        raise IndexError("bottom")
    return deep(n - 1) + 1


def builtin_failures(log):
    attempts = [
        lambda: next(iter([])),
        lambda: {}.pop("k"),
        lambda: "abc".index("z"),
        lambda: getattr(log, "no_such_attribute"),
        lambda: math.sqrt(-1),
        lambda: divmod(1, 0),
        lambda: max([]),
        lambda: int("x"),
        lambda: sorted([3, 1, 2], key=bad_key),
        lambda: list(map(bad_key, [1, 2, 3])),
    ]
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:
            log.append(type(exc).__name__)


def main():
    log = []
    level1(5)
    level1(-2)
    parse_or_default("12")
    parse_or_default("x")
    with_finally(log, False)
    try:
        with_finally(log, True)
    except RuntimeError:
        pass
    try:
        reraiser(log)
    except AppError:
        pass
    try:
        chainer()
    except AppError as exc:
        log.append(repr(exc.__cause__))
    for value in (1, None, -1):
        try:
            Fragile(value).checked
        except (TypeError, ValueError) as exc:
            log.append(str(exc))
    with Swallow(log):
        level2(-3)
    with contextlib.suppress(ZeroDivisionError):
        1 / 0
    try:
        list(pep479())
    except RuntimeError:
        pass
    try:
        [level3(x) for x in (1, 0, -1)]
    except AppError:
        pass
    try:
        deep(40)
    except IndexError:
        pass
    builtin_failures(log)
    try:
        try:
            level3(-5)
        except AppError:
            parse("nope")
    except ValueError:
        pass
    return log


if __name__ == "__main__":
    main()
