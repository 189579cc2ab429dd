"""Reading an ended batch back: every line of its output and error files becomes its item's event.

A 200 line is a RequestSucceeded at the Batch API's price; an item at fault is a
RequestFailed; anything else, and every item the batch never ran, is a
RetryScheduled (it goes into a new part) until `limits.max_retries` new parts
have been tried, then a RequestFailed. Answers are committed in bulk: until the
part is recorded as downloaded, its files stay on the provider, so a run that
dies half-way reads them again and skips what it had already recorded.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..pricing import PriceBook
from ..state.batches import Part
from . import events as ev
from .batch_part import PartOwner, remote_call
from .batch_remote import RemoteError
from .batch_results import LineResult, line_errors, read_line
from .usage import usage_from_response

UNFINISHED_REASONS = {"expired": "batch_expired", "cancelled": "batch_cancelled", "completed": "no result line"}
FREE_RETRIES = frozenset({"batch_cancelled", "token_limit_exceeded"})
"""Reasons that are nobody's failure: sending such an item again does not use up a retry."""
_DECIDED = "decided"
WINDOW = 4096
"""Lines recorded together in source order: rows close together in the state file, so far fewer pages are touched."""


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
        rows = owner.ledger.items_of(part.part)
        items: dict[str, list[Any]] = {custom_id: [seq, status] for custom_id, seq, status in rows}
        with owner.ledger.store.deferred_commits():
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
        window: list[tuple[int, LineResult]] = []
        try:
            async with self.owner.remote.lines(file_id) as lines:
                async for raw in lines:
                    judged = self._judge(raw, items)
                    if judged is not None:
                        window.append(judged)
                    if len(window) >= WINDOW:
                        self._apply(window)
        finally:  # lines read before the stream broke are recorded; the rest are read again
            self._apply(window)

    def _judge(self, raw: bytes, items: dict[str, list[Any]]) -> tuple[int, LineResult] | None:
        result = read_line(raw, self.owner.wall())
        entry = items.get(result.custom_id) if result is not None else None
        if result is None or entry is None or entry[1] in ("done", "failed", _DECIDED):
            self.tally["ignored"] += 1  # not ours, or already recorded by an earlier read
            return None
        entry[1] = _DECIDED
        return entry[0], result

    def _apply(self, window: list[tuple[int, LineResult]]) -> None:
        """Record a window of lines in source order: the output file's order is random, the state file's is not."""
        window.sort(key=lambda judged: judged[0])
        for seq, result in window:
            if result.verdict == "succeeded":
                self._succeeded(result.custom_id, seq, result.status_code or 200, result.body or {})
            elif result.verdict == "failed":
                self._fail(result.custom_id, seq, result.reason, result.status_code, result.message, result.body)
            else:
                self._again(result.custom_id, seq, result.reason, result.status_code, result.message, result.body)
        window.clear()

    def _succeeded(self, custom_id: str, seq: int, status: int, body: dict[str, Any]) -> None:
        usage = usage_from_response(body)
        model = str(body.get("model") or self.part.model)
        if self.prices.price(model) is None:
            model = self.part.model
        cost = self.prices.cost(model, usage, batch=True)
        self.tally["succeeded"] += 1
        self.owner.emit(ev.RequestSucceeded(
            custom_id=custom_id, seq=seq, attempt=self.round, status_code=status, latency_s=self._latency,
            usage=usage, cost_usd=cost, response=body, at=self.owner.wall()))

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
                self._again(custom_id, seq, reason, None, f"the batch ended `{self.part.status}` before this request ran", None)

    def _unfinished_reason(self) -> str:
        status = self.part.status or "completed"
        if status == "failed":
            codes = {str(error.get("code") or "") for error in self.part.errors or []}
            for code in ("token_limit_exceeded", "create_refused"):
                if code in codes:
                    return code
            return "batch failed validation"
        return UNFINISHED_REASONS.get(status, status)
