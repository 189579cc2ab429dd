"""`--fresh`: the old state file is kept as a timestamped backup and a new one is started."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from factories import answered, open_store

NOON = time.mktime((2025, 3, 14, 12, 0, 0, 0, 0, -1))


def test_fresh_moves_the_old_file_aside_and_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.db"
    store = open_store(path)
    answered(store, "a", 0)
    store.close()

    store = open_store(path, fresh=True, clock=lambda: NOON)
    assert store.backup_path == tmp_path / "demo.state.backup-20250314-120000.db"
    assert store.counts()["done"] == 0
    store.close()
    conn = sqlite3.connect(f"file:{store.backup_path}?mode=ro", uri=True)
    assert conn.execute("SELECT custom_id, status FROM items").fetchall() == [("a", "done")]
    conn.close()


def test_fresh_keeps_an_uncheckpointed_log_with_its_backup(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    holder = open_store(path)
    answered(holder, "a", 0)
    # A reader that stays open keeps SQLite from folding the log into the file at close,
    # as a killed run would leave it.
    reader = sqlite3.connect(path)
    reader.execute("SELECT count(*) FROM items").fetchone()
    holder.close()
    assert Path(f"{path}-wal").stat().st_size > 0

    store = open_store(path, fresh=True, clock=lambda: NOON)
    reader.close()
    backup = store.backup_path
    assert backup is not None and Path(f"{backup}-wal").exists()
    store.close()
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT custom_id FROM items").fetchall() == [("a",)]
    conn.close()


def test_two_fresh_starts_in_the_same_second_keep_both_backups(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    first = open_store(path, fresh=True, clock=lambda: NOON)
    first.close()
    second = open_store(path, fresh=True, clock=lambda: NOON)
    second.close()
    assert first.backup_path != second.backup_path
    assert first.backup_path is not None and first.backup_path.exists()
    assert second.backup_path is not None and second.backup_path.exists()


def test_fresh_without_a_file_makes_no_backup(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db", fresh=True)
    assert store.backup_path is None
    store.close()


def test_fresh_replaces_a_file_that_could_not_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text("not a database")
    store = open_store(path, fresh=True, clock=lambda: NOON)
    assert store.backup_path is not None and store.backup_path.read_text() == "not a database"
    store.close()
