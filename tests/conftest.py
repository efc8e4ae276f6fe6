"""Shared helpers: run programs under `python -m plumb` with the Python that
runs the tests, so each CPython version tests its own build."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The plumb under test is the one users get: installed from its wheel into
# the interpreter running the tests (scripts/run-tests.sh), or, when
# PLUMB_TEST_ROOT is set, the folder a wheel was installed into (the
# sanitizer build's, scripts/run-sanitized.sh).  Never the checkout: a file
# left out of the package must fail a test, not be found beside it.
PLUMB_ROOT = os.environ.get("PLUMB_TEST_ROOT")
if PLUMB_ROOT:
    sys.path.insert(0, PLUMB_ROOT)
import plumb  # noqa: E402  (after the path is set)

PLUMB_DIR = os.path.dirname(os.path.abspath(plumb.__file__))
if PLUMB_DIR == os.path.join(ROOT, "plumb") and os.environ.get("PLUMB_TEST_CHECKOUT") != "1":
    raise RuntimeError(
        "the tests import plumb from the checkout; run them through `make test-python` "
        "(plumb installed from its wheel), or set PLUMB_TEST_CHECKOUT=1 to test an in-place build")


def env_with_plumb(extra=None):
    env = dict(os.environ)
    if PLUMB_ROOT:
        env["PYTHONPATH"] = PLUMB_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONSTARTUP", None)
    if extra:
        env.update(extra)
    return env


def default_signals():
    """Programs start with SIGINT and SIGTERM at their default actions, as
    from a terminal; a CI runner in the background may have SIGINT ignored,
    and python (and so plumb) would then inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run(args, cwd=None, input=None, timeout=120, env=None):
    return subprocess.run(args, cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=timeout, env=env or env_with_plumb(),
                          preexec_fn=default_signals)


def plumb(*args, **kw):
    """Runs `python -m plumb ARGS...`."""
    return run([sys.executable, "-m", "plumb", *args], **kw)


def python(*args, **kw):
    """Runs the same program under plain python, for comparison."""
    return run([sys.executable, *args], **kw)


@pytest.fixture
def script(tmp_path):
    """Writes a dedented script into tmp_path and returns its path."""
    def write(source, name="prog.py"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return str(path)
    return write


# -- for the web tests: a client, ports, and the files requests leave ----------

def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, headers=None):
    """(status, {lower-case header: value}, body) of GET path on localhost."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def wait_for_files(directory, count, timeout=20):
    """The visible files of directory once there are count of them (or at
    the timeout): a profile is written after its response has gone."""
    import time

    deadline = time.time() + timeout
    while True:
        names = sorted(f for f in os.listdir(directory) if not f.startswith("."))
        if len(names) >= count or time.time() > deadline:
            return names
        time.sleep(0.02)


def wait_for_port(port, proc, timeout=30):
    """Returns once something listens on port; fails with proc's output if
    proc ends first or the timeout passes."""
    import socket
    import time

    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                if proc.poll() is None:
                    proc.kill()
                raise AssertionError("the server did not start:\n" + proc.communicate()[0])
            time.sleep(0.1)
