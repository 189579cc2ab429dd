"""What the dispatcher waits for, told to listeners every quarter second as a PaceObserved event.

The dispatcher notes why it waits at each wait (an assignment; for the
limiter, one more look at its buckets); the buckets themselves are read when
the event is made, four times a second, not once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .. import events as ev
from .ratelimit import RateLimiter

PACE_EVENT_INTERVAL_S = 0.25


class HoldupWatch:
    """Keeps the dispatcher's latest reason for waiting and reports it with the limiter's buckets."""

    def __init__(self, limiter: RateLimiter, emit: Callable[[ev.Event], None], *, concurrency: int,
                 now: Callable[[], float], wall: Callable[[], float]) -> None:
        self.limiter, self._emit, self.concurrency = limiter, emit, concurrency
        self._now, self._wall = now, wall
        self._reason: ev.HoldupReason = "sources"
        self._until: float | None = None

    def waiting_for(self, reason: ev.HoldupReason, until: float | None = None) -> None:
        """The dispatcher waits for `reason`, until `until` (the loop's clock) if that is known."""
        self._reason, self._until = reason, until

    def waiting_for_limiter(self, tokens: int) -> None:
        """The limiter refused a request of `tokens` just now: which gate, and for how long, is asked at once."""
        gate, wait = self.limiter.holdup(tokens)
        self.waiting_for(gate or self._reason, self._now() + wait)

    def event(self) -> ev.PaceObserved:
        buckets = self.limiter.buckets()
        wait = 0.0 if self._until is None else max(0.0, self._until - self._now())
        return ev.PaceObserved(holdup=self._reason, wait_s=wait, binding=_tightest(buckets, self._reason),
                               buckets=buckets, concurrency=self.concurrency, at=self._wall())

    async def keep_reporting(self, interval_s: float = PACE_EVENT_INTERVAL_S) -> None:
        """Emit an event every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self._emit(self.event())


def _tightest(buckets: tuple[ev.BucketView, ...], kind: str) -> ev.BucketView | None:
    """Of the buckets of `kind` (a cap of ours and the server's), the one with the least room above its reserve;
    None for a holdup that is no bucket."""
    return min((b for b in buckets if b.kind == kind), key=lambda b: b.level - b.reserve, default=None)
