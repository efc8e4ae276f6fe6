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
                "error_keys Array(Int64), error_counts Array(UInt64)) "
                "ENGINE = MergeTree() PARTITION BY day "
                "ORDER BY (minute, host, name, kind, session)"),
    # An error class's name by its key (a hash: sumMap adds numeric keys
    # only), stored once a day as stacks are.
    ("error_classes", "(day Date, key Int64, name String) ENGINE = ReplacingMergeTree() "
                      "PARTITION BY day ORDER BY key"),
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
# Coarser rows of tx_rows, kept by ClickHouse itself: a materialized view
# of each adds every block inserted into tx_rows into its ten-minute, hour
# and day rows (AggregatingMergeTree: the -State of each sum, min, max and
# sumMap, merged exactly as parts merge and by readers' -Merge).  A window
# is read from the coarsest rows inside it and finer rows at its edges
# (tiers.pieces), as the SQLite store reads its tiers.
TIERS = {600: "tx_10min", 3600: "tx_hours", 86400: "tx_days"}
_STATES = (tuple((f"{c}_s", "AggregateFunction(sum, UInt64)", f"sumState({c})")
                 for c in SUMMED_COUNTERS)
           + (("min_us_s", "AggregateFunction(minIf, Int64, UInt8)", "minIfState(min_us, count > 0)"),
              ("max_us_s", "AggregateFunction(max, Int64)", "maxState(max_us)"),
              ("apdex_t_us_s", "AggregateFunction(max, Int64)", "maxState(apdex_t_us)"),
              ("first_minute_s", "AggregateFunction(min, UInt32)", "minState(minute)"),
              ("last_minute_s", "AggregateFunction(max, UInt32)", "maxState(minute)"),
              ("hist_s", "AggregateFunction(sumMap, Array(Int64), Array(UInt64))",
               "sumMapState(hist_keys, hist_counts)"),
              ("error_classes_s", "AggregateFunction(sumMap, Array(Int64), Array(UInt64))",
               "sumMapState(error_keys, error_counts)")))
#: (state column, its -State over tx_rows' columns), for readers of minutes
STATE_OF_MINUTES = tuple((name, state) for name, _, state in _STATES)
_TIER_KEY = "t, host, pid, name, kind, session"
for _res, _table in TIERS.items():
    TABLES += (
        (_table, f"(day Date, t UInt32, host String, pid Int64, name String, kind String, "
                 f"session String, {', '.join(f'{n} {kind}' for n, kind, _ in _STATES)}) "
                 "ENGINE = AggregatingMergeTree() PARTITION BY day "
                 "ORDER BY (t, host, name, kind, session, pid)"),
        (_table + "_mv", f"TO {_table} AS SELECT day, toUInt32(intDiv(minute, {_res}) * {_res}) "
                         f"AS t, host, pid, name, kind, session, "
                         f"{', '.join(f'{state} AS {n}' for n, _, state in _STATES)} "
                         f"FROM tx_rows GROUP BY day, {_TIER_KEY}"))
VIEWS = tuple(table + "_mv" for table in TIERS.values())

# The tables a harvest writes, in the order it writes them: `harvests`
# last, so a harvest is there only once all of its rows are.
HARVEST_TABLES = ("error_classes", "stacks", "tx_rows", "profile_rows", "traces", "drops",
                  "harvests")
# Stored once, identical when inserted twice: no check before inserting.
STORED_ONCE = ("error_classes", "stacks")
DAY_TABLES = tuple(name for name, _ in TABLES if name != "schema_version" and name not in VIEWS)


def prepare(http, now):
    """Create the database and tables when missing (processes racing to do
    it all succeed: IF NOT EXISTS) and check the version.  Returns it."""
    http.execute(f"CREATE DATABASE IF NOT EXISTS `{http.database}`", database=False)
    for name, ddl in TABLES:
        what = "MATERIALIZED VIEW" if name in VIEWS else "TABLE"
        http.execute(f"CREATE {what} IF NOT EXISTS {name} {ddl}")
    [[version]] = http.select("SELECT max(version) FROM schema_version", writing=True)
    if version > SCHEMA_VERSION:
        raise StoreError(f"store {http.name}: its schema is version {version}, newer than this "
                         f"plumb's {SCHEMA_VERSION}; upgrade plumb")
    if version < SCHEMA_VERSION:
        http.insert("schema_version", [{"version": SCHEMA_VERSION, "applied": int(now)}])
    return SCHEMA_VERSION
