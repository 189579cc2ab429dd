"""The request list's lean read: finished items' small columns, in seq order, after a given seq."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import answered, failed, open_store, queued, sent

from oaib_tui.state.reader import StateReader


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "s.db")
    for seq in (4, 0, 2):
        answered(store, f"ok-{seq}", seq)
    store.handle(queued("bad-3", 3))
    store.handle(sent("bad-3", 3))
    store.handle(failed("bad-3", 3, attempt=2))
    store.handle(queued("waiting-1", 1))
    yield store
    store.close()


def test_finished_rows_come_in_seq_order_with_their_columns(store) -> None:
    rows = list(store.iter_rows())
    assert [row[:3] for row in rows] == [(0, "ok-0", "done"), (2, "ok-2", "done"), (3, "bad-3", "failed"),
                                         (4, "ok-4", "done")]
    assert rows[0][3:] == (1, 0.5, 10, 5, 0.25, None, "standard")
    assert rows[2][3] == 2 and rows[2][-2] == "400"


def test_rows_start_after_the_given_seq(store) -> None:
    assert [row[0] for row in store.iter_rows(after_seq=2)] == [3, 4]
    assert list(store.iter_rows(after_seq=4)) == []


def test_other_statuses_can_be_asked_for(store) -> None:
    assert [row[1] for row in store.iter_rows(statuses=("queued",))] == ["waiting-1"]
    with pytest.raises(ValueError):
        list(store.iter_rows(statuses=("finished",)))


def test_a_read_only_reader_sees_the_rows_of_a_closed_store(store, tmp_path: Path) -> None:
    store.close()
    with StateReader.open_readonly(tmp_path / "s.db") as reader:
        assert [row[0] for row in reader.iter_rows()] == [0, 2, 3, 4]
