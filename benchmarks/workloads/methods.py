"""Method-heavy workload: small classes, properties, dunder methods."""
import os

SCALE = float(os.environ.get("PLUMB_BENCH_SCALE", "1"))
STEPS = max(1, round(18000 * SCALE))


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k)

    def __eq__(self, other):
        return self.x == other.x and self.y == other.y

    def __hash__(self):
        return hash((self.x, self.y))

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y)


class Particle:
    def __init__(self, pos, vel):
        self._pos = pos
        self._vel = vel

    @property
    def pos(self):
        return self._pos

    @pos.setter
    def pos(self, value):
        self._pos = value

    @property
    def vel(self):
        return self._vel

    def step(self, dt):
        self.pos = self.pos + self.vel * dt

    def bounce(self, limit):
        if self.pos.norm1 > limit:
            self._vel = self._vel * -1


class Swarm:
    def __init__(self, n):
        self.particles = [Particle(Vec(i, -i), Vec(1, i % 3 - 1)) for i in range(n)]

    def __len__(self):
        return len(self.particles)

    def __iter__(self):
        return iter(self.particles)

    def tick(self):
        for p in self:
            p.step(1)
            p.bounce(50)

    def distinct_positions(self):
        return len({p.pos for p in self})


def run():
    swarm = Swarm(20)
    seen = 0
    for i in range(STEPS):
        swarm.tick()
        if i % 50 == 0:
            seen += swarm.distinct_positions()
    return seen, len(swarm)
