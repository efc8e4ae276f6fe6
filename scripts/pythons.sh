#!/bin/sh
# Prints "MINOR PATH" for each CPython 3.9-3.13 installed under pyenv (the
# newest patch release of each), and a notice on stderr for each missing one.
# PLUMB_PYTHONS="3.11 3.12" narrows the list.
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for minor in ${PLUMB_PYTHONS:-3.9 3.10 3.11 3.12 3.13}; do
    best=$(ls -d "$root"/versions/"$minor".* 2>/dev/null | grep -E "/$minor\.[0-9]+$" | sort -t. -k3 -n | tail -n 1)
    if [ -n "$best" ] && [ -x "$best/bin/python3" ]; then
        echo "$minor $best/bin/python3"
    else
        echo "notice: CPython $minor is not installed; skipping it" >&2
    fi
done
