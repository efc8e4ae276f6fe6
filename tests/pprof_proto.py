"""A minimal profile.proto encoder for the tests: pprof files with exactly
the sample types, period and values a test needs (plumb's writer only
writes its own kind)."""
import gzip


def varint(v):
    v &= (1 << 64) - 1          # negative int64 values as protobuf encodes them
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field_int(number, v):
    return varint(number << 3) + varint(v)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def profile(sample_types, samples, period=None, names=("main", "work")):
    """sample_types: [(type, unit)]; samples: [(stack of function names,
    outermost first, [values])]; period: (type, unit, value) or None.
    Gzipped bytes."""
    strings = [""]

    def s(text):
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    out = b""
    for t, u in sample_types:
        out += field_bytes(1, field_int(1, s(t)) + field_int(2, s(u)))
    for stack, values in samples:
        ids = b"".join(varint(names.index(n) + 1) for n in reversed(stack))
        vals = b"".join(varint(v) for v in values)
        out += field_bytes(2, field_bytes(1, ids) + field_bytes(2, vals))
    for i, name in enumerate(names):
        fid = i + 1
        out += field_bytes(4, field_int(1, fid) + field_bytes(4, field_int(1, fid)))
        out += field_bytes(5, field_int(1, fid) + field_int(2, s(name)) + field_int(4, s("app.py"))
                           + field_int(5, 10 * fid))
    if period:
        t, u, v = period
        out += field_bytes(11, field_int(1, s(t)) + field_int(2, s(u))) + field_int(12, v)
    # The string table last: every string is known by now.
    out += b"".join(field_bytes(6, x.encode()) for x in strings)
    return gzip.compress(out)
