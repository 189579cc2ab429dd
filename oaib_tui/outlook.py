"""How long sending takes under rate limits: the one model behind the dry-run forecast and the live ETA.

A fluid model of the limiter. Each bucket gives at once what it holds above
its reserve, then its refill; the concurrency cap keeps at most `concurrency`
requests in flight, each for `latency_s`. So sending `n` requests that cost `k`
each from a bucket with `usable` room refilling `r` a second takes at least
`(n·k − usable) / r`, and at least `n · latency / concurrency`; the slowest of
these bounds is the time to send them all, and the last answer comes one
latency later. A burst faster than the refill drains the bucket first, so the
bound holds from the start: this is what a pace measured during the burst
gets wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .events import BucketView

__all__ = ["Workload", "sending_time"]


@dataclass(frozen=True, slots=True)
class Workload:
    """What is left to send, and how it is sent."""

    requests: float
    """Attempts still to make (retries included, if they are expected)."""
    tokens_per_request: float
    """What each reserves in the token bucket: prompt plus max output tokens."""
    latency_s: float = 0.0
    """How long an answer takes; 0 if unknown (then the bounds it sets are left out)."""
    concurrency: int = 0
    """The most requests in flight at once; 0 for no cap."""


def sending_time(work: Workload, buckets: Iterable[BucketView], pause_s: float = 0.0) -> float | None:
    """Seconds until the last of `work` is answered, when nothing goes out for the first `pause_s` seconds.

    None when it cannot be told: work is left and nothing bounds it (no bucket, no latency known), or a
    bucket never refills. With no work left, the pause and one latency (for answers still to come).
    """
    bounds = [_bucket_bound(work, bucket, pause_s) for bucket in buckets]
    if work.latency_s > 0 and work.concurrency > 0:
        bounds.append(work.requests * work.latency_s / work.concurrency)
    if work.requests > 0 and (not bounds or max(bounds) == float("inf")):
        return None
    return pause_s + max([0.0, *bounds]) + work.latency_s


def _bucket_bound(work: Workload, bucket: BucketView, pause_s: float) -> float:
    """Seconds of sending this bucket needs after the pause: its shortfall over its refill."""
    cost = work.requests * (1.0 if bucket.kind == "requests" else work.tokens_per_request)
    room = min(bucket.capacity, bucket.level + bucket.refill_per_s * pause_s) - bucket.reserve
    if bucket.refill_per_s <= 0:
        return 0.0 if cost <= room else float("inf")
    return (cost - room) / bucket.refill_per_s
