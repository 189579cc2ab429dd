"""Results as they complete: an engine-event consumer that turns answers into :class:`Result`s.

The consumer runs inside the engine's emit (it must not block), so results go
to an unbounded queue; when the reader falls behind by `HIGH_WATER` results,
the engine is paused until the backlog is down to `LOW_WATER`, which bounds
the memory a slow reader can cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .. import events as ev
from .reading import MetadataOf
from .results import Result

HIGH_WATER = 1000
LOW_WATER = 250
DONE = None
"""Put on the queue after the last result."""


class SeqSet:
    """Which input positions were seen: one bit each (a million positions take 125 kB)."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, seq: int) -> None:
        index = seq >> 3
        if index >= len(self._bits):
            self._bits.extend(bytes(index + 1 - len(self._bits) + len(self._bits) // 2))
        self._bits[index] |= 1 << (seq & 7)

    def __contains__(self, seq: int) -> bool:
        index = seq >> 3
        return index < len(self._bits) and bool(self._bits[index] & (1 << (seq & 7)))


class LiveResults:
    """Consumes engine events; `queue` yields a Result per answer or failure, then DONE."""

    def __init__(self, metadata_of: MetadataOf, steer: Callable[[], Any]) -> None:
        self.queue: asyncio.Queue[Result | None] = asyncio.Queue()
        self.seen = SeqSet()
        self._metadata_of = metadata_of
        self._steer = steer
        """The running engine (pause/resume), or None before it starts."""
        self._waiting: dict[str, Any] = {}
        """Metadata of the requests queued and not yet finished, by custom_id."""
        self._paused_here = False

    def handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.RequestQueued):
            self._waiting[event.custom_id] = self._metadata_of(event.keep)
        elif isinstance(event, ev.RequestSucceeded):
            self._put(Result(
                custom_id=event.custom_id, metadata=self._waiting.pop(event.custom_id, None), response=event.response,
                usage=event.usage, cost=event.cost_usd, error=None, attempts=event.attempt, seq=event.seq,
                tier=event.tier,
            ))
        elif isinstance(event, ev.RequestFailed):
            error = {"reason": event.reason, "status_code": event.status_code, "message": event.message,
                     "body": event.error}
            self._put(Result(
                custom_id=event.custom_id, metadata=self._waiting.pop(event.custom_id, None), response=None,
                usage=ev.Usage(), cost=None, error=error, attempts=event.attempt, seq=event.seq,
            ))

    def _put(self, result: Result) -> None:
        self.seen.add(result.seq)
        self.queue.put_nowait(result)
        engine = self._steer()
        if engine is not None and self.queue.qsize() >= HIGH_WATER and not engine.paused:
            engine.pause()
            self._paused_here = True

    def end(self) -> None:
        self.queue.put_nowait(DONE)

    async def get(self) -> Result | None:
        """The next result, or DONE; resumes the engine once the reader has caught up."""
        result = await self.queue.get()
        if self._paused_here and self.queue.qsize() <= LOW_WATER:
            self._paused_here = False
            engine = self._steer()
            if engine is not None:
                engine.resume()
        return result
