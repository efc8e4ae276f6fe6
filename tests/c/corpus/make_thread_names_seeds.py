"""Writes the thread-names fuzzing seeds into thread_names/: for each
version's object row in src/core/sampler/py_layouts.c, an address space
(as fuzz/fuzz_thread_names.c reads it, from BASE) in which the interpreter's
sys.modules holds threading, whose _active maps an ident to a Thread whose
instance dict (at its type's tp_dictoffset) holds _name: the whole path a
read takes, for the mutator to start from.  Run once with any Python; the
seeds are kept in the repository."""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUTS = os.path.join(HERE, "..", "..", "..", "src", "core", "sampler", "py_layouts.c")
BASE = 0x10000000
STR_TYPE, DICT_TYPE, LONG_TYPE, MODULE_TYPE = 0x70000100, 0x70000200, 0x70000300, 0x70000400
THREAD_TYPE = 0x3800     # offsets from BASE


def rows(text, table):
    body = text.split(table + "[] = {", 1)[1].split("\n};", 1)[0]
    for block in body.split("\n    {")[1:]:
        yield {k: int(v, 0) for k, v in re.findall(r"\.(\w+) = (-?(?:0x)?[0-9a-f]+),", block)}


class Image:
    def __init__(self, size):
        self.data = bytearray(size)

    def word(self, at, value):
        struct.pack_into("<q" if value < 0 else "<Q", self.data, at, value)

    def byte(self, at, value):
        self.data[at] = value


def write_str(img, at, walker, text):
    img.word(at + 8, STR_TYPE)
    img.word(at + walker["unicode_length"], len(text))
    struct.pack_into("<I", img.data, at + walker["unicode_state"], 1 << 5 | 1 << 6)
    data = at + walker["unicode_ascii_size"]
    img.data[data:data + len(text)] = text.encode("ascii")
    return BASE + at


def write_dict(img, at, obj, entries, str_keys):
    """A dict at `at`, its keys object after it: entries [(key, value)]."""
    keys = at + 64
    img.word(at + 8, DICT_TYPE)
    img.word(at + obj["dict_keys"], BASE + keys)
    img.word(at + obj["dict_values"], 0)
    slots = 8
    if obj["keys_size"] >= 0:
        img.word(keys + obj["keys_size"], slots)
        general = True
    else:
        img.byte(keys + obj["keys_log2_size"], 3)
        img.byte(keys + obj["keys_log2_index_bytes"], 3)
        general = not str_keys
        img.byte(keys + obj["keys_kind"], 0 if general else 1)
    img.word(keys + obj["keys_nentries"], len(entries))
    indices = keys + obj["keys_indices"]
    for i in range(slots):
        img.byte(indices + i, i if i < len(entries) else 0xff)
    first = indices + slots
    size = 24 if general else 16
    for i, (key, value) in enumerate(entries):
        entry = first + i * size + (8 if general else 0)
        img.word(entry, key)
        img.word(entry + 8, value)
    return BASE + at


def seed(obj, walker):
    img = Image(0x4000)
    s_threading = write_str(img, 0x2000, walker, "threading")
    s_active = write_str(img, 0x2080, walker, "_active")
    s_name = write_str(img, 0x2100, walker, "_name")
    s_value = write_str(img, 0x2180, walker, "MainThread")
    ident = 0x2200
    img.word(ident + 8, LONG_TYPE)
    img.word(ident + obj["long_size"], 2 << obj["long_tag_bits"])
    struct.pack_into("<II", img.data, ident + obj["long_digits"], 0x1234567, 0x1f)
    thread_dict = write_dict(img, 0x2400, obj, [(s_name, s_value)], True)
    thread = 0x2800
    img.word(thread + 8, BASE + THREAD_TYPE)
    img.word(thread + 16, thread_dict)
    img.word(THREAD_TYPE + obj["type_dictoffset"], 16)
    img.word(THREAD_TYPE + obj["type_basicsize"], 32)
    active = write_dict(img, 0x2c00, obj, [(BASE + ident, BASE + thread)], False)
    module_dict = write_dict(img, 0x3000, obj, [(s_active, active)], True)
    module = 0x3400
    img.word(module + 8, MODULE_TYPE)
    img.word(module + obj["module_dict"], module_dict)
    modules = write_dict(img, 0x3500, obj, [(s_threading, BASE + module)], True)
    img.word(obj["interp_modules"], modules)
    return bytes(img.data)


def main():
    with open(LAYOUTS) as f:
        text = f.read()
    walkers = {r["version"]: r for r in rows(text, "plumb_py_layouts")}
    out = os.path.join(HERE, "thread_names")
    os.makedirs(out, exist_ok=True)
    for obj in rows(text, "plumb_py_object_layouts"):
        walker = walkers.get(obj["version"]) or walkers[max(walkers)]
        name = "path-3.%d.bin" % (obj["version"] & 0xff)
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed(obj, walker))


if __name__ == "__main__":
    main()
