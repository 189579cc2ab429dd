"""The state file records each answer's charged tier; a version 2 file is upgraded in place to hold it."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from factories import open_store, queued, retry, sent, succeeded

from oaib_tui.api.results import result_from_row
from oaib_tui.state import schema
from oaib_tui.state.reader import StateReader


def tiers(path: Path) -> dict[str, str | None]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT custom_id, tier FROM items ORDER BY seq"))


def charged(custom_id: str, seq: int, tier: str, attempt: int = 1):
    return dataclasses.replace(succeeded(custom_id, seq, attempt), tier=tier)


def test_a_first_try_answer_and_an_answer_after_retries_both_record_their_tier(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    for event in (queued("a", 0), sent("a", 0), charged("a", 0, "flex"),
                  queued("b", 1), sent("b", 1), retry("b", 1, reason="429 resource unavailable"),
                  sent("b", 1, attempt=2), charged("b", 1, "priority", attempt=2)):
        store.handle(event)
    store.close()
    assert tiers(path) == {"a": "flex", "b": "priority"}
    with StateReader.open_readonly(path, project_name="demo") as reader:
        assert reader.item("a")["tier"] == "flex"
        results = [result_from_row(row, None) for row in reader.iter_results("done")]
    assert [(result.custom_id, result.tier) for result in results] == [("a", "flex"), ("b", "priority")]


def test_an_item_queued_again_forgets_its_old_tier_until_answered(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    for event in (queued("a", 0, body_hash="h"), sent("a", 0), charged("a", 0, "flex")):
        store.handle(event)
    store.handle(dataclasses.replace(queued("a", 0, body_hash="h"), batch=1))  # sent again, to a batch
    store.close()
    assert tiers(path) == {"a": None}


def test_a_version_2_file_is_upgraded_and_its_answers_keep_an_unknown_tier(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    with monkeypatch.context() as old:
        old.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        old.setattr(schema, "SCHEMA_VERSION", 2)
        open_store(path).close()
    with sqlite3.connect(path) as conn:  # an answer as version 2 recorded it
        conn.execute("""INSERT INTO items (custom_id, seq, source, line, body_hash, input_key, status, attempts,
                        cost_usd) VALUES ('old', 0, 'in.jsonl', 1, 'hash-old', 1000, 'done', 1, 0.25)""")
        conn.execute("INSERT INTO payloads (item, request, response) VALUES (1, '{}', '{}')")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert "tier" not in {row[1] for row in conn.execute("PRAGMA table_info(items)")}

    store = open_store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 3
    for event in (queued("new", 1), sent("new", 1), charged("new", 1, "flex")):
        store.handle(event)
    assert store.counts()["done"] == 2
    store.close()
    assert tiers(path) == {"old": None, "new": "flex"}
    with StateReader.open_readonly(path, project_name="demo") as reader:
        assert reader.item("old")["tier"] is None
