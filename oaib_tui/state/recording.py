"""How each engine event becomes rows: a recipe of statements per event type.

The store batches events into runs of the same type and executes each
statement of the recipe once per run with `executemany`. That reorders
statements only within a run of same-type events, which is safe because such
a run never holds two events of one item whose statements would conflict
(an item is queued once per run, and is sent again only after a retry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import jsonfast
from ..events import (
    DuplicateAnswer,
    JsonText,
    RequestFailed,
    RequestQueued,
    RequestSent,
    RequestSucceeded,
    RetryScheduled,
)
from .schema import DUPLICATE_KEYS

Statement = tuple[str, Callable[[Any], tuple]]

_INT64 = 1 << 63


def signed64(key: int) -> int:
    """An unsigned (or signed) 64-bit key as the signed integer SQLite can store."""
    if not -_INT64 <= key < 2 * _INT64:
        raise ValueError(f"input_key {key} does not fit in 64 bits")
    return key - 2 * _INT64 if key >= _INT64 else key


def to_json(value: Any) -> str | None:
    """Compact JSON text, or None for None."""
    if value is None:
        return None
    if type(value) is JsonText:
        return value.text
    return jsonfast.compact(value)


def _error_json(event: RequestFailed) -> str | None:
    return to_json({"reason": event.reason, "status_code": event.status_code,
                    "message": event.message, "body": event.error})


_ITEM_ID = "(SELECT id FROM items WHERE custom_id = ?)"

_QUEUED: tuple[Statement, ...] = (
    # A changed request is a new item: forget the old answer and history (the trigger drops its payload).
    ("DELETE FROM items WHERE custom_id = ? AND body_hash <> ?", lambda e: (e.custom_id, e.body_hash)),
    # `batch` is the part a batch-mode item was written into (NULL in realtime).
    ("""INSERT INTO items (custom_id, seq, source, line, body_hash, input_key, status, batch)
        VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)
        ON CONFLICT (custom_id) DO UPDATE SET seq = excluded.seq, source = excluded.source,
            line = excluded.line, body_hash = excluded.body_hash, input_key = excluded.input_key,
            status = 'queued', finished_at = NULL, batch = excluded.batch, tier = NULL""",
     lambda e: (e.custom_id, e.seq, e.source, e.line, e.body_hash, signed64(e.input_key), e.batch)),
    ("""INSERT INTO payloads (item, request, keep) SELECT id, ?, ? FROM items WHERE custom_id = ?
        ON CONFLICT (item) DO UPDATE SET request = excluded.request, keep = excluded.keep""",
     lambda e: (to_json(e.body), to_json(e.keep), e.custom_id)),
)

_SENT: tuple[Statement, ...] = (
    ("""UPDATE items SET status = 'sent', attempts = attempts + 1, first_sent_at = coalesce(first_sent_at, ?)
        WHERE custom_id = ?""",
     lambda e: (e.at, e.custom_id)),
)

_RETRY: tuple[Statement, ...] = (
    ("""INSERT INTO retries (item, attempt, at, reason, status_code, delay_s, message)
        SELECT id, ?, ?, ?, ?, ?, ? FROM items WHERE custom_id = ?""",
     lambda e: (e.attempt, e.at, e.reason, e.status_code, e.delay_s, e.message, e.custom_id)),
    # Waiting for its next attempt, the item is queued again.
    ("UPDATE items SET status = 'queued', last_reason = ? WHERE custom_id = ?", lambda e: (e.reason, e.custom_id)),
)

_SUCCEEDED: tuple[Statement, ...] = (
    ("""UPDATE items SET status = 'done', attempts = max(attempts, ?), finished_at = ?, latency_s = ?,
            prompt_tokens = ?, cached_tokens = ?, completion_tokens = ?, cost_usd = ?, tier = ?, last_reason = NULL
        WHERE custom_id = ?""",
     lambda e: (e.attempt, e.at, e.latency_s, e.usage.prompt_tokens, e.usage.cached_tokens,
                e.usage.completion_tokens, e.cost_usd, e.tier, e.custom_id)),
    (f"UPDATE payloads SET response = ?, error = NULL WHERE item = {_ITEM_ID}",
     lambda e: (to_json(e.response), e.custom_id)),
)

_FAILED: tuple[Statement, ...] = (
    ("""UPDATE items SET status = 'failed', attempts = max(attempts, ?), finished_at = ?, last_reason = ?
        WHERE custom_id = ?""",
     lambda e: (e.attempt, e.at, e.reason, e.custom_id)),
    (f"UPDATE payloads SET response = NULL, error = ? WHERE item = {_ITEM_ID}",
     lambda e: (_error_json(e), e.custom_id)),
)

class FirstTryDone:
    """An item queued, sent once and answered before any of it was written: its rows, in three statements.

    The rows are those that RequestQueued, RequestSent and RequestSucceeded would
    leave one after the other (seven statements, each moving the item in the
    status index): what cost most in a run against a fast server.
    """

    __slots__ = ("answer", "queued_rows", "sent_at")

    def __init__(self, queued_rows: list[tuple], sent_at: float, answer: RequestSucceeded) -> None:
        self.queued_rows, self.sent_at, self.answer = queued_rows, sent_at, answer
        """`queued_rows`: the RequestQueued's parameters, one row per statement of its recipe."""


def _first_try_item(done: FirstTryDone) -> tuple:
    custom_id, seq, source, line, body_hash, input_key, batch = done.queued_rows[1]
    a = done.answer
    return (custom_id, seq, source, line, body_hash, input_key, batch, a.attempt, done.sent_at, a.at, a.latency_s,
            a.usage.prompt_tokens, a.usage.cached_tokens, a.usage.completion_tokens, a.cost_usd, a.tier)


def _first_try_payload(done: FirstTryDone) -> tuple:
    request, keep, custom_id = done.queued_rows[2]
    return request, keep, to_json(done.answer.response), custom_id


_FIRST_TRY_DONE: tuple[Statement, ...] = (
    (_QUEUED[0][0], lambda done: done.queued_rows[0]),
    # An earlier run's row keeps its attempts (plus this one) and its first_sent_at, as the three events leave it.
    ("""INSERT INTO items (custom_id, seq, source, line, body_hash, input_key, batch, status, attempts,
            first_sent_at, finished_at, latency_s, prompt_tokens, cached_tokens, completion_tokens, cost_usd, tier)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'done', max(1, ?), ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (custom_id) DO UPDATE SET seq = excluded.seq, source = excluded.source,
            line = excluded.line, body_hash = excluded.body_hash, input_key = excluded.input_key,
            batch = excluded.batch, status = 'done', attempts = max(attempts + 1, excluded.attempts),
            first_sent_at = coalesce(first_sent_at, excluded.first_sent_at), finished_at = excluded.finished_at,
            latency_s = excluded.latency_s, prompt_tokens = excluded.prompt_tokens,
            cached_tokens = excluded.cached_tokens, completion_tokens = excluded.completion_tokens,
            cost_usd = excluded.cost_usd, tier = excluded.tier, last_reason = NULL""",
     _first_try_item),
    ("""INSERT INTO payloads (item, request, keep, response) SELECT id, ?, ?, ? FROM items WHERE custom_id = ?
        ON CONFLICT (item) DO UPDATE SET request = excluded.request, keep = excluded.keep,
            response = excluded.response, error = NULL""",
     _first_try_payload),
)

RECIPES: dict[type, tuple[Statement, ...]] = {
    RequestQueued: _QUEUED,
    RequestSent: _SENT,
    RetryScheduled: _RETRY,
    RequestSucceeded: _SUCCEEDED,
    RequestFailed: _FAILED,
    FirstTryDone: _FIRST_TRY_DONE,
}
"""The events the store records; all others are ignored."""

COMMIT_AT_ONCE = (RequestSucceeded, RequestFailed, FirstTryDone)
"""An answer not yet committed would be paid for twice after a crash; bookkeeping can wait."""


def count_duplicate(conn: Any, event: DuplicateAnswer) -> None:
    """Add a discarded answer and its cost to the state file's running totals (in the caller's transaction)."""
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
        [(DUPLICATE_KEYS[0], 1), (DUPLICATE_KEYS[1], event.cost_usd or 0.0)])
