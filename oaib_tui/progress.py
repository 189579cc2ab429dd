"""A running tally of a job, folded from the engine's events.

The headless reporter and the dashboard both read a :class:`Progress`; it is
the one place where "how many are in flight" and "what is the TPM now" are
derived from the event stream.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .meters import RateMeter
from .outlook import Workload, sending_time
from .parts import TERMINAL_STATUSES
from .pricing import TIERS, PriceBook

PACE_WINDOW_S = 10.0
MOVED_OUT_OF_A_BATCH = "batch_cancelled"
"""The reason a batch gives back what it did not run when cancelled: in hybrid mode, the plan's move."""
LATENCY_SMOOTHING = 0.1
"""Weight of the newest answer in the running latency (an exponential moving average)."""
PROBLEM_LOG_SIZE = 200
"""Retries and failures kept for the dashboard's log, newest first."""


@dataclass
class BatchState:
    """One remote batch as the dashboard shows it (batch mode)."""

    batch_id: str
    part: int
    requests: int
    created_at: float
    expires_at: float | None
    status: str = "validating"
    total: int = 0
    completed: int = 0
    failed: int = 0
    downloaded: ev.BatchDownloaded | None = None
    resubmitted: ev.BatchResubmitted | None = None
    """Its unfinished items, sent again (to a new batch or to realtime)."""

    @property
    def is_final(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass
class ModelCost:
    """What the answers priced at one model (or charged at one tier) cost in this run."""

    requests: int = 0
    usage: ev.Usage = field(default_factory=ev.Usage)
    cost_usd: float = 0.0
    cost_known: bool = True

    def add(self, usage: ev.Usage, cost_usd: float | None) -> None:
        """One more answer: its tokens and its cost (None: unknown)."""
        self.requests += 1
        self.usage = self.usage + usage
        if cost_usd is None:
            self.cost_known = False
        else:
            self.cost_usd += cost_usd

    @property
    def cost(self) -> float | None:
        return self.cost_usd if self.cost_known else None


@dataclass
class Progress:
    clock: Callable[[], float] = time.time
    project: str = ""
    model: str = ""
    endpoint: str = ""
    mode: str = ""
    lane: str = ""
    """`mode: hybrid`: the lane the items not yet answered go through (`batch`, `flex`, `standard`)."""
    duplicates: int = 0
    """`mode: hybrid`: answers paid for but discarded (a second lane answered an item already done)."""
    state: ev.RunState = "running"
    total: int | None = None
    done: int = 0
    failed: int = 0
    resumed_done: int = 0
    resumed_failed: int = 0
    in_flight: int = 0
    retrying: int = 0
    retries: int = 0
    moved: int = 0
    """`mode: hybrid`: items taken out of a cancelled batch for a realtime lane (not retries)."""
    cost_usd: float = 0.0
    cost_known: bool = True
    retry_reasons: Counter = field(default_factory=Counter)
    limits: ev.LimitsObserved | None = None
    rate_limited_until: float | None = None
    finished: ev.RunFinished | None = None
    started_at: float | None = None
    ended_at: float | None = None
    usage: ev.Usage = field(default_factory=ev.Usage)
    """Tokens of the requests answered in this run."""
    rate_limit_kind: str | None = None
    problems: deque = field(default_factory=lambda: deque(maxlen=PROBLEM_LOG_SIZE))
    """The latest RetryScheduled and RequestFailed events, newest first."""
    batches: dict[str, BatchState] = field(default_factory=dict)
    """Remote batches by id, in the order they were created."""
    by_model: dict[str, ModelCost] = field(default_factory=dict)
    """This run's answers by the model their cost was priced at: a job may ask several models."""
    by_tier: dict[str, ModelCost] = field(default_factory=dict)
    """This run's answers by the tier they were charged at (`standard`, `flex`, `priority`, `batch`)."""
    pace: ev.PaceObserved | None = None
    """What held sending back at the latest report, and the limiter's buckets then."""
    stopping: ev.RunStopping | None = None
    latency_s: float | None = None
    """How long answers take, lately (a moving average)."""

    def batch_savings(self, prices: PriceBook) -> tuple[float, float] | None:
        """(saved, realtime cost) of this run's answers, each model at its own price; None if a price is unknown."""
        realtime = 0.0
        for model, tally in self.by_model.items():
            cost = prices.cost(model, tally.usage, summed=True)
            if cost is None or not tally.cost_known:
                return None
            realtime += cost
        spent = sum(tally.cost_usd for tally in self.by_model.values())
        return max(0.0, realtime - spent), realtime

    @property
    def shows_tiers(self) -> bool:
        """Whether some answer was charged at flex or priority: then costs are worth telling apart by tier."""
        return bool(set(self.by_tier) - {"standard", "batch"})

    def tier_costs(self) -> list[tuple[str, ModelCost]]:
        """This run's answers by charged tier, cheapest tier first as the price table orders them."""
        def order(tier: str) -> int:
            return TIERS.index(tier) if tier in TIERS else len(TIERS)
        return sorted(self.by_tier.items(), key=lambda pair: order(pair[0]))

    def __post_init__(self) -> None:
        self.sent_meter = RateMeter(self.clock)
        self.done_meter = RateMeter(self.clock, window_s=PACE_WINDOW_S)
        self._awaiting_retry: set[str] = set()
        self._sends = self._first_sends = 0
        self._reserved_tokens = 0
        self._to_send_at_pace = 0

    def handle(self, event: ev.Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    # -- derived figures ------------------------------------------------------------------

    @property
    def done_total(self) -> int:
        """Done, this run and earlier ones."""
        return self.done + self.resumed_done

    @property
    def failed_total(self) -> int:
        """Failed, this run and earlier ones."""
        return self.failed + self.resumed_failed

    @property
    def finished_count(self) -> int:
        return self.done_total + self.failed_total

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else max(0, self.total - self.finished_count)

    def per_minute(self) -> tuple[float, float]:
        """Requests and tokens (as the limits count them) sent over the last minute."""
        return self.sent_meter.per_minute()

    def eta_s(self) -> float | None:
        """Seconds until the last request is answered; None while it cannot be told (or the run is paused or
        stopping: then it will not end with every request answered).

        Realtime: the limiter's model of what is left (:mod:`.outlook`), as of the
        latest PaceObserved and counted down since. Batch mode: each batch's own pace.
        """
        remaining = self.remaining
        if remaining is None or self.state in ("paused", "stopping"):
            return None
        if remaining == 0:
            return 0.0
        return self._batch_eta() if "batch" in (self.mode, self.lane) else self._model_eta()

    def _model_eta(self) -> float | None:
        pace = self.pace
        if pace is None:
            return None
        work = Workload(
            requests=self._to_send_at_pace * self._sends / max(1, self._first_sends),  # retries to come, as so far
            tokens_per_request=self._reserved_tokens / max(1, self._sends),
            latency_s=self.latency_s or 0.0,
            concurrency=pace.concurrency,
        )
        pause = max(0.0, (self.rate_limited_until or 0.0) - pace.at)
        seconds = sending_time(work, pace.buckets, pause)
        return None if seconds is None else max(0.0, seconds - (self.clock() - pace.at))

    def _batch_eta(self) -> float | None:
        """The slowest open batch's time left, each at its own pace so far; None until one has moved.

        Batches run side by side, so the last to finish sets the time. One that has
        not moved yet is taken to go at the others' mean pace (seconds per item)
        from its creation. Items not yet in a batch, and the downloads, are not counted.
        """
        now = self.clock()
        open_batches = [b for b in self.batches.values() if not b.is_final and b.completed + b.failed < b.total]
        paces = {b.batch_id: (now - b.created_at) / (b.completed + b.failed)
                 for b in open_batches if b.completed + b.failed and now > b.created_at}
        if not paces:
            return None
        usual = sum(paces.values()) / len(paces)
        return max(max(0.0, b.total * paces.get(b.batch_id, usual) - (now - b.created_at)) for b in open_batches)

    def elapsed_s(self) -> float:
        """Seconds since the run started, or that it lasted once it has finished."""
        if self.started_at is None:
            return 0.0
        return (self.ended_at if self.ended_at is not None else self.clock()) - self.started_at

    @property
    def queued(self) -> int | None:
        """Items not yet finished, in flight or waiting for a retry; None while the total is unknown."""
        remaining = self.remaining
        return None if remaining is None else max(0, remaining - self.in_flight - self.retrying)

    # -- event handlers -------------------------------------------------------------------

    def _started(self, e: ev.RunStarted) -> None:
        self.project, self.model, self.endpoint, self.mode = e.project, e.model, e.endpoint, e.mode
        self.resumed_done, self.resumed_failed, self.total = e.resumed_done, e.resumed_failed, e.total_known
        self.started_at = self.clock()
        self.state = "running"

    def _sent(self, e: ev.RequestSent) -> None:
        self.in_flight += 1
        self._sends += 1
        self._first_sends += int(e.attempt == 1)
        self._reserved_tokens += e.reserved_tokens
        # By id, not by attempt number: leftovers of a batch go to realtime as first attempts.
        self._awaiting_retry.discard(e.custom_id)
        self.retrying = len(self._awaiting_retry)
        now = self.clock()
        self.sent_meter.record(now, requests=1, tokens=e.reserved_tokens)

    def _answered(self) -> None:
        # Never below zero: after a resume, batches sent by an earlier run answer without a send event.
        self.in_flight = max(0, self.in_flight - 1)

    def _succeeded(self, e: ev.RequestSucceeded) -> None:
        self._answered()
        self.done += 1
        self.done_meter.record(self.clock(), requests=1, tokens=e.usage.total_tokens)
        self.usage = self.usage + e.usage
        tally = self.by_model.setdefault(e.model or self.model, ModelCost())
        tier = self.by_tier.setdefault(e.tier, ModelCost())
        for cost in (tally, tier):
            cost.add(e.usage, e.cost_usd)
        latency = self.latency_s
        self.latency_s = e.latency_s if latency is None else latency + LATENCY_SMOOTHING * (e.latency_s - latency)
        if e.cost_usd is None:
            self.cost_known = False
        else:
            self.cost_usd += e.cost_usd

    def _retry(self, e: ev.RetryScheduled) -> None:
        self._answered()
        if self.mode == "hybrid" and e.reason == MOVED_OUT_OF_A_BATCH:
            self.moved += 1  # the plan moved it to a realtime lane: queued there, nobody's retry
            return
        self._awaiting_retry.add(e.custom_id)
        self.retrying = len(self._awaiting_retry)
        self.retries += 1
        self.retry_reasons[e.reason] += 1
        self.problems.appendleft(e)

    def _failed(self, e: ev.RequestFailed) -> None:
        self._answered()
        self._awaiting_retry.discard(e.custom_id)
        self.retrying = len(self._awaiting_retry)
        self.failed += 1
        self.done_meter.record(self.clock(), requests=1, tokens=0)
        self.problems.appendleft(e)

    def _limits(self, e: ev.LimitsObserved) -> None:
        self.limits = e

    def _pace(self, e: ev.PaceObserved) -> None:
        self.pace = e
        # What is left to send as of this report: the buckets in it are as of now too.
        remaining = self.remaining
        self._to_send_at_pace = 0 if remaining is None else max(0, remaining - self.in_flight)

    def _rate_limited(self, e: ev.RateLimited) -> None:
        self.rate_limited_until = e.resume_at
        self.rate_limit_kind = e.kind

    def _paused(self, e: ev.RunPaused) -> None:
        self.state = "paused"

    def _resumed(self, e: ev.RunResumed) -> None:
        self.state = "running"

    def _stopping(self, e: ev.RunStopping) -> None:
        self.state = "stopping"
        self.stopping = e

    def _finished(self, e: ev.RunFinished) -> None:
        self.state = e.state
        self.finished = e
        self.in_flight = 0
        self.ended_at = self.clock()

    # -- remote batches ---------------------------------------------------------------------

    def _batch_created(self, e: ev.BatchCreated) -> None:
        self.batches[e.batch_id] = BatchState(e.batch_id, e.part, e.requests, e.at, e.expires_at, total=e.requests)

    def _batch_status(self, e: ev.BatchStatusChanged) -> None:
        batch = self.batches.get(e.batch_id)
        if batch is not None:
            batch.status = e.status

    def _batch_counts(self, e: ev.BatchCountsChanged) -> None:
        batch = self.batches.get(e.batch_id)
        if batch is not None:
            batch.total, batch.completed, batch.failed = e.total, e.completed, e.failed

    def _batch_downloaded(self, e: ev.BatchDownloaded) -> None:
        batch = self.batches.get(e.batch_id)
        if batch is not None:
            batch.downloaded = e

    def _batch_resubmitted(self, e: ev.BatchResubmitted) -> None:
        """Resubmissions name no batch: they take up the unfinished items of the batches downloaded last."""
        for batch in self.batches.values():
            if batch.downloaded and batch.downloaded.unfinished and batch.resubmitted is None:
                batch.resubmitted = e

    def _lane_changed(self, e: ev.LaneChanged) -> None:
        self.lane = e.lane

    def _duplicate(self, e: ev.DuplicateAnswer) -> None:
        self.duplicates += 1
        self.cost_usd += e.cost_usd or 0.0

    def run_state(self) -> ev.RunState:
        """The state to show: rate-limited while a server-requested pause lasts."""
        if self.state == "running" and self.rate_limited_until and self.rate_limited_until > self.clock():
            return "rate-limited"
        return self.state


# Each handler takes its own event type; the table is keyed by that type, so Any is exact enough here.
_HANDLERS: dict[type, Callable[[Progress, Any], None]] = {
    ev.RunStarted: Progress._started,
    ev.RequestSent: Progress._sent,
    ev.RequestSucceeded: Progress._succeeded,
    ev.RetryScheduled: Progress._retry,
    ev.RequestFailed: Progress._failed,
    ev.LimitsObserved: Progress._limits,
    ev.RateLimited: Progress._rate_limited,
    ev.PaceObserved: Progress._pace,
    ev.RunPaused: Progress._paused,
    ev.RunResumed: Progress._resumed,
    ev.RunStopping: Progress._stopping,
    ev.RunFinished: Progress._finished,
    ev.BatchCreated: Progress._batch_created,
    ev.BatchStatusChanged: Progress._batch_status,
    ev.BatchCountsChanged: Progress._batch_counts,
    ev.BatchDownloaded: Progress._batch_downloaded,
    ev.BatchResubmitted: Progress._batch_resubmitted,
    ev.LaneChanged: Progress._lane_changed,
    ev.DuplicateAnswer: Progress._duplicate,
}
