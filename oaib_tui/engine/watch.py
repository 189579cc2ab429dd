"""What the dispatcher waits for, told to listeners every quarter second as a PaceObserved event.

The dispatcher only notes why it waits (a cheap assignment at each wait);
the limiter is asked for the details when the event is made, four times a
second, not once per request.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from .. import events as ev
from .ratelimit import RateLimiter

PACE_EVENT_INTERVAL_S = 0.25


class HoldupWatch:
    """Keeps the dispatcher's latest reason for waiting and reports it with the limiter's buckets."""

    def __init__(self, limiter: RateLimiter, emit: Callable[[ev.Event], None], *,
                 concurrency: int, wall: Callable[[], float]) -> None:
        self.limiter, self._emit, self.concurrency, self._wall = limiter, emit, concurrency, wall
        self._reason: ev.HoldupReason | None = "sources"
        self._tokens = 0
        self._wait_s: Callable[[], float | None] = _no_wait
        self._last_gate: ev.HoldupReason = "starting"

    def waiting_for(self, reason: ev.HoldupReason, wait_s: Callable[[], float | None] | None = None) -> None:
        """The dispatcher waits for `reason`; `wait_s`, if given, tells how much longer (None: unknown)."""
        self._reason, self._wait_s = reason, wait_s or _no_wait

    def waiting_for_limiter(self, tokens: int) -> None:
        """The limiter keeps a request of `tokens` waiting (which bucket is asked when reporting)."""
        self._reason, self._tokens = None, tokens

    def event(self) -> ev.PaceObserved:
        buckets = self.limiter.buckets()
        binding = None
        if self._reason is None:
            gate, wait = self.limiter.holdup(self._tokens)
            # No gate: the bucket filled a moment ago and the dispatcher is about to wake; it was that one.
            reason: ev.HoldupReason = gate or self._last_gate
            self._last_gate = reason
            binding = _tightest(buckets, reason)
        else:
            reason, wait = self._reason, self._wait_s() or 0.0
        return ev.PaceObserved(holdup=reason, wait_s=max(0.0, wait), binding=binding, buckets=buckets,
                               concurrency=self.concurrency, at=self._wall())

    async def keep_reporting(self, interval_s: float = PACE_EVENT_INTERVAL_S) -> None:
        """Emit an event every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self._emit(self.event())


def _no_wait() -> float:
    return 0.0


def _tightest(buckets: tuple[ev.BucketView, ...], kind: str) -> ev.BucketView | None:
    """Of the buckets of `kind` (a cap of ours and the server's), the one with the least room above its reserve;
    None for a holdup that is no bucket."""
    return min((b for b in buckets if b.kind == kind), key=lambda b: b.level - b.reserve, default=None)
