"""The harvests that tests/data/store-v1.sql holds: plumb with the schema of
version 1 (commit 0f4308b) wrote them into a new SQLite store, and the file
is sqlite3's dump of that store (`python tests/store_v1_harvests.py OUT.db`
writes it again, with a plumb of that version).  Two hosts of two workers
each, over four minutes that cross midnight (so minute, ten-minute, hour
and day rows all hold them), with traces, profiles, an X-Ray session's copy
and drops: what the migration to version 2 must keep."""
import sys

from plumb.monitor.harvest import Harvest, KeptTrace, ProfileMinute, TransactionMinute

BASE = 1796083080                   # 2026-11-30 23:58 UTC
MINUTES = [BASE + 60 * i for i in range(4)]
WORKERS = {"web-1": (101, 102), "web-2": (201, 202)}
SESSION = "5" * 32
MAIN, WORK, IO = ("app.py", 1, "main"), ("app.py", 10, "work"), ("io.py", 3, "read")


def _minute(minute, name, kind, count, seed, session=None):
    hist = {seed % 7 + 40: count - count // 3, seed % 5 + 90: count // 3}
    errors = seed % 3
    return TransactionMinute(
        minute=minute, name=name, kind=kind, count=count, errors=errors,
        total_us=count * (1000 + seed), min_us=100 + seed, max_us=5000 + 10 * seed,
        satisfied=count - errors - 1, tolerating=1, frustrated=errors, queue_us=seed * 10,
        queue_count=1, sql_us=count * 200, sql_count=count * 2, template_us=count * 50,
        template_count=count, http_us=seed, http_count=seed % 2, histogram=hist,
        error_classes={"KeyError": errors} if errors else {}, session=session)


def v1_harvests():
    found = []
    for host, pids in WORKERS.items():
        for pid in pids:
            for i, minute in enumerate(MINUTES):
                seed = pid + 7 * i
                rows = [_minute(minute, "/a", "web", 10 + seed % 9, seed),
                        _minute(minute, "/b", "web", 3 + seed % 4, seed + 1),
                        _minute(minute, "job", "background", 1 + seed % 2, seed + 2)]
                if host == "web-1" and i == 1:
                    rows.append(_minute(minute, "/a", "web", 2, seed, session=SESSION))
                profiles = [ProfileMinute(minute=minute, name="/a", kind="web", rate_hz=100.0,
                                          stacks=[((MAIN, WORK), 3 + seed % 4),
                                                  ((MAIN, WORK, IO), 1 + seed % 2)]),
                            ProfileMinute(minute=minute, name="job", kind="background",
                                          rate_hz=50.0, stacks=[((MAIN,), 2)])]
                traces = [KeptTrace(id=f"{pid:04d}{i:028x}", start=minute + 5, name="/a",
                                    kind="web", duration_us=20_000 + seed, url=f"/a?i={i}",
                                    status=200, document={"segments": [], "pid": pid})]
                found.append(Harvest(id=f"{host}-{pid}-{i}", host=host, pid=pid, started=minute,
                                     ended=minute + 60, transactions=rows, traces=traces,
                                     profiles=profiles,
                                     dropped={"queue_full": 1} if i == 3 else {}))
    return found


def write_v1(path):
    """The v1 store and its dump (run with a plumb of schema version 1)."""
    import sqlite3

    from plumb.monitor.store import open_store

    with open_store(path, retention_days=100000, rollup_after_hours=1e6) as store:
        assert store.schema_version == 1
        for harvest in v1_harvests():
            store.write(harvest)
        store.create_session("xray", "/a", duration_s=300, traces=5, rate_hz=500,
                             now=MINUTES[1])
    conn = sqlite3.connect(path)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    lines = [f"PRAGMA application_id = {app_id};"] + list(conn.iterdump())
    conn.close()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(write_v1(sys.argv[1]))
