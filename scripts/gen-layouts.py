#!/usr/bin/env python3
"""Writes src/core/sampler/py_layouts.c: where CPython 3.9-3.12 keep what
plumb's stack walker and attach read (thread states, frames, code objects,
strings, the GIL), one row per minor version, measured with offsetof by
compiling a small C file against each installed version's own internal
headers (pyenv's, under ~/.pyenv/versions by default).  3.13 and later
publish the same facts in _Py_DebugOffsets, read from the interpreter
itself (debug_offsets.c).

    scripts/gen-layouts.py [--versions DIR] [--check]

--check compares the generated text with the file checked in (exit 1 if
they differ).  The rows are facts about CPython's structures; the
binding's test (tests/test_layouts.py) checks the running version's row
against what offsetof measures in the extension itself."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "src", "core", "sampler", "py_layouts.c")
MINORS = (9, 10, 11, 12)

# (field of plumb_py_layout, C expression per era; None = the version lacks
# it: -1 in the table).  Eras: "39" = 3.9-3.10, "311" = 3.11, "312" = 3.12.
FIELDS = [
    ("runtime_interpreters_head", "offsetof(_PyRuntimeState, interpreters.head)"),
    ("runtime_gil_tstate_current", {"39": "offsetof(_PyRuntimeState, gilstate.tstate_current)",
                                    "311": "offsetof(_PyRuntimeState, gilstate.tstate_current)",
                                    "312": None}),
    ("interp_threads_head", {"39": "offsetof(PyInterpreterState, tstate_head)",
                             "311": "offsetof(PyInterpreterState, threads.head)",
                             "312": "offsetof(PyInterpreterState, threads.head)"}),
    ("interp_gil_locked", {"39": None, "311": None,
                           "312": "offsetof(PyInterpreterState, _gil.locked)"}),
    ("interp_gil_holder", {"39": None, "311": None,
                           "312": "offsetof(PyInterpreterState, _gil.last_holder)"}),
    ("interp_trampoline", {"39": None, "311": None,
                           "312": "offsetof(PyInterpreterState, interpreter_trampoline)"}),
    ("tstate_next", "offsetof(PyThreadState, next)"),
    ("tstate_interp", "offsetof(PyThreadState, interp)"),
    ("tstate_thread_id", "offsetof(PyThreadState, thread_id)"),
    ("tstate_native_thread_id", {"39": None, "311": "offsetof(PyThreadState, native_thread_id)",
                                 "312": "offsetof(PyThreadState, native_thread_id)"}),
    ("tstate_frame", {"39": "offsetof(PyThreadState, frame)", "311": None, "312": None}),
    ("tstate_cframe", {"39": None, "311": "offsetof(PyThreadState, cframe)",
                       "312": "offsetof(PyThreadState, cframe)"}),
    ("cframe_current_frame", {"39": None, "311": "offsetof(_PyCFrame, current_frame)",
                              "312": "offsetof(_PyCFrame, current_frame)"}),
    ("tstate_datastack_chunk", {"39": None, "311": "offsetof(PyThreadState, datastack_chunk)",
                                "312": "offsetof(PyThreadState, datastack_chunk)"}),
    ("chunk_previous", {"39": None, "311": "offsetof(_PyStackChunk, previous)",
                        "312": "offsetof(_PyStackChunk, previous)"}),
    ("chunk_size", {"39": None, "311": "offsetof(_PyStackChunk, size)",
                    "312": "offsetof(_PyStackChunk, size)"}),
    ("frame_previous", {"39": "offsetof(PyFrameObject, f_back)",
                        "311": "offsetof(_PyInterpreterFrame, previous)",
                        "312": "offsetof(_PyInterpreterFrame, previous)"}),
    ("frame_code", {"39": "offsetof(PyFrameObject, f_code)",
                    "311": "offsetof(_PyInterpreterFrame, f_code)",
                    "312": "offsetof(_PyInterpreterFrame, f_code)"}),
    ("frame_owner", {"39": None, "311": "offsetof(_PyInterpreterFrame, owner)",
                     "312": "offsetof(_PyInterpreterFrame, owner)"}),
    ("frame_owned_by_generator", {"39": None, "311": "FRAME_OWNED_BY_GENERATOR",
                                  "312": "FRAME_OWNED_BY_GENERATOR"}),
    ("frame_owned_by_cstack", {"39": None, "311": None, "312": "FRAME_OWNED_BY_CSTACK"}),
    ("object_type", "offsetof(PyObject, ob_type)"),
    ("code_filename", "offsetof(PyCodeObject, co_filename)"),
    ("code_name", "offsetof(PyCodeObject, co_name)"),
    ("code_firstlineno", "offsetof(PyCodeObject, co_firstlineno)"),
    ("unicode_length", "offsetof(PyASCIIObject, length)"),
    ("unicode_state", "offsetof(PyASCIIObject, state)"),
    ("unicode_ascii_size", "sizeof(PyASCIIObject)"),
    ("unicode_compact_size", "sizeof(PyCompactUnicodeObject)"),
]

PROBE_HEAD = """\
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <frameobject.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#endif
int main(void)
{
    printf("%s\\n", PY_VERSION);
"""


def era(minor):
    return "39" if minor < 11 else str(300 + minor)


def measure(prefix, minor):
    """{field: value or -1} and the patch version, for one installed CPython."""
    include = os.path.join(prefix, "include", "python3.%d" % minor)
    lines = [PROBE_HEAD]
    for field, expr in FIELDS:
        if isinstance(expr, dict):
            expr = expr[era(minor)]
        lines.append('    printf("%%lld\\n", (long long)(%s));\n' % (expr or "-1"))
    lines.append("    return 0;\n}\n")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write("".join(lines))
        subprocess.run(["cc", "-std=gnu11", "-I", include, "-I", os.path.join(include, "internal"),
                        "-o", exe, src], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    return out[0], dict(zip((f for f, _ in FIELDS), (int(v) for v in out[1:])))


def find_prefix(versions_dir, minor):
    found = sorted((d for d in os.listdir(versions_dir) if re.fullmatch(r"3\.%d\.\d+" % minor, d)),
                   key=lambda d: int(d.split(".")[2]))
    if not found:
        sys.exit("gen-layouts: no CPython 3.%d under %s" % (minor, versions_dir))
    return os.path.join(versions_dir, found[-1])


def render(rows):
    out = ["/* Generated by scripts/gen-layouts.py: do not edit.  Where CPython keeps\n"
           " * what the stack walker and attach read, per minor version, measured with\n"
           " * offsetof against each version's own internal headers (the version each\n"
           " * row was measured on is named in it).  3.13+ publish this themselves:\n"
           " * _Py_DebugOffsets (debug_offsets.c). */\n",
           '#include "sampler/py_layouts.h"\n\n',
           "const plumb_py_layout plumb_py_layouts[] = {\n"]
    for minor, (patch, values) in rows:
        out.append("    {\n        .version = 0x03%02x, .measured_on = \"%s\",\n" % (minor, patch))
        for field, _ in FIELDS:
            out.append("        .%s = %d,\n" % (field, values[field]))
        out.append("    },\n")
    out.append("};\n\nconst unsigned plumb_py_layouts_count = sizeof plumb_py_layouts / sizeof *plumb_py_layouts;\n")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=os.path.expanduser("~/.pyenv/versions"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    rows = [(m, measure(find_prefix(args.versions, m), m)) for m in MINORS]
    text = render(rows)
    if args.check:
        with open(OUTPUT) as f:
            same = f.read() == text
        print("py_layouts.c is %s" % ("current" if same else "out of date"))
        return 0 if same else 1
    with open(OUTPUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
