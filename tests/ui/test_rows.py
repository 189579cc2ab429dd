"""The request list's compact rows: folding events, finding rows by status, memory."""

from __future__ import annotations

import random

import pytest

from oaib_tui import events as ev
from oaib_tui.ui.rows import (
    BLOCK,
    DONE,
    FAILED,
    IN_FLIGHT,
    QUEUED,
    RETRYING,
    RequestRows,
)


def queued(seq: int, custom_id: str | None = None, prompt: int = 10) -> ev.RequestQueued:
    return ev.RequestQueued(custom_id or f"id-{seq}", seq, "s", seq + 1, "h", seq, prompt, 5, {}, {}, 0.0)


def test_a_request_goes_from_queued_to_in_flight_to_retrying_to_done():
    rows = RequestRows()
    rows.handle(queued(0, "first", prompt=42))
    assert (rows.status[0], rows.prompt_tokens[0], rows.custom_id(0)) == (QUEUED, 42, "first")
    rows.handle(ev.RequestSent("first", 0, 1, 47, 0.0))
    assert (rows.status[0], rows.attempts[0]) == (IN_FLIGHT, 1)
    rows.handle(ev.RetryScheduled("first", 0, 1, "429 tokens", 429, 1.0, "slow down", 0.0))
    assert (rows.status[0], rows.reason_text(0)) == (RETRYING, "429 tokens")
    rows.handle(ev.RequestSent("first", 0, 2, 47, 0.0))
    rows.handle(ev.RequestSucceeded("first", 0, 2, 200, 0.5, ev.Usage(40, 0, 7), 0.25, {}, 0.0))
    assert (rows.status[0], rows.attempts[0], rows.output_tokens[0], rows.prompt_tokens[0]) == (DONE, 2, 7, 40)
    assert rows.latency[0] == pytest.approx(0.5) and rows.cost[0] == pytest.approx(0.25)
    assert rows.reason_text(0) == ""
    assert [rows.count(status) for status in range(5)] == [0, 0, 0, 1, 0]


def test_a_failed_request_queued_again_starts_its_row_over():
    rows = RequestRows()
    for seq in range(3):
        rows.handle(queued(seq))
    rows.handle(ev.RequestFailed("id-1", 1, 1, "400", 400, "bad", None, 0.0))
    rows.handle(queued(1))
    assert len(rows) == 3 and rows.status[1] == QUEUED and rows.reason_text(1) == "" and rows.attempts[1] == 0


def test_requests_seen_out_of_order_are_still_found():
    rows = RequestRows()
    for seq in (0, 5, 9):
        rows.handle(queued(seq))
    rows.handle(queued(3))  # out of order
    rows.handle(ev.RequestSent("id-3", 3, 1, 1, 0.0))
    rows.handle(queued(12))
    assert [rows.seq_of(row) for row in range(len(rows))] == [0, 5, 9, 3, 12]
    assert rows.row_of(3) == 3 and rows.row_of(12) == 4 and rows.row_of(9) == 2 and rows.row_of(4) is None
    assert rows.status[3] == IN_FLIGHT


def test_an_event_for_a_request_never_queued_adds_its_row():
    rows = RequestRows()
    rows.handle(ev.RequestSucceeded("late", 7, 1, 200, 0.1, ev.Usage(1, 0, 1), None, {}, 0.0))
    assert rows.custom_id(0) == "late" and rows.status[0] == DONE


def random_rows(n: int, seed: int = 3) -> RequestRows:
    rng = random.Random(seed)
    rows = RequestRows()
    for seq in range(n):
        rows.handle(queued(seq))
        fate = rng.choice([QUEUED, IN_FLIGHT, RETRYING, DONE, DONE, DONE, FAILED])
        if fate != QUEUED:
            rows.handle(ev.RequestSent(f"id-{seq}", seq, 1, 1, 0.0))
        if fate == RETRYING:
            rows.handle(ev.RetryScheduled(f"id-{seq}", seq, 1, "503", 503, 1.0, "", 0.0))
        elif fate == DONE:
            rows.handle(ev.RequestSucceeded(f"id-{seq}", seq, 1, 200, 0.1, ev.Usage(1, 0, 1), 0.0, {}, 0.0))
        elif fate == FAILED:
            rows.handle(ev.RequestFailed(f"id-{seq}", seq, 1, "400", 400, "", None, 0.0))
    return rows


@pytest.mark.parametrize("status", [None, QUEUED, IN_FLIGHT, RETRYING, DONE, FAILED])
def test_filtered_lookups_agree_with_a_plain_scan(status):
    rows = random_rows(3 * BLOCK + 77)
    matching = [row for row in range(len(rows)) if status is None or rows.status[row] == status]
    assert rows.count(status) == len(matching)
    for n in (0, 1, len(matching) // 2, len(matching) - 1):
        assert rows.nth(status, n) == matching[n]
        assert rows.rows_from(status, n, 25) == matching[n:n + 25]
    assert rows.nth(status, len(matching)) is None
    if status is not None:
        assert rows.last_with(status) == matching[-1]


def test_a_million_rows_take_about_fifty_bytes_each():
    rows = RequestRows()
    for seq in range(1_000_000):
        rows.handle(queued(seq, f"item-{seq:07d}"))
    assert len(rows) == 1_000_000
    assert rows.memory_bytes() < 60 * 1_000_000
    assert rows.nth(QUEUED, 999_999) == 999_999
