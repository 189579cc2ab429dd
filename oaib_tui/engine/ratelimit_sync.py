"""Our estimate of the server's rate-limit buckets, kept in sync from response headers.

A header tells a bucket's level right after the server admitted the request
it answers, which is (nearly) when we granted that request: grants we made
later, still in flight, are not in it. So the level *now* is replayed from
that grant: the header's `remaining`, plus refill since, minus every grant we
made after it, clipped at the capacity step by step.

With the request's `key` the grant is known and the sync is exact. Without it,
the answer could be for any grant still open (answers overtake each other);
each such grant gives a candidate level. We move our estimate only as far as it
must to fall within their range: down at once (another program on the same
key took some), up only by what the answers of the last
:data:`RAISE_AGREEMENT_S` all agree on (a late answer from a burst, its grant
long closed, can look like a lot of room).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from .headers import BucketReport, Kind

RESERVE_HORIZON_S = 10.0
"""The learned reserve is `safety` × this many seconds of refill (or × the bucket, if smaller)."""
RAISE_AGREEMENT_S = 2.0
"""Unkeyed answers raise our estimate only by what all of theirs in this many seconds agree on."""
STALE_GRANT_S = 300.0
"""A grant unanswered this long is forgotten: its answer could no longer be placed."""
LOST_AFTER_ANSWER_TIMES = 4.0
"""An unkeyed grant unanswered for this many times the median answer time is taken as lost."""
LOST_AFTER_MIN_S = 1.0
MAX_LOGGED_GRANTS = 100_000
ANSWER_TIME_SAMPLES = 32
CAPACITY_SAMPLES = 9
_DUST = 1e-9  # refill arithmetic leaves 0.9999999999 of 1: that is room, not a wait


class Bucket:
    """Refills at `rate` per second up to `capacity`; its level may go below zero (debt)."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.level, self.updated = rate, capacity, capacity, now

    def level_at(self, now: float) -> float:
        # Several calls an answer: comparisons, not min()/max() calls.
        elapsed = now - self.updated
        level = self.level + elapsed * self.rate if elapsed > 0 else self.level
        return level if level < self.capacity else self.capacity

    def wait(self, need: float, now: float) -> float:
        """Seconds until the bucket holds `need`."""
        shortfall = need - self.level_at(now)
        if shortfall <= _DUST:
            return 0.0
        return shortfall / self.rate if self.rate > 0 else math.inf

    def set(self, level: float, now: float) -> None:
        self.level = level if level < self.capacity else self.capacity
        if now > self.updated:
            self.updated = now

    def take(self, amount: float, now: float) -> None:
        self.set(self.level_at(now) - amount, now)


@dataclass(slots=True)
class Grant:
    seq: int
    at: float
    tokens: float
    key: Hashable | None
    open: bool = True
    """Not yet answered (without keys: not yet paired with an answer)."""

    def cost(self, kind: Kind) -> float:
        return 1.0 if kind == "requests" else self.tokens


class GrantLog:
    """Our recent grants, oldest first, for placing each answer's headers."""

    def __init__(self) -> None:
        self._grants: deque[Grant] = deque()
        self._by_key: dict[Hashable, Grant] = {}
        self._next_seq = 0
        self._open_unkeyed = 0
        """Open grants without a key: the only ones that can be taken as lost (see _close_lost)."""
        self._answer_times: deque[float] = deque(maxlen=ANSWER_TIME_SAMPLES)

    def add(self, now: float, tokens: float, key: Hashable | None) -> None:
        self.prune(now)
        grant = Grant(self._next_seq, now, tokens, key)
        self._next_seq += 1
        self._grants.append(grant)
        if key is not None:
            self._by_key[key] = grant
        else:
            self._open_unkeyed += 1
        if len(self._grants) > MAX_LOGGED_GRANTS:
            self._forget(self._grants.popleft())

    def find(self, key: Hashable | None) -> Grant | None:
        return None if key is None else self._by_key.get(key)

    def note_answer_time(self, seconds: float) -> None:
        """How long the server said it worked on an answer (`openai-processing-ms`)."""
        self._answer_times.append(seconds)

    def close(self, key: Hashable | None, now: float, *, timed: bool) -> None:
        """Mark a grant done; without a key, the oldest open one (answers paired first in, first out).

        `timed`: take the time since that grant as a sample of how long answers take.
        """
        grant = self.find(key) if key is not None else next((g for g in self._grants if g.open), None)
        if grant is not None and grant.open:
            self._mark_closed(grant)
            if key is None and timed:
                self._answer_times.append(now - grant.at)
        self.prune(now)

    def replay(self, kind: Kind, bucket: Bucket, remaining: float, now: float) -> Iterator[tuple[Grant, float]]:
        """For each logged grant, newest first: the level now, had the server reported `remaining` right after it.

        Walks back from now keeping the map "level after this grant → level now"
        as `min(top, level + gain)`: refill adds to gain, each later grant's cost
        subtracts from it, and the capacity clips (into top).
        """
        capacity, rate = bucket.capacity, bucket.rate
        top, gain, later = capacity, 0.0, None
        for grant in reversed(self._grants):
            if later is None:
                gain = rate * (now - grant.at)
            else:
                cost = later.cost(kind)
                top = min(top, capacity - cost + gain)
                gain += rate * (later.at - grant.at) - cost
            yield grant, min(top, remaining + gain)
            later = grant

    def level_now(self, grant: Grant, kind: Kind, bucket: Bucket, remaining: float, now: float) -> float:
        """What `replay` yields for `grant` (a logged one), in one pass over the grants after it.

        Every answer of a keyed run comes here, so this is `replay` unrolled: the
        clip a later grant h puts on the level now is capacity − cost(h) + refill
        since h − the costs of the grants after h.
        """
        capacity, rate = bucket.capacity, bucket.rate
        by_tokens = kind == "tokens"
        top, spent = capacity, 0.0
        for later in reversed(self._grants):
            if later is grant:
                break
            cost = later.tokens if by_tokens else 1.0
            clip = capacity - cost + rate * (now - later.at) - spent
            if clip < top:
                top = clip
            spent += cost
        level = remaining + rate * (now - grant.at) - spent
        return level if level < top else top

    def levels_now(self, grant: Grant, requests: tuple[Bucket, float], tokens: tuple[Bucket, float],
                   now: float) -> tuple[float, float]:
        """`level_now` of the requests and the tokens bucket, each given with its answer's `remaining`, in one
        pass over the grants after `grant` (an answer that reports both walks them once, not twice)."""
        (r_bucket, r_remaining), (t_bucket, t_remaining) = requests, tokens
        r_capacity, r_rate, t_capacity, t_rate = r_bucket.capacity, r_bucket.rate, t_bucket.capacity, t_bucket.rate
        r_top, t_top, r_spent, t_spent = r_capacity, t_capacity, 0.0, 0.0
        for later in reversed(self._grants):
            if later is grant:
                break
            elapsed = now - later.at
            clip = r_capacity - 1.0 + r_rate * elapsed - r_spent
            if clip < r_top:
                r_top = clip
            r_spent += 1.0
            cost = later.tokens
            clip = t_capacity - cost + t_rate * elapsed - t_spent
            if clip < t_top:
                t_top = clip
            t_spent += cost
        since = now - grant.at
        r_level = r_remaining + r_rate * since - r_spent
        t_level = t_remaining + t_rate * since - t_spent
        return (r_level if r_level < r_top else r_top), (t_level if t_level < t_top else t_top)

    def prune(self, now: float) -> None:
        """Forget the oldest grants while answered (or stale): no answer can be placed before the oldest open one."""
        self._close_lost(now)
        while self._grants and (not self._grants[0].open or now - self._grants[0].at > STALE_GRANT_S):
            self._forget(self._grants.popleft())

    def _close_lost(self, now: float) -> None:
        """Unkeyed grants unanswered for several times as long as answers take were lost (dropped, timed out).

        Otherwise each attempt that never gets an answer (unless reported with
        `lost()`) would keep an old grant open for good, widening the range of
        candidates. First-in-first-out delays are stretched by such grants
        themselves: the server's `openai-processing-ms` is the better measure.
        """
        if not self._answer_times or not self._open_unkeyed:
            return
        lost_before = now - max(LOST_AFTER_MIN_S, LOST_AFTER_ANSWER_TIMES * statistics.median(self._answer_times))
        for grant in self._grants:
            if grant.at >= lost_before:
                return
            if grant.key is None:
                self._mark_closed(grant)

    def _mark_closed(self, grant: Grant) -> None:
        if grant.open and grant.key is None:
            self._open_unkeyed -= 1
        grant.open = False

    def _forget(self, grant: Grant) -> None:
        self._mark_closed(grant)
        if grant.key is not None and self._by_key.get(grant.key) is grant:
            del self._by_key[grant.key]


def _median(values: deque[float]) -> float:
    """statistics.median, without its generality (a few small deques an answer)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class ServerMirror:
    """Our estimate of one server bucket: its limit and capacity from headers, its level re-synced."""

    def __init__(self, kind: Kind, limit: float, now: float) -> None:
        self.kind, self.limit = kind, limit
        self.bucket = Bucket(limit / 60.0, 0.0, now)
        self._capacities: deque[float] = deque(maxlen=CAPACITY_SAMPLES)
        self._remainings: deque[float] = deque(maxlen=CAPACITY_SAMPLES)
        self.synced = False
        self.anchor_seq = -1
        """The newest grant whose own answer set our level exactly."""
        self._gaps: deque[tuple[float, float]] = deque()
        """(time, how far below the lowest candidate we were) for recent unkeyed answers."""

    def learn(self, report: BucketReport) -> None:
        """The limit, and the capacity (median of remaining + reset·rate), from one answer."""
        if report.limit:
            self.limit, self.bucket.rate = report.limit, report.limit / 60.0
        if report.remaining is None:
            return
        self._remainings.append(report.remaining)
        if report.reset_s is not None:
            self._capacities.append(report.remaining + report.reset_s * self.bucket.rate)
        median = _median(self._capacities) if self._capacities else 0.0
        self.bucket.capacity = max(median, max(self._remainings), 1.0)

    def reserve(self, safety: float) -> float:
        """What we leave in the server's bucket: `safety` × the bucket, at most RESERVE_HORIZON_S of refill."""
        return safety * min(self.bucket.capacity, RESERVE_HORIZON_S * self.bucket.rate)

    def resync(self, log: GrantLog, remaining: float, grant: Grant | None, now: float) -> None:
        """Re-sync from an answer's `remaining`; `grant` is the one it answers, if known."""
        if grant is not None and grant.open:
            self.sync_exact(log.level_now(grant, self.kind, self.bucket, remaining, now), grant.seq, now)
            return
        low, high = math.inf, -math.inf
        for candidate, level in log.replay(self.kind, self.bucket, remaining, now):
            low = min(low, level)
            if candidate.open:
                high = max(high, level)
        if high > -math.inf:
            self._sync_range(low, high, now)
        elif not self.synced:
            self._sync_range(remaining, remaining, now)

    def sync_exact(self, level: float, seq: int, now: float) -> None:
        """Our level is `level`, as the answer to grant `seq` (still open) places it."""
        if seq >= self.anchor_seq or not self.synced:
            self.bucket.set(level, now)
            self.anchor_seq, self.synced = seq, True
            self._gaps.clear()
        elif level < self.bucket.level_at(now):  # older than the last exact answer: it may only lower
            self.bucket.set(level, now)

    def _sync_range(self, low: float, high: float, now: float) -> None:
        if not self.synced:
            self.bucket.set(low, now)
            self.synced = True
            return
        if self.bucket.level_at(now) > high:
            self.bucket.set(high, now)
            self._gaps.clear()
        level = self.bucket.level_at(now)
        self._gaps.append((now, max(0.0, low - level)))
        while self._gaps[0][0] < now - RAISE_AGREEMENT_S:
            self._gaps.popleft()
        rise = min(gap for _, gap in self._gaps) if len(self._gaps) > 1 else 0.0
        if rise > 0:
            self.bucket.set(level + rise, now)
            self._gaps = deque((at, gap - rise) for at, gap in self._gaps)
