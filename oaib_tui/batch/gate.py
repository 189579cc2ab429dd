"""The enqueued-token gate: how many prompt tokens of each model our live batches hold, against the limit.

The provider refuses a batch that would take a model's queued tokens over the
organisation's limit (`token_limit_exceeded`). That is not an error: the next
part waits here until earlier batches finish. The limit is the project's
`batch.max_enqueued_tokens`, or else learned from the first refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class GateClosed(Exception):
    """The run is stopping: no more batches will be created."""


class TokenGate:
    def __init__(self, configured: int | None, closed: Callable[[], bool]) -> None:
        self.configured = configured
        self._closed = closed
        self.learned: dict[str, int] = {}
        self.enqueued: dict[str, int] = {}
        self._changed = asyncio.Event()

    def limit(self, model: str) -> int | None:
        """The enqueued-token limit for a model, if known."""
        return self.configured if self.configured is not None else self.learned.get(model)

    def has_room(self, model: str, tokens: int) -> bool:
        """Room for a batch of `tokens`? A batch alone always has room: the provider is the judge of that."""
        queued, limit = self.enqueued.get(model, 0), self.limit(model)
        return queued == 0 or limit is None or queued + tokens <= limit

    async def acquire(self, model: str, tokens: int) -> None:
        """Wait for room, then count the batch as queued. Raises GateClosed when the run stops."""
        while True:
            if self._closed():
                raise GateClosed()
            if self.has_room(model, tokens):
                self.hold(model, tokens)
                return
            self._changed.clear()
            await self._changed.wait()

    def hold(self, model: str, tokens: int) -> None:
        """Count a batch as queued (one created, or found live on resume)."""
        self.enqueued[model] = self.enqueued.get(model, 0) + tokens

    def release(self, model: str, tokens: int) -> None:
        """A queued batch ended, or was refused."""
        self.enqueued[model] = max(0, self.enqueued.get(model, 0) - tokens)
        self.poke()

    def learn(self, model: str, limit: int | None, queued_when_refused: int) -> int | None:
        """Remember the limit after a refusal: the one the provider named, else what was queued then (if anything)."""
        learned = limit if limit is not None else (queued_when_refused or None)
        if learned is not None:
            self.learned[model] = learned
        return learned

    def poke(self) -> None:
        """Wake the waiters to look again (room freed, or the run is stopping)."""
        self._changed.set()
