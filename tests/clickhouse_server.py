"""A real ClickHouse server for the tests, from Debian's package (18.16):
a data folder under a temporary folder, free loopback ports, one config
file, stopped at the end.  It can be stopped and started again on the same
data and port (the outage tests).

The data folder is in /dev/shm when there is one.  On this project's VMs
the disk is ext4 mounted with `discard`, where each unlinked file costs a
TRIM: the session's 100,000-odd part files (every insert writes a part of
a few files per column) took 150 s to delete at the end of each suite, and
a test's schema (tables and materialized views) up to 9 s to create.

The `clickhouse_server` fixture (one server for the test session) skips
with a notice when clickhouse-server is not installed
(scripts/system-deps.sh --test installs it); `clickhouse_url` gives each
test a database of its own."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

from conftest import free_port
from postgres_server import native_env

SERVER = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
USER, PASSWORD = "plumb", "plumb-test"

_CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{base}/server.log</log>
        <errorlog>{base}/error.log</errorlog><console>0</console></logger>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{base}/data/</path>
    <tmp_path>{base}/data/tmp/</tmp_path>
    <user_files_path>{base}/data/user_files/</user_files_path>
    <format_schema_path>{base}/data/format_schemas/</format_schema_path>
    <mark_cache_size>104857600</mark_cache_size>
    <uncompressed_cache_size>104857600</uncompressed_cache_size>
    <max_concurrent_queries>200</max_concurrent_queries>
    <users>
        <{user}><password>{password}</password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></{user}>
    </users>
    <profiles><default></default></profiles>
    <quotas><default></default></quotas>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
</yandex>
"""


def installed():
    return os.access(SERVER, os.X_OK)


class ClickHouseServer:
    def __init__(self):
        if not installed():
            raise RuntimeError("clickhouse-server is not installed (scripts/system-deps.sh --test)")
        memory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.base = tempfile.mkdtemp(prefix="plumb-ch-", dir=memory)
        self.port = free_port()
        self.config = os.path.join(self.base, "config.xml")
        with open(self.config, "w") as f:
            f.write(_CONFIG.format(base=self.base, http_port=self.port, tcp_port=free_port(),
                                   user=USER, password=PASSWORD))
        self.process = None
        self.start()

    def url(self, database):
        return f"clickhouse://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def query(self, sql):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=sql.encode(),
                                         headers={"X-ClickHouse-User": USER,
                                                  "X-ClickHouse-Key": PASSWORD})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read().decode()

    def drop(self, database):
        """Drops a test's database, if the server is up (an outage test may
        have left it stopped)."""
        try:
            self.query(f"DROP DATABASE IF EXISTS {database}")
        except OSError:
            pass

    def start(self):
        self.process = subprocess.Popen([SERVER, f"--config-file={self.config}"],
                                        cwd=self.base, env=native_env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.query("SELECT 1").strip() == "1":
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clickhouse-server did not start; see {self.base}/error.log")
            time.sleep(0.1)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def clickhouse_server():
    if not installed():
        pytest.skip("clickhouse-server is not installed (scripts/system-deps.sh --test)")
    server = ClickHouseServer()
    yield server
    server.remove()


@pytest.fixture
def clickhouse_url(clickhouse_server):
    """A store URL of a database no other test uses, dropped after the test
    (the session's server keeps only what the running test needs)."""
    database = "plumb_" + uuid.uuid4().hex[:12]
    yield clickhouse_server.url(database)
    clickhouse_server.drop(database)
