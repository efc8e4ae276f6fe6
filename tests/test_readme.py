"""The README and the code cannot drift apart: every `plumb` command line in
the README's shell examples runs, on stand-in files, without an error or a
traceback, and every option the README names is one that plumb (or the
command it documents) accepts.  When the README shows a command or an option
that the code lost, or the code drops one the README still promises, this
fails.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from monitor_seed import seed_store

from conftest import ROOT, env_with_plumb, plumb

README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
DATA = os.path.join(ROOT, "tests", "data")

# The examples' app.py: calls to count, and 50 ms of wall time for a
# sampler's rounds to fall in whatever the host's speed.
APP = """\
import sys, threading, time
def work(n):
    return n if n < 2 else work(n - 1) + work(n - 2)
def render():
    return "".join(str(i) for i in range(2000))
def main():
    t = threading.Thread(target=work, args=(16,), name="worker")
    t.start()
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end:
        work(12)
    render()
    t.join()
if __name__ == "__main__":
    main()
"""
MODULE = "from app import main\nmain()\n"

# Flags the README shows that belong to other programs (setup.py's, in the
# developer notes).
FOREIGN = {"--inplace", "--preload", "--cap-add"}   # setup.py's, gunicorn's, docker's


def shell_lines():
    """Command lines of the README's ```sh blocks, comments stripped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def plumb_lines():
    return [line for line in shell_lines()
            if line.startswith(("plumb ", "python -m plumb "))]


def test_the_readme_shows_plumb_commands():
    commands = {shlex.split(line)[1 if line.startswith("plumb") else 3] for line in plumb_lines()}
    assert {"run", "sample", "stats", "merge", "diff", "convert", "view", "token"} <= commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, request):
    """A folder with the files the examples name: app.py, a package with
    `tool` and `server` modules, profiles to read, merge and compare, py-spy's
    stacks, and a folder of per-request files as runprofileserver names them."""
    d = tmp_path_factory.mktemp("readme")
    (d / "app.py").write_text(APP)
    (d / "mypackage").mkdir()
    (d / "mypackage" / "__init__.py").write_text("")
    for name in ("tool", "server"):
        (d / "mypackage" / f"{name}.py").write_text(MODULE)
    (d / "myapp").mkdir()
    prof = str(d / "seed.prof")
    assert plumb("run", "-o", prof, "app.py", cwd=d).returncode == 0
    for name in ("a", "b", "before", "after", "profile"):
        shutil.copy(prof, d / f"{name}.prof")
    (d / "req").mkdir()
    for i in range(2):
        shutil.copy(prof, d / "req" / f"shop.cart.00001{i}ms.170000000{i}.prof")
    shutil.copy(os.path.join(DATA, "pyspy-0.4.3-raw.txt"), d / "pyspy.folded")
    trace_id, session = seed_store(str(d / "plumb-monitor.db"))
    (d / "trace.id").write_text(trace_id)
    (d / "xray.id").write_text(session)
    # A running Python process for the attach examples' PID.
    target = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.01)"])
    request.addfinalizer(lambda: (target.kill(), target.wait()))
    (d / "target.pid").write_text(str(target.pid))
    return d


def concrete(line, workdir):
    """The example's arguments with its placeholders made real: ARGS... are
    two arguments, /tmp/profiles (and /tmp/prof) the per-request folder,
    globs expanded in the work folder."""
    args = shlex.split(line.replace("$PLUMB_SECRET", "s3cret"))
    if args[:3] == ["python", "-m", "plumb"]:
        args = args[3:]
    else:
        args = args[1:]
    out = []
    for arg in args:
        if arg == "ID":     # a kept trace's or an X-Ray session's (seed_monitor_store)
            out.append((workdir / ("xray.id" if out[:1] == ["xray"] else "trace.id")).read_text())
        elif arg == "PID":  # a running Python (the workdir fixture's)
            out.append((workdir / "target.pid").read_text())
        elif arg == "ARGS...":
            out += ["1", "2"]
        elif arg in ("/tmp/profiles", "/tmp/prof"):
            by_path = workdir / f"by-path-{len(os.listdir(workdir))}"
            shutil.copytree(workdir / "req", by_path)
            out.append(str(by_path))
        elif any(c in arg for c in "*?["):
            found = sorted(glob.glob(str(workdir / arg)))
            assert found, f"{line}: {arg} matches nothing"
            out += found
        else:
            out.append(arg)
    return out


@pytest.mark.parametrize("line", plumb_lines())
def test_every_example_runs(line, workdir):
    args = concrete(line, workdir)
    # `--open` opens the report with the browser named by $BROWSER: `true`
    # here, which opens nothing and succeeds.  `stats -i` reads commands
    # from its standard input, here one that quits.
    env = env_with_plumb({"BROWSER": "true", "PLUMB_SECRET": "s3cret"})
    got = plumb(*args, cwd=workdir, env=env, input="quit\n", timeout=180)
    detail = f"{line}\n-> exit {got.returncode}\nstdout: {got.stdout[-1500:]}\nstderr: {got.stderr[-1500:]}"
    assert got.returncode == 0, detail
    assert "Traceback" not in got.stderr, detail
    outfile = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-o"), None)
    if outfile:
        assert os.path.getsize(workdir / outfile) > 0, detail


def help_text(*command):
    got = plumb(*command, "--help")
    assert got.returncode == 0, got.stderr
    return got.stdout


def runprofileserver_help(tmp_path):
    (tmp_path / "settings.py").write_text(
        'SECRET_KEY = "x"\nINSTALLED_APPS = ["plumb.contrib.django"]\nDATABASES = {}\n')
    got = subprocess.run([sys.executable, "-m", "django", "help", "runprofileserver"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env_with_plumb({"DJANGO_SETTINGS_MODULE": "settings",
                                             "PYTHONPATH": str(tmp_path) + os.pathsep
                                             + env_with_plumb().get("PYTHONPATH", "")}))
    assert got.returncode == 0, got.stderr
    return got.stdout


def options_of(text):
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", text))


def table_options(after):
    """Options in the first column of the table that follows `after`."""
    rest = README[README.index(after):]
    table = re.search(r"\n(\|.*\|\n)+", rest).group(0)
    return {opt for row in table.strip().splitlines()[2:]
            for opt in re.findall(r"`(--?[a-zA-Z][\w-]*)", row.split("|")[1])}


@pytest.mark.parametrize("command, after", [
    ("run", "`plumb run` takes cProfile's"),
    ("sample", "## Sampling: `plumb sample`"),
])
def test_option_tables_match_the_commands(command, after):
    documented = table_options(after)
    assert documented, f"no option table after {after!r}"
    text = help_text(command)
    missing = documented - options_of(text)
    assert not missing, f"the README's `plumb {command}` table names options it lacks: {missing}"
    # The formats the table lists are the ones --format takes.
    rest = README[README.index(after):]
    row = next(r for r in rest.splitlines() if r.startswith("|") and "`--format F`" in r)
    choices = set(re.search(r"--format \{([a-z,]+)\}", text).group(1).split(","))
    formats = set(re.findall(r"`([a-z]+)`", row.split("|")[2]))
    if not formats and "any of `plumb sample`'s formats" in row:
        sample = help_text("sample")
        formats = set(re.search(r"--format \{([a-z,]+)\}", sample).group(1).split(","))
    assert formats and formats == choices, (formats, choices)


def test_every_option_named_is_accepted_somewhere(tmp_path):
    """Every `--option` the README names (in code or backticks) is accepted
    by one of plumb's commands or by runprofileserver, unless it belongs to
    another program (FOREIGN)."""
    named = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", README)) - FOREIGN
    accepted = options_of(help_text())
    for command in ("run", "sample", "top", "stats", "merge", "diff", "convert", "view", "token",
                    "transactions", "traces", "trace", "profile", "serve"):
        accepted |= options_of(help_text(command))
    for command in ("xray", "threads"):
        accepted |= options_of(help_text(command, "start")) | options_of(help_text(command, "show"))
    accepted |= options_of(runprofileserver_help(tmp_path))
    unknown = sorted(named - accepted)
    assert not unknown, f"the README names options no command accepts: {unknown}"
