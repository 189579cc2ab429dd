"""What one line of a batch's output or error file means for its item: succeeded, failed, or to be sent again.

Pure functions: the executor reads the lines, these decide. A 200 is an answer;
any other status is judged by the realtime rules (:func:`.retry.classify`): an
item at fault (400, 404, 422, too large) has failed, anything else (5xx, 429,
a line the batch never ran: `batch_expired`, `batch_cancelled`) is sent again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..engine.retry import classify
from ..events import JsonText

Verdict = Literal["succeeded", "failed", "retry"]
TOKEN_LIMIT_CODE = "token_limit_exceeded"
_LIMIT = re.compile(r"Limit:\s*([\d,]+)")
_STRING = r'"(?:[^"\\]|\\.)*"'
_ANSWER_HEAD = re.compile(
    rf'\{{\s*"id"\s*:\s*{_STRING}\s*,\s*"custom_id"\s*:\s*({_STRING})\s*,\s*"response"\s*:\s*\{{\s*'
    rf'"status_code"\s*:\s*200\s*,\s*"request_id"\s*:\s*(?:{_STRING}|null)\s*,\s*"body"\s*:\s*')
_ANSWER_TAIL = re.compile(r'\s*\}\s*,\s*"error"\s*:\s*null\s*\}\s*$')
_DECODER = json.JSONDecoder()
_QUICK_ID = re.compile(rb'\{\s*"id"\s*:\s*"[^"\\]*"\s*,\s*"custom_id"\s*:\s*"([^"\\]*)"')


@dataclass(frozen=True, slots=True)
class LineResult:
    custom_id: str
    verdict: Verdict
    status_code: int | None
    reason: str
    """Short and human, as in realtime: `500`, `400`, `batch_expired` …"""
    message: str = ""
    body: dict[str, Any] | None = None
    """The answer (succeeded) or the error object (failed, retry)."""


def read_line(raw: bytes, now: float) -> LineResult | None:
    """The meaning of one output or error file line; None for a line that is not a result at all."""
    answer = _fast_answer(raw)
    if answer is not None:
        return answer
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
        return None
    custom_id, response = data["custom_id"], data.get("response")
    if not isinstance(response, dict):
        found = data.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or "no response")
        return LineResult(custom_id, "retry", None, code, str(error.get("message") or ""), error or None)
    status, body = response.get("status_code"), response.get("body")
    status = status if isinstance(status, int) else None
    if status is not None and 200 <= status < 300 and isinstance(body, dict):
        return LineResult(custom_id, "succeeded", status, "ok", body=body)
    found = body.get("error") if isinstance(body, dict) else None
    body_error: dict[str, Any] | None = found if isinstance(found, dict) else None
    outcome = classify(status=status, error=body_error, headers={}, failure=None if status else "malformed", now=now)
    verdict: Verdict = "failed" if outcome.action == "fail" else "retry"
    return LineResult(custom_id, verdict, status, outcome.reason, outcome.message, body_error)


def quick_custom_id(raw: bytes) -> str | None:
    """The custom_id of a line in the Batch API's own layout, without reading the rest; None if unsure."""
    found = _QUICK_ID.match(raw)
    return found.group(1).decode("utf-8", "replace") if found else None


def _fast_answer(raw: bytes) -> LineResult | None:
    """A 200 line in the Batch API's own layout, read with one pass over its body (most lines of a big job).

    The body keeps the text it was read from, so the state file stores it as is.
    Anything else (another layout, another status) is None: the general path reads it.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = _ANSWER_HEAD.match(text)
    if head is None:
        return None
    try:
        body, end = _DECODER.raw_decode(text, head.end())
    except ValueError:
        return None
    if not isinstance(body, dict) or _ANSWER_TAIL.match(text, end) is None:
        return None
    quoted = head.group(1)
    custom_id = quoted[1:-1] if "\\" not in quoted else json.loads(quoted)
    return LineResult(custom_id, "succeeded", 200, "ok", body=JsonText(body, text[head.end():end]))


def token_refusal(errors: Sequence[dict[str, Any]] | None) -> tuple[bool, int | None]:
    """(refused for the enqueued-token limit?, the limit if the message says it)."""
    for error in errors or ():
        if error.get("code") == TOKEN_LIMIT_CODE:
            found = _LIMIT.search(str(error.get("message") or ""))
            return True, int(found.group(1).replace(",", "")) if found else None
    return False, None


def line_errors(errors: Sequence[dict[str, Any]] | None, custom_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The validation errors that name a line, by the custom_id of that line (lines count from 1)."""
    named: dict[str, dict[str, Any]] = {}
    for error in errors or ():
        line = error.get("line")
        if isinstance(line, int) and 1 <= line <= len(custom_ids):
            named.setdefault(custom_ids[line - 1], error)
    return named


def describe_errors(errors: Sequence[dict[str, Any]] | None, most: int = 3) -> str:
    """`line 3: invalid_json_line (This line is not …); …` for a notice."""
    parts = []
    for error in list(errors or ())[:most]:
        where = f"line {error['line']}: " if error.get("line") else ""
        parts.append(f"{where}{error.get('code') or 'error'} ({error.get('message') or ''})")
    more = len(errors or ()) - most
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
