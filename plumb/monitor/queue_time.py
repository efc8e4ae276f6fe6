"""Queue time: how long a request waited between the proxy in front of the
application (nginx, Heroku's router, a load balancer) and the application,
from the header the proxy stamps on it: X-Request-Start or X-Queue-Start,
as `t=1700000000.123`, or the same number bare, in seconds, milliseconds,
microseconds or nanoseconds since the epoch (proxies differ; nginx writes
`t=${msec}`, seconds with milliseconds).

The header comes from outside: anything that is not one short number
giving a time in the last hour is ignored, never an error."""
MAX_HEADER = 64               # characters; a longer value is not a timestamp
MAX_QUEUE_S = 3600.0          # a "queue time" longer than this is a clock problem

# The unit is guessed from the magnitude, as the agents do: a time near now
# has ~10 digits in seconds, ~13 in ms, ~16 in us, ~19 in ns.
_DIGITS = frozenset("0123456789.")
_UNITS = ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3), (0.0, 1.0))


def parse(value, now):
    """Seconds the request queued, or None; value: the header (str)."""
    if not value or len(value) > MAX_HEADER:
        return None
    text = value.strip()
    if text.startswith("t="):
        text = text[2:]
    # ASCII only: str.isdigit() also takes digits float() refuses ("²").
    if not text or not _DIGITS.issuperset(text) or text.count(".") > 1 or text[0] == ".":
        return None
    number = float(text)
    for above, scale in _UNITS:
        if number >= above:
            started = number * scale
            break
    queued = now - started
    if not 0.0 <= queued <= MAX_QUEUE_S:
        return None
    return queued


def from_environ(environ, now):
    header = environ.get("HTTP_X_REQUEST_START") or environ.get("HTTP_X_QUEUE_START")
    return parse(header, now) if header else None
