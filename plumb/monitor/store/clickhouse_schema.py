"""The ClickHouse store's tables (version 1) and their creation on first use.

Only what ClickHouse 18.16 (Debian's) and current releases both have:
MergeTree with a custom PARTITION BY (by UTC day), ReplacingMergeTree,
Array columns, sumMap over numeric keys, ALTER TABLE ... DROP PARTITION,
system.parts; no table TTL (19.6), no LowCardinality, no codecs.

Every table of rows carries `harvest_id`: a retried write inserts only
into the tables that lack the harvest (clickhouse.py)."""
from .base import SUMMED_COUNTERS, StoreError

SCHEMA_VERSION = 1

_COUNTERS = ", ".join(f"{c} UInt64" for c in SUMMED_COUNTERS)

# (table, DDL after the name); every table but schema_version is
# partitioned by its rows' UTC day, which retention drops whole, and the
# rows of time are ordered by time first: every reader asks for a window
# (and a host, when it does, within it).
TABLES = (
    ("schema_version", "(version UInt32, applied UInt32) ENGINE = MergeTree() ORDER BY version"),
    ("harvests", "(day Date, harvest_id String, host String, pid Int64, started Float64, "
                 "ended Float64) ENGINE = MergeTree() PARTITION BY day "
                 "ORDER BY (host, pid, started)"),
    ("tx_rows", f"(day Date, minute UInt32, host String, pid Int64, name String, kind String, "
                f"session String, harvest_id String, {_COUNTERS}, min_us Int64, max_us Int64, "
                "apdex_t_us Int64, hist_keys Array(Int64), hist_counts Array(UInt64), "
                "error_names Array(String), error_counts Array(UInt64)) "
                "ENGINE = MergeTree() PARTITION BY day "
                "ORDER BY (minute, host, name, kind, session)"),
    # A stack stored once a day (its rows of that day refer to it, so a day
    # is dropped with its stacks); identical copies from racing writers
    # merge away, and readers take any() of a stack_id.
    ("stacks", "(day Date, stack_id String, files Array(String), lines Array(Int64), "
               "names Array(String)) ENGINE = ReplacingMergeTree() PARTITION BY day "
               "ORDER BY stack_id"),
    ("profile_rows", "(day Date, minute UInt32, host String, pid Int64, name String, "
                     "kind String, session String, harvest_id String, stack_id String, "
                     "count UInt64, rate_hz Float64, mode String) "
                     "ENGINE = MergeTree() PARTITION BY day "
                     "ORDER BY (minute, host, name, kind, session)"),
    ("traces", "(day Date, id String, start Float64, name String, kind String, "
               "duration_us Int64, status Nullable(Int64), error Nullable(String), url String, "
               "host String, pid Int64, session String, harvest_id String, document String) "
               "ENGINE = MergeTree() PARTITION BY day ORDER BY (start, host)"),
    ("drops", "(day Date, minute UInt32, host String, reason String, count UInt64, "
              "harvest_id String) ENGINE = MergeTree() PARTITION BY day "
              "ORDER BY (minute, host)"),
    # A session's changes are new rows with a higher `version`; readers
    # take each column's argMax(version).
    ("sessions", "(day Date, id String, version UInt64, kind String, transaction_name "
                 "Nullable(String), created Float64, ends Float64, traces Int64, "
                 "rate_hz Float64, status String, ended Nullable(Float64)) "
                 "ENGINE = ReplacingMergeTree(version) PARTITION BY day ORDER BY id"),
)
# The tables a harvest writes, in the order it writes them: `harvests`
# last, so a harvest is there only once all of its rows are.
HARVEST_TABLES = ("stacks", "tx_rows", "profile_rows", "traces", "drops", "harvests")
DAY_TABLES = tuple(name for name, _ in TABLES if name != "schema_version")


def prepare(http, now):
    """Create the database and tables when missing (processes racing to do
    it all succeed: IF NOT EXISTS) and check the version.  Returns it."""
    http.execute(f"CREATE DATABASE IF NOT EXISTS `{http.database}`", database=False)
    for name, ddl in TABLES:
        http.execute(f"CREATE TABLE IF NOT EXISTS {name} {ddl}")
    [[version]] = http.select("SELECT max(version) FROM schema_version")
    if version > SCHEMA_VERSION:
        raise StoreError(f"store {http.name}: its schema is version {version}, newer than this "
                         f"plumb's {SCHEMA_VERSION}; upgrade plumb")
    if version < SCHEMA_VERSION:
        http.insert("schema_version", [{"version": SCHEMA_VERSION, "applied": int(now)}])
    return SCHEMA_VERSION
