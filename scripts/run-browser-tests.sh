#!/bin/sh
# Runs the HTML report's tests (tests/browser) in Debian's chromium, driven
# by Playwright for Python from PyPI, installed here into the newest
# CPython's venv (Playwright drives the system chromium: no browser is
# downloaded).  Needs `scripts/system-deps.sh --test` (chromium) first.
set -e
cd "$(dirname "$0")/.."
minor=$(scripts/pythons.sh 2>/dev/null | tail -n 1 | cut -d' ' -f1)
venv=".venv/$minor"
if [ ! -f "$venv/.browser-tools-1" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check playwright
    touch "$venv/.browser-tools-1"
fi
command -v chromium >/dev/null 2>&1 || { echo "chromium is not installed (scripts/system-deps.sh --test)" >&2; exit 1; }
echo "== report tests in $(chromium --version 2>/dev/null | head -n 1) (CPython $minor)"
# From an empty folder, against plumb installed from its wheel (as run-tests.sh).
top=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" && "$top/$venv/bin/pytest" -q -p no:cacheprovider "$top/tests/browser" "$@"
