"""`plumb convert IN -o OUT`: a profile from one format to another.

Inputs, recognised by their content: pstats (plumb, cProfile, profile,
yappi), callgrind (plumb, valgrind, pyprof2calltree), collapsed stacks
(plumb, py-spy, Austin, stackcollapse), speedscope files (sampled and
evented profiles) and pprof (gzipped profile.proto; `--from pprof` for an
uncompressed one), plumb's JSON.
Outputs, chosen by --format or by OUT's name: pstats, callgrind,
collapsed, speedscope, tree (text), pprof (gzipped profile.proto), json.

plumb's JSON profile (docs/json-format.md) goes both ways: it holds the
function-level numbers and a call tree.

A conversion keeps meaning or is refused: pstats and callgrind hold callers
and callees but no stacks, so it does not become collapsed stacks, speedscope or a
tree (their JSON holds a tree rebuilt from the edges, marked as such, for
the report, and that tree does not become stacks either); collapsed stacks
hold no call counts, so their pstats and callgrind files say 0 calls (as
plumb sample's do) rather than inventing them.

Collapsed stacks have no unit: a count is a sample of 1/--rate seconds.
A deterministic profile's stacks (its JSON's exact tree) are nanoseconds,
which no rate can say, so they are written in microseconds after a
"# unit: microseconds" line, and read back as times (write_collapsed.c,
read_collapsed.c); so are pprof files' own units and period."""
import os

from . import _plumb
from .formats import HTML, JSON, TABLE, format_for_path, write_profile

# From the format table: stacks can become any format; function-level
# numbers only those that write from them; the formats with a reader.
STACK_OUTPUTS = tuple(name for name, *_ in TABLE)
FUNCTION_OUTPUTS = tuple(name for name, _, writes_from, _, _ in TABLE if "stats" in writes_from)
INPUTS = tuple(name for name, _, _, _, reads in TABLE if reads)
TRACE_IS_NO_PROFILE = ("a transaction trace (one request's timeline), not a profile: "
                       "read the profile beside it, or plumb view it")
# A pprof file is gzipped; it may not decompress to more than this.
MAX_PPROF_BYTES = 1 << 30


class ConvertError(Exception):
    """One line: what cannot be converted, and why."""


def sniff(data):
    """The format of a profile file's bytes, or None."""
    if not data:
        return None
    head = data[:2048]
    if head[0] in (0x7B, 0xFB) and len(head) > 1 and head[1:2] not in (b'"', b" ", b"\n", b"\r",
                                                                         b"\t"):
        return "pstats"   # a marshalled dict: '{' (maybe with marshal's ref flag) then a value
    stripped = head.lstrip()
    if stripped.startswith(b"{") or stripped.startswith(b"["):
        if stripped.startswith(b"{") and b'"plumb_trace"' in head:
            return "trace"   # a web request's timeline (plumb/web/trace.py), no profile
        if b'"plumb_profile"' in head:
            return "json"
        return "speedscope" if b"speedscope" in head else "json"
    if stripped.startswith(b"# callgrind format") or b"\nevents:" in head or head.startswith(b"events:"):
        return "callgrind"
    if head[:2] == b"\x1f\x8b":
        return "pprof"   # gzip: pprof's files are gzipped protobuf
    return "collapsed"


def gunzip(data, limit=MAX_PPROF_BYTES):
    """data decompressed if gzipped (at most limit bytes: a small file must
    not become a huge one), else as it is."""
    import zlib

    if data[:2] != b"\x1f\x8b":
        return data
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit)
    except zlib.error as exc:
        raise ConvertError(f"not a gzip file: {exc}") from None
    if d.unconsumed_tail:
        raise ConvertError(f"decompresses to more than {limit >> 20} MiB")
    return out


def convert(in_path, out_path, out_format=None, in_format=None, rate=1000.0):
    """Converts in_path to out_path; returns (input format, output format).
    HTML goes through plumb's JSON, which the report embeds."""
    out_format = out_format or format_for_path(out_path)
    if out_format == HTML:
        from .report import write_report_from

        tmp = f"{os.fspath(out_path)}.json{os.getpid()}"
        try:
            found, _ = convert(in_path, tmp, JSON, in_format, rate)
            write_report_from(tmp, out_path, title=os.path.basename(os.fspath(in_path)))
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return found, HTML
    with open(in_path, "rb") as f:
        data = f.read()
    found = in_format or sniff(data)
    if found is None:
        raise ConvertError(f"{in_path}: the file is empty")
    if found == "trace":
        raise ConvertError(f"{in_path}: {TRACE_IS_NO_PROFILE}")
    if found not in INPUTS:
        raise ConvertError(f"{in_path}: reading {found} files is not supported "
                           f"(plumb convert reads {', '.join(INPUTS)})")
    if found in ("pstats", "callgrind"):
        if out_format not in FUNCTION_OUTPUTS:
            raise ConvertError(
                f"{in_path} is a {found} file: it holds callers and callees, not stacks, so it "
                f"cannot become {out_format} without inventing them; convert it to "
                f"{' or '.join(FUNCTION_OUTPUTS)}")
        stats = _plumb.Stats()
        try:
            stats.add_bytes(data, found)
        except ValueError as exc:
            raise ConvertError(f"{in_path}: {exc}") from None
        stats.write(out_path, out_format)
        return found, out_format
    if found == "json" and out_format not in STACK_OUTPUTS:
        raise ConvertError(f"cannot write {out_format} from a plumb JSON profile")
    if out_format not in STACK_OUTPUTS:
        raise ConvertError(f"cannot write {out_format} from {found} stacks")
    if found == "pprof":
        try:
            data = gunzip(data)
        except ConvertError as exc:
            raise ConvertError(f"{in_path}: {exc}") from None
    try:
        write_profile(lambda out, fmt: _plumb.convert_samples(data, found, out, fmt, 1.0 / rate),
                      out_path, out_format)
    except ValueError as exc:
        raise ConvertError(f"{in_path}: {exc}") from None
    return found, out_format
