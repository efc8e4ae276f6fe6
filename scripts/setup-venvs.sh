#!/bin/sh
# Creates .venv/<minor> for each installed CPython 3.9-3.13 with the build
# and test tools, builds plumb's wheel for it (build/wheels/<minor>/) and
# installs that wheel, as a user's `pip install` would: the tests, the demo
# and the benchmarks use the installed package, never the checkout.
set -e
cd "$(dirname "$0")/.."
scripts/pythons.sh | while read -r minor python; do
    venv=".venv/$minor"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    if [ ! -f "$venv/.tools-installed-9" ]; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip setuptools wheel build pytest pytest-timeout gprof2dot yappi django flask gunicorn fastapi uvicorn "psycopg[binary]" celery
        touch "$venv/.tools-installed-9"
    fi
    scripts/build-wheel.sh "$venv/bin/python" "build/wheels/$minor" >"$venv/build.log" 2>&1 || {
        cat "$venv/build.log"; echo "build failed for CPython $minor" >&2; exit 1; }
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall \
        build/wheels/"$minor"/plumb-*.whl >>"$venv/build.log" 2>&1 || {
        cat "$venv/build.log"; echo "install failed for CPython $minor" >&2; exit 1; }
    echo "built and installed plumb for CPython $minor"
done
