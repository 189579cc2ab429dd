"""The hybrid run: the batch lane first, then flex, then standard realtime, by the deadline.

Every `hybrid.check_s` the planner looks at the time left, the items not yet
answered, what the realtime lanes would need (the rate limits as the dry-run
forecast models them) and how fast the live batches are going. When waiting
longer would leave too little time, the live batches are cancelled (what they
finished is downloaded and recorded) and the rest moves to flex, or to
standard when flex can no longer make it. The AnswerGate keeps every item's
first answer and counts any later one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import openai

from .. import events as ev
from .. import tokens
from ..batch.executor import BatchExecutor
from ..batch.ledger import PartLedger
from ..deadline import (
    Lane,
    Outlook,
    batch_eta_s,
    first_lane,
    flex_pace_s,
    guessed_standard_s,
    next_lane,
    realtime_times,
)
from ..deadline import realtime_lane as realtime_lane_for
from ..engine.client import Sender
from ..engine.feed import RekeyedItems
from ..engine.realtime import RealtimeExecutor
from ..engine.resume import OnlyThese, ResumeIndex, Withheld
from ..engine.steering import STOP_EXIT_CODES
from ..errors import EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED, UserError
from ..forecast import shortest_time_s
from ..pricing import PriceBook
from ..project import RequestPlan
from ..project.schema import LoadedProject, deadline_at
from ..wording import counted, format_duration, money
from .gate import AnswerGate
from .lanes import batch_lane, realtime_lane

SAMPLE_REQUESTS = 200
"""Requests read up front to learn the tokens a request takes, for the realtime forecast."""


class HybridExecutor:
    """Runs one project's job in hybrid mode. Steer it as the other executors: pause, resume, stop, abandon, cancel."""

    def __init__(self, project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
                 ledger: PartLedger, *, resume: Callable[[], ResumeIndex], sender: Sender,
                 only: OnlyThese | None = None, deadline: float | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        """`deadline`: when the job must be done (default: the project's `deadline:` from the run's start);
        `only`: send just these items (`retry failed`)."""
        self.project = project
        self.spec = project.spec
        self.settings = project.spec.hybrid
        self.client = client
        self.ledger = ledger
        self.sender = sender
        self._resume = resume
        self._emit = emit
        self.wall = wall_clock
        self.plan = RequestPlan(project)
        self.prices = PriceBook.for_project(project.spec.pricing)
        self.gate = AnswerGate(emit, self.prices, lambda: self.wall())
        self.gate.on_stopping = self._lane_stopping
        self.rekeyed: RekeyedItems | None = None
        """The last realtime lane's re-keyed items (JobRun adopts them after a slow-path resume)."""
        self.scanned_every_line = False
        self.lane: Lane | None = None
        self._deadline_given = deadline
        self.deadline = 0.0
        self.only = only
        self._batch: BatchExecutor | None = None
        self._batch_task: asyncio.Task | None = None
        self._realtime: RealtimeExecutor | None = None
        self._giving_way: tuple[RealtimeExecutor, asyncio.Task] | None = None
        """Flex after it gave way to standard, with its task: its requests in flight may still answer."""
        self._stop: ev.RunStopping | None = None
        self._switching = False
        self._left_batches = False
        self._relaying = False
        self._paused = False
        self._watched: dict[int, tuple[float, int]] = {}
        """Part → (when first seen live, its finished count then): the batches' observed progress."""
        self._tokens_per_request = 0.0
        self._total: int | None = None
        """The records in the sources (counted once: the lines not yet read are still to answer)."""

    # -- steering -------------------------------------------------------------------------

    def _lanes(self) -> list[Any]:
        giving_way = self._giving_way[0] if self._giving_way is not None else None
        return [lane for lane in (self._batch, self._realtime, giving_way) if lane is not None]

    def pause(self) -> None:
        self._paused = True
        for lane in self._lanes():
            lane.pause()

    def resume(self) -> None:
        self._paused = False
        for lane in self._lanes():
            lane.resume()

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self, reason: ev.StopReason = "interrupted", message: str = "stopped by the user") -> None:
        """End the run: requests in flight finish, live batches keep running at the provider (resume finds them)."""
        if self._stop is None:
            self._stop = ev.RunStopping(reason=reason, message=message, at=self.wall())
            self._emit(self._stop)
        self._relaying = True
        try:
            for lane in self._lanes():
                lane.stop(reason, message)
        finally:
            self._relaying = False

    def abandon(self) -> None:
        self.stop()
        for lane in self._lanes():
            lane.abandon()

    def cancel(self) -> None:
        """Cancel the live batches (what they finished is downloaded) and send nothing more."""
        if self._batch is not None and not self._left_batches:
            self._batch.cancel()  # its RunStopping stops the run, once what the batches finished is in
        else:
            self.stop("cancelled", "cancelled by the user")

    @property
    def stopping(self) -> bool:
        return self._stop is not None

    @property
    def draining(self) -> bool:
        return self._batch is not None and self._batch.draining

    def _lane_stopping(self, stopping: ev.RunStopping) -> None:
        """A lane stopped: by the plan (a switch, said as a LaneChanged), else on its own (the budget, an error)."""
        if self._switching or self._relaying:
            return  # a lane told to stop says so again: once is enough
        if self._stop is None:
            self._stop = stopping
            self._emit(stopping)
        self._relaying = True
        try:
            for lane in self._lanes():
                if not (lane.stopping or getattr(lane, "draining", False)):  # a draining lane ends by itself
                    lane.stop(stopping.reason, stopping.message)
        finally:
            self._relaying = False

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> ev.RunFinished:
        loop = asyncio.get_running_loop()
        anchor = self.wall() - loop.time()
        self.wall = lambda: anchor + loop.time()
        self.deadline = self._deadline_given or deadline_at(self.spec.deadline or "0s", self.wall())
        counts = self.ledger.counts()
        self._total = self.plan.estimate_total()
        self._emit(ev.RunStarted(
            project=self.project.name, model=self.spec.model, endpoint=self.spec.endpoint, mode="hybrid",
            resumed_done=counts["done"], resumed_failed=counts["failed"], total_known=self._total,
            at=self.wall()))
        self._tokens_per_request = self._sample_tokens()
        lane = first_lane(self._outlook(None))
        try:
            if lane == "batch":
                lane = await self._run_batches()
            if lane != "batch" and self._stop is None and self._remaining():
                await self._run_realtime(lane)
            if self._batch_task is not None:
                await self._batch_task  # cancelled batches not yet ended: what they finished is still recorded
            if self._left_batches:
                self._retire_unsent_parts()
        finally:
            for left in (self._batch_task, self._giving_way[1] if self._giving_way else None):
                if left is not None and not left.done():
                    left.cancel()
        return self._finish()

    def _sample_tokens(self) -> float:
        """Prompt and output tokens per request, over the first requests of the plan."""
        spec, total, n = self.spec, 0, 0
        try:
            for request in itertools.islice(RequestPlan(self.project), SAMPLE_REQUESTS):
                model = str(request.body.get("model") or spec.model)
                total += tokens.prompt_tokens(request.url, request.body, model)
                total += tokens.max_output_tokens(request.url, request.body, spec.limits.default_max_output_tokens)
                n += 1
        except UserError:
            pass  # a bad record: the lane that reaches it reports it, as in the other modes
        return total / n if n else float(spec.limits.default_max_output_tokens)

    # -- the batch lane -------------------------------------------------------------------

    async def _run_batches(self) -> Lane:
        """Run the batch lane until it ends or the plan moves on; returns the lane that takes the rest."""
        self._announce("batch", "the deadline leaves the batches time, with a realtime lane to fall back on")
        self._batch = batch_lane(self.project, self.client, self.gate.lane("batch"), self.ledger, self.only)
        self._batch.on_stray = self.gate.stray
        if self._paused:
            self._batch.pause()
        task = self._batch_task = asyncio.get_running_loop().create_task(self._batch.run())
        while not task.done():
            await asyncio.wait([task], timeout=self.settings.check_s)
            if task.done() or self._stop is not None:
                continue  # stopping: the lane ends its steps first
            lane = next_lane(self._outlook(self._batch_progress()), "batch")
            if lane != "batch":
                await self._leave_batches(lane, task)
                return lane
        self._batch_task = None
        await task  # a crash in the batch lane is the run's crash
        if self._stop is not None or not self._remaining():
            return "batch"
        # The batches ended with items left (a refused batch, lines given up on): realtime takes them.
        return realtime_lane_for(self._outlook(None), waiting_s=0.0)

    async def _leave_batches(self, lane: Lane, task: asyncio.Task) -> None:
        """Cancel the live batches and wait (at most `cancel_wait_s`) for what they finished."""
        assert self._batch is not None
        self._left_batches = True
        self._switching = True
        self._batch.cancel()
        self._switching = False
        done, _ = await asyncio.wait([task], timeout=self.settings.cancel_wait_s)
        if not done:
            self._emit(ev.Notice(
                f"the cancelled batches have not ended after {format_duration(self.settings.cancel_wait_s)}: their "
                f"items go to the {lane} lane now; an item both lanes answer is recorded once", "warning",
                at=self.wall()))
        else:
            self._batch_task = None
            await task

    def _retire_unsent_parts(self) -> None:
        """Parts the batch lane wrote but never made a batch of end as cancelled: their items moved on.

        Left as they are, a later run would upload and create them, and pay again for
        items realtime answered. Ended, they are read back like a cancelled batch: what is
        still theirs and unanswered goes round again.
        """
        now = self.wall()
        for part in self.ledger.parts():
            if part.phase in ("written", "uploading", "uploaded"):
                self.ledger.update(part, phase="ended", status="cancelled", ended_at=now, errors=[
                    {"code": "batch_cancelled", "line": None, "message": "hybrid mode moved its items to realtime"}])

    def _batch_progress(self) -> float | None:
        """When the live batches should end, from the progress this run has seen them make."""
        now, live = self.wall(), []
        for part in self.ledger.parts():
            if part.phase in ("downloaded", "ended"):
                continue
            if part.phase != "submitted" or part.status != "in_progress":
                return None  # a batch not yet running: no telling when it ends
            finished = part.completed + part.failed
            seen_at, seen_finished = self._watched.setdefault(part.part, (now, finished))
            live.append((now - seen_at, finished - seen_finished, (part.total or part.requests) - finished))
        return batch_eta_s(live)

    # -- the realtime lanes ---------------------------------------------------------------

    async def _run_realtime(self, lane: Lane) -> None:
        """Send what is not yet answered through `lane`; from flex, move to standard when flex falls behind.

        Flex requests in flight when flex gives way are let finish (an answer that comes
        back is paid for): standard leaves them alone, and sends only what flex does not
        answer, or all of them once waiting longer would miss the deadline.
        """
        while True:
            budget_left = self._budget_left()
            if budget_left is not None and budget_left <= 0:
                self.stop("budget", f"the spend has reached the cap of {money(self.spec.limits.max_cost_usd)}; "
                                    "raise limits.max_cost_usd to continue")
                await self._let_flex_finish()  # flex's requests in flight were paid for: their answers are kept
                return
            if lane != self.lane:
                self._announce(lane, self._reason_for(lane))
            withheld = self._withheld()
            self._realtime = realtime_lane(self.project, self.client, self.gate.lane(lane), lane,
                                           withheld or self._resume(), self.sender, budget_left=budget_left)
            if self._paused:
                self._realtime.pause()
            task = asyncio.get_running_loop().create_task(self._realtime.run())
            following = await self._follow(lane, task)
            if following != lane:
                self._giving_way = (self._realtime, task)
                self.gate.retiring.add(lane)
                lane = following
                continue
            await task
            # With items left alone, this lane did not see every item: its new keys would be a partial set.
            self.rekeyed = None if withheld else self._realtime.rekeyed
            self.scanned_every_line = withheld is None and self._realtime.scanned_every_line
            await self._let_flex_finish()
            if withheld is None or self._stop is not None or not self._remaining():
                return
            # Flex gave back some of what it had in flight unanswered: standard sends it now.

    def _withheld(self) -> Withheld | None:
        """What the next lane must leave alone: the requests a lane giving way still has in flight."""
        if self._giving_way is None:
            return None
        flex, task = self._giving_way
        if task.done():
            return None
        requests = flex.in_flight
        return Withheld.around(self._resume(), {r.input_key for r in requests}, {r.custom_id for r in requests})

    async def _follow(self, lane: Lane, task: asyncio.Task) -> Lane:
        """Watch a realtime lane to its end; from flex, leave for standard once flex's own latency says it is too slow.

        Flex is stopped then, not abandoned: what it has in flight may still answer.
        """
        started = self.wall()
        while not task.done():
            await asyncio.wait([task], timeout=self.settings.check_s)
            if task.done() or self._stop is not None or lane != "flex":
                continue
            outlook = self._outlook(None)
            pace = flex_pace_s(outlook.standard_s, remaining=outlook.remaining, concurrency=self.spec.limits.concurrency,
                               latency_s=self.gate.mean_latency_s(lane), waited_s=self.wall() - started,
                               least_s=self.settings.flex_latency_s)
            following = next_lane(replace(outlook, flex_s=pace), lane)
            if following != lane and self._realtime is not None:
                self._switching = True
                self._realtime.stop("interrupted", f"the {lane} lane gives way to {following}")
                self._switching = False
                return following
        return lane

    async def _let_flex_finish(self) -> None:
        """Wait for the flex requests still in flight while standard could still send them in time; else drop them.

        Dropped, they are sent through standard; one that was answered all the same is recorded once.
        """
        if self._giving_way is None:
            return
        flex, task = self._giving_way
        while not task.done():
            await asyncio.wait([task], timeout=self.settings.check_s)
            left = len(flex.in_flight)
            if task.done() or self._stop is not None or not left:
                continue
            time_left_s = (self.deadline - self.wall()) * (1 - self.settings.margin)
            if time_left_s > self._standard_s(left) + self.settings.check_s:
                continue
            flex.abandon()
            self._emit(ev.Notice(
                f"{counted(left, 'flex request')} still unanswered: sent through standard instead, to meet the "
                "deadline (an answer that comes anyway is recorded once)", "warning", at=self.wall()))
        await task
        self._giving_way = None

    def _budget_left(self) -> float | None:
        """The cap less what this run spent and what batches still live may yet cost."""
        cap = self.spec.limits.max_cost_usd
        if cap is None:
            return None
        live = sum(part.worst_cost_usd for part in self.ledger.parts() if part.phase in ("creating", "submitted"))
        if self._giving_way is not None and not self._giving_way[1].done():
            live += self._giving_way[0].in_flight_worst_cost
        return cap - self.gate.cost_usd - live

    def _reason_for(self, lane: Lane) -> str:
        left = format_duration(max(0.0, self.deadline - self.wall()))
        if lane == "flex":
            return f"{left} to the deadline: flex (batch prices) can still make it"
        return f"{left} to the deadline: only standard realtime can make it"

    def _announce(self, lane: Lane, reason: str) -> None:
        self.lane = lane
        remaining = self._remaining()
        self._emit(ev.LaneChanged(lane=lane, items=remaining, reason=reason, at=self.wall()))
        self._emit(ev.Notice(f"{counted(remaining, 'request')} now go through the {lane} lane: {reason}", "info",
                             at=self.wall()))

    # -- the forecast ---------------------------------------------------------------------

    def _remaining(self) -> int:
        counts = self.ledger.counts()
        recorded = sum(counts.values())
        unread = max(0, (self._total or recorded) - recorded)
        return counts["queued"] + counts["sent"] + unread

    def _outlook(self, batch_eta: float | None) -> Outlook:
        remaining = self._remaining()
        standard_s, flex_s = realtime_times(self._standard_s(remaining), remaining, self.spec.limits.concurrency,
                                            self.settings.flex_latency_s)
        return Outlook(time_left_s=self.deadline - self.wall(), remaining=remaining, standard_s=standard_s,
                       flex_s=flex_s if self._flex_usable() else None, batch_eta_s=batch_eta,
                       margin=self.settings.margin, cancel_wait_s=self.settings.cancel_wait_s,
                       check_s=self.settings.check_s, batch_min_s=self.settings.batch_min_s)

    def _standard_s(self, remaining: int) -> float:
        if remaining == 0:
            return 0.0
        seconds, _ = shortest_time_s(self.project, remaining, round(remaining * self._tokens_per_request))
        if seconds is None:  # no limits known before the first answer
            seconds = guessed_standard_s(remaining, self.spec.limits.concurrency)
        return seconds

    def _flex_usable(self) -> bool:
        """Flex only where the model is sold at flex (else the API refuses it), and if the project wants it."""
        price = self.prices.price(self.spec.model)
        return self.settings.flex and price is not None and price.for_tier("flex") is not None

    # -- finishing ------------------------------------------------------------------------

    def _finish(self) -> ev.RunFinished:
        counts = self.ledger.counts()
        pending = self._remaining()
        now = self.wall()
        if self._stop is not None:
            state, reason, message = "stopped", self._stop.reason, self._stop.message
            code = STOP_EXIT_CODES.get(reason, EXIT_STOPPED)
        else:
            state, reason = "finished", None
            message = "all requests answered" if not counts["failed"] else f"{counted(counts['failed'], 'request')} failed"
            code = EXIT_SOME_FAILED if counts["failed"] or pending else EXIT_OK
            late = now - self.deadline
            message += (f", {format_duration(late)} after the deadline" if late > 0
                        else f", {format_duration(-late)} before the deadline")
        if self.gate.duplicates:
            message += f"; {counted(self.gate.duplicates, 'duplicate answer')} discarded (paid for)"
        finished = ev.RunFinished(state=state, reason=reason, message=message, done=counts["done"],  # type: ignore[arg-type]
                                  failed=counts["failed"], pending=pending, cost_usd=self.gate.cost_usd,
                                  exit_code=code, at=now)
        self._emit(finished)
        return finished

