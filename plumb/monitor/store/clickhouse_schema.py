"""The ClickHouse store's tables (version 2) and their creation and
migration on first use.

Only what ClickHouse 18.16 (Debian's) and current releases both have:
MergeTree with a custom PARTITION BY (by UTC day), ReplacingMergeTree,
AggregatingMergeTree with -State, -Merge and -MergeState, materialized
views TO a table, Array columns, sumMap over numeric keys, ALTER TABLE ...
DROP PARTITION, system.parts; no table TTL (19.6), no LowCardinality, no
codecs, no SimpleAggregateFunction (19.8).

Every table of rows carries `harvest_id`: a retried write inserts only
into the tables that lack the harvest (clickhouse.py)."""
import math
import time

from .base import SUMMED_COUNTERS, StoreError
from .tiers import DAY, HOUR, MINUTE, TEN_MINUTES, ceil_to

SCHEMA_VERSION = 2

_COUNTERS = ", ".join(f"{c} UInt64" for c in SUMMED_COUNTERS)

# (table, DDL after the name, the schema version that added it); every
# table but schema_version is partitioned by its rows' UTC day, which
# retention drops whole, and the rows of time are ordered by time first:
# every reader asks for a window (and a host, when it does, within it).
TABLES = (
    ("schema_version", "(version UInt32, applied UInt32) ENGINE = MergeTree() ORDER BY version",
     1),
    ("harvests", "(day Date, harvest_id String, host String, pid Int64, started Float64, "
                 "ended Float64) ENGINE = MergeTree() PARTITION BY day "
                 "ORDER BY (host, pid, started)", 1),
    ("tx_rows", f"(day Date, minute UInt32, host String, pid Int64, name String, kind String, "
                f"session String, harvest_id String, {_COUNTERS}, min_us Int64, max_us Int64, "
                "apdex_t_us Int64, hist_keys Array(Int64), hist_counts Array(UInt64), "
                "error_keys Array(Int64), error_counts Array(UInt64)) "
                "ENGINE = MergeTree() PARTITION BY day "
                "ORDER BY (minute, host, name, kind, session)", 1),
    # An error class's name by its key (a hash: sumMap adds numeric keys
    # only), stored once a day as stacks are.
    ("error_classes", "(day Date, key Int64, name String) ENGINE = ReplacingMergeTree() "
                      "PARTITION BY day ORDER BY key", 1),
    # A stack stored once a day (its rows of that day refer to it, so a day
    # is dropped with its stacks); identical copies from racing writers
    # merge away, and readers take any() of a stack_id.
    ("stacks", "(day Date, stack_id String, files Array(String), lines Array(Int64), "
               "names Array(String)) ENGINE = ReplacingMergeTree() PARTITION BY day "
               "ORDER BY stack_id", 1),
    ("profile_rows", "(day Date, minute UInt32, host String, pid Int64, name String, "
                     "kind String, session String, harvest_id String, stack_id String, "
                     "count UInt64, rate_hz Float64, mode String) "
                     "ENGINE = MergeTree() PARTITION BY day "
                     "ORDER BY (minute, host, name, kind, session)", 1),
    ("traces", "(day Date, id String, start Float64, name String, kind String, "
               "duration_us Int64, status Nullable(Int64), error Nullable(String), url String, "
               "host String, pid Int64, session String, harvest_id String, document String) "
               "ENGINE = MergeTree() PARTITION BY day ORDER BY (start, host)", 1),
    ("drops", "(day Date, minute UInt32, host String, reason String, count UInt64, "
              "harvest_id String) ENGINE = MergeTree() PARTITION BY day "
              "ORDER BY (minute, host)", 1),
    # A session's changes are new rows with a higher `version`; readers
    # take each column's argMax(version).
    ("sessions", "(day Date, id String, version UInt64, kind String, transaction_name "
                 "Nullable(String), created Float64, ends Float64, traces Int64, "
                 "rate_hz Float64, status String, ended Nullable(Float64)) "
                 "ENGINE = ReplacingMergeTree(version) PARTITION BY day ORDER BY id", 1),
)

# Coarser rows of tx_rows, kept by ClickHouse itself: a materialized view
# of each adds every block inserted into tx_rows into its ten-minute, hour
# and day rows (AggregatingMergeTree: the -State of each sum, min, max and
# sumMap, merged exactly as parts merge and by readers' -Merge).  A window
# is read from the coarsest rows inside it and finer rows at its edges
# (tiers.pieces), as the SQLite store reads its tiers.
#
# Three families of them, by what they keep apart: each worker's (version
# 1; what a reader given a worker reads), each host's and the fleet's
# (version 2), so that a reader merges the fewest states that answer it:
# a month of the fleet's overview is 200 transactions' 30 day rows and its
# edges, not those of every host and worker.  The fleet's rows start at
# minutes: a window's edges (up to 18 minutes) would otherwise merge every
# harvest's minute rows; a host's minutes are together in tx_rows (ordered
# by minute, then host).  A host's rows are ordered by host first: every
# reader of them names one, and a host and a window are then one range of
# the key (with time first, each granule would hold every host's rows of
# its hours, and a reader would decode all of their states to keep one
# host's).  (family: (table prefix, the columns it keeps apart besides time,
# name, kind and session, ORDER BY, version, its finest resolution))
FAMILIES = {
    "worker": ("tx", ("host", "pid"), "t, host, name, kind, session, pid", 1, TEN_MINUTES),
    "host": ("host", ("host",), "host, t, name, kind, session", 2, TEN_MINUTES),
    "fleet": ("fleet", (), "t, name, kind, session", 2, MINUTE),
}
_SUFFIXES = {MINUTE: "minutes", TEN_MINUTES: "10min", HOUR: "hours", DAY: "days"}
#: {family: {resolution: table}}; a resolution a family lacks is tx_rows'
#: minutes
TIERS = {family: {res: f"{prefix}_{suffix}" for res, suffix in _SUFFIXES.items()
                  if res >= finest}
         for family, (prefix, _, _, _, finest) in FAMILIES.items()}

# (state column, its type, the aggregate function, its arguments over tx_rows)
_STATES = (tuple((f"{c}_s", "AggregateFunction(sum, UInt64)", "sum", c)
                 for c in SUMMED_COUNTERS)
           + (("min_us_s", "AggregateFunction(minIf, Int64, UInt8)", "minIf",
               "min_us, count > 0"),
              ("max_us_s", "AggregateFunction(max, Int64)", "max", "max_us"),
              ("apdex_t_us_s", "AggregateFunction(max, Int64)", "max", "apdex_t_us"),
              ("first_minute_s", "AggregateFunction(min, UInt32)", "min", "minute"),
              ("last_minute_s", "AggregateFunction(max, UInt32)", "max", "minute"),
              ("hist_s", "AggregateFunction(sumMap, Array(Int64), Array(UInt64))", "sumMap",
               "hist_keys, hist_counts"),
              ("error_classes_s", "AggregateFunction(sumMap, Array(Int64), Array(UInt64))",
               "sumMap", "error_keys, error_counts")))
#: the state columns, in order
STATE_COLUMNS = tuple(name for name, *_ in _STATES)
_FUNCTIONS = {name: function for name, _, function, _ in _STATES}
_ARGUMENTS = {name: arguments for name, _, _, arguments in _STATES}


def state_of_minutes(name):
    """SQL of a state column's -State over tx_rows' minute columns."""
    return f"{_FUNCTIONS[name]}State({_ARGUMENTS[name]})"


def merge_state(name):
    """SQL of a state column's states merged into one state (-MergeState)."""
    return f"{_FUNCTIONS[name]}MergeState({name})"


def merged(name):
    """SQL of a state column's states merged into its value (-Merge)."""
    return f"{_FUNCTIONS[name]}Merge({name})"


def rollup_select(family, res, source="tx_rows", where=None):
    """The SELECT that makes a family's rows of resolution `res`: from
    tx_rows' minutes (what its materialized view runs on each block), or
    from the rows of the same resolution of a family that keeps more apart
    (`source`, whose states it merges: one host's hour rows from its
    workers' hour rows, exactly)."""
    keys = ("day", "t") + FAMILIES[family][1] + ("name", "kind", "session")
    if source == "tx_rows":
        start, state = f"toUInt32(intDiv(minute, {res}) * {res}) AS t", state_of_minutes
    else:
        start, state = "t", merge_state
    columns = [start if key == "t" else key for key in keys] + [
        f"{state(name)} AS {name}" for name in STATE_COLUMNS]
    return (f"SELECT {', '.join(columns)} FROM {source}"
            + ("" if where is None else f" WHERE {where}") + f" GROUP BY {', '.join(keys)}")


for _family, (_, _kept, _order, _version, _) in FAMILIES.items():
    for _res, _table in TIERS[_family].items():
        TABLES += (
            (_table, "(day Date, t UInt32, "
                     + "".join(f"{c} {'Int64' if c == 'pid' else 'String'}, " for c in _kept)
                     + "name String, kind String, session String, "
                     + ", ".join(f"{n} {kind}" for n, kind, *_ in _STATES)
                     + ") ENGINE = AggregatingMergeTree() PARTITION BY day "
                     f"ORDER BY ({_order})", _version),
            (_table + "_mv", f"TO {_table} AS {rollup_select(_family, _res)}", _version))
VIEWS = tuple(table + "_mv" for family in TIERS.values() for table in family.values())

# The tables a harvest writes, in the order it writes them: `harvests`
# last, so a harvest is there only once all of its rows are.
HARVEST_TABLES = ("error_classes", "stacks", "tx_rows", "profile_rows", "traces", "drops",
                  "harvests")
# Stored once, identical when inserted twice: no check before inserting.
STORED_ONCE = ("error_classes", "stacks")
DAY_TABLES = tuple(name for name, *_ in TABLES if name != "schema_version" and name not in VIEWS)
# A database migrated to version 2 has host and fleet rows of the minutes
# written since; readers take those rows from this long after the
# migration (the next whole hour after it), so that a host whose clock is
# ahead by less than this cannot have written a minute of then before the
# views were there.
MIGRATION_MARGIN_S = 600


def prepare(http, version=SCHEMA_VERSION):
    """Create the database and the tables of `version` when missing
    (processes racing to do it all succeed: IF NOT EXISTS), check the
    version and record it.  Returns the time from which the host and fleet
    rows hold every minute: 0 for a database made at version 2, the hour
    after the migration for one migrated from version 1 (older minutes are
    read from the workers' rows, which hold them), math.inf for layout 1."""
    http.execute(f"CREATE DATABASE IF NOT EXISTS `{http.database}`", database=False)
    for name, ddl, added in TABLES:
        if added <= version:
            what = "MATERIALIZED VIEW" if name in VIEWS else "TABLE"
            http.execute(f"CREATE {what} IF NOT EXISTS {name} {ddl}")
    # Taken once the views exist: every minute from `applied` on is in them.
    now = int(time.time())
    applied = dict(http.select("SELECT version, min(applied) FROM schema_version "
                               "GROUP BY version", writing=True))
    newest = max(applied, default=0)
    if newest > version:
        raise StoreError(f"store {http.name}: its schema is version {newest}, newer than this "
                         f"plumb's {version}; upgrade plumb")
    if newest < version:
        http.insert("schema_version", [{"version": version, "applied": now}])
        applied.setdefault(version, now)
    if version < 2:
        return math.inf
    if 1 not in applied:
        return 0
    return ceil_to(applied[2] + MIGRATION_MARGIN_S, HOUR)
