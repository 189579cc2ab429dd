"""Client-side pacing for requests per minute and tokens per minute.

How the server counts (OpenAI, and our simulator): two buckets, requests and
tokens, each refilling continuously at limit/60 per second up to a capacity of
some seconds of refill (a minute, or much less), starting full. Admission costs
1 request and prompt + max output tokens, never refunded. Each answer's headers
say the per-minute `limit`, what `remaining` right after admitting the request,
and the time until the bucket is full again (`reset`).

Two modes, which differ in where the limits come from:

- fixed (`learn=False`, mode `realtime`): the configured `rpm`/`tpm` are the
  limits. They pace at limit·(1−safety), with a burst of :data:`FIXED_BURST_S`
  seconds of refill: half of a 10 s server bucket, the smallest we plan for, so
  that our burst never overflows it even when it was not full or the network
  bunches requests up. Once answers carry `x-ratelimit-*` headers, a limit the
  server states at or below the configured one is mirrored as in `auto` (the
  configured figure is the server's own, so its burst is ours to spend), and a
  server bucket the project sets no limit for is obeyed; a configured limit
  below the server's keeps pacing as above.
- learned (`learn=True`, mode `auto`): until the first headers, a trickle
  (`source="starting"`): `start_fraction` of the rpm cap, or one request, and
  one more every :data:`STARTING_REFILL_S`. Then a mirror of each server bucket
  (limit, capacity = remaining + reset·rate, level re-synced from every answer:
  see :mod:`.ratelimit_sync`). We spend the server's whole burst, down to a
  reserve of `safety` × (the bucket, at most 10 s of refill), which absorbs what
  another program on the same key takes between two answers; we then pace at
  the full refill rate, so headroom costs a job about a second, not `safety` of
  its length (a share of the rate would). Caps (`rpm`,
  `tpm`) below the learned limits pace like fixed limits, without the safety.
  A server that sends no `x-ratelimit-*` headers leaves only the caps.

Pass each attempt's `key` to try_acquire(), observe(), reconcile() and lost():
the sync is then exact. Without keys it still works, with looser bounds: each
answer is placed among the grants still open.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Literal

from ..events import BucketView
from .headers import BucketReport, Kind, header, number, read_limit_headers
from .ratelimit_sync import Bucket, Grant, GrantLog, ServerMirror

__all__ = ["FIXED_BURST_S", "LimiterSnapshot", "RateLimiter", "read_limit_headers"]

Source = Literal["fixed", "headers", "starting"]
Gate = Literal["requests", "tokens", "starting"]
"""A bucket a request must get through: the server's two (or our caps on them), or the starting trickle."""

FIXED_BURST_S = 5.0
"""Seconds of refill a fixed-mode (or capped) bucket holds: half of a 10 s server bucket."""
STARTING_REFILL_S = 2.0
"""While starting, the small first allowance comes back at this pace until headers arrive."""
HEADERLESS_ANSWERS = 3
"""Answers without `x-ratelimit-*` headers after which `auto` stops waiting for them."""


@dataclass(frozen=True, slots=True)
class LimiterSnapshot:
    """What the limiter believes now, for the dashboard."""

    rpm_limit: float | None
    tpm_limit: float | None
    source: Source
    remaining_requests: int | None
    """The server's requests bucket now as we estimate it (learned), or as last reported (fixed)."""
    remaining_tokens: int | None
    paused_until: float | None
    """Limiter-clock time before which nothing is granted, while a pause lasts."""


class RateLimiter:
    """Decides when the next request may go, from fixed limits or from what the server's headers say.

    `clock` gives monotonic seconds (the event loop's time); every time the
    limiter takes or returns is on it. See the module docstring for the model.
    """

    def __init__(
        self,
        *,
        rpm: float | None,
        tpm: float | None,
        safety: float,
        learn: bool,
        clock: Callable[[], float],
        start_fraction: float = 0.1,
    ) -> None:
        if not 0 <= safety < 1:
            raise ValueError("safety must be at least 0 and below 1")
        self._clock, self._safety, self._learn = clock, safety, learn
        now = clock()
        self._caps: dict[Kind, float | None] = {"requests": rpm, "tokens": tpm}
        pace = 1.0 if learn else 1.0 - safety
        self._local = {kind: _local_bucket(kind, limit * pace / 60.0, now)
                       for kind, limit in self._caps.items() if limit}
        self._mirrors: dict[Kind, ServerMirror] = {}
        self._starting: Bucket | None = None
        if learn:
            allowance = max(1.0, math.floor(start_fraction * rpm)) if rpm else 1.0
            self._starting = Bucket(allowance / STARTING_REFILL_S, allowance, now)
        self._headerless = 0
        self._paused_until = -math.inf
        self._reported: dict[Kind, float] = {}
        self._log = GrantLog()
        self._limits: tuple[float | None, float | None, Source] | None = None
        """What limits() returns, kept until a limit or where it comes from changes (every answer asks)."""

    # -- asking -------------------------------------------------------------------------

    def try_acquire(self, tokens: int, *, key: Hashable | None = None) -> float:
        """0.0 if a request of `tokens` (prompt + max output) may go now, and counts it; else seconds to wait.

        `key` names this attempt, e.g. `(custom_id, attempt)`: pass the same to
        observe(), reconcile() and lost() so that its answer is placed exactly.
        """
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        constraints = self._constraints(tokens)
        wait = 0.0
        for _, bucket, _, need in constraints:
            bucket_wait = bucket.wait(need, now)
            if bucket_wait > wait:
                wait = bucket_wait
        if wait > 0:
            return wait
        for _, bucket, cost, _ in constraints:
            bucket.take(cost, now)
        self._log.add(now, float(tokens), key)
        return 0.0

    def _constraints(self, tokens: int) -> list[tuple[Gate, Bucket, float, float]]:
        """(what it is, bucket, cost, level needed) for every bucket a request must get through.

        A request larger than a bucket goes when the bucket is full, and leaves it
        in debt: refusing it for ever would stall the job (the server says if it
        is too large).
        """
        found: list[tuple[Gate, Bucket, float, float]] = (
            [] if self._starting is None else [("starting", self._starting, 1.0, 1.0)])
        for kind, bucket in self._local.items():
            if self._cap_binds(kind):
                cost = _cost(kind, tokens)
                found.append((kind, bucket, cost, min(cost, bucket.capacity)))
        for kind, mirror in self._mirrors.items():
            cost = _cost(kind, tokens)
            found.append((kind, mirror.bucket, cost, min(cost + mirror.reserve(self._safety), mirror.bucket.capacity)))
        return found

    def _cap_binds(self, kind: Kind) -> bool:
        mirror = self._mirrors.get(kind)
        return mirror is None or (self._caps[kind] or math.inf) < mirror.limit

    def pause_until(self, when: float) -> None:
        """After a 429: nothing is granted before `when` (limiter clock)."""
        self._paused_until = max(self._paused_until, when)

    # -- learning ------------------------------------------------------------------------

    def observe(self, headers: Mapping[str, str], *, key: Hashable | None = None) -> None:
        """Learn from an answer's headers (any status, even without `x-ratelimit-*`)."""
        now = self._clock()
        reports = {kind: r for kind, r in read_limit_headers(headers).items() if r.remaining is not None}
        for kind, report in reports.items():
            self._reported[kind] = report.remaining  # type: ignore[assignment]
        self._learn_from(reports, self._log.find(key), now)
        processing_ms = number(header(headers, "openai-processing-ms"))
        if processing_ms is not None:
            self._log.note_answer_time(processing_ms / 1000)
        self._log.close(key, now, timed=processing_ms is None)

    def lost(self, *, key: Hashable | None = None) -> None:
        """An attempt ended without any answer (timeout, dropped connection): no header will come for it."""
        self._log.close(key, self._clock(), timed=False)

    def _learn_from(self, reports: dict[Kind, BucketReport], grant: Grant | None, now: float) -> None:
        usable = {kind: r for kind, r in reports.items() if r.limit or kind in self._mirrors}
        if not usable:
            self._headerless += 1
            if self._starting is not None and self._headerless >= HEADERLESS_ANSWERS:
                self._starting = self._limits = None  # this server does not report its limits: the caps alone pace
            return
        if self._starting is not None:
            self._starting = self._limits = None
        self._headerless = 0
        for kind, report in usable.items():
            mirror = self._mirrors.get(kind)
            if mirror is None:
                mirror = self._mirrors[kind] = ServerMirror(kind, report.limit or 0.0, now)
                self._limits = None
            limit = mirror.limit
            mirror.learn(report)
            if mirror.limit != limit:
                self._limits = None
        if grant is not None and grant.open and len(usable) == 2:  # both buckets, placed exactly: one walk
            requests, tokens = self._mirrors["requests"], self._mirrors["tokens"]
            r_level, t_level = self._log.levels_now(
                grant, (requests.bucket, usable["requests"].remaining or 0.0),
                (tokens.bucket, usable["tokens"].remaining or 0.0), now)
            requests.sync_exact(r_level, grant.seq, now)
            tokens.sync_exact(t_level, grant.seq, now)
            return
        for kind, report in usable.items():
            self._mirrors[kind].resync(self._log, report.remaining or 0.0, grant, now)

    def reconcile(self, estimated_prompt: int, actual_prompt: int, *, key: Hashable | None = None) -> None:
        """The server counted `actual_prompt` prompt tokens where we counted `estimated_prompt`."""
        limit = self._limit("tokens")
        if limit:
            # No single request can use more than a minute's tokens: a server that says so is wrong,
            # and believing it would leave a debt that stalls the run for hours.
            actual_prompt = min(actual_prompt, int(limit))
        difference = actual_prompt - estimated_prompt
        if not difference:
            return
        now = self._clock()
        if "tokens" in self._local:
            self._local["tokens"].take(difference, now)
        grant = self._log.find(key)
        if grant is not None:
            grant.tokens += difference
        mirror = self._mirrors.get("tokens")
        # Keyed, the answer's own header already set our level (a forgotten key: long answered),
        # unless a newer grant's did without it. Unkeyed, we cannot tell: count it.
        if mirror is not None and (key is None or (grant is not None and grant.seq > mirror.anchor_seq)):
            mirror.bucket.take(difference, now)

    # -- reporting -----------------------------------------------------------------------

    def limits(self) -> tuple[float | None, float | None, Source]:
        """(rpm limit, tpm limit, source): the part of `snapshot()` that changes seldom, and costs little."""
        if self._limits is None:
            self._limits = self._limit("requests"), self._limit("tokens"), self._source()
        return self._limits

    def snapshot(self) -> LimiterSnapshot:
        """Limits, where they come from, what remains, and any pause."""
        now = self._clock()
        return LimiterSnapshot(
            rpm_limit=self._limit("requests"),
            tpm_limit=self._limit("tokens"),
            source=self._source(),
            remaining_requests=self._remaining("requests", now),
            remaining_tokens=self._remaining("tokens", now),
            paused_until=self._paused_until if self._paused_until > now else None,
        )

    def holdup(self, tokens: int) -> tuple[Gate | Literal["rate-limited"] | None, float]:
        """What holds back a request of `tokens` now, and for how long: (None, 0.0) if it may go.

        Of several buckets short of room, the one that keeps it waiting longest.
        """
        now = self._clock()
        if now < self._paused_until:
            return "rate-limited", self._paused_until - now
        waits = [(bucket.wait(need, now), gate) for gate, bucket, _, need in self._constraints(tokens)]
        wait, gate = max(waits, default=(0.0, None), key=lambda pair: pair[0])
        return (gate, wait) if wait > 0 else (None, 0.0)

    def buckets(self) -> tuple[BucketView, ...]:
        """Every rate-limit bucket a request must get through now, as the ETA's model needs it.

        Not the starting trickle: it lasts only until the first answer tells the limits.
        """
        now = self._clock()
        local = tuple(BucketView(kind, bucket.level_at(now), bucket.capacity, bucket.rate)
                      for kind, bucket in self._local.items() if self._cap_binds(kind))
        mirrored = tuple(BucketView(kind, mirror.bucket.level_at(now), mirror.bucket.capacity, mirror.bucket.rate,
                                    min(mirror.reserve(self._safety), mirror.bucket.capacity))
                         for kind, mirror in self._mirrors.items())
        return local + mirrored

    def _source(self) -> Source:
        if self._starting is not None:
            return "starting"
        if self._learn and self._mirrors:
            return "headers"
        # Fixed limits are "headers" only where the server's own stated limit is the tighter.
        return "headers" if any(not self._cap_binds(kind) and self._caps[kind] != mirror.limit
                                for kind, mirror in self._mirrors.items()) else "fixed"

    def _limit(self, kind: Kind) -> float | None:
        mirror, cap = self._mirrors.get(kind), self._caps[kind]
        if mirror is None:
            return cap
        return mirror.limit if cap is None else min(cap, mirror.limit)

    def _remaining(self, kind: Kind, now: float) -> int | None:
        mirror = self._mirrors.get(kind)
        if mirror is not None:
            return max(0, math.floor(mirror.bucket.level_at(now)))
        reported = self._reported.get(kind)
        return None if reported is None else int(reported)


def _cost(kind: Kind, tokens: int) -> float:
    return 1.0 if kind == "requests" else float(tokens)


def _local_bucket(kind: Kind, rate: float, now: float) -> Bucket:
    # A requests bucket below one request would never grant anything.
    capacity = max(FIXED_BURST_S * rate, 1.0) if kind == "requests" else FIXED_BURST_S * rate
    return Bucket(rate, capacity, now)
