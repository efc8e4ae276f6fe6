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


# The CPython minors the whole run covers, oldest first (scripts/run-tests.sh
# and run-sanitized.sh set it from scripts/pythons.sh).  A few costly tests
# whose subject is the same whichever interpreter runs them (a server
# plumb talks to over HTTP in Python, the attacher's target matrix) run
# fully in some suites only (suite_is below); run by hand, without it,
# every suite runs everything.
RUN_MINORS = os.environ.get("PLUMB_TEST_MINORS", "").split()
SUITE_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"


def suite_is(*which):
    """Whether this suite is one of `which` ("oldest", "newest") of the
    run's, or the run names none."""
    if not RUN_MINORS:
        return True
    return (("oldest" in which and SUITE_MINOR == RUN_MINORS[0])
            or ("newest" in which and SUITE_MINOR == RUN_MINORS[-1]))


def pytest_configure(config):
    config.addinivalue_line("markers", "other_version_target: an attach target of another "
                                       "CPython than the suite's (run in the newest suite)")


def pytest_collection_modifyitems(config, items):
    """Leaves out, in the suites they are not for: the ClickHouse store's
    tests (Python over http.client, the same on every CPython; a quarter of
    a suite's time, 110 of 405 s on 3.12), run in the oldest and newest
    suites; and the attach targets of other versions than the suite's,
    attached to by the newest suite (the attacher reads a target by the
    target's version, whatever Python it runs under)."""
    left = {"ClickHouse's tests": [], "attach targets of other versions": []}
    kept = []
    for item in items:
        if uses_clickhouse(item) and not suite_is("oldest", "newest"):
            left["ClickHouse's tests"].append(item)
        elif item.get_closest_marker("other_version_target") and not suite_is("newest"):
            left["attach targets of other versions"].append(item)
        else:
            kept.append(item)
    deselected = [item for group in left.values() for item in group]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        config._plumb_left = {name: len(group) for name, group in left.items() if group}


def uses_clickhouse(item):
    """Whether a test needs the session's ClickHouse server: by its fixtures,
    or as the clickhouse case of store_backends.py's open_backend."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "clickhouse_server" in item.fixturenames or params.get("open_backend") == "clickhouse"


def pytest_terminal_summary(terminalreporter, config):
    left = getattr(config, "_plumb_left", None)
    if left:
        terminalreporter.write_line(
            f"left to other suites of this run ({' '.join(RUN_MINORS)}): "
            + ", ".join(f"{n} {name}" for name, n in left.items())
            + f" (ClickHouse's run in {RUN_MINORS[0]} and {RUN_MINORS[-1]}, "
              f"every attach target in {RUN_MINORS[-1]})")


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
