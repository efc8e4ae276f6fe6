"""plumb.monitor's stores: where workers' harvests go and the dashboard
reads from.  open_store(url) opens one by URL (docs/store.md):

    store = open_store()                       # $PLUMB_STORE, or ./plumb-monitor.db
    store = open_store("sqlite:////var/lib/app/plumb.db", retention_days=3)
    store = open_store("clickhouse://user:password@db1:8123/plumb")   # a fleet

Another kind of store plugs in with register_scheme(scheme, factory)."""
from .base import Store, StoreError
from .clickhouse import ClickHouseStore, open_clickhouse
from .sqlite import SQLiteStore, open_sqlite
from .url import check_store_url, default_store_url, open_store, register_scheme, split_url

register_scheme("sqlite", open_sqlite)
register_scheme("clickhouse", open_clickhouse)

__all__ = ["Store", "StoreError", "SQLiteStore", "ClickHouseStore", "open_store",
           "default_store_url", "register_scheme", "check_store_url", "split_url"]
