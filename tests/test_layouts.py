"""The core's per-version layout rows (src/core/sampler/py_layouts.c, made
by scripts/gen-layouts.py; 3.13 from _Py_DebugOffsets) against what offsetof
measures in the extension, built against the running CPython's headers:
every CPython the suite runs on checks its own row."""
import os
import subprocess
import sys

import pytest

from plumb import _plumb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_running_versions_row_is_what_offsetof_measures():
    assert _plumb._layout_mismatches() == []


@pytest.mark.skipif(not os.path.isdir(os.path.expanduser("~/.pyenv/versions")),
                    reason="no pyenv CPythons to measure")
def test_the_generated_table_is_current():
    script = os.path.join(ROOT, "scripts", "gen-layouts.py")
    if not os.path.exists(script):
        pytest.skip("not a checkout")
    done = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
