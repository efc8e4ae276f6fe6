"""Latency histograms that merge by adding counts: a histogram is a dict
{bucket key: count}; the percentiles of any window, over any set of
workers and hosts, are read from the sum of their histograms (`merge`),
never from an average of percentiles.

The bucket scheme, number 1 (`SCHEME`; the C side's PLUMB_HIST_SCHEME in
src/core/model/histogram.h, which computes every key here).  Keys are
stored, so the scheme never changes; another would get another number.

- Values are integer microseconds.  B = 5: 32 sub-buckets per octave.
- A value v below 32 is its own bucket: key = v.
- A value v >= 32 with top bit e (2**e <= v < 2**(e+1)) lies in the octave
  [2**e, 2**(e+1)), split into 32 buckets 2**shift wide, shift = e - 5:
  key = (shift << 5) + (v >> shift).  (For 32 <= v < 64, shift is 0 and
  key = v, so keys run on from 0 without a gap.)
- Values of 2**36 us (`LIMIT_US`, 19.1 hours) and more count as 2**36 - 1, in the
  last bucket, key 1023 = [2**36 - 2**30, 2**36): 18.8 hours or more.
- So keys are 0..1023 (`KEYS` = 1024 of them), and a key's bucket is
  [key, key + 1) below 32, else with shift = (key >> 5) - 1 and
  sub = key - (shift << 5): [sub << shift, (sub + 1) << shift).

A bucket stands for the middle of the integers it holds; from 64 us a
bucket of width w starts at 32 w or more, so that value is within 1/64
(1.56%) of every value in the bucket, and exact below 64 us.  A quantile
is the nearest-rank one: the representative of the bucket holding the
value of rank ceil(q * count) (at least 1), so it is within 1/64 of the
nearest-rank quantile of the raw values, for every value below 2**36 us.

Stores keep a histogram as text, `encode`'s "key:count,key:count" (keys
ascending, decimal, no spaces; "" for an empty histogram); `decode` reads
it back as untrusted input."""
from bisect import bisect_left

from .. import _plumb

SCHEME = _plumb.HIST_SCHEME
KEYS = _plumb.HIST_KEYS
LIMIT_US = _plumb.HIST_LIMIT_US   # from here on, values share the last bucket

# The longest text encode can make: every key with a 19-digit count.
MAX_TEXT = KEYS * len("1023:9223372036854775807,")
_MAX_COUNT = 2**63 - 1


def key(us):
    """The bucket key of a duration in integer microseconds (>= 0)."""
    return _plumb.hist_key(us)


def bounds(key):
    """(low_us, high_us): the bucket of key holds the values low <= v < high."""
    return _plumb.hist_bounds(key)


def merge(into, other):
    """Adds histogram other's counts into histogram into; returns into."""
    for k, c in other.items():
        into[k] = into.get(k, 0) + c
    return into


def count(hist):
    """How many values the histogram holds."""
    return sum(hist.values())


def quantile_us(hist, q):
    """The q-quantile (0 <= q <= 1) in microseconds, as a float: nearest rank,
    within 1/64 of the raw data's (see the module's docstring).  ValueError
    for an empty histogram, a key not of this scheme, a negative count or q
    outside [0, 1]."""
    return _plumb.hist_quantile(hist, q)


def encode(hist):
    """The store's text for a histogram: "key:count,..." by ascending key,
    buckets of count 0 left out."""
    return ",".join(f"{k}:{c}" for k, c in sorted(hist.items()) if c)


def _refuse(what, piece=None):
    if piece is not None:
        shown = piece if len(piece) <= 40 else piece[:40] + "..."
        what = f"{what} in {shown!r}"
    raise ValueError(f"histogram text (scheme {SCHEME}): {what}")


def _decimal(text, what, piece, most_digits):
    # str.isdigit accepts other scripts' digits and int() accepts signs,
    # spaces and underscores: only the canonical ASCII form is the store's.
    if not (0 < len(text) <= most_digits and text.isascii() and text.isdigit()):
        _refuse(f"{what} is not a decimal number", piece)
    if len(text) > 1 and text[0] == "0":
        _refuse(f"{what} has a leading zero", piece)
    return int(text)


def decode(text):
    """The histogram a store's text holds ("" is the empty one).  ValueError
    with a one-line reason unless every pair is key:count with a key of this
    scheme (each once) and a count from 1 to 2**63 - 1, within MAX_TEXT
    characters."""
    if not isinstance(text, str):
        raise TypeError(f"histogram text must be a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        _refuse(f"{len(text)} characters, more than a histogram's {MAX_TEXT}")
    hist = {}
    if not text:
        return hist
    for piece in text.split(","):
        k_text, colon, c_text = piece.partition(":")
        if not colon:
            _refuse("a pair without ':'", piece)
        k = _decimal(k_text, "the key", piece, 4)
        if k >= KEYS:
            _refuse(f"key {k} is not one of the scheme's (0..{KEYS - 1})", piece)
        if k in hist:
            _refuse(f"key {k} appears twice", piece)
        c = _decimal(c_text, "the count", piece, 19)
        if not 0 < c <= _MAX_COUNT:
            _refuse(f"count {c} is not between 1 and 2**63 - 1", piece)
        hist[k] = c
    return hist


def cumulative(hist, bounds_us):
    """Prometheus-style cumulative counts: for each upper bound le in
    bounds_us (microseconds, ascending; math.inf allowed), how many values
    the histogram counts as <= le.  A bucket is counted under the first le
    at or above the largest value it holds (high - 1: values are integers),
    so no value above le is ever counted under it.

    Resolution: a bucket that straddles le is counted under the next bound
    only, so the count at le is exactly the number of values below some
    t with le * 32/33 < t <= le (below 64 us, where buckets are single
    values, exactly the number <= le): values up to 3% below a bound may be
    counted under the next one.  Values above the last bound are counted
    in none; the +Inf bucket is count(hist)."""
    les = list(bounds_us)
    for i, le in enumerate(les):
        if isinstance(le, bool) or not isinstance(le, (int, float)) or le != le or le < 0:
            raise ValueError(f"bounds_us[{i}] is not a duration in microseconds: {le!r}")
        if i and le <= les[i - 1]:
            raise ValueError(f"bounds_us must ascend: {les[i - 1]!r} then {le!r}")
    under = [0] * len(les)
    for k, c in hist.items():
        i = bisect_left(les, bounds(k)[1] - 1)
        if i < len(les):
            under[i] += c
    total = 0
    for i, c in enumerate(under):
        total += c
        under[i] = total
    return under
