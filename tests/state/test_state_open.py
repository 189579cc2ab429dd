"""Opening the state file: creation, reopening, permissions, and refusing files that are not ours."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from factories import PROJECT, answered, open_store

from oaib_tui.errors import UserError
from oaib_tui.state import schema
from oaib_tui.state.reader import StateReader


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_creates_the_file_and_its_folder_then_reopens_with_the_data(tmp_path: Path) -> None:
    path = tmp_path / "out" / "deep" / "demo.state.db"
    store = open_store(path, clock=lambda: 1234.5)
    answered(store, "a", 0)
    store.close()

    store = open_store(path)
    assert store.counts()["done"] == 1
    assert store.meta["project_name"] == PROJECT
    assert store.meta["project_path"] == "/p/demo.yaml"
    assert store.meta["created_at"] == 1234.5
    assert store.meta["schema_version"] == schema.SCHEMA_VERSION
    assert store.stored_fingerprint() == "fp-1"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_files_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "demo.state.db"
    old = os.umask(0)
    try:
        store = open_store(path)
        answered(store, "a", 0)
        for name in ("demo.state.db", "demo.state.db-wal", "demo.state.db-shm", "demo.state.db.lock"):
            assert mode(tmp_path / name) == 0o600, name
        store.close()
    finally:
        os.umask(old)


def test_a_moved_project_file_updates_the_path_but_keeps_the_stored_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    store = open_store(path, project_path="/elsewhere/demo.yaml", fingerprint="fp-2")
    assert store.meta["project_path"] == "/elsewhere/demo.yaml"
    # The stored keys were computed with fp-1: claiming fp-2 would make a resume miss them.
    assert store.stored_fingerprint() == "fp-1"
    store.close()


def test_another_projects_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    before = path.read_bytes()
    with pytest.raises(UserError) as caught:
        open_store(path, project_name="other")
    text = str(caught.value)
    assert str(path) in text and "`demo`" in text and "`other`" in text and "--fresh" in text
    assert path.read_bytes() == before


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text('{"not": "a database"}\n')
    with pytest.raises(UserError, match="not an oaib-tui state file") as caught:
        open_store(path)
    assert str(path) in str(caught.value)
    assert path.read_text() == '{"not": "a database"}\n'


def test_a_damaged_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xa5" * 4096)
    with pytest.raises(UserError, match="damaged|cannot open") as caught:
        open_store(path)
    assert str(path) in str(caught.value)


def test_another_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.close()
    with pytest.raises(UserError, match="not an oaib-tui state file"):
        open_store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("photos",)]
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(UserError, match="newer oaib-tui") as caught:
        open_store(path)
    assert "99" in str(caught.value)


def test_an_older_schema_is_upgraded_in_place_by_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    answered(store, "a", 0)
    store.close()
    step = ("CREATE TABLE later_feature (id TEXT PRIMARY KEY, status TEXT NOT NULL)",)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS) + 1)

    with pytest.raises(UserError, match="older schema"):
        StateReader.open_readonly(path)
    store = open_store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert store.meta["schema_version"] == schema.SCHEMA_VERSION
    assert store.conn.execute("SELECT count(*) FROM later_feature").fetchone() == (0,)
    assert store.counts()["done"] == 1
    store.close()


def test_an_empty_file_left_by_a_crash_during_creation_is_set_up(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.touch()
    store = open_store(path)
    assert store.counts() == {"queued": 0, "sent": 0, "done": 0, "failed": 0}
    store.close()


def test_reading_a_missing_file_says_nothing_has_run(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no state file"):
        StateReader.open_readonly(tmp_path / "missing.db")


def test_reading_checks_the_project_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    with pytest.raises(UserError, match="another project"):
        StateReader.open_readonly(path, project_name="other")
    with StateReader.open_readonly(path, project_name=PROJECT) as reader:
        assert reader.project_name == PROJECT


def test_damage_beyond_the_first_page_is_reported_when_read(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    for seq in range(200):
        answered(store, f"id-{seq}", seq)
    store.close()
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    meta_pages = conn.execute("SELECT max(rootpage) FROM sqlite_master WHERE tbl_name = 'meta'").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    intact = page_size * meta_pages  # the schema and meta pages, so that opening succeeds
    data[intact:] = b"\xa5" * (len(data) - intact)
    path.write_bytes(bytes(data))

    store = open_store(path)
    try:
        with pytest.raises(UserError, match="cannot read the state file") as caught:
            store.counts()
        assert "--fresh" in str(caught.value)
    finally:
        store.close()
