#!/bin/sh
# Runs the Python test suite once under each installed CPython 3.9-3.13
# (the browser tests run once, in scripts/run-browser-tests.sh).
set -e
cd "$(dirname "$0")/.."
status=0
for minor in $(scripts/pythons.sh | cut -d' ' -f1); do
    echo "== tests on CPython $minor"
    PYTHONPATH="$PWD" ".venv/$minor/bin/python" -m pytest -q -rs -p no:cacheprovider --ignore=tests/browser tests "$@" || status=1
done
exit $status
