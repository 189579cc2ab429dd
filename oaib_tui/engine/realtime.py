"""The realtime engine: streams a project's requests to the API as fast as its limits allow.

One dispatcher coroutine decides what goes out next (a retry that is due, or
the next record from the sources), asks the rate limiter, and launches one task
per attempt. Every decision becomes an event for whoever listens: the engine
itself keeps only counters. Time is the event loop's clock, so tests can run
it on virtual time.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import openai

from .. import events as ev
from ..errors import EXIT_SOME_FAILED
from ..project import PreparedRequest
from ..project.schema import LoadedProject
from ..tiers import answer_timeout_s, charged_tier
from ..wording import counted
from .client import (
    UNREACHABLE_AFTER_ATTEMPTS,
    Reply,
    SdkSender,
    Sender,
    unreachable_advice,
)
from .feed import Counters, Item, ItemFeed, RekeyedItems
from .ratelimit import RateLimiter
from .resume import ResumeIndex
from .retry import Outcome, RetryPolicy, backoff_delay, classify, internal_error, refusal_reason
from .steering import MIN_SLEEP_S, Emit, Ending, Steering
from .usage import priced_usage, unpriced_tier_note
from .watch import HoldupWatch

LIMITS_EVENT_INTERVAL_S = 0.25
TPM_WITHIN_REACH = 0.5
"""Prompts are counted exactly once the tokens reserved a minute reach this share of the TPM limit."""


class Commits(Protocol):
    """What the engine needs of a group commit (state/group_commit.py): answers held until it commits them."""

    @property
    def held(self) -> int:
        """Answers recorded but not yet committed."""
        ...

    def notify(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit tried."""
        ...


@dataclass(order=True, slots=True)
class _DueRetry:
    due: float
    seq: int
    item: Item = field(compare=False)


class RealtimeExecutor(Steering):
    """Runs one project's realtime job. Steer it with pause(), resume(), stop(), abandon() and cancel()."""

    def __init__(
        self,
        project: LoadedProject,
        client: openai.AsyncOpenAI,
        emit: Emit,
        *,
        resume: ResumeIndex | None = None,
        rng: random.Random | None = None,
        limiter: RateLimiter | None = None,
        wall_clock: Callable[[], float] = time.time,
        sender: Sender | None = None,
        commits: Commits | None = None,
    ) -> None:
        """`commits`, if given, holds answers until it commits them: a request whose answer it holds keeps
        its concurrency slot until the next commit (see state.group_commit)."""
        super().__init__(project, client, emit, wall_clock=wall_clock, rng=rng)
        spec = project.spec
        self.sender = sender or SdkSender(client)
        self._awaiting_commit = 0
        """Requests answered whose answer waits for its commit: their slots stay taken until it (kill -9)."""
        if commits is not None:
            commits.notify(self._answers_committed)
        self._commits = commits
        self.resume_index = resume or ResumeIndex.empty()
        self.limits = spec.limits
        self.policy = RetryPolicy(spec.limits.max_retries)
        self.counters = Counters()
        self._limiter = limiter
        self._retries: list[_DueRetry] = []
        self._inflight: dict[asyncio.Task, Item] = {}
        self._inflight_worst_cost = 0.0
        self._abandoned = False
        self._exhausted = False
        self._answered = False
        """Whether the API has answered anything (any HTTP status) in this run."""
        self._last_limits_event = float("-inf")
        self._last_limits: tuple | None = None
        self._held_by_limiter: tuple[int, float] | None = None
        """(tokens, when) while the dispatcher sleeps until the limiter grants the next request of `tokens`."""
        self.feed = ItemFeed(project, self.plan, self.resume_index, self.prices, self.counters,
                             emit, wall=lambda: self.wall(), now=lambda: self._now(), counts_matter=self._counts_matter)

    @property
    def rekeyed(self) -> RekeyedItems | None:
        """On the slow resume path, the new line keys of the finished items the run recognised."""
        return self.feed.rekeyed

    # -- steering (the rest is Steering's) -----------------------------------------------

    def abandon(self) -> None:
        """Stop and cancel the requests in flight too (they are sent again on resume)."""
        self.stop()
        self._abandoned = True
        for task in list(self._inflight):
            task.cancel()

    @property
    def scanned_every_line(self) -> bool:
        return self._exhausted

    @property
    def in_flight(self) -> list[PreparedRequest]:
        """The requests sent and not yet answered (nor failed, nor put back to send again)."""
        return [item.request for item in self._inflight.values()]

    @property
    def in_flight_worst_cost(self) -> float:
        """What the requests in flight may cost at most."""
        return self._inflight_worst_cost

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> ev.RunFinished:
        self._start_clock()
        self.limiter = self._limiter or self._build_limiter()
        self._announce_start(self.project.spec.mode, self.resume_index.done, self.resume_index.failed,
                             transport=self.sender.name)
        self._emit_limits(force=True)
        self._warn_if_unpriced()
        self.watch = HoldupWatch(self.limiter, self._emit, concurrency=self.limits.concurrency, now=self._now,
                                 wall=lambda: self.wall())
        reporter = asyncio.create_task(self.watch.keep_reporting())
        try:
            await self._dispatch()
            self.watch.waiting_for("budget" if self._stop and self._stop.reason == "budget" else "stopping")
            await self._drain()
        finally:
            reporter.cancel()
            for task in list(self._inflight):
                task.cancel()
        return self._finish()

    def _build_limiter(self) -> RateLimiter:
        limits = self.limits
        return RateLimiter(
            rpm=limits.rpm, tpm=limits.tpm, safety=limits.safety,
            learn=self.project.spec.mode == "auto", clock=self._now,
        )

    def _warn_if_unpriced(self) -> None:
        super()._warn_if_unpriced()
        spec = self.project.spec
        note = unpriced_tier_note(self.prices, spec.model, spec.request)  # None when the model has no price at all
        if note:
            self._emit(ev.Notice(note, "warning", at=self.wall()))

    async def _dispatch(self) -> None:
        fresh = self.feed.items()
        pending: Item | None = None
        while self._stop is None:
            if self._paused or len(self._inflight) + self._awaiting_commit >= self.limits.concurrency:
                self.watch.waiting_for("paused" if self._paused else "concurrency")
                await self._sleep_until_poked(None)
                continue
            if pending is None:
                pending = self._due_retry() or await self._next_fresh(fresh)
            if self._stop is not None:
                break  # stopped while the sources were read: nothing more goes out
            if pending is None:
                if self._exhausted and not self._inflight and not self._retries:
                    return
                next_retry = self._retries[0].due if self._retries else None
                self.watch.waiting_for("answers" if next_retry is None else "retries", next_retry)
                await self._sleep_until_poked(self._until_next_retry())
                continue
            if self._over_budget(pending):
                return
            wait = self.limiter.try_acquire(pending.reserved_tokens, key=pending.next_key)
            if wait > 0:
                self.watch.waiting_for_limiter(pending.reserved_tokens)
                self._held_by_limiter = (pending.reserved_tokens, self._now() + wait)
                try:
                    await self._sleep_until_poked(wait)
                finally:
                    self._held_by_limiter = None
                continue
            self._launch(pending)
            pending = None
        if pending is not None and pending.attempt:
            self._requeue(pending, 0.0)

    async def _next_fresh(self, fresh: Iterator[Item | None]) -> Item | None:
        while not self._exhausted:
            item = next(fresh, StopIteration)
            if item is StopIteration:
                self._exhausted = True
                return None
            if item is None:  # a pause in a long run of finished lines
                self.watch.waiting_for("sources")
                await asyncio.sleep(0)
                continue
            return item  # type: ignore[return-value]
        return None

    def _counts_matter(self, tokens_per_minute: float) -> bool:
        """Whether exact prompt counts could change what the run does (see feed.PromptCounts): a spend cap
        stops on worst-case costs; a tokens-per-minute limit paces by the tokens reserved once they near it."""
        if self.limits.max_cost_usd is not None:
            return True
        tpm = self.limiter.limits()[1]
        return tpm is not None and tokens_per_minute >= tpm * TPM_WITHIN_REACH

    def _over_budget(self, item: Item) -> bool:
        cap = self.limits.max_cost_usd
        if cap is None:
            return False
        worst = self.counters.cost_usd + self._inflight_worst_cost + item.worst_cost
        if worst <= cap:
            return False
        if item.attempt:
            self._requeue(item, 0.0)
        self._stop_over_budget("request", cap, self.counters.cost_usd)
        return True

    # -- one attempt ----------------------------------------------------------------------

    def _launch(self, item: Item) -> None:
        item.attempt += 1
        self._inflight_worst_cost += item.worst_cost
        request = item.request
        self._emit(ev.RequestSent(
            custom_id=request.custom_id, seq=request.seq, attempt=item.attempt,
            reserved_tokens=item.reserved_tokens, at=self.wall(),
        ))
        task = asyncio.create_task(self._attempt(item))
        self._inflight[task] = item
        task.add_done_callback(self._attempt_done)

    def _attempt_done(self, task: asyncio.Task) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            # The item was settled but reporting it failed: what the run says can no longer be trusted.
            self.stop("error", f"the run stopped on an internal error: {task.exception()!r:.300}")
        if self._grant_comes_sooner():
            self._poke()

    def _grant_comes_sooner(self) -> bool:
        """Whether the dispatcher should look again now an attempt ended: always, unless it sleeps until the
        limiter's next grant and the answer's headers did not bring that grant closer (a rate-limited run
        would otherwise wake it once more per request, to go back to sleep)."""
        held = self._held_by_limiter
        if held is None:
            return True
        tokens, until = held
        return self._now() + self.limiter.holdup(tokens)[1] < until - MIN_SLEEP_S

    async def _attempt(self, item: Item) -> None:
        """One attempt, which always ends with the item settled: done, failed, or queued to send again."""
        settled = item.settled
        try:
            await self._send_and_settle(item)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if item.settled != settled:
                raise
            self._fail(item, internal_error(error))
        if self._commits is not None and self._commits.held:
            self._awaiting_commit += 1  # the slot stays taken until the answer is recorded: see state.group_commit

    def _answers_committed(self) -> None:
        if self._awaiting_commit:
            self._awaiting_commit = 0
            if self._held_by_limiter is None:  # slots freed: news for a dispatcher not sleeping until a grant
                self._poke()

    async def _send_and_settle(self, item: Item) -> None:
        started = self._now()
        try:
            reply = await self.sender.send(item.request.url, item.body, answer_timeout_s(self.limits.timeout_s, item.tier))
        finally:
            self._inflight_worst_cost -= item.worst_cost
        self._answered = self._answered or reply.status is not None
        if reply.status is not None and 200 <= reply.status < 300 and reply.body is not None:
            self._observe(item, reply, refused=False)
            self._succeeded(item, reply, self._now() - started)
            return
        error = reply.body.get("error") if isinstance(reply.body, dict) else None
        outcome = classify(
            status=reply.status, error=error if isinstance(error, dict) else None,
            headers=reply.headers, failure=reply.failure, now=self.wall(),
        )
        if not outcome.message:
            outcome = _with_message(outcome, reply.message)
        self._observe(item, reply, refused=outcome.capacity_refused)
        self._handle_outcome(item, outcome)

    def _observe(self, item: Item, reply: Reply, *, refused: bool) -> None:
        """The limiter learns from the answer's headers; a flex capacity refusal teaches it nothing."""
        if reply.headers and not refused:
            self.limiter.observe(reply.headers, key=item.key)
            self._emit_limits()
        else:
            self.limiter.lost(key=item.key)

    def _succeeded(self, item: Item, reply: Reply, latency: float) -> None:
        request = item.request
        assert reply.body is not None  # an answer: the caller checked
        tier = charged_tier(reply.body, item.tier)
        usage, cost, model = priced_usage(reply.body, self.prices,
                                          str(item.body.get("model") or self.project.spec.model), tier=tier)
        item.settled += 1
        self.counters.done += 1
        # An answer whose cost is unknown counts at its worst case against the budget cap.
        self.counters.cost_usd += cost if cost is not None else item.worst_cost
        self._emit(ev.RequestSucceeded(
            custom_id=request.custom_id, seq=request.seq, attempt=item.attempt, status_code=reply.status or 200,
            latency_s=latency, usage=usage, cost_usd=cost, response=reply.body, at=self.wall(), model=model,
            tier=tier,
        ))
        if usage.prompt_tokens:
            self.limiter.reconcile(item.prompt_tokens, usage.prompt_tokens, key=item.key)

    def _handle_outcome(self, item: Item, outcome: Outcome) -> None:
        if outcome.action == "stop":
            self._requeue(item, 0.0)
            self.stop(refusal_reason(outcome.reason), _stop_advice(outcome))
            return
        if outcome.reason == "cannot connect" and self._unreachable(item, outcome):
            self._requeue(item, 0.0)
            self.stop("unreachable", unreachable_advice(str(self.client.base_url)))
            return
        if outcome.action == "retry" and outcome.rate_limit_kind:
            self._pause_for_rate_limit(item, outcome)
        item.refusals += outcome.capacity_refused
        if self.policy.should_retry(item.attempt, outcome, refusals=item.refusals):
            delay = self.policy.delay(item.attempt, outcome, self.rng, refusals=item.refusals)
            self._emit(ev.RetryScheduled(
                custom_id=item.request.custom_id, seq=item.request.seq, attempt=item.attempt,
                reason=outcome.reason, status_code=outcome.status,
                delay_s=delay, message=outcome.message, at=self.wall(), code=outcome.code,
            ))
            self._requeue(item, delay)
            return
        self._fail(item, outcome)

    def _unreachable(self, item: Item, outcome: Outcome) -> bool:
        """Give up on the run rather than fail a request for want of a connection: items stay pending."""
        if not self.policy.should_retry(item.attempt, outcome, refusals=item.refusals):
            return True
        return not self._answered and item.attempt >= UNREACHABLE_AFTER_ATTEMPTS

    def _pause_for_rate_limit(self, item: Item, outcome: Outcome) -> None:
        pause = outcome.server_delay_s
        if pause is None:
            pause = backoff_delay(item.attempt, None, self.rng)
        resume_at = self._now() + pause
        self.limiter.pause_until(resume_at)
        self._emit(ev.RateLimited(kind=outcome.rate_limit_kind or "unknown", pause_s=pause,
                                  resume_at=self.wall() + pause, at=self.wall()))

    def _fail(self, item: Item, outcome: Outcome) -> None:
        item.settled += 1
        self.counters.failed += 1
        reason = outcome.reason if outcome.action == "fail" else f"{outcome.reason} (gave up after {item.attempt} attempts)"
        self._emit(ev.RequestFailed(
            custom_id=item.request.custom_id, seq=item.request.seq, attempt=item.attempt, reason=reason,
            status_code=outcome.status, message=outcome.message, error=outcome.error, at=self.wall(),
        ))

    def _requeue(self, item: Item, delay: float) -> None:
        item.settled += 1
        heapq.heappush(self._retries, _DueRetry(self._now() + delay, item.request.seq, item))
        self._poke()

    def _due_retry(self) -> Item | None:
        if self._retries and self._retries[0].due <= self._now():
            return heapq.heappop(self._retries).item
        return None

    def _until_next_retry(self) -> float | None:
        return max(0.0, self._retries[0].due - self._now()) if self._retries else None

    # -- waiting --------------------------------------------------------------------------

    async def _drain(self) -> None:
        while self._inflight and not self._abandoned:
            await asyncio.wait(list(self._inflight))

    def _emit_limits(self, force: bool = False) -> None:
        """Tell listeners what the limiter believes: at once when the limits change, else at most every 250 ms."""
        now = self._now()
        limits = self.limiter.limits()
        if not (force or limits != self._last_limits) and now - self._last_limits_event < LIMITS_EVENT_INTERVAL_S:
            return
        self._last_limits_event, self._last_limits = now, limits
        snap = self.limiter.snapshot()
        self._emit(ev.LimitsObserved(
            rpm_limit=snap.rpm_limit, tpm_limit=snap.tpm_limit, source=snap.source,
            remaining_requests=snap.remaining_requests, remaining_tokens=snap.remaining_tokens, at=self.wall(),
        ))

    def _finish(self) -> ev.RunFinished:
        c = self.counters
        pending = len(self._retries) + len(self._inflight)
        ending = self._ending(c.failed, c.failed + c.skipped_failed)
        if self._stop is None and c.left_alone:  # `retry failed` sent only the failed ones
            ending = Ending("finished", None, f"retried: {c.done:,} answered, {c.failed:,} failed; "
                                              f"{counted(c.left_alone, 'request')} left to do stay for the next run",
                            EXIT_SOME_FAILED)
            pending += c.left_alone
        return self._finish_with(ending, done=c.done + c.skipped_done, failed=c.failed + c.skipped_failed,
                                 pending=pending if self._exhausted or self._stop is None else -1, cost_usd=c.cost_usd)


def _with_message(outcome: Outcome, message: str) -> Outcome:
    from dataclasses import replace

    return replace(outcome, message=message)


def _stop_advice(outcome: Outcome) -> str:
    if outcome.reason in ("401", "403"):
        return (f"the API refused the key ({outcome.reason}: {outcome.message}). Check the key in the variable "
                "named by provider.api_key_env and its permissions")
    return f"the account is out of quota ({outcome.message}). Add credit or raise the limit"
