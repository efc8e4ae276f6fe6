#!/bin/sh
# Builds the extension with AddressSanitizer and UndefinedBehaviorSanitizer
# into build/sanitize/<minor>/ and runs the Python test suite against it, on
# the newest CPython with the legacy hook (3.11) and with sys.monitoring (the
# newest installed).  CPython itself is not instrumented, so the runtime is
# preloaded and leak checking (CPython keeps objects alive at exit) is off.
set -e
cd "$(dirname "$0")/.."
top=$PWD
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
picked=$(scripts/pythons.sh 2>/dev/null | awk '$1=="3.11"{legacy=$1} {newest=$1} END{print legacy, newest}')
status=0
for minor in $(echo "$picked" | tr ' ' '\n' | sort -u); do
    dest="build/sanitize/$minor"
    rm -rf "$dest" && mkdir -p "$dest"
    # The whole package (sub-packages and the report's files), without the
    # checkout's own builds of the extension.
    cp -r plumb "$dest/"
    rm -f "$dest"/plumb/*.so
    find "$dest/plumb" -name __pycache__ -prune -exec rm -rf {} +
    PLUMB_SANITIZE=1 ".venv/$minor/bin/python" setup.py -q build_ext \
        --build-lib "$dest" --build-temp "$dest/tmp" --force >"$dest/build.log" 2>&1 || {
        cat "$dest/build.log"; exit 1; }
    echo "== tests on CPython $minor with ASan and UBSan"
    # Run from inside the build so that `import plumb` finds it, not the checkout.
    (cd "$dest" && PYTHONPATH="$PWD" PLUMB_TEST_ROOT="$PWD" LD_PRELOAD="$asan $ubsan" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$top/.venv/$minor/bin/python" -m pytest -q -p no:cacheprovider \
        --ignore="$top/tests/browser" "$top/tests") || status=1
done
exit $status
