#!/bin/sh
# scripts/build-wheel.sh PYTHON DEST: builds plumb's wheel for PYTHON into
# DEST (emptied first), from a copy of the files the package is made of, so
# that no earlier build's objects (another version's, or the sanitizer's:
# PLUMB_SANITIZE=1 in the environment) are reused.  PYTHON's own setuptools
# builds it (--no-build-isolation: nothing is downloaded).
set -e
python=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dest=$2
case $dest in /*) ;; *) dest="$PWD/$dest" ;; esac
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r setup.py pyproject.toml MANIFEST.in README.md LICENSE src plumb "$work/"
find "$work/plumb" \( -name __pycache__ -o -name '*.so' \) -prune -exec rm -rf {} +
rm -rf "$dest" && mkdir -p "$dest"
(cd "$work" && "$python" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$dest" .)
