"""The core's line-table decoder (src/core/sampler/line_table.c, what
`plumb dump` reads a frame's current line with) against the running
CPython's own answer, at every instruction of every code object of a few
standard modules: 3.9's co_lnotab (dis.findlinestarts), 3.10's PEP 626
co_linetable and 3.11+'s location table (co_lines)."""
import dis
import sys
import types

import pytest

from plumb import _plumb

MODULES = ["threading", "json.decoder", "argparse", "asyncio.base_events", "dataclasses"]


def codes():
    for name in MODULES:
        module = __import__(name, fromlist=["_"])
        with open(module.__file__) as f:
            stack = [compile(f.read(), module.__file__, "exec")]
        while stack:
            code = stack.pop()
            yield code
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


def format_and_table(code):
    if sys.version_info < (3, 10):
        return 1, code.co_lnotab
    return (2 if sys.version_info < (3, 11) else 3), code.co_linetable


def expected_lines(code):
    """{byte offset: line or None} as the interpreter reckons it."""
    if sys.version_info < (3, 10):
        starts = list(dis.findlinestarts(code))
        out, line = {}, code.co_firstlineno
        for offset in range(0, len(code.co_code), 2):
            for start, start_line in starts:
                if start <= offset:
                    line = start_line
            out[offset] = line
        return out
    out = {}
    for start, end, line in code.co_lines():
        for offset in range(start, end, 2):
            out[offset] = line
    return out


def test_every_instructions_line_is_the_interpreters():
    checked = 0
    for code in codes():
        fmt, table = format_and_table(code)
        for offset, line in expected_lines(code).items():
            assert _plumb._line_at(fmt, table, code.co_firstlineno, offset) == line, \
                (code, offset)
            checked += 1
    assert checked > 10000


def test_a_frame_not_started_is_on_the_first_line():
    code = test_a_frame_not_started_is_on_the_first_line.__code__
    fmt, table = format_and_table(code)
    assert _plumb._line_at(fmt, table, code.co_firstlineno, -2) == code.co_firstlineno


@pytest.mark.parametrize("fmt", [1, 2, 3])
def test_tables_cut_or_of_nonsense_give_an_answer_or_none(fmt):
    code = codes().__next__()
    table = format_and_table(code)[1]
    for cut in range(0, min(len(table), 64)):
        for offset in (0, 2, 10, 1000):
            line = _plumb._line_at(fmt, table[:cut], 1, offset)
            assert line is None or isinstance(line, int)
    assert _plumb._line_at(fmt, b"\xff" * 100, 1, 10**6) is None
    assert _plumb._line_at(9, table, 1, 0) is None
