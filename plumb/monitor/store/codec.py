"""How the SQLite store packs what it keeps in one column: histograms as
little-endian (key, count) int64 pairs (exact, and merged without parsing
text), error classes as JSON, frames as function ids, trace documents as
zlib-compressed JSON."""
import json
import sys
import zlib
from array import array

from .base import add_counts

_SWAP = sys.byteorder == "big"


def pack_histogram(histogram):
    if not histogram:
        return None
    pairs = array("q")
    for key in sorted(histogram):
        pairs.append(key)
        pairs.append(histogram[key])
    if _SWAP:
        pairs.byteswap()
    return pairs.tobytes()


def add_packed_histogram(into, blob):
    if blob:
        pairs = array("q")
        pairs.frombytes(blob)
        if _SWAP:
            pairs.byteswap()
        get = into.get
        it = iter(pairs)
        for key, count in zip(it, it):
            into[key] = get(key, 0) + count
    return into


def merge_packed_histograms(a, b):
    """SQL function plumb_hist_add(a, b): the packed sum of two packed
    histograms (what an upsert does to the row's histogram)."""
    if not a:
        return b
    if not b:
        return a
    return pack_histogram(add_packed_histogram(add_packed_histogram({}, a), b))


def pack_counts(counts):
    return json.dumps(counts, sort_keys=True, separators=(",", ":")) if counts else None


def add_packed_counts(into, text):
    if text:
        add_counts(into, json.loads(text))
    return into


def merge_packed_counts(a, b):
    """SQL function plumb_counts_add(a, b)."""
    if not a:
        return b
    if not b:
        return a
    return pack_counts(add_packed_counts(add_packed_counts({}, a), b))


class Concatenation:
    """SQL aggregate plumb_concat(histogram): the packed histograms one after
    another, a valid packed histogram with repeated keys.  Merging them
    afterwards in one loop costs a third of merging row by row."""

    def __init__(self):
        self.parts = []

    def step(self, blob):
        if blob:
            self.parts.append(blob)

    def finalize(self):
        return b"".join(self.parts)


def add_counts_lines(into, lines):
    """Merge group_concat(error_classes, char(10)): one JSON object a line."""
    if lines:
        for text in lines.split("\n"):
            add_packed_counts(into, text)
    return into


def pack_ids(ids):
    packed = array("q", ids)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def unpack_ids(blob):
    ids = array("q")
    ids.frombytes(blob)
    if _SWAP:
        ids.byteswap()
    return ids.tolist()


def pack_document(document, limit):
    """The compressed document, or None when its JSON is over `limit` bytes."""
    text = json.dumps(document, separators=(",", ":"), default=str).encode()
    if len(text) > limit:
        return None
    return zlib.compress(text, 6)


def unpack_document(blob):
    return json.loads(zlib.decompress(blob))
