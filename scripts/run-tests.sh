#!/bin/sh
# Runs the Python test suite once under each installed CPython 3.9-3.13
# (the browser tests run once, in scripts/run-browser-tests.sh), against
# plumb as installed from its wheel into .venv/<minor> (scripts/setup-venvs.sh).
# They run from an empty folder with the pytest command, so neither they nor
# the programs they start find the checkout's plumb/ on sys.path
# (tests/conftest.py refuses to test it).
set -e
cd "$(dirname "$0")/.."
top=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for minor in $(scripts/pythons.sh | cut -d' ' -f1); do
    echo "== tests on CPython $minor"
    (cd "$work" && "$top/.venv/$minor/bin/pytest" -q -rs -p no:cacheprovider \
        --ignore="$top/tests/browser" "$top/tests" "$@") || status=1
done
exit $status
