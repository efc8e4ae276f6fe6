#!/bin/sh
# `pip install .` from a clean copy of the checkout into a throwaway venv
# (the newest installed CPython), then the installed `plumb` command on a
# real script: the package metadata and the entry point work.
set -e
cd "$(dirname "$0")/.."
python=$(scripts/pythons.sh 2>/dev/null | tail -n 1 | cut -d' ' -f2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 -I{} cp --parents {} "$work/" 2>/dev/null || cp -r . "$work/src-copy"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$work" >"$work/pip.log" 2>&1 || {
    cat "$work/pip.log"; echo "pip install . failed" >&2; exit 1; }
cd "$work"
printf 'import sys\ndef f(n): return n if n < 2 else f(n-1) + f(n-2)\nf(20)\nsys.exit(4)\n' > prog.py
status=0
"$work/venv/bin/plumb" run -o out.callgrind prog.py || status=$?
[ "$status" = 4 ] || { echo "installed plumb: expected exit status 4, got $status" >&2; exit 1; }
grep -q '^c\?fn=([0-9]*) f:2$' out.callgrind || { echo "installed plumb wrote no profile of f" >&2; exit 1; }
"$work/venv/bin/plumb" run -s cumtime -n 3 prog.py | grep -q 'prog.py:2(f)' || {
    echo "installed plumb printed no table" >&2; exit 1; }
"$work/venv/bin/plumb" run -o out.html prog.py || true
grep -q 'window.plumbReport' out.html || { echo "installed plumb wrote no HTML report" >&2; exit 1; }
echo "pip install . and the plumb command work ($("$work/venv/bin/python" --version))"
