"""`plumb convert IN -o OUT`: a profile from one format to another.

Inputs, recognised by their content: pstats (plumb, cProfile, profile,
yappi), callgrind (plumb, valgrind, pyprof2calltree), collapsed stacks
(plumb, py-spy, Austin, stackcollapse), speedscope files (sampled and
evented profiles) and pprof (gzipped profile.proto; `--from pprof` for an
uncompressed one).
Outputs, chosen by --format or by OUT's name: pstats, callgrind,
collapsed, speedscope, tree (text), pprof (gzipped profile.proto).

A conversion keeps meaning or is refused: pstats and callgrind hold callers
and callees but no stacks, so it does not become collapsed stacks, speedscope or a
tree; collapsed stacks hold no call counts, so their pstats and callgrind
files say 0 calls (as plumb sample's do) rather than inventing them."""
from . import _plumb
from .formats import CALLGRIND, COLLAPSED, PPROF, PSTATS, SPEEDSCOPE, TREE, format_for_path, write_gzipped

STACK_OUTPUTS = (COLLAPSED, SPEEDSCOPE, PSTATS, CALLGRIND, TREE, PPROF)
FUNCTION_OUTPUTS = (PSTATS, CALLGRIND)
INPUTS = ("pstats", "callgrind", "collapsed", "speedscope", "pprof")
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
    with open(in_path, "rb") as f:
        data = f.read()
    found = in_format or sniff(data)
    if found is None:
        raise ConvertError(f"{in_path}: the file is empty")
    if found not in INPUTS:
        raise ConvertError(f"{in_path}: reading {found} files is not supported "
                           f"(plumb convert reads {', '.join(INPUTS)})")
    out_format = out_format or format_for_path(out_path)
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
    if out_format not in STACK_OUTPUTS:
        raise ConvertError(f"cannot write {out_format} from {found} stacks")
    if found == "pprof":
        try:
            data = gunzip(data)
        except ConvertError as exc:
            raise ConvertError(f"{in_path}: {exc}") from None
        found = "pprof-raw"
    try:
        if out_format == PPROF:
            write_gzipped(lambda tmp: _plumb.convert_samples(data, found, tmp, "pprof-raw",
                                                             1.0 / rate), out_path)
        else:
            _plumb.convert_samples(data, found, out_path, out_format, 1.0 / rate)
    except ValueError as exc:
        raise ConvertError(f"{in_path}: {exc}") from None
    return found.replace("-raw", ""), out_format
