"""The fork gate (plumb/monitor/fork_gate.py): os.fork() waits for the
agent's call into SQLite under way, so a child never inherits SQLite's
mutexes held."""
import os
import sqlite3
import threading

from plumb.monitor.fork_gate import GATE, gate_for


def test_a_fork_waits_for_the_store_call_under_way(tmp_path):
    entered, release = threading.Event(), threading.Event()
    order = []

    def store_call():
        with GATE:
            entered.set()
            release.wait(30)
            order.append("store call ended")

    thread = threading.Thread(target=store_call)
    thread.start()
    entered.wait(30)
    # Registered after the gate's, so run before it: the store call is let
    # go only once the fork has begun, and the gate must then wait for it.
    os.register_at_fork(before=release.set)
    pid = os.fork()
    if pid == 0:
        try:   # the child's gate is free and SQLite opens
            with GATE:
                sqlite3.connect(str(tmp_path / "child.db")).close()
            os._exit(0)
        except BaseException:
            os._exit(1)
    order.append("forked")
    _, status = os.waitpid(pid, 0)
    thread.join(30)
    assert os.waitstatus_to_exitcode(status) == 0
    assert order == ["store call ended", "forked"]


def test_only_sqlite_stores_are_gated(monkeypatch):
    monkeypatch.delenv("PLUMB_STORE", raising=False)
    assert gate_for("sqlite:///x.db") is GATE
    assert gate_for("x.db") is GATE
    assert gate_for(None) is GATE                       # the default file
    assert gate_for("clickhouse://h:8123/db") is not GATE
    monkeypatch.setenv("PLUMB_STORE", "clickhouse://h:8123/db")
    assert gate_for(None) is not GATE
