"""Pure rules of batch mode: what a result line means, token refusals, line errors, and the enqueued-token gate."""

from __future__ import annotations

import asyncio
import json

import pytest

from oaib_tui.batch.gate import GateClosed, TokenGate
from oaib_tui.batch.results import (
    describe_errors,
    line_errors,
    read_line,
    token_refusal,
)


def result_line(custom_id: str = "a", status: int | None = 200, body=None, error=None) -> bytes:
    response = None if status is None else {"status_code": status, "request_id": "r", "body": body or {}}
    return json.dumps({"id": "x", "custom_id": custom_id, "response": response, "error": error}).encode()


def test_a_200_line_is_an_answer():
    result = read_line(result_line(body={"choices": [], "usage": {"prompt_tokens": 3}}), now=0.0)
    assert (result.custom_id, result.verdict, result.status_code) == ("a", "succeeded", 200)
    assert result.body == {"choices": [], "usage": {"prompt_tokens": 3}}


@pytest.mark.parametrize("status, error, verdict, reason", [
    (400, {"message": "bad", "type": "invalid_request_error"}, "failed", "400"),
    (404, {"message": "no such model"}, "failed", "404"),
    (500, {"message": "oops", "type": "server_error"}, "retry", "500"),
    (429, {"message": "Rate limit reached on tokens per min", "code": "rate_limit_exceeded"}, "retry", "429 tokens"),
    (400, {"message": "too long", "code": "context_length_exceeded"}, "failed", "request too large"),
])
def test_error_lines_follow_the_realtime_rules(status, error, verdict, reason):
    result = read_line(result_line(status=status, body={"error": error}), now=0.0)
    assert (result.verdict, result.reason, result.status_code, result.body) == (verdict, reason, status, error)


def test_a_request_the_batch_never_ran_goes_round_again():
    raw = result_line(status=None, error={"code": "batch_expired", "message": "not executed in time"})
    result = read_line(raw, now=0.0)
    assert (result.verdict, result.reason, result.message) == ("retry", "batch_expired", "not executed in time")


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"response": {}}', b'{"custom_id": 7}'])
def test_lines_that_are_not_results_are_skipped(raw):
    assert read_line(raw, now=0.0) is None


def test_a_token_refusal_is_recognised_with_its_limit():
    message = "Enqueued token limit reached for gpt-4o in organization org-x. Limit: 90,000 enqueued tokens."
    assert token_refusal([{"code": "token_limit_exceeded", "message": message}]) == (True, 90_000)
    assert token_refusal([{"code": "token_limit_exceeded", "message": "try later"}]) == (True, None)
    assert token_refusal([{"code": "invalid_json_line", "line": 2}]) == (False, None)
    assert token_refusal(None) == (False, None)


def test_line_errors_name_the_items_on_those_lines():
    errors = [{"code": "a", "line": 2}, {"code": "b", "line": 9}, {"code": "c", "line": None}, {"code": "d", "line": 2}]
    assert line_errors(errors, ["x", "y", "z"]) == {"y": {"code": "a", "line": 2}}
    assert describe_errors(errors, most=2) == "line 2: a (); line 9: b (); and 2 more"


def test_the_gate_lets_a_batch_alone_through_and_counts_queued_tokens():
    gate = TokenGate(100, closed=lambda: False)
    assert gate.has_room("m", 500)  # nothing queued: the provider decides
    gate.hold("m", 60)
    assert gate.has_room("m", 40) and not gate.has_room("m", 41) and gate.has_room("other", 500)
    gate.release("m", 60)
    assert gate.enqueued["m"] == 0


def test_the_gate_learns_the_named_limit_or_what_was_queued():
    gate = TokenGate(None, closed=lambda: False)
    assert gate.limit("m") is None and gate.learn("m", 5_000, queued_when_refused=300) == 5_000
    assert gate.learn("n", None, queued_when_refused=300) == 300 and gate.limit("n") == 300
    assert gate.learn("o", None, queued_when_refused=0) is None and gate.limit("o") is None


async def test_the_gate_waits_for_room_and_closes_when_the_run_stops():
    stopping = False
    gate = TokenGate(100, closed=lambda: stopping)
    gate.hold("m", 80)
    waiting = asyncio.ensure_future(gate.acquire("m", 50))
    await asyncio.sleep(0)
    assert not waiting.done()
    gate.release("m", 80)
    await waiting
    assert gate.enqueued["m"] == 50
    blocked = asyncio.ensure_future(gate.acquire("m", 80))
    await asyncio.sleep(0)
    stopping = True
    gate.poke()
    with pytest.raises(GateClosed):
        await blocked
