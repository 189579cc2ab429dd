"""The batch engine: a project's job through the Batch API, at the batch price, resumable at any point.

Requests stream from the sources into part files (one endpoint and model per
part, within `batch.max_requests` and `batch.max_bytes`), written and uploaded
one at a time. Each part then makes its own journey (:mod:`.batch_part`):
upload, create, poll, download, clean up. Items a batch did not finish go into
new parts (or to the realtime engine) until `limits.max_retries` rounds are
spent. The state file records every step, so the same command resumes the job
after any stop, re-attaching to the batches still live at the provider.

Steering: stop() ends the run at the next step and leaves live batches running
remotely; abandon() ends it at once; cancel() cancels the batches remotely and
ends the run once what they finished is downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace

import openai

from .. import events as ev
from ..engine.realtime import RealtimeExecutor
from ..engine.resume import OnlyThese
from ..engine.retry import refusal_reason
from ..engine.steering import Steering
from ..errors import EXIT_SOME_FAILED
from ..parts import TERMINAL_STATUSES, Part
from ..project.schema import LoadedProject
from ..wording import counted
from .download import PartDownload
from .fallback import realtime_engine
from .feed import PartFeeder
from .gate import TokenGate
from .journey import PartJourney, StepAborted, remote_call, upload_name
from .ledger import PartLedger
from .remote import BatchRemote, RemoteError
from .writer import WrittenPart

PARTS_AHEAD = 2
"""Parts written but not yet uploaded, at most: what bounds the disk and memory a huge job takes."""


class BatchExecutor(Steering):
    """Runs one project's job in batch mode. Steer it with pause(), resume(), stop(), abandon() and cancel()."""

    def __init__(self, project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
                 ledger: PartLedger, *, wall_clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, only: OnlyThese | None = None) -> None:
        self._emit_to = emit
        super().__init__(project, client, self.emit, wall_clock=wall_clock, rng=rng)
        self.only = only
        """Send only these items (`retry failed`), not everything the state file leaves to do."""
        self.spec = project.spec
        self.ledger = ledger
        self.remote = BatchRemote(client, lambda: self.wall())
        self.gate = TokenGate(project.spec.batch.max_enqueued_tokens, closed=lambda: self._halt or self._draining)
        self.upload_lock = asyncio.Lock()
        self._download_lock = asyncio.Lock()
        self.token = ""
        self.cost_usd = 0.0
        self.rekeyed = None  # JobRun's fingerprint adoption is the realtime engine's business
        self.scanned_every_line = False
        self._journeys: dict[int, asyncio.Task] = {}
        self._leftovers: list[Part] = []
        self._done_before = 0
        """Done items the state file held when this run started."""
        self._to_realtime: list[Part] = []
        self.reasons: dict[int, str] = {}
        self._not_uploaded = 0
        self.numbers: Iterator[int] = iter(())
        self.feeder = PartFeeder(self)
        self._halt = False
        self._draining = False
        self._realtime: RealtimeExecutor | None = None
        self._crash: BaseException | None = None
        self._cancelling: asyncio.Task | None = None
        self._halted = asyncio.Event()
        self.on_stray: Callable[[ev.RequestSucceeded], None] | None = None
        """Hybrid mode: told of a batch's answer for an item moved out of its part (seq -1)."""

    # -- steering (pause writes and creates nothing new; live batches are still followed) --

    def stop(self, reason: ev.StopReason = "interrupted", message: str = "stopped by the user") -> None:
        """End the run after the step each part is taking; live batches keep running at the provider."""
        if self._stop is None or self._draining:
            self._record_stop(reason, message)
        self._halt = True
        self._halted.set()
        self.gate.poke()
        self._poke()
        if self._realtime is not None:
            self._realtime.stop(reason, message)

    def abandon(self) -> None:
        """Stop at once: steps under way are dropped (each is found again, or redone, on resume)."""
        self.stop()
        for task in list(self._journeys.values()):
            task.cancel()
        if self._realtime is not None:
            self._realtime.abandon()

    def cancel(self) -> None:
        """Cancel the project's live batches at the provider; the run ends once what they finished is downloaded."""
        if self._cancelling is None and not self._halt:
            self._drain("cancelled", "cancelling the batches: what they finished is still downloaded")
            self._cancelling = asyncio.get_running_loop().create_task(self._cancel_live())

    @property
    def stopping(self) -> bool:
        """No step is started any more (stop or abandon)."""
        return self._halt

    @property
    def draining(self) -> bool:
        """No batch is created any more, but live ones are followed to their end (cancel)."""
        return self._draining

    def _drain(self, reason: ev.StopReason, message: str) -> None:
        if not self._draining and not self._halt:
            self._draining = True
            self._record_stop(reason, message)
            self.gate.poke()
            self._poke()

    async def _cancel_live(self) -> None:
        for part in self.ledger.parts():
            if part.phase == "submitted" and part.batch_id and part.status not in TERMINAL_STATUSES:
                try:
                    await remote_call(self, "cancel batch", lambda: self.remote.cancel(part.batch_id or ""))  # noqa: B023 - awaited in this iteration
                except RemoteError as error:  # it ended meanwhile
                    self.emit(ev.Notice(f"could not cancel {part.batch_id}: {error}", "info", at=self.wall()))
                except StepAborted:
                    return

    # -- what journeys ask of the engine --------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        if isinstance(event, ev.RequestSucceeded):
            self.cost_usd += event.cost_usd or 0.0
        self._emit_to(event)

    async def sleep(self, seconds: float) -> None:
        """Wait, but not past a stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halted.wait(), seconds)

    async def until_resumed(self) -> None:
        while self._paused and not self._halt:
            await self._sleep_until_poked()

    def stop_for(self, outcome_reason: str, message: str) -> None:
        self.stop(refusal_reason(outcome_reason), f"the provider refused ({message}); fix it")

    def budget_allows(self, part: Part) -> bool:
        cap = self.spec.limits.max_cost_usd
        if cap is None:
            return True
        # Live batches may yet cost up to their worst, whichever run created them.
        if self.cost_usd + self.ledger.worst_cost_live(besides=part.part) + part.worst_cost_usd > cap:
            self._stop_over_budget("batch", cap, self.cost_usd)
            return False
        return True

    def cancel_seen(self, part: Part) -> None:
        self._drain("cancelled", f"batch {part.batch_id} was cancelled: what the batches finished is downloaded, "
                                 "the rest waits for the next run")

    def part_uploaded(self, part: Part) -> None:
        self._not_uploaded = max(0, self._not_uploaded - 1)
        self._poke()

    async def download(self, part: Part) -> Part:
        give_up = part.round > self.spec.limits.max_retries and self.spec.batch.on_expired != "realtime"
        download = PartDownload(self, part, self.prices, round_=part.round, give_up=give_up)
        async with self._download_lock:  # mapping lines is CPU work: one part at a time, each committed whole
            part = await download.run()
        if download.reasons:
            self.reasons[part.part] = download.reasons.most_common(1)[0][0]
        return part

    def stray_answer(self, answer: ev.RequestSucceeded) -> None:
        if self.on_stray is not None:
            self.on_stray(answer)

    def part_done(self, part: Part) -> None:
        if not (self._halt or self._draining) and self.ledger.unfinished_count([part.part]):
            (self._to_realtime if self.spec.batch.on_expired == "realtime" else self._leftovers).append(part)
        self._poke()

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> ev.RunFinished:
        self._start_clock()
        counts = self.ledger.counts()
        self._done_before = counts["done"]
        self._announce_start("batch", counts["done"], counts["failed"])
        self._warn_if_unpriced()
        self.token = self.ledger.token()
        self.ledger.forget_orphans()
        self.numbers = itertools.count(self.ledger.next_part_number())
        self._reattach(self.ledger.parts())
        try:
            await self._feed()
            await self._end_journeys()
            if self._cancelling is not None:
                await self._cancelling
            if self._to_realtime and not (self._halt or self._draining):
                await self._run_realtime()
        finally:
            self.feeder.discard()
            for task in self._journeys.values():
                task.cancel()
        if self._crash is not None:
            raise self._crash
        return self._finish()

    def _reattach(self, parts: list[Part]) -> None:
        """Carry on with the parts earlier runs left: live batches are followed, ended ones downloaded."""
        for part in parts:
            if part.phase == "downloaded":
                self.part_done(part)
                continue
            if part.batch_id:
                self._announce(part, part.batch_id)
            if part.phase == "submitted":
                self.gate.hold(part.model, part.tokens)
            if part.phase in ("written", "uploading"):
                self._not_uploaded += 1
            self._start(part)

    def _announce(self, part: Part, batch_id: str) -> None:
        """Tell the listeners of this run about a batch an earlier run created."""
        now = self.wall()
        self.emit(ev.BatchCreated(batch_id=batch_id, part=part.part, input_file_id=part.input_file_id or "",
                                  requests=part.requests, expires_at=part.expires_at, at=now))
        if part.status:
            self.emit(ev.BatchStatusChanged(batch_id=batch_id, status=part.status, at=now))  # type: ignore[arg-type]
        if part.total:
            self.emit(ev.BatchCountsChanged(batch_id=batch_id, total=part.total, completed=part.completed,
                                            failed=part.failed, at=now))

    def _start(self, part: Part) -> None:
        task = asyncio.get_running_loop().create_task(PartJourney(self, part).run())
        self._journeys[part.part] = task

        def ended(task: asyncio.Task) -> None:
            self._journeys.pop(part.part, None)
            if not task.cancelled() and task.exception() is not None:  # a bug: stop, then show it
                self._crash = self._crash or task.exception()
                self.stop("error", f"part {part.part}: {task.exception()!r}")
            self._poke()

        task.add_done_callback(ended)

    async def _feed(self) -> None:
        """Write parts (leftovers first, then fresh requests) until there is nothing left to write or wait for."""
        while not self._halt:
            if self._paused:
                await self._sleep_until_poked()
            elif self._leftovers and not self._draining:
                parts, self._leftovers = self._leftovers, []
                await self.feeder.write_leftovers(parts)
            elif not self.feeder.exhausted and not self._draining:
                await self.feeder.write_fresh()
            elif not self._journeys:
                return
            else:
                await self._sleep_until_poked()

    async def _end_journeys(self) -> None:
        journeys = list(self._journeys.values())
        if journeys:
            await asyncio.gather(*journeys, return_exceptions=True)

    # -- parts --------------------------------------------------------------------------

    async def submit(self, written: WrittenPart, move: list[str] | None = None, round_: int = 1) -> None:
        """Record a complete part, start its journey, and hold the writer while too many wait for their upload."""
        part = Part(part=written.number, model=written.model, url=written.url, requests=written.requests,
                    bytes=written.bytes, tokens=written.tokens, worst_cost_usd=written.worst_cost_usd,
                    filename=upload_name(self.project.name, self.token, written.number), phase="written",
                    round=round_, local_path=str(written.path))
        self.ledger.add(part, move or ())
        self._not_uploaded += 1
        self._start(part)
        while self._not_uploaded >= PARTS_AHEAD and not self._halt:
            await self._sleep_until_poked()

    def resubmit_reason(self, parts: list[Part]) -> str:
        """Why these parts' unfinished items go round again: the commonest reason among them."""
        return Counter(self.reasons.get(p.part, p.status or "unfinished") for p in parts).most_common(1)[0][0]

    async def _run_realtime(self) -> None:
        parts, self._to_realtime = self._to_realtime, []
        keys, ids = self.ledger.unfinished_items(p.part for p in parts)
        if self.only is not None:  # `retry failed`: what a cancel left waits for the next run
            ids &= self.only.ids
            keys &= self.only.keys or set()
        if not ids:
            return
        reason = self.resubmit_reason(parts)
        self.emit(ev.BatchResubmitted(items=len(ids), reason=reason, to="realtime", at=self.wall()))
        fast = self.ledger.fingerprint_matches(self.plan.fingerprint)
        self._realtime = realtime_engine(self.project, self.client, self.emit, OnlyThese.of(keys if fast else None, ids))
        finished = await self._realtime.run()
        if finished.state == "stopped" and self._stop is None:
            self._stop = ev.RunStopping(reason=finished.reason or "error", message=finished.message, at=self.wall())

    # -- finishing ------------------------------------------------------------------------

    def _finish(self) -> ev.RunFinished:
        counts = self.ledger.counts()
        live = sum(1 for p in self.ledger.parts() if p.live)
        pending = counts["queued"] + counts["sent"]
        ending = self._ending(counts["failed"], counts["failed"])
        if ending.state == "stopped" and live:
            ending = replace(ending, message=f"{ending.message}; {counted(live, 'batch')} still running at the provider")
        elif ending.state == "finished" and self.only is not None and pending:  # `retry failed` sent only the failed ones
            ending = replace(ending, exit_code=EXIT_SOME_FAILED, message=(
                f"retried: {counts['done'] - self._done_before:,} answered, {counts['failed']:,} failed; "
                f"{counted(pending, 'request')} left to do stay for the next run"))
        return self._finish_with(ending, done=counts["done"], failed=counts["failed"],
                                 pending=pending, cost_usd=self.cost_usd)

