"""Classes, decorators and dunder methods.

Covers: decorators built with functools.wraps (plain and parametrised), a
class-based decorator with __call__, properties (getter, setter, deleter),
classmethods, staticmethods, super(), __init__/__repr__/__str__/__eq__/
__hash__/__lt__/__add__/__len__/__iter__/__getitem__/__contains__/__bool__/
__call__/__getattr__/__enter__/__exit__, dunders invoked by the interpreter
or by builtins from C (sorted -> __lt__, set -> __hash__, repr -> __repr__,
format -> __format__), a data descriptor, __del__ run by refcounting, and a class created inside main()
(its body, __set_name__ and __init_subclass__ run under the profiler).
"""
import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return func(*args, **kwargs)

    wrapper.calls = 0
    return wrapper


def repeat(times):
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            result = None
            for _ in range(times):
                result = func(*args, **kwargs)
            return result

        return wrapper

    return decorate


class CountCalls:
    def __init__(self, func):
        functools.update_wrapper(self, func)
        self.func = func
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.func(*args, **kwargs)


@logged
def greet(name):
    return "hello " + name


@repeat(3)
def bump(box):
    box[0] += 1
    return box[0]


@CountCalls
def halve(x):
    return x / 2


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return "Vector(%r, %r)" % (self.x, self.y)

    def __str__(self):
        return "(%s, %s)" % (self.x, self.y)

    def __format__(self, spec):
        return format(self.x, spec) + "," + format(self.y, spec)

    def __eq__(self, other):
        return isinstance(other, Vector) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __lt__(self, other):
        return self.norm2 < other.norm2

    def __add__(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def __len__(self):
        return 2

    def __iter__(self):
        yield self.x
        yield self.y

    def __getitem__(self, index):
        return (self.x, self.y)[index]

    def __contains__(self, value):
        return value == self.x or value == self.y

    def __bool__(self):
        return bool(self.x or self.y)

    @property
    def norm2(self):
        return self.x * self.x + self.y * self.y

    @classmethod
    def zero(cls):
        return cls(0, 0)

    @staticmethod
    def dot(a, b):
        return a.x * b.x + a.y * b.y

    @logged
    def scaled(self, k):
        return Vector(self.x * k, self.y * k)


class Temperature:
    def __init__(self, celsius):
        self._celsius = None
        self.celsius = celsius

    @property
    def celsius(self):
        return self._celsius

    @celsius.setter
    def celsius(self, value):
        if value < -273.15:
            raise ValueError("below absolute zero")
        self._celsius = value

    @celsius.deleter
    def celsius(self):
        self._celsius = None

    @property
    def fahrenheit(self):
        return self.celsius * 9 / 5 + 32


class Base:
    registry = []

    def __init__(self, name):
        self.name = name

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Base.registry.append(cls.__name__)

    def describe(self):
        return "base " + self.name


class Derived(Base):
    def __init__(self, name, extra):
        super().__init__(name)
        self.extra = extra

    def describe(self):
        return super().describe() + " + " + self.extra


class Positive:
    """A data descriptor."""

    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        if value <= 0:
            raise ValueError(value)
        setattr(obj, self.name, value)


class Tracked:
    """__del__ runs when the last reference goes (refcounting, no GC)."""

    deleted = []

    def __init__(self, name):
        self.name = name

    def __del__(self):
        Tracked.deleted.append(self.name)


def drop(name):
    # The object is made here rather than passed in: on 3.11, a PEP 523
    # frame hook (plumb --no-builtins) makes the caller keep its arguments
    # alive until the call returns, as 3.9 and 3.10 always do, so a __del__
    # triggered by deleting an argument would run after the callee returns.
    obj = Tracked(name)
    del obj


class Proxy:
    def __init__(self, target):
        self._target = target

    def __getattr__(self, name):
        return getattr(self._target, name)

    def __call__(self, *args):
        return len(args)

    def __enter__(self):
        return self._target

    def __exit__(self, *exc_info):
        return False


def main():
    greet("a")
    greet(name="b")
    bump([0])
    halve(8)
    halve(3)

    v = Vector(3, 4)
    w = Vector.zero() + Vector(1, 2)
    repr(v)
    str(w)
    "%s|%r" % (v, w)
    format(v, "03d")
    "{:>2}".format(w)
    v == w
    v == Vector(3, 4)
    vectors = [Vector(i % 3, 5 - i) for i in range(6)]
    sorted(vectors)
    min(vectors)
    len(set(vectors))
    Vector(1, 1) in vectors
    len(v)
    list(v)
    v[0]
    4 in v
    bool(Vector.zero())
    Vector.dot(v, w)
    v.scaled(2)
    v.norm2

    t = Temperature(20)
    t.fahrenheit
    t.celsius = 30
    try:
        t.celsius = -300
    except ValueError:
        pass
    del t.celsius

    d = Derived("x", "y")
    d.describe()

    class Local(Base):
        size = Positive()

        def __init__(self, size):
            super().__init__("local")
            self.size = size

    box = Local(3)
    box.size
    try:
        Local(-1)
    except ValueError:
        pass

    tracked = Tracked("a")
    del tracked
    drop("b")
    [Tracked(str(i)) for i in range(3)]

    p = Proxy([1, 2, 3])
    p.count(2)
    p(1, 2)
    with p as target:
        target.append(4)
    return Base.registry


if __name__ == "__main__":
    main()
