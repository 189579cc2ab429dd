"""Reading an ended batch back: every line of its output and error files becomes its item's event.

A 200 line is a RequestSucceeded at the Batch API's price; an item at fault is a
RequestFailed; anything else, and every item the batch never ran, is a
RetryScheduled (it goes into a new part) until `limits.max_retries` new parts
have been tried, then a RequestFailed. Answers are committed in bulk: until the
part is recorded as downloaded, its files stay on the provider, so a run that
dies half-way reads them again and skips what it had already recorded.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from .. import events as ev
from ..engine.usage import priced_usage
from ..parts import Part
from ..pricing import PriceBook
from .journey import PartOwner, remote_call
from .remote import RemoteError
from .results import LineResult, line_errors, quick_custom_id, read_line

UNFINISHED_REASONS = {"expired": "batch_expired", "cancelled": "batch_cancelled", "completed": "no result line"}
FREE_RETRIES = frozenset({"batch_cancelled", "token_limit_exceeded", "batch_not_found"})
"""Reasons that are nobody's failure: sending such an item again does not use up a retry."""
_DECIDED = "decided"
YIELD_EVERY = 2000
WINDOW_LINES = 50_000
WINDOW_BYTES = 24 * 1024 * 1024
"""Lines recorded together in source order (a part's worth, within 24 MiB): rows close together in the state file."""


class PartDownload:
    """Maps one ended part's lines back to its items; `reasons` counts why items go round again."""

    def __init__(self, owner: PartOwner, part: Part, prices: PriceBook, *, round_: int, give_up: bool) -> None:
        self.owner = owner
        self.part = part
        self.prices = prices
        self.round = round_
        self.give_up = give_up
        """No retries left: items that would go round again fail instead."""
        self.tally: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self._latency = max(0.0, (part.ended_at or 0.0) - (part.created_at or part.ended_at or 0.0))

    async def run(self) -> Part:
        owner, part = self.owner, self.part
        owner.ledger.expect_results()
        rows = owner.ledger.items_of(part.part)
        items: dict[str, list[Any]] = {custom_id: [seq, status] for custom_id, seq, status in rows}
        with owner.ledger.deferred_commits():
            for file_id in (part.output_file_id, part.error_file_id):
                if file_id:
                    await self._download(file_id, items)
            if part.status == "failed":
                self._line_errors(items, [row[0] for row in rows])
            self._unfinished(items)
        part = owner.ledger.update(part, phase="downloaded")
        owner.emit(ev.BatchDownloaded(batch_id=part.batch_id or f"part-{part.part}", succeeded=self.tally["succeeded"],
                                      failed=self.tally["failed"], unfinished=self.tally["retry"], at=owner.wall()))
        return part

    async def _download(self, file_id: str, items: dict[str, list[Any]]) -> None:
        try:
            await remote_call(self.owner, "download", lambda: self._read(file_id, items))
        except RemoteError as error:
            if error.outcome.status != 404:
                raise
            # The provider no longer keeps it: its items count as never run, and go round again.
            self.owner.emit(ev.Notice(f"{file_id} of batch {self.part.batch_id} is gone ({error})", "warning",
                                      at=self.owner.wall()))

    async def _read(self, file_id: str, items: dict[str, list[Any]]) -> None:
        window = _Window()
        try:
            async with self.owner.remote.lines(file_id) as lines:
                async for raw in lines:
                    self._judge(raw, items, window)
                    if window.full:
                        await self._apply(window, items)
        finally:  # lines read before the stream broke are recorded; the rest are read again
            await self._apply(window, items)

    def _judge(self, raw: bytes, items: dict[str, list[Any]], window: _Window) -> None:
        """Keep the line for its window if it is news for one of our items (read now only if its id needs it)."""
        custom_id = quick_custom_id(raw)
        line: bytes | LineResult | None = raw
        if custom_id is None:
            line = read_line(raw, self.owner.wall())
            custom_id = line.custom_id if line is not None else None
        entry = items.get(custom_id) if custom_id is not None else None
        if entry is None and custom_id is not None:
            self._stray(custom_id, line)
        if entry is None or entry[1] in ("done", "failed", _DECIDED):
            self.tally["ignored"] += 1  # not ours, or already recorded by an earlier read
            return
        window.add(entry[0], custom_id, line, entry[1])  # type: ignore[arg-type]
        entry[1] = _DECIDED

    async def _apply(self, window: _Window, items: dict[str, list[Any]]) -> None:
        """Record a window of lines in source order: the file's order is random, the state file's is not."""
        for count, (seq, custom_id, line, before) in enumerate(window.drain(), start=1):
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the dashboard and the other parts' polls have a turn
            result = line if isinstance(line, LineResult) else read_line(line, self.owner.wall())
            if result is None or result.custom_id != custom_id:
                items[custom_id][1] = before  # unreadable after all: the item counts as never run
                self.tally["ignored"] += 1
            elif result.verdict == "succeeded":
                self._succeeded(custom_id, seq, result.status_code or 200, result.body or {})
            elif result.verdict == "failed":
                self._fail(custom_id, seq, result.reason, result.status_code, result.message, result.body)
            else:
                self._again(custom_id, seq, result.reason, result.status_code, result.message, result.body)

    def _succeeded(self, custom_id: str, seq: int, status: int, body: dict[str, Any]) -> None:
        self.tally["succeeded"] += 1
        self.owner.emit(self._answer(custom_id, seq, status, body))

    def _answer(self, custom_id: str, seq: int, status: int, body: dict[str, Any]) -> ev.RequestSucceeded:
        usage, cost, model = priced_usage(body, self.prices, self.part.model, tier="batch")
        return ev.RequestSucceeded(custom_id=custom_id, seq=seq, attempt=self.round, status_code=status,
                                   latency_s=self._latency, usage=usage, cost_usd=cost, response=body,
                                   at=self.owner.wall(), model=model, tier="batch")

    def _stray(self, custom_id: str, line: bytes | LineResult | None) -> None:
        """An answer for an item no longer in this part (hybrid mode moved it to realtime): paid, so handed on."""
        result = line if isinstance(line, LineResult) else read_line(line, self.owner.wall()) if line else None
        if result is not None and result.verdict == "succeeded":
            self.owner.stray_answer(self._answer(custom_id, -1, result.status_code or 200, result.body or {}))

    def _fail(self, custom_id: str, seq: int, reason: str, status: int | None, message: str,
              error: dict[str, Any] | None) -> None:
        self.tally["failed"] += 1
        self.owner.emit(ev.RequestFailed(custom_id=custom_id, seq=seq, attempt=self.round, reason=reason,
                                         status_code=status, message=message, error=error, at=self.owner.wall()))

    def _again(self, custom_id: str, seq: int, reason: str, status: int | None, message: str,
               error: dict[str, Any] | None) -> None:
        if self.give_up and reason not in FREE_RETRIES:
            self._fail(custom_id, seq, f"{reason} (gave up after {self.round} batches)", status, message, error)
            return
        self.tally["retry"] += 1
        self.reasons[reason] += 1
        self.owner.emit(ev.RetryScheduled(custom_id=custom_id, seq=seq, attempt=self.round, reason=reason,
                                          status_code=status, delay_s=0.0, message=message, at=self.owner.wall()))

    def _line_errors(self, items: dict[str, list[Any]], order: list[str]) -> None:
        """A batch that failed validation: the lines it named have failed; the others go round again."""
        for custom_id, error in line_errors(self.part.errors, order).items():
            entry = items[custom_id]
            if entry[1] not in ("done", "failed", _DECIDED):
                entry[1] = _DECIDED
                message = f"{error.get('code') or 'invalid'}: {error.get('message') or ''}"
                self._fail(custom_id, entry[0], "invalid batch line", None, message, error)

    def _unfinished(self, items: dict[str, list[Any]]) -> None:
        reason = self._unfinished_reason()
        for custom_id, (seq, status) in items.items():
            if status not in ("done", "failed", _DECIDED):
                message = f"the batch ended `{self.part.status}` before this request ran"
                self._again(custom_id, seq, reason, None, message, None)

    def _unfinished_reason(self) -> str:
        status = self.part.status or "completed"
        if status == "failed":
            codes = {str(error.get("code") or "") for error in self.part.errors or []}
            for code in ("token_limit_exceeded", "create_refused", "batch_not_found"):
                if code in codes:
                    return code
            return "batch failed validation"
        return UNFINISHED_REASONS.get(status, status)


class _Window:
    """Lines held to be recorded in source order, bounded by count and by bytes.

    A window as large as a part makes the state file's updates sequential; the
    lines wait raw (a few hundred bytes each) and are read only when recorded.
    """

    def __init__(self) -> None:
        self._lines: list[tuple[int, str, bytes | LineResult, str]] = []
        self._bytes = 0

    def add(self, seq: int, custom_id: str, line: bytes | LineResult, before: str) -> None:
        self._lines.append((seq, custom_id, line, before))
        self._bytes += len(line) if isinstance(line, bytes) else 1024

    @property
    def full(self) -> bool:
        return len(self._lines) >= WINDOW_LINES or self._bytes >= WINDOW_BYTES

    def drain(self) -> list[tuple[int, str, bytes | LineResult, str]]:
        lines, self._lines, self._bytes = self._lines, [], 0
        lines.sort(key=lambda line: line[0])
        return lines
