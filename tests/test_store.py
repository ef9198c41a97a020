"""Storage: one SQLite file in WAL mode, migrations applied once, transactions all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store import MIGRATIONS, Store


def test_schema_is_created_once_and_reopening_applies_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(db)
    names = {r["name"] for r in store.query("SELECT name FROM schema_migrations")}
    assert names == {name for name, _ in MIGRATIONS}
    assert store.query_one("PRAGMA journal_mode") == {"journal_mode": "wal"}
    store.close()
    again = Store(db)
    assert again.migrate() == []
    again.close()


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            conn.execute("INSERT INTO users (id, name, kind, created_at) VALUES ('x', 'X', 'staff', 'now')")
            raise RuntimeError("abort")
    assert store.query("SELECT * FROM users") == []
    store.close()


def test_the_schema_refuses_impossible_rows(tmp_path: Path) -> None:
    import sqlite3

    store = Store(tmp_path / "c.db")
    with pytest.raises(sqlite3.IntegrityError):
        store.execute("INSERT INTO users (id, name, kind, created_at) VALUES ('x', 'X', 'visitor', 'now')")
    store.close()


async def test_call_runs_on_the_database_thread(tmp_path: Path) -> None:
    import threading

    store = Store(tmp_path / "a.db")
    name = await store.call(lambda: threading.current_thread().name)
    assert name.startswith("draftgate-db") and name != threading.current_thread().name
    store.close()
