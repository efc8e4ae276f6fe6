#!/bin/sh
# plumb as a user gets it: an sdist from a clean copy of the checkout, a
# wheel built from that sdist, installed into a fresh venv (the newest
# installed CPython) beside Django from PyPI; then tests/install/
# use_installed.py uses it from an empty folder: plumb run, sample and view,
# a Django site's runprofileserver serving a request, the WSGI middleware.
set -e
cd "$(dirname "$0")/.."
top=$PWD
python=$(scripts/pythons.sh 2>/dev/null | tail -n 1 | cut -d' ' -f2)
tools=".venv/$(scripts/pythons.sh 2>/dev/null | tail -n 1 | cut -d' ' -f1)/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/checkout" "$work/dist" "$work/use"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/checkout"
# The tools' venv (setuptools, build) makes the sdist and the wheel, without
# build isolation: nothing is fetched for the build itself.
"$tools" -m build --sdist --no-isolation -o "$work/dist" "$work/checkout" >"$work/build.log" 2>&1 || {
    cat "$work/build.log"; echo "building the sdist failed" >&2; exit 1; }
tar -xzf "$work"/dist/plumb-*.tar.gz -C "$work/dist"
"$tools" -m build --wheel --no-isolation -o "$work/dist" "$work"/dist/plumb-*/ >>"$work/build.log" 2>&1 || {
    cat "$work/build.log"; echo "building the wheel from the sdist failed" >&2; exit 1; }
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$work"/dist/plumb-*.whl django \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; echo "installing the wheel failed" >&2; exit 1; }
cp tests/install/use_installed.py "$work/"
cd "$work/use"
"$work/venv/bin/python" "$work/use_installed.py" "$work/use"
echo "sdist -> wheel -> fresh venv: plumb works as installed ($("$work/venv/bin/python" --version))"
