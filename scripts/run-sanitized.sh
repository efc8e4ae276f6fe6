#!/bin/sh
# Builds the extension with AddressSanitizer and UndefinedBehaviorSanitizer
# into build/sanitize/<minor>/ and runs the Python test suite against it, on
# the newest CPython with the legacy hook (3.11) and with sys.monitoring (the
# newest installed), the two suites at once (scripts/lanes.sh).  CPython
# itself is not instrumented, so the runtime is preloaded and leak checking
# (CPython keeps objects alive at exit) is off.
set -e
cd "$(dirname "$0")/.."
top=$PWD
. scripts/lanes.sh
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
picked=$(scripts/pythons.sh 2>/dev/null | awk '$1=="3.11"{legacy=$1} {newest=$1} END{print legacy, newest}')
minors=$(echo "$picked" | tr ' ' '\n' | sort -u)
for minor in $minors; do
    dest="$top/build/sanitize/$minor"
    rm -rf "$dest" && mkdir -p "$dest/run"
    # plumb's wheel built with the sanitizers, installed into a folder of its
    # own (the tests find it through PLUMB_TEST_ROOT), as users install it.
    PLUMB_SANITIZE=1 scripts/build-wheel.sh ".venv/$minor/bin/python" "$dest/wheel" >"$dest/build.log" 2>&1 &&
    ".venv/$minor/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
        --target "$dest/site" "$dest"/wheel/plumb-*.whl >>"$dest/build.log" 2>&1 || {
        cat "$dest/build.log"; exit 1; }
done

sanitized_suite() {
    dest="$top/build/sanitize/$1"
    echo "== tests on CPython $1 with ASan and UBSan"
    # From an empty folder, so that `import plumb` finds the sanitized build only.
    cd "$dest/run" && PLUMB_TEST_ROOT="$dest/site" LD_PRELOAD="$asan $ubsan" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$top/.venv/$1/bin/pytest" -q -p no:cacheprovider --durations=12 --basetemp="$dest/tmp" \
        --ignore="$top/tests/browser" "$top/tests"
}

# The regular run's minors (tests/conftest.py, suite_is): the newest
# sanitized suite runs what only the oldest and newest suites run.
PLUMB_TEST_MINORS=$(scripts/pythons.sh 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ')
export PLUMB_TEST_MINORS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run_in_lanes "$work" sanitized_suite $minors
