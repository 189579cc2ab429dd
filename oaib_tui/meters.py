"""Usage meters for the dashboard: requests and tokens per minute, a recent pace, a sparkline's history.

The ETA is not a pace extrapolated: it comes from the limiter's model (:mod:`.outlook`).

Fed once per event, thousands of times a second at full speed, so recording
adds to a one-second bin (amortised O(1)) and never keeps the events.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Literal

__all__ = ["RateMeter"]

What = Literal["requests", "tokens"]

HISTORY_KEEP_S = 300.0
"""Seconds of bins kept for history(), beyond the per-minute window."""


class RateMeter:
    """Requests and tokens recorded over time, in one-second bins.

    `clock` says what "now" is for the queries; `record` takes the event's own time.
    """

    def __init__(self, clock: Callable[[], float], window_s: float = 60.0) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self._clock = clock
        self.window_s = window_s
        self._keep_s = max(window_s, HISTORY_KEEP_S)
        self._bins: deque[list[float]] = deque()  # [second, requests, tokens], oldest first
        self._first_at: float | None = None

    def record(self, at: float, requests: int = 1, tokens: float = 0) -> None:
        """Count `requests` and `tokens` at time `at`."""
        second = math.floor(at)
        bins = self._bins
        if bins and bins[-1][0] == second:
            bins[-1][1] += requests
            bins[-1][2] += tokens
        elif not bins or bins[-1][0] < second:
            bins.append([second, requests, tokens])
            while bins[0][0] <= second - self._keep_s:
                bins.popleft()
        else:
            self._record_late(second, requests, tokens)
        if self._first_at is None or at < self._first_at:
            self._first_at = at

    def _record_late(self, second: int, requests: int, tokens: float) -> None:
        """An event older than the newest bin (events from several sources interleave)."""
        bins = self._bins
        if second <= bins[-1][0] - self._keep_s:
            return
        for index in range(len(bins) - 1, -1, -1):
            if bins[index][0] == second:
                bins[index][1] += requests
                bins[index][2] += tokens
                return
            if bins[index][0] < second:
                bins.insert(index + 1, [second, requests, tokens])
                return
        bins.appendleft([second, requests, tokens])

    def per_minute(self, window_s: float | None = None) -> tuple[float, float]:
        """(requests, tokens) recorded over the last `window_s` seconds (default: the meter's), scaled to a minute."""
        window_s = window_s or self.window_s
        since = math.floor(self._clock()) - window_s
        requests = tokens = 0.0
        for second, bin_requests, bin_tokens in reversed(self._bins):
            if second <= since:
                break
            requests += bin_requests
            tokens += bin_tokens
        scale = 60.0 / window_s
        return requests * scale, tokens * scale

    def per_second(self, what: What = "requests", window_s: float | None = None) -> float | None:
        """The recent pace: over the window (default: the meter's), or since the first record if that is
        more recent; None at first. A window longer than the history kept is cut to it."""
        if self._first_at is None:
            return None
        window_s = min(window_s or self.window_s, self._keep_s)
        span = min(window_s, self._clock() - self._first_at)
        if span < 1.0:
            return None
        requests, tokens = self.per_minute(window_s)
        counted = requests if what == "requests" else tokens
        return counted / 60.0 * window_s / span

    def history(self, buckets: int = 30, bucket_s: float = 2.0, what: What = "tokens",
                whole_seconds: bool = False) -> list[float]:
        """Counts per bucket of `bucket_s` seconds, oldest first, the last one ending now (for a sparkline).

        `whole_seconds`: the last ends with the last whole second instead, so that a
        second still under way does not look like a fall in the rate.
        """
        counts = [0.0] * buckets
        end = math.floor(self._clock()) + (0 if whole_seconds else 1)
        start = end - buckets * bucket_s
        column = 1 if what == "requests" else 2
        for bin_ in reversed(self._bins):
            second = bin_[0]
            if second < start:
                break
            if second < end:
                counts[int((second - start) // bucket_s)] += bin_[column]
        return counts
