#!/usr/bin/env python3
"""Writes src/core/sampler/py_layouts.c: where CPython 3.9-3.12 keep what
plumb's stack walker and attach read (thread states, frames, code objects,
strings, the GIL), one row per minor version, measured with offsetof by
compiling a small C file against each installed version's own internal
headers (pyenv's, under ~/.pyenv/versions by default).  3.13 and later
publish the same facts in _Py_DebugOffsets, read from the interpreter
itself (debug_offsets.c).  A second table, one row per minor version
3.9-3.13, holds where objects keep what attach reads beyond the stacks
(sys.modules, dicts, instance attributes, ints, bytes, the line tables and
a frame's current instruction): _Py_DebugOffsets has only some of them.

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

# (field of plumb_py_object_layout, C expression, or {minor: expression}
# whose missing minors take the nearest lower one; None = -1).  Numbers
# without a header to measure them by name their source.
OBJECT_MINORS = (9, 10, 11, 12, 13)
OBJECT_FIELDS = [
    ("interp_modules", {9: "offsetof(PyInterpreterState, modules)",
                        12: "offsetof(PyInterpreterState, imports.modules)"}),
    # 3.9 declares PyModuleObject in Objects/moduleobject.c only: PyObject_HEAD, then md_dict.
    ("module_dict", {9: "sizeof(PyObject)", 10: "offsetof(PyModuleObject, md_dict)"}),
    ("type_flags", "offsetof(PyTypeObject, tp_flags)"),
    ("type_basicsize", "offsetof(PyTypeObject, tp_basicsize)"),
    ("type_dictoffset", "offsetof(PyTypeObject, tp_dictoffset)"),
    ("heaptype_cached_keys", "offsetof(PyHeapTypeObject, ht_cached_keys)"),
    ("tpflags_managed_dict", {9: None, 11: "Py_TPFLAGS_MANAGED_DICT"}),
    ("tpflags_inline_values", {9: None, 13: "Py_TPFLAGS_INLINE_VALUES"}),
    # 3.12's _PyObject_DictOrValuesPointer: ((PyDictOrValues *)obj) - 3.
    ("managed_dict", {9: None, 11: "MANAGED_DICT_OFFSET", 12: "-3 * (long long)sizeof(PyObject *)",
                      13: "MANAGED_DICT_OFFSET"}),
    # 3.11's _PyObject_ValuesPointer: ((PyDictValues **)obj) - 4.
    ("managed_values", {9: None, 11: "-4 * (long long)sizeof(PyObject *)", 12: None}),
    ("dict_keys", "offsetof(PyDictObject, ma_keys)"),
    ("dict_values", "offsetof(PyDictObject, ma_values)"),
    # 3.9 and 3.10 declare PyDictKeysObject in Objects/dict-common.h only:
    # dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries, then dk_indices.
    ("keys_size", {9: "8", 11: None}),
    ("keys_log2_size", {9: None, 11: "offsetof(PyDictKeysObject, dk_log2_size)"}),
    ("keys_log2_index_bytes", {9: None, 11: "offsetof(PyDictKeysObject, dk_log2_index_bytes)"}),
    ("keys_kind", {9: None, 11: "offsetof(PyDictKeysObject, dk_kind)"}),
    ("keys_nentries", {9: "32", 11: "offsetof(PyDictKeysObject, dk_nentries)"}),
    ("keys_indices", {9: "40", 11: "offsetof(PyDictKeysObject, dk_indices)"}),
    # Before 3.11 ma_values is the array itself.
    ("values_values", {9: "0", 11: "offsetof(PyDictValues, values)"}),
    ("values_valid", {9: None, 13: "offsetof(PyDictValues, valid)"}),
    ("long_size", {9: "offsetof(PyVarObject, ob_size)",
                   12: "offsetof(PyLongObject, long_value.lv_tag)"}),
    ("long_digits", {9: "offsetof(PyLongObject, ob_digit)",
                     12: "offsetof(PyLongObject, long_value.ob_digit)"}),
    ("long_tag_bits", {9: "0", 12: "_PyLong_NON_SIZE_BITS"}),
    ("long_shift", "PyLong_SHIFT"),
    ("bytes_size", "offsetof(PyVarObject, ob_size)"),
    ("bytes_data", "offsetof(PyBytesObject, ob_sval)"),
    ("code_linetable", {9: "offsetof(PyCodeObject, co_lnotab)",
                        10: "offsetof(PyCodeObject, co_linetable)"}),
    ("code_code", {9: None, 11: "offsetof(PyCodeObject, co_code_adaptive)"}),
    ("frame_lasti", {9: "offsetof(PyFrameObject, f_lasti)",
                     11: "offsetof(_PyInterpreterFrame, prev_instr)",
                     13: "offsetof(_PyInterpreterFrame, instr_ptr)"}),
]

OBJECT_PROBE_HEAD = """\
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <frameobject.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030A0000
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#endif
int main(void)
{
    printf("%s\\n", PY_VERSION);
"""

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


def by_minor(table, minor):
    """The expression of the nearest lower minor in {minor: expression}."""
    return table[max(m for m in table if m <= minor)]


def measure(prefix, minor, fields=FIELDS, head=PROBE_HEAD, pick=lambda e, m: e[era(m)]):
    """{field: value or -1} and the patch version, for one installed CPython."""
    include = os.path.join(prefix, "include", "python3.%d" % minor)
    lines = [head]
    for field, expr in fields:
        if isinstance(expr, dict):
            expr = pick(expr, minor)
        lines.append('    printf("%%lld\\n", (long long)(%s));\n' % (expr or "-1"))
    lines.append("    return 0;\n}\n")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write("".join(lines))
        subprocess.run(["cc", "-std=gnu11", "-I", include, "-I", os.path.join(include, "internal"),
                        "-o", exe, src], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    return out[0], dict(zip((f for f, _ in fields), (int(v) for v in out[1:])))


def find_prefix(versions_dir, minor):
    found = sorted((d for d in os.listdir(versions_dir) if re.fullmatch(r"3\.%d\.\d+" % minor, d)),
                   key=lambda d: int(d.split(".")[2]))
    if not found:
        sys.exit("gen-layouts: no CPython 3.%d under %s" % (minor, versions_dir))
    return os.path.join(versions_dir, found[-1])


def render_rows(out, rows, fields):
    for minor, (patch, values) in rows:
        out.append("    {\n        .version = 0x03%02x, .measured_on = \"%s\",\n" % (minor, patch))
        for field, _ in fields:
            out.append("        .%s = %d,\n" % (field, values[field]))
        out.append("    },\n")


def render(rows, object_rows):
    out = ["/* Generated by scripts/gen-layouts.py: do not edit.  Where CPython keeps\n"
           " * what the stack walker and attach read, per minor version, measured with\n"
           " * offsetof against each version's own internal headers (the version each\n"
           " * row was measured on is named in it).  3.13+ publish this themselves:\n"
           " * _Py_DebugOffsets (debug_offsets.c). */\n",
           '#include "sampler/py_layouts.h"\n\n',
           "const plumb_py_layout plumb_py_layouts[] = {\n"]
    render_rows(out, rows, FIELDS)
    out.append("};\n\nconst unsigned plumb_py_layouts_count = sizeof plumb_py_layouts / sizeof *plumb_py_layouts;\n")
    out.append("\n/* Objects beyond the stacks (thread names, current lines), 3.9-3.13. */\n"
               "const plumb_py_object_layout plumb_py_object_layouts[] = {\n")
    render_rows(out, object_rows, OBJECT_FIELDS)
    out.append("};\n\nconst unsigned plumb_py_object_layouts_count =\n"
               "    sizeof plumb_py_object_layouts / sizeof *plumb_py_object_layouts;\n")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=os.path.expanduser("~/.pyenv/versions"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    rows = [(m, measure(find_prefix(args.versions, m), m)) for m in MINORS]
    object_rows = [(m, measure(find_prefix(args.versions, m), m, OBJECT_FIELDS, OBJECT_PROBE_HEAD,
                               by_minor)) for m in OBJECT_MINORS]
    text = render(rows, object_rows)
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
