"""Which lane the items not yet answered should be in, given the deadline: pure arithmetic, no clock.

The cheapest lane that still finishes in time wins. The batch lane is kept
while there is time to fall back on the cheapest realtime lane after one more
look; once there is not, the batches stay only if their observed progress says
they finish in time. Every lane must fit in the time left less the margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Lane = Literal["batch", "flex", "standard"]
LANES: tuple[Lane, ...] = ("batch", "flex", "standard")
"""Cheapest first: the batch and flex lanes are charged at batch prices, flex answers in realtime but slower."""


@dataclass(frozen=True, slots=True)
class Outlook:
    """What the planner knows at one moment; every duration is in seconds."""

    time_left_s: float
    remaining: int
    """Items not yet answered (lines not yet read included)."""
    standard_s: float
    """The time standard realtime needs for the remaining items (the rate limits and latency)."""
    flex_s: float | None
    """The same for flex (slower answers); None when flex is not to be used."""
    batch_eta_s: float | None
    """When the live batches should end, from their observed progress; None when not known yet."""
    margin: float
    cancel_wait_s: float
    """The time a cancelled batch may take to end, before its items are sent realtime anyway."""
    check_s: float
    """The time until the next look."""
    batch_min_s: float
    """The least time a batch takes (validation, queue, finalizing)."""

    @property
    def usable_s(self) -> float:
        return self.time_left_s * (1 - self.margin)

    @property
    def fallback_s(self) -> float:
        """What the cheapest realtime lane needs."""
        return self.standard_s if self.flex_s is None else self.flex_s


def first_lane(outlook: Outlook) -> Lane:
    """Where a run starts: the batches if they have time and a fallback stays possible, else flex, else standard."""
    if outlook.remaining == 0 or outlook.usable_s >= outlook.batch_min_s + outlook.fallback_s + outlook.check_s:
        return "batch"
    return realtime_lane(outlook, waiting_s=0.0)


def next_lane(outlook: Outlook, lane: Lane) -> Lane:
    """The lane after one more look, from `lane`; lanes only ever move to dearer ones."""
    if lane == "batch":
        if outlook.remaining == 0:
            return "batch"
        room = outlook.usable_s - outlook.cancel_wait_s - outlook.check_s
        if room > outlook.fallback_s:
            return "batch"  # there is still time to fall back after the next look
        if outlook.batch_eta_s is not None and outlook.batch_eta_s <= outlook.usable_s:
            return "batch"  # the batches are on course
        return realtime_lane(outlook, waiting_s=outlook.cancel_wait_s)
    if lane == "flex" and not _flex_on_course(outlook):
        return "standard"
    return lane


def _flex_on_course(outlook: Outlook) -> bool:
    """Flex, once running, keeps the rest while it should end by the deadline and standard can still take over.

    The margin was kept in hand when flex was chosen; it is there to absorb flex's delays,
    so flex is not left at the first one: only when its pace misses the deadline itself,
    or when after the next look standard would no longer fit in the usable time.
    """
    if outlook.flex_s is None or outlook.flex_s > outlook.time_left_s:
        return False
    return outlook.standard_s + outlook.check_s <= outlook.usable_s


def realtime_lane(outlook: Outlook, *, waiting_s: float) -> Lane:
    """Flex if it fits in the time left after `waiting_s`, else standard (which may not fit either: it is the fastest)."""
    if outlook.flex_s is not None and outlook.flex_s + waiting_s <= outlook.usable_s:
        return "flex"
    return "standard"


UNKNOWN_LIMITS_RATE = 1.0
"""Requests per second per concurrent slot assumed while no rate limit is known (no headers seen yet)."""


def guessed_standard_s(remaining: int, concurrency: int) -> float:
    """A slow guess at the time standard realtime needs when the rate limits are not known."""
    return remaining / (max(1, concurrency) * UNKNOWN_LIMITS_RATE)


def realtime_times(standard_s: float, remaining: int, concurrency: int, flex_latency_s: float) -> tuple[float, float]:
    """Standard and flex times for `remaining` items.

    Flex answers come in waves of `concurrency` requests, each `flex_latency_s` long, and the rate limits
    bound flex as they bound standard: flex takes the longer of the two (the limits plus one flex answer).
    """
    waves = math.ceil(remaining / max(1, concurrency))
    return standard_s, max(standard_s + flex_latency_s, waves * flex_latency_s)


def batch_eta_s(live: list[tuple[float, int, int]]) -> float | None:
    """When the live batches end, from (seconds watched, items finished while watched, items left) each.

    None if there is no live batch, or one has shown no progress while watched.
    """
    if not live:
        return None
    longest = 0.0
    for watched_s, progress, left in live:
        if left <= 0:
            continue
        if progress <= 0 or watched_s <= 0:
            return None
        longest = max(longest, left * watched_s / progress)
    return longest


def flex_pace_s(standard_s: float, *, remaining: int, concurrency: int, latency_s: float | None, waited_s: float,
                least_s: float) -> float:
    """The flex lane's time for what it has left, from the latency its answers have shown (queueing included).

    Its answers come in waves, so a rate taken from the first few would be wild: the
    latency is what carries over. With no answer yet, at least the time already waited
    plus `least_s` (the latency expected of one answer), so a lane that answers nothing
    falls behind visibly.
    """
    if remaining <= 0:
        return 0.0
    if latency_s is None:
        return max(realtime_times(standard_s, remaining, concurrency, least_s)[1], waited_s + least_s)
    return realtime_times(standard_s, remaining, concurrency, latency_s)[1]
