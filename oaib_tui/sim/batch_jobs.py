"""The simulator's batches and their lifecycle, on a clock that can run faster than real time.

validating → in_progress → finalizing → completed; or failed (line errors,
`token_limit_exceeded`), expired (the window ran out: partial output) and
cancelling → cancelled (partial output). Nothing runs in the background: a
batch's state is worked out from the clock whenever the book is looked at.
Transitions due by then are applied in time order across all batches, so the
enqueued-token check of a batch sees the others as they were at that moment.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from ..parts import TERMINAL_STATUSES
from ..project.schema import SimulatorSettings
from .batch_files import FileStore
from .batch_lines import InputLine, answer_line, parse_input, unfinished_line
from .ratelimit import ORGANIZATION
from .textgen import seeded_random

ENQUEUED = frozenset({"in_progress", "finalizing", "cancelling"})
"""Statuses whose prompt tokens count against the enqueued-token limit."""
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."


class BatchConflict(ValueError):
    """The batch cannot do what was asked in its current status (cancel a finished batch)."""


@dataclass
class SimBatch:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    created_at: float
    """Simulated wall-clock seconds."""
    expires_at: float
    status: str = "validating"
    model: str | None = None
    lines: list[InputLine] = field(default_factory=list, repr=False)
    total: int = 0
    tokens: int = 0
    at: dict[str, float] = field(default_factory=dict)
    """When each status began."""
    processed: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output: list[bytes] = field(default_factory=list, repr=False)
    error_lines: list[bytes] = field(default_factory=list, repr=False)
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    output_expires_after_s: int | None = None
    """`output_expires_after.seconds`: the output and error files expire this long after they are made."""

    def as_object(self) -> dict[str, Any]:
        """The batch as `GET /v1/batches/{id}` returns it (the SDK's Batch)."""
        stamp = {f"{status}_at": int(when) for status, when in self.at.items() if status != "validating"}
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint, "errors": self._errors(),
            "input_file_id": self.input_file_id, "completion_window": self.completion_window,
            "status": self.status, "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
            "created_at": int(self.created_at), "expires_at": int(self.expires_at),
            **{key: stamp.get(key) for key in ("in_progress_at", "finalizing_at", "completed_at", "failed_at",
                                               "expired_at", "cancelling_at", "cancelled_at")},
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
            "metadata": self.metadata, "model": self.model, "usage": self._usage(),
        }

    def _errors(self) -> dict[str, Any] | None:
        return None if self.errors is None else {"object": "list", "data": self.errors}

    def _usage(self) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens}


class BatchBook:
    """Every batch of the simulated account, advanced lazily on the scaled clock."""

    def __init__(self, settings: Callable[[], SimulatorSettings], files: FileStore,
                 clock: Callable[[], float], wall_clock: Callable[[], float]) -> None:
        self._settings = settings
        self.files = files
        self._clock = clock
        self._clock_start, self._wall_start = clock(), wall_clock()
        self._batches: dict[str, SimBatch] = {}
        self._numbers = count(1)
        self._faults: dict[str, random.Random] = {}

    def now(self) -> float:
        """Simulated wall-clock time: real time since start, sped up by `time_scale`."""
        return self._wall_start + (self._clock() - self._clock_start) * self._settings().time_scale

    # -- the API's verbs ------------------------------------------------------------------

    def create(self, input_file_id: str, endpoint: str, window: str, metadata: dict[str, str] | None,
               output_expires_after_s: int | None = None) -> SimBatch:
        self.advance()
        now, settings = self.now(), self._settings()
        batch = SimBatch(f"batch_sim{next(self._numbers):016d}", endpoint, input_file_id, window, metadata,
                         created_at=now, expires_at=now + settings.batch_expire_after_s,
                         output_expires_after_s=output_expires_after_s)
        batch.at["validating"] = now
        self._batches[batch.id] = batch
        self._faults[batch.id] = seeded_random(settings.seed, "batch-faults", batch.id)
        return batch

    def expire_files(self) -> None:
        self.advance()
        self.files.expire(self.now())

    def get(self, batch_id: str) -> SimBatch | None:
        self.advance()
        return self._batches.get(batch_id)

    def page(self, after: str | None, limit: int) -> tuple[list[SimBatch], bool]:
        """Newest first, as the real list is."""
        self.advance()
        batches = [b for b in reversed(self._batches.values()) if after is None or b.id < after]
        return batches[:limit], len(batches) > limit

    def cancel(self, batch_id: str) -> SimBatch | None:
        batch = self.get(batch_id)
        if batch is None:
            return None
        if batch.status in TERMINAL_STATUSES or batch.status == "cancelling":
            raise BatchConflict(f"Cannot cancel a batch with status '{batch.status}'.")
        batch.status = "cancelling"
        batch.at["cancelling"] = self.now()
        return batch

    def all(self) -> list[SimBatch]:
        self.advance()
        return list(self._batches.values())

    # -- the lifecycle --------------------------------------------------------------------

    def advance(self) -> None:
        """Apply every transition due by now, earliest first, then work through the lines due."""
        now = self.now()
        while True:
            due = [(when, batch.id) for batch in self._batches.values()
                   if (when := self._next_transition(batch)) is not None and when <= now]
            if not due:
                break
            when, batch_id = min(due)
            self._transition(self._batches[batch_id], when)
        for batch in self._batches.values():
            if batch.status == "in_progress":
                self._process_until(batch, now)

    def _next_transition(self, batch: SimBatch) -> float | None:
        settings = self._settings()
        if batch.status == "validating":
            return batch.created_at + settings.batch_validation_s
        if batch.status == "in_progress":
            return min(self._done_at(batch), batch.expires_at)
        if batch.status in ("finalizing", "cancelling"):
            return batch.at[batch.status] + settings.batch_finalizing_s
        return None

    def _done_at(self, batch: SimBatch) -> float:
        return self._work_starts(batch) + batch.total / self._settings().batch_lines_per_s

    def _work_starts(self, batch: SimBatch) -> float:
        """A batch `in_progress` waits `batch_queue_s` in the provider's queue before its first line runs."""
        return batch.at["in_progress"] + self._settings().batch_queue_s

    def _transition(self, batch: SimBatch, when: float) -> None:
        if batch.status == "validating":
            self._validate(batch, when)
        elif batch.status == "in_progress":
            finished = when >= self._done_at(batch)
            self._process_until(batch, when, everything=finished)
            if finished:
                self._enter(batch, "finalizing", when)
            else:
                self._finish(batch, "expired", when)
        elif batch.status == "finalizing":
            self._finish(batch, "completed", when)
        elif batch.status == "cancelling":
            self._finish(batch, "cancelled", when)

    def _enter(self, batch: SimBatch, status: str, when: float) -> None:
        batch.status = status
        batch.at[status] = when

    def _validate(self, batch: SimBatch, when: float) -> None:
        settings = self._settings()
        stored = self.files.get(batch.input_file_id)
        if stored is None:
            self._fail(batch, when, [{"code": "file_not_found", "line": None, "param": "input_file_id",
                                      "message": f"The input file {batch.input_file_id} no longer exists."}])
            return
        parsed = parse_input(stored.content, batch.endpoint, settings, batch.id)
        if parsed.errors:
            self._fail(batch, when, parsed.errors)
            return
        batch.model, batch.lines, batch.total, batch.tokens = parsed.model, parsed.lines, len(parsed.lines), parsed.tokens
        limit = settings.batch_enqueued_tokens
        if limit is not None and self._enqueued(batch.model) + batch.tokens > limit:
            batch.lines, batch.total = [], 0
            self._fail(batch, when, [{"code": "token_limit_exceeded", "line": None, "param": None, "message": (
                f"Enqueued token limit reached for {batch.model} in organization {ORGANIZATION}. "
                f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches have been completed."
            )}])
            return
        self._enter(batch, "in_progress", when)

    def _enqueued(self, model: str | None) -> int:
        return sum(b.tokens for b in self._batches.values() if b.model == model and b.status in ENQUEUED)

    def _fail(self, batch: SimBatch, when: float, errors: list[dict[str, Any]]) -> None:
        batch.errors = errors
        self._enter(batch, "failed", when)

    def _process_until(self, batch: SimBatch, when: float, everything: bool = False) -> None:
        settings = self._settings()
        due = int(max(0.0, when - self._work_starts(batch)) * settings.batch_lines_per_s)
        target = batch.total if everything else min(batch.total, due)
        faults = self._faults[batch.id]
        for index in range(batch.processed, target):
            answer = answer_line(batch.lines[index], endpoint=batch.endpoint, batch_id=batch.id, index=index,
                                 settings=settings, faults=faults, created=int(when))
            if answer.ok:
                batch.completed += 1
                batch.output.append(answer.line)
                batch.input_tokens += answer.input_tokens
                batch.output_tokens += answer.output_tokens
            else:
                batch.failed += 1
                batch.error_lines.append(answer.line)
        batch.processed = max(batch.processed, target)

    def _finish(self, batch: SimBatch, status: str, when: float) -> None:
        if status == "expired":
            for index in range(batch.processed, batch.total):
                batch.error_lines.append(
                    unfinished_line(batch.lines[index].custom_id, batch.id, index, "batch_expired", EXPIRED_MESSAGE))
        # The real API writes results in the order they finish, not in input order.
        order = seeded_random(self._settings().seed, "batch-order", batch.id)
        order.shuffle(batch.output)
        batch.output_file_id = self._file(batch, "output", batch.output, when)
        batch.error_file_id = self._file(batch, "error", batch.error_lines, when)
        batch.output, batch.error_lines, batch.lines = [], [], []
        self._enter(batch, status, when)

    def _file(self, batch: SimBatch, kind: str, lines: list[bytes], when: float) -> str | None:
        if not lines:
            return None
        expires = None if batch.output_expires_after_s is None else int(when) + batch.output_expires_after_s
        return self.files.add(f"{batch.id}_{kind}.jsonl", "batch_output", b"".join(lines), int(when), expires).id
