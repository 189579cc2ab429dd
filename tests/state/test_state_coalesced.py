"""A realtime item answered at its first try is written in one go: the same rows as its three events one by one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import failed, open_store, queued, retry, sent, succeeded

from oaib_tui import events as ev
from oaib_tui.state import store as store_module
from oaib_tui.state.store import StateStore

Steps = Callable[[StateStore], None]


def rows(path: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Items, payloads and retries by custom_id (row ids follow the order of writing, which may differ)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (conn.execute("SELECT * FROM items ORDER BY custom_id").fetchall(),
                conn.execute("SELECT i.custom_id, p.request, p.keep, p.response, p.error FROM payloads p"
                             " JOIN items i ON i.id = p.item ORDER BY i.custom_id").fetchall(),
                conn.execute("SELECT i.custom_id, r.attempt, r.at, r.reason, r.status_code, r.delay_s, r.message"
                             " FROM retries r JOIN items i ON i.id = r.item ORDER BY i.custom_id, r.attempt").fetchall())
    finally:
        conn.close()


def one_by_one(store: StateStore, events: list[ev.Event]) -> None:
    """Each event written as it comes (a flush after each, so nothing is held back to be coalesced)."""
    for event in events:
        store.handle(event)
        store.flush()


def held_back(store: StateStore, events: list[ev.Event]) -> None:
    for event in events:
        store.handle(event)


def first_try(custom_id: str, seq: int, **options) -> list[ev.Event]:
    return [queued(custom_id, seq, **options), sent(custom_id, seq), succeeded(custom_id, seq)]


EARLIER_RUNS: dict[str, list[ev.Event]] = {
    "nothing": [],
    "sent, never answered": [queued("a", 0), sent("a", 0, at=150.0)],
    "failed": [queued("a", 0), sent("a", 0, at=150.0), failed("a", 0)],
    "queued with another request": [queued("a", 0, body_hash="old-hash", keep={"old": 1}),
                                    sent("a", 0), retry("a", 0)],
}


@pytest.mark.parametrize("earlier", list(EARLIER_RUNS))
def test_a_first_try_answer_leaves_the_rows_its_events_would(tmp_path: Path, earlier: str) -> None:
    this_run = [*first_try("a", 0), queued("b", 1), sent("b", 1), *first_try("c", 2),
                queued("d", 3), sent("d", 3), retry("d", 3), sent("d", 3, attempt=2), succeeded("d", 3, attempt=2),
                queued("e", 4), sent("e", 4), failed("e", 4)]
    files = []
    for name, record in (("one-by-one", one_by_one), ("held", held_back)):
        store = open_store(tmp_path / f"{name}.db")
        one_by_one(store, EARLIER_RUNS[earlier])
        record(store, this_run)
        store.close()
        files.append(rows(tmp_path / f"{name}.db"))
    without_ids = [([row[1:] for row in items], payloads, retries) for items, payloads, retries in files]
    assert without_ids[0] == without_ids[1]
    assert [row[1] for row in files[1][0]] == ["a", "b", "c", "d", "e"]


def test_an_answer_commits_its_item_in_one_go_and_reads_see_items_in_flight(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        store.handle(queued("a", 0))
        store.handle(sent("a", 0))
        store.handle(queued("b", 1))
        store.handle(sent("b", 1))
        assert rows(store.path)[0] == []  # bookkeeping waits for the answers
        store.handle(succeeded("a", 0))
        assert [(row[1], row[7]) for row in rows(store.path)[0]] == [("a", "done")]  # b is still held back
        assert store.counts()["sent"] == 1  # a read writes what is held back first
    finally:
        store.close()


def test_commit_answers_writes_items_in_flight_for_long_as_sent(tmp_path: Path, monkeypatch) -> None:
    now = [1000.0]
    store = open_store(tmp_path / "s.db", clock=lambda: now[0])
    try:
        store.handle(queued("slow", 0))
        store.handle(sent("slow", 0))
        now[0] += store_module.HOLD_IN_FLIGHT_S / 2
        store.handle(queued("fast", 1))
        store.handle(sent("fast", 1))
        store.stage(succeeded("other", 2))
        store.commit_answers()
        assert rows(store.path)[0] == []  # both still young
        now[0] += store_module.HOLD_IN_FLIGHT_S / 2 + 0.01
        store.stage(succeeded("other", 2))
        store.commit_answers()
        assert [(row[1], row[7]) for row in rows(store.path)[0]] == [("slow", "sent")]
        store.handle(succeeded("fast", 1))
        assert [(row[1], row[7]) for row in rows(store.path)[0]] == [("fast", "done"), ("slow", "sent")]
    finally:
        store.close()


def test_items_held_back_count_towards_the_pending_limit(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db", max_pending=3)
    try:
        for n in range(3):
            store.handle(queued(f"i{n}", n))
            store.handle(sent(f"i{n}", n))
        assert len(rows(store.path)[0]) == 3
    finally:
        store.close()
