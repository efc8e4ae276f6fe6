"""Builds plumb's C extension: the core (src/core, no Python.h) and the
CPython binding (src/cpython) linked into one module, plumb._plumb."""
import glob
import os

from setuptools import Extension, setup

CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
          "-fvisibility=hidden"]
# PLUMB_SANITIZE=1 builds with ASan and UBSan for the sanitizer test run.
if os.environ.get("PLUMB_SANITIZE"):
    CFLAGS += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-O1"]
LDFLAGS = ["-fsanitize=address,undefined"] if os.environ.get("PLUMB_SANITIZE") else []

setup(
    ext_modules=[
        Extension(
            "plumb._plumb",
            sources=sorted(glob.glob("src/core/*/*.c")) + sorted(glob.glob("src/cpython/*.c")),
            depends=glob.glob("src/core/*/*.h") + glob.glob("src/cpython/*.h"),
            # The core's headers are named from its root: "base/errors.h", "formats/readers.h".
            include_dirs=["src/core"],
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
        )
    ],
)
