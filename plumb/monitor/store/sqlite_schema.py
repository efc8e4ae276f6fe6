"""The SQLite store's layout, and opening a file safely: a file that is not
plumb's is refused before anything is written to it; a new file is created
by exactly one of the processes racing to open it (BEGIN IMMEDIATE around
the check and the creation)."""
import re
import sqlite3
import time

from .base import StoreError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x504C4D42          # "PLMB" in the SQLite header (PRAGMA application_id)
APP_NAME = "plumb.monitor"

# Keys of the rows that merge are (res, t, host_id, name_id, session): res is
# the resolution in seconds (60, 600, 3600, 86400) and t its start; session
# is "" for the ordinary rows.  They merge every worker of a host; a worker's
# own rows are in worker_tx_rows and worker_profile_rows, keyed by its pid
# too, up to hours and for as long as minutes are kept (docs/store.md says
# why, and why in tables of their own).  Names, hosts, functions and stacks
# are stored once.

# What a merged row holds, for all of a host's workers and for one.
_TX_VALUES = """\
    count INTEGER NOT NULL, errors INTEGER NOT NULL, total_us INTEGER NOT NULL,
    min_us INTEGER NOT NULL, max_us INTEGER NOT NULL,
    satisfied INTEGER NOT NULL, tolerating INTEGER NOT NULL, frustrated INTEGER NOT NULL,
    apdex_t_us INTEGER NOT NULL,
    queue_us INTEGER NOT NULL, queue_count INTEGER NOT NULL,
    sql_us INTEGER NOT NULL, sql_count INTEGER NOT NULL,
    template_us INTEGER NOT NULL, template_count INTEGER NOT NULL,
    http_us INTEGER NOT NULL, http_count INTEGER NOT NULL,
    first_minute INTEGER NOT NULL, last_minute INTEGER NOT NULL,
    histogram BLOB, error_classes TEXT,"""
_PROFILE_VALUES = "    count INTEGER NOT NULL, rate_hz REAL NOT NULL, mode TEXT NOT NULL,"
SCHEMA = f"""
CREATE TABLE plumb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hosts (id INTEGER PRIMARY KEY, host TEXT NOT NULL UNIQUE);
CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                    UNIQUE (name, kind));
CREATE TABLE harvests (id TEXT PRIMARY KEY, host_id INTEGER NOT NULL, pid INTEGER NOT NULL,
                       started REAL NOT NULL, ended REAL NOT NULL, written REAL NOT NULL);
CREATE INDEX harvests_by_end ON harvests (ended);
CREATE TABLE tx_rows (
    res INTEGER NOT NULL, t INTEGER NOT NULL, host_id INTEGER NOT NULL,
    name_id INTEGER NOT NULL, session TEXT NOT NULL,
{_TX_VALUES}
    PRIMARY KEY (res, t, host_id, name_id, session));
CREATE INDEX tx_rows_by_name ON tx_rows (name_id, res, t);
CREATE TABLE functions (id INTEGER PRIMARY KEY, file TEXT NOT NULL, line INTEGER NOT NULL,
                        name TEXT NOT NULL, UNIQUE (file, line, name));
CREATE TABLE stacks (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, functions BLOB NOT NULL);
CREATE TABLE profile_rows (
    res INTEGER NOT NULL, t INTEGER NOT NULL, host_id INTEGER NOT NULL,
    name_id INTEGER NOT NULL, session TEXT NOT NULL, stack_id INTEGER NOT NULL,
{_PROFILE_VALUES}
    PRIMARY KEY (res, t, host_id, name_id, session, stack_id));
CREATE INDEX profile_rows_by_name ON profile_rows (name_id, res, t);
CREATE INDEX profile_rows_by_stack ON profile_rows (stack_id);
CREATE TABLE worker_tx_rows (
    res INTEGER NOT NULL, t INTEGER NOT NULL, host_id INTEGER NOT NULL, worker INTEGER NOT NULL,
    name_id INTEGER NOT NULL, session TEXT NOT NULL,
{_TX_VALUES}
    PRIMARY KEY (res, t, host_id, worker, name_id, session));
CREATE INDEX worker_tx_rows_by_name ON worker_tx_rows (name_id, worker, res, t);
CREATE TABLE worker_profile_rows (
    res INTEGER NOT NULL, t INTEGER NOT NULL, host_id INTEGER NOT NULL, worker INTEGER NOT NULL,
    name_id INTEGER NOT NULL, session TEXT NOT NULL, stack_id INTEGER NOT NULL,
{_PROFILE_VALUES}
    PRIMARY KEY (res, t, host_id, worker, name_id, session, stack_id));
CREATE INDEX worker_profile_rows_by_name ON worker_profile_rows (name_id, worker, res, t);
CREATE INDEX worker_profile_rows_by_stack ON worker_profile_rows (stack_id);
CREATE TABLE traces (
    id TEXT PRIMARY KEY, start REAL NOT NULL, name_id INTEGER NOT NULL,
    host_id INTEGER NOT NULL, pid INTEGER NOT NULL, session TEXT NOT NULL,
    duration_us INTEGER NOT NULL, status INTEGER, error TEXT, url TEXT NOT NULL,
    document BLOB NOT NULL);
CREATE INDEX traces_by_start ON traces (start);
CREATE INDEX traces_by_duration ON traces (duration_us);
CREATE INDEX traces_by_name ON traces (name_id, duration_us);
CREATE INDEX traces_by_session ON traces (session, start);
CREATE TABLE drops (minute INTEGER NOT NULL, host_id INTEGER NOT NULL, reason TEXT NOT NULL,
                    count INTEGER NOT NULL, PRIMARY KEY (minute, host_id, reason));
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, transaction_name TEXT, created REAL NOT NULL,
    ends REAL NOT NULL, traces INTEGER NOT NULL, rate_hz REAL NOT NULL,
    status TEXT NOT NULL, ended REAL);
CREATE INDEX sessions_active ON sessions (ends) WHERE status = 'active';
CREATE INDEX sessions_by_created ON sessions (created);
"""


def _statements_about(table):
    """SCHEMA's statements that create `table` and its indexes."""
    return [statement for statement in SCHEMA.split(";")
            if re.search(rf"CREATE TABLE {table} \(|CREATE INDEX \w+ ON {table} \(", statement)]


def _workers(conn):
    """1 -> 2: the tables of each worker's own rows.  Version 1's rows, which
    merged every worker of a host, stay as they are: they are what version
    2's tx_rows and profile_rows hold.  They cannot be split by worker after
    the fact; `workers_from` records when rows began to be kept per worker
    too, and hosts() lists only the workers of harvests written since.

    The tables are made by SCHEMA's statements, which are version 2's while
    it is the newest: a later version that changes them keeps version 2's
    statements here."""
    for table in ("worker_tx_rows", "worker_profile_rows"):
        for statement in _statements_about(table):
            conn.execute(statement)
    conn.execute("INSERT OR REPLACE INTO plumb_meta (key, value) VALUES ('workers_from', ?)",
                 (repr(time.time()),))


# MIGRATIONS[v] takes a file from version v to v + 1, inside the same
# transaction as the version check.
MIGRATIONS = {1: _workers}


def refuse(path, why):
    return StoreError(f"store {path}: {why}")


def _tables(conn):
    return {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def _read_version(conn, path):
    """The file's schema version, 0 for an empty file; StoreError when it
    is not plumb's."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = _tables(conn)
    if not tables and app_id == 0:
        return 0
    if app_id != APPLICATION_ID or "plumb_meta" not in tables:
        raise refuse(path, "an SQLite file that is not a plumb.monitor store "
                           f"(tables: {', '.join(sorted(tables)) or 'none'})")
    meta = dict(conn.execute("SELECT key, value FROM plumb_meta"))
    if meta.get("app") != APP_NAME or not meta.get("schema_version", "").isdigit():
        raise refuse(path, "an SQLite file whose plumb_meta is not plumb.monitor's")
    version = int(meta["schema_version"])
    if version > SCHEMA_VERSION:
        raise refuse(path, f"schema version {version} is newer than this plumb's "
                           f"({SCHEMA_VERSION}); upgrade plumb to read it")
    return version


def prepare(conn, path):
    """Check the file and create or migrate its schema; then WAL.  Nothing
    is written to a file that is refused."""
    try:
        # A read first (one snapshot: the header and the tables together):
        # a file that is not SQLite fails here, untouched.
        conn.execute("BEGIN")
        try:
            version = _read_version(conn, path)
        finally:
            conn.execute("COMMIT")
        if version == SCHEMA_VERSION:
            _set_wal(conn)
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _read_version(conn, path)      # another process may have won
            if version == 0:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.executemany("INSERT INTO plumb_meta (key, value) VALUES (?, ?)",
                                 [("app", APP_NAME), ("schema_version", str(SCHEMA_VERSION))])
            while version and version < SCHEMA_VERSION:
                MIGRATIONS[version](conn)
                version += 1
                conn.execute("UPDATE plumb_meta SET value = ? WHERE key = 'schema_version'",
                             (str(version),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        _set_wal(conn)
    except sqlite3.DatabaseError as error:
        raise refuse(path, _reason(error)) from None


def _set_wal(conn):
    """WAL lets readers read while one writer writes.  The mode stays in the
    file, so a read-only file already in WAL keeps working for readers."""
    try:
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            raise


def _reason(error):
    text = str(error) or type(error).__name__
    if "not a database" in text or "malformed" in text:
        return f"not a plumb.monitor store ({text})"
    if "unable to open" in text:
        return f"cannot open it ({text}; WAL needs its folder writable)"
    return text
