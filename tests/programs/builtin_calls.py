"""Built-in functions and methods of built-in types.

Covers the builtins the brief names (len, sorted, list.append, dict.get,
str.join, isinstance, getattr) called in every way the interpreter can call
them: directly, as bound methods, as a bound method stored in a variable, as
unbound method descriptors (list.append(lst, x)), through getattr(), as
classmethod/staticmethod builtins (dict.fromkeys, int.from_bytes,
str.maketrans), module functions (math, operator), builtins called from C
(map(len, ...), functools.partial(len), sort keys that are builtins) which
no profiler sees, calls with *args/**kwargs, slot wrappers (int.__add__,
which no profiler counts), eval/exec, Python callbacks called from
builtins, and methods of
builtin subclasses (one overriding a method in Python).
"""
import functools
import io
import math
import operator


class Point:
    def __init__(self, x):
        self.x = x


class Bag(list):
    """A list subclass that does not override anything."""


class Journal(list):
    """A list subclass that overrides remove in Python and calls the base
    method as an unbound descriptor.  cProfile names a built-in method after
    what type(self) finds under its name, here the Python override:
    "<function Journal.remove at 0x...>"; and it names it once, on the
    first call, so the later call on a plain list is counted under that
    name too."""

    def remove(self, item):
        list.remove(self, item)


def negate(v):
    return -v


def main():
    data = [5, 3, 8, 1, 9, 2]
    len(data)
    sorted(data)
    sorted(data, reverse=True)
    sorted(data, key=negate)
    sorted(["b", "A", "c"], key=str.lower)

    out = []
    for x in data:
        out.append(x)
    list.append(out, 10)
    append = out.append
    append(11)
    getattr(out, "append")(12)
    out.extend([13, 14])
    out.insert(0, 0)
    out.pop()
    out.index(8)
    out.count(3)
    out.sort(key=negate)
    out.reverse()
    out.copy()

    table = {"a": 1, "b": 2}
    table.get("a")
    table.get("z", 0)
    dict.get(table, "b")
    table.setdefault("c", 3)
    table.update(d=4)
    list(table.items())
    list(table.keys())
    sum(table.values())
    table.pop("d")
    dict.fromkeys("xyz", 0)

    ",".join(["a", "b", "c"])
    str.join("-", ["x", "y"])
    "Hello".upper().lower()
    "a b c".split()
    "abc".replace("b", "B").startswith("a")
    "{}-{}".format(1, 2)
    "text".encode("utf-8").decode("utf-8")
    str.maketrans("ab", "cd")
    int.from_bytes(b"\x01\x02", "big")

    isinstance(1, int)
    isinstance("s", (int, str))
    issubclass(bool, int)
    point = Point(4)
    getattr(point, "x")
    getattr(point, "missing", None)
    hasattr(point, "x")
    setattr(point, "y", 5)

    min(data)
    max(data, key=negate)
    abs(-3)
    round(2.5)
    divmod(17, 5)
    pow(2, 10)
    hash("abc")
    repr(data)
    ord("a")
    chr(98)
    math.sqrt(16.0)
    math.floor(2.7)
    operator.add(1, 2)
    functools.reduce(operator.mul, data)

    list(map(len, ["a", "bb"]))
    functools.partial(len)("abc")
    it = iter(data)
    next(it)
    next(it, None)
    list(enumerate(zip(data, reversed(data))))
    any(isinstance(v, str) for v in data)

    seen = set()
    seen.add(1)
    seen.discard(2)
    seen.union({3})

    bag = Bag([3, 1])
    bag.append(2)
    bag.sort()
    len(bag)
    journal = Journal([1, 2, 3])
    journal.remove(1)
    journal.remove(2)
    plain = [1, 2]
    plain.remove(1)

    # built-ins called with *args / **kwargs (CALL_FUNCTION_EX)
    args = (data,)
    kwargs = {"key": negate}
    sorted(*args, **kwargs)
    max(*data)
    dict.get(*(table, "a"))
    getattr(*(point, "x"))

    # slot wrappers are not C functions for either profiler
    int.__add__(1, 2)
    object.__setattr__(point, "z", 1)
    list.__len__(data)

    # eval/exec: generated code calling a built-in.  (The exec'd code gets
    # its own file name: two code objects both labelled
    # "<string>:1(<module>)" would share a pstats key, which is the case
    # same_line_functions.py is about.)
    eval("len([1, 2])")
    namespace = {}
    exec(compile("y = abs(-1)", "<generated>", "exec"), namespace)

    buf = io.StringIO()
    print("x", 1, file=buf)
    buf.write("y")
    buf.getvalue()
    return out


if __name__ == "__main__":
    main()
