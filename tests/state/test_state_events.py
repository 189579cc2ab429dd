"""The store as a consumer of engine events: what each event records, and when it is committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from factories import answered, failed, open_store, queued, retry, sent, succeeded

from oaib_tui import events as ev
from oaib_tui.state.store import StateStore


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "s.db")
    yield store
    store.close()


def committed_rows(store: StateStore) -> list[tuple[str, str]]:
    """What another process would see now."""
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT custom_id, status FROM items ORDER BY seq").fetchall()
    finally:
        conn.close()


def test_an_item_with_a_retry_round_trips_into_the_detail_view(store: StateStore) -> None:
    store.handle(queued("a", 0, keep={"row": 7}))
    store.handle(sent("a", 0, attempt=1, at=200.0))
    store.handle(retry("a", 0, attempt=1))
    store.handle(sent("a", 0, attempt=2, at=260.0))
    store.handle(succeeded("a", 0, attempt=2))

    item = store.item("a")
    assert item is not None
    assert item["status"] == "done" and item["attempts"] == 2
    assert item["request"]["messages"][0]["content"] == "a"
    assert item["response"]["choices"][0]["message"]["content"] == "answer a"
    assert item["keep"] == {"row": 7}
    assert item["usage"] == {"prompt_tokens": 10, "cached_tokens": 2, "completion_tokens": 5}
    assert (item["cost_usd"], item["latency_s"], item["first_sent_at"], item["finished_at"]) == (0.25, 0.5, 200.0, 300.0)
    assert item["retries"] == [{"attempt": 1, "at": 250.0, "reason": "429 tokens", "status_code": 429,
                                "delay_s": 1.5, "message": "Rate limit reached"}]
    assert store.item("missing") is None


def test_statuses_follow_the_events(store: StateStore) -> None:
    store.handle(queued("a", 0))
    store.handle(queued("b", 1))
    store.handle(queued("c", 2))
    store.handle(sent("b", 1))
    store.handle(sent("c", 2))
    store.handle(retry("c", 2))
    assert store.counts() == {"queued": 2, "sent": 1, "done": 0, "failed": 0}
    assert store.item("c")["last_reason"] == "429 tokens"


def test_a_failure_keeps_the_error_and_retry_failed_queues_it_again(store: StateStore) -> None:
    answered(store, "a", 0)
    store.handle(queued("b", 1, input_key=77))
    store.handle(sent("b", 1))
    store.handle(failed("b", 1))
    assert store.counts() == {"queued": 0, "sent": 0, "done": 1, "failed": 1}
    assert store.item("b")["error"]["message"] == "Invalid model"
    assert store.item("b")["error"]["body"]["error"]["type"] == "invalid_request_error"
    assert store.finished_input_keys() == {1000, 77}
    assert store.finished_input_keys(["done"]) == {1000}

    assert store.requeue_failed() == 1
    assert store.counts() == {"queued": 1, "sent": 0, "done": 1, "failed": 0}
    assert store.finished_input_keys() == {1000}
    assert store.item("b")["error"] is None and store.item("b")["last_reason"] == "400"


def test_a_changed_request_starts_over_and_an_unchanged_one_keeps_its_history(store: StateStore) -> None:
    store.handle(queued("a", 0, body_hash="h1"))
    store.handle(sent("a", 0))
    store.handle(retry("a", 0))
    store.handle(queued("b", 1, body_hash="h1"))
    store.handle(sent("b", 1))
    store.handle(retry("b", 1))
    store.flush()

    # A new run: `a` was edited, `b` was not.
    store.handle(queued("a", 5, body_hash="h2", body={"model": "m", "input": "edited"}))
    store.handle(queued("b", 6, body_hash="h1"))
    store.flush()
    a, b = store.item("a"), store.item("b")
    assert (a["status"], a["attempts"], a["retries"], a["body_hash"], a["seq"]) == ("queued", 0, [], "h2", 5)
    assert a["request"] == {"model": "m", "input": "edited"}
    assert (b["status"], b["attempts"], len(b["retries"]), b["seq"]) == ("queued", 1, 1, 6)


def test_a_changed_request_forgets_the_old_answer(store: StateStore) -> None:
    answered(store, "a", 0, body_hash="h1")
    store.handle(queued("a", 0, body_hash="h2"))
    store.flush()
    item = store.item("a")
    assert (item["status"], item["response"], item["cost_usd"]) == ("queued", None, None)
    assert store.finished_status("a", "h1") is None


def test_input_keys_beyond_signed_64_bits_round_trip(store: StateStore) -> None:
    keys = [0, 2**63 - 1, 2**63, 2**64 - 1]
    for seq, key in enumerate(keys):
        answered(store, f"k{seq}", seq, input_key=key)
    assert store.finished_input_keys() == set(keys)


def test_a_key_that_does_not_fit_fails_alone_without_blocking_later_answers(store: StateStore) -> None:
    with pytest.raises(ValueError, match="64 bits"):
        store.handle(queued("big", 0, input_key=2**64))
    answered(store, "a", 1)
    assert committed_rows(store) == [("a", "done")]


def test_finished_status_serves_the_slow_resume_path(store: StateStore) -> None:
    answered(store, "a", 0, body_hash="ha")
    store.handle(queued("b", 1, body_hash="hb"))
    store.handle(sent("b", 1))
    store.handle(failed("b", 1))
    store.handle(queued("c", 2, body_hash="hc"))
    store.flush()
    checks = [("a", "ha"), ("b", "hb"), ("c", "hc"), ("a", "h-edited")]
    assert [store.finished_status(custom_id, body_hash) for custom_id, body_hash in checks] == ["done", "failed", None, None]


def test_answers_are_committed_at_once_and_bookkeeping_rides_along(store: StateStore) -> None:
    store.handle(queued("a", 0))
    store.handle(sent("a", 0))
    store.handle(queued("b", 1))
    assert committed_rows(store) == []
    store.handle(succeeded("a", 0))
    # b's bookkeeping waits (a moment) to be written with its outcome: see test_state_coalesced
    assert committed_rows(store) == [("a", "done")]
    store.handle(sent("b", 1))
    store.handle(failed("b", 1))
    assert committed_rows(store) == [("a", "done"), ("b", "failed")]


def test_bookkeeping_is_committed_when_too_much_is_pending(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db", max_pending=3)
    store.handle(queued("a", 0))
    store.handle(queued("b", 1))
    assert committed_rows(store) == []
    store.handle(queued("c", 2))
    assert len(committed_rows(store)) == 3
    store.close()


def test_run_finished_commits_and_other_events_are_ignored(store: StateStore) -> None:
    store.handle(queued("a", 0))
    store.handle(ev.RunPaused(at=1.0))
    store.handle(ev.Notice("hello"))
    store.handle(ev.LimitsObserved(500, 200_000, "headers", 499, 199_000, at=1.0))
    assert committed_rows(store) == []
    store.handle(ev.RunFinished("stopped", "interrupted", "Stopped", 0, 0, 1, 0.0, 130, at=2.0))
    assert committed_rows(store) == [("a", "queued")]


def test_close_commits_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    store.handle(queued("a", 0))
    store.close()
    store.close()
    reopened = open_store(path)
    assert reopened.counts()["queued"] == 1
    reopened.close()


def test_totals_sum_usage_cost_and_attempts(store: StateStore) -> None:
    answered(store, "a", 0)
    store.handle(queued("b", 1))
    store.handle(sent("b", 1, at=150.0))
    store.handle(retry("b", 1))
    store.handle(sent("b", 1, attempt=2))
    store.handle(succeeded("b", 1, attempt=2, cost=None))
    totals = store.totals()
    assert totals.usage == ev.Usage(20, 4, 10)
    assert (totals.cost_usd, totals.unpriced, totals.attempts) == (0.25, 1, 3)
    assert (totals.first_sent_at, totals.last_finished_at) == (150.0, 301.0)


def test_results_come_in_source_order_whatever_the_order_of_answers(store: StateStore) -> None:
    for seq in (3, 0, 2, 1):
        answered(store, f"id-{seq}", seq)
    store.handle(queued("id-4", 4))
    store.handle(sent("id-4", 4))
    store.handle(failed("id-4", 4))
    assert [r["custom_id"] for r in store.iter_results("done")] == ["id-0", "id-1", "id-2", "id-3"]
    assert [r["custom_id"] for r in store.iter_results(["failed", "done"])] == [f"id-{n}" for n in range(5)]
    with pytest.raises(ValueError, match="unknown status"):
        list(store.iter_results("finished"))


def test_adopting_a_new_fingerprint_rekeys_finished_items(store: StateStore) -> None:
    answered(store, "a", 0, input_key=1)
    answered(store, "b", 1, input_key=2)
    assert store.stored_fingerprint() == "fp-1"
    store.fingerprint = "fp-2"
    store.adopt_fingerprint([("a", 11), ("b", 2**64 - 2)])
    assert store.stored_fingerprint() == "fp-2"
    assert store.finished_input_keys() == {11, 2**64 - 2}
