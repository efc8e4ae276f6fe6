#!/bin/sh
# Runs the Python test suite once under each installed CPython 3.9-3.13
# (the browser tests run once, in scripts/run-browser-tests.sh), against
# plumb as installed from its wheel into .venv/<minor> (scripts/setup-venvs.sh).
# They run from an empty folder with the pytest command, so neither they nor
# the programs they start find the checkout's plumb/ on sys.path
# (tests/conftest.py refuses to test it).  Two suites run at once
# (scripts/lanes.sh; PLUMB_TEST_LANES=1 for one at a time), each with a
# folder and a pytest temporary folder of its own.
set -e
cd "$(dirname "$0")/.."
top=$PWD
. scripts/lanes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

suite() {
    mkdir -p "$work/run-$1"
    echo "== tests on CPython $1"
    cd "$work/run-$1" && "$top/.venv/$1/bin/pytest" -q -rs -p no:cacheprovider --durations=12 \
        --basetemp="$work/run-$1/tmp" --ignore="$top/tests/browser" "$top/tests" $PYTEST_ARGS
}

# The run's minors, for the few tests that run fully in some suites only
# (tests/conftest.py, suite_is).
minors=$(scripts/pythons.sh | cut -d' ' -f1)
PLUMB_TEST_MINORS=$(echo $minors)
export PLUMB_TEST_MINORS
# The newest suite runs the most of them, so it goes first, then the oldest.
run_in_lanes "$work" suite $(printf '%s\n' $minors | tail -n 1) $(printf '%s\n' $minors | sed '$d')
