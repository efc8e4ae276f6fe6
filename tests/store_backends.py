"""The store-interface tests run against every backend: `open_backend`
opens a fresh store of the parametrized kind (an SQLite file under tmp, or
a database of its own on the test session's ClickHouse server, skipped when
clickhouse-server is not installed); `store` is one opened with defaults.

Tests that take `store` or `open_backend` run once per backend, so both
stores give the same answers for the same harvests."""
import pytest

from plumb.monitor.store import open_store

BACKENDS = ("sqlite", "clickhouse")


@pytest.fixture(params=BACKENDS)
def open_backend(request, tmp_path):
    """opener(**options): a new store of the backend; the same one (file or
    database, opener.url) each time within a test."""
    if request.param == "sqlite":
        url = str(tmp_path / "m.db")
    else:
        url = request.getfixturevalue("clickhouse_url")
    def opener(**options):
        return open_store(url, **options)

    opener.url = url
    return opener


@pytest.fixture
def store(open_backend):
    with open_backend() as opened:
        yield opened
