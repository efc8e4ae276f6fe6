#!/bin/sh
# Creates .venv/<minor> for each installed CPython 3.9-3.13 with the build
# and test tools, and builds plumb's extension in place for it.
set -e
cd "$(dirname "$0")/.."
scripts/pythons.sh | while read -r minor python; do
    venv=".venv/$minor"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    if [ ! -f "$venv/.tools-installed-6" ]; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip setuptools wheel pytest gprof2dot yappi django flask gunicorn fastapi uvicorn "psycopg[binary]"
        touch "$venv/.tools-installed-6"
    fi
    "$venv/bin/python" setup.py -q build_ext --inplace >"$venv/build.log" 2>&1 || {
        cat "$venv/build.log"; echo "build failed for CPython $minor" >&2; exit 1; }
    echo "built plumb for CPython $minor"
done
