"""Answer previews for the request list: one line of each answer's text, or of a failed request's error.

A million previews would cost more than every other column together, so only
the rows answered or drawn most recently keep theirs (:class:`AnswerPreviews`);
the list asks the state file again for a row it draws without one.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..state import answer_text

PREVIEW_CHARS = 160
"""As much of an answer as the widest answer column shows."""
KEEP = 4_096
"""Previews kept: many pages of the list, a few hundred kilobytes."""


def preview(response: Any) -> str:
    """One line of an answer's text (whitespace collapsed), or a few words about a body without text."""
    text = answer_text(response)
    if text is None:
        return _about(response)
    return _one_line(text)


def error_preview(reason: str | None, message: str | None) -> str:
    """One line saying why a request failed: `400: Invalid 'messages': too long`."""
    return _one_line(error_line(reason, message))


def error_line(reason: Any, message: Any) -> str:
    reason, message = str(reason or ""), str(message or "")
    return f"{reason}: {message}" if reason and message else reason or message or "failed"


def item_preview(item: dict[str, Any] | None) -> str:
    """The preview of a request as the state file has it (its `item()`): its answer, or its error."""
    if item is None:
        return ""
    if item.get("status") == "failed":
        found = item.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        return error_preview(error.get("reason") or item.get("last_reason"), error.get("message"))
    return preview(item.get("response"))


def _one_line(text: str) -> str:
    return " ".join(text[: PREVIEW_CHARS * 2].split())[:PREVIEW_CHARS]


def _about(response: Any) -> str:
    """Embeddings and moderations answer with numbers and flags rather than text."""
    if not isinstance(response, dict) or not isinstance(response.get("data"), list):
        return _moderation(response)
    data = [item for item in response["data"] if isinstance(item, dict) and "embedding" in item]
    if not data:
        return ""
    vector = data[0]["embedding"]
    size = f"{len(vector):,} dimensions" if isinstance(vector, list) else "base64"
    return f"embedding, {size}" if len(data) == 1 else f"{len(data):,} embeddings, {size}"


def _moderation(response: Any) -> str:
    results = response.get("results") if isinstance(response, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return ""
    flagged = [name for name, hit in (results[0].get("categories") or {}).items() if hit]
    return "flagged: " + ", ".join(flagged) if flagged else "not flagged"


class AnswerPreviews:
    """Previews by row, the `keep` most recently put or read."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._previews: OrderedDict[int, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._previews)

    def get(self, row: int) -> str | None:
        """The row's preview, or None if it is not kept (then the state file knows it)."""
        text = self._previews.get(row)
        if text is not None:
            self._previews.move_to_end(row)
        return text

    def put(self, row: int, text: str) -> None:
        self._previews[row] = text
        self._previews.move_to_end(row)
        if len(self._previews) > self.keep:
            self._previews.popitem(last=False)

    def forget(self, row: int) -> None:
        self._previews.pop(row, None)
