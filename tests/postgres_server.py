"""A real PostgreSQL server for the tests, from Debian's package: a fresh
cluster in a temporary folder, on a free loopback port, logging every
statement it runs (so tests can compare traces with what the server saw),
stopped at the end.  initdb refuses to run as root: as root it runs as
the package's `postgres` user."""
import glob
import os
import re
import shutil
import subprocess
import tempfile

from conftest import free_port


def native_env():
    """The environment without the sanitizers' preloads (the sanitized run
    sets them for Python; PostgreSQL's programs and wrk hang or fail under
    them, and they are not what is under test)."""
    env = dict(os.environ)
    for name in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env.pop(name, None)
    return env


def binaries():
    """The newest installed server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


class PostgresServer:
    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/system-deps.sh --test)")
        self.base = tempfile.mkdtemp(prefix="plumb-pg-")
        self.data = os.path.join(self.base, "data")
        self.log = os.path.join(self.base, "server.log")
        self.port = free_port()
        self.user = "plumb"
        self._as = []
        if os.geteuid() == 0:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c log_statement=all -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60",
                  "start")
        self.dsn = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"

    def _run(self, program, *args):
        got = subprocess.run(self._as + [os.path.join(self.bin, program), *args],
                             capture_output=True, text=True, timeout=120, cwd=self.base,
                             env=native_env())
        if got.returncode != 0:
            raise RuntimeError(f"{program} failed: {got.stdout}{got.stderr}")

    def create_database(self, name):
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def log_size(self):
        return os.path.getsize(self.log)

    def statements(self, since=0):
        """The statements the server ran (log_statement=all), in order, from
        the log's byte offset since."""
        with open(self.log, encoding="utf-8", errors="replace") as f:
            f.seek(since)
            text = f.read()
        return re.findall(r"LOG:  (?:statement|execute [^:]*): (.*)", text)

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
