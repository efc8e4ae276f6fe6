"""The package users install holds all of plumb: every module and data file
of the checkout's plumb/ is in the installed copy the tests run against
(package discovery, not a hand-kept list, decides what goes in the wheel;
this is the test that fails if a sub-package or a report file is left out).
"""
import os
import subprocess
import sys

import pytest

from conftest import PLUMB_DIR, PLUMB_ROOT, ROOT, env_with_plumb

SOURCE = os.path.join(ROOT, "plumb")
# A developer's quick loop tests an in-place build (PLUMB_TEST_CHECKOUT=1):
# there is no installed package to check.
pytestmark = pytest.mark.skipif(os.environ.get("PLUMB_TEST_CHECKOUT") == "1",
                                reason="testing the checkout's in-place build, not an install")


def package_files(top):
    found = set()
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".pyc", ".so")):
                found.add(os.path.relpath(os.path.join(folder, name), top))
    return found


def test_the_tests_use_an_installed_plumb():
    assert PLUMB_DIR != SOURCE
    assert os.path.isdir(PLUMB_DIR)


def test_every_file_of_the_package_is_installed():
    source = package_files(SOURCE)
    assert {"__init__.py", "report/report.js", "web/wsgi.py",
            "contrib/django/management/commands/runprofileserver.py"} <= source
    missing = sorted(source - package_files(PLUMB_DIR))
    assert not missing, f"left out of the installed package: {missing}"


def test_installed_modules_import():
    """Every module imports in a fresh interpreter (Django's parts with
    Django configured), so nothing installed depends on the checkout."""
    modules = sorted(
        "plumb." + path[:-3].replace(os.sep, ".").replace(".__init__", "")
        for path in package_files(SOURCE)
        if path.endswith(".py") and path not in ("__init__.py", "__main__.py"))
    code = ("import django\nfrom django.conf import settings\n"
            "settings.configure(INSTALLED_APPS=['plumb.contrib.django'])\ndjango.setup()\n"
            "import importlib, sys\n"
            "for name in sys.argv[1:]:\n    importlib.import_module(name)\n"
            "print('imported', len(sys.argv) - 1)\n")
    got = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True,
                         env=env_with_plumb(), cwd=os.path.dirname(PLUMB_DIR), timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == f"imported {len(modules)}"


def test_the_plumb_command_is_installed():
    if PLUMB_ROOT:
        pytest.skip("a --target install (the sanitizer run's) has no venv to hold the command")
    command = os.path.join(os.path.dirname(sys.executable), "plumb")
    got = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0 and "plumb" in got.stdout
