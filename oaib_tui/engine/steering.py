"""The engine contract: what every executor answers to, and the steering they share.

An executor runs one project's job (`run()`) and is steered while it runs:
`pause()`, `resume()`, `stop()`, `abandon()` and `cancel()`. The realtime and
the batch executors differ in how they send; how they are steered, how they
wait to be woken, how their events are timed and how a run ends is the same,
and lives here in :class:`Steering`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import openai

from .. import events as ev
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED
from ..pricing import PriceBook
from ..project import RequestPlan
from ..project.schema import LoadedProject
from ..wording import counted, money
from .alarm import Alarm
from .feed import RekeyedItems

Emit = Callable[[ev.Event], None]
MIN_SLEEP_S = 0.001
STOP_EXIT_CODES = {"interrupted": EXIT_INTERRUPTED, "cancelled": EXIT_INTERRUPTED}
CANCELLED = "cancelled: requests in flight finish, the rest stays queued for a resume"


class Executor(Protocol):
    """One project's job, run once and steered while it runs (from the run's own event loop)."""

    async def run(self) -> ev.RunFinished:
        """Run to the end or to a stop; the returned event is also the last one emitted."""
        ...

    def pause(self) -> None:
        """Start nothing new until `resume()`; what is under way goes on."""
        ...

    def resume(self) -> None: ...

    def stop(self, reason: ev.StopReason = "interrupted", message: str = "stopped by the user") -> None:
        """Send nothing more; what is under way is let finish (a resume carries on from there)."""
        ...

    def abandon(self) -> None:
        """Stop at once: what is under way is dropped, and sent again on resume."""
        ...

    def cancel(self) -> None:
        """Stop for good: batch mode also cancels its live batches at the provider."""
        ...

    @property
    def paused(self) -> bool: ...

    @property
    def stopping(self) -> bool:
        """Nothing new is started any more (stop or abandon)."""
        ...

    @property
    def draining(self) -> bool:
        """Nothing new is created, but what is live is followed to its end (a batch cancel)."""
        ...

    @property
    def rekeyed(self) -> RekeyedItems | None:
        """On the slow resume path, the new line keys of the finished items the run recognised."""
        ...

    @property
    def scanned_every_line(self) -> bool:
        """Whether the run read every line of the sources (so `rekeyed` covers them all)."""
        ...


@dataclass(frozen=True, slots=True)
class Ending:
    """How a run ends, before its counts are added: its state, why, in words, and the exit code."""

    state: Literal["finished", "stopped"]
    reason: ev.StopReason | None
    message: str
    exit_code: int


class Steering:
    """What the executors share: pause and resume, the stop they record, the wake-up their loops sleep on,
    the clock their events carry, and how a run's last event is made."""

    def __init__(self, project: LoadedProject, client: openai.AsyncOpenAI, emit: Emit, *,
                 wall_clock: Callable[[], float], rng: random.Random | None) -> None:
        self.project = project
        self.client = client
        self._emit = emit
        self.wall = wall_clock
        self.rng = rng or random.Random()
        self.plan = RequestPlan(project)
        self.prices = PriceBook.for_project(project.spec.pricing)
        self._paused = False
        self._stop: ev.RunStopping | None = None
        self._alarm = Alarm()

    # -- steering -------------------------------------------------------------------------

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._emit(ev.RunPaused(at=self.wall()))

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._emit(ev.RunResumed(at=self.wall()))
            self._poke()

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self, reason: ev.StopReason = "interrupted", message: str = "stopped by the user") -> None:
        """Send nothing more; let what is under way finish. The first stop is the one recorded."""
        if self._stop is None:
            self._record_stop(reason, message)
            self._poke()

    def cancel(self) -> None:
        """Where nothing lives on at the provider, cancelling is stopping."""
        self.stop("cancelled", CANCELLED)

    @property
    def stopping(self) -> bool:
        return self._stop is not None

    @property
    def draining(self) -> bool:
        return False

    def _record_stop(self, reason: ev.StopReason, message: str) -> None:
        self._stop = ev.RunStopping(reason=reason, message=message, at=self.wall())
        self._emit(self._stop)

    def _stop_over_budget(self, what: str, cap: float, spent: float) -> None:
        self.stop("budget", f"the next {what} could take the spend over the cap of {money(cap)} "
                            f"(spent {money(spent)}); raise limits.max_cost_usd to continue")

    # -- waking ---------------------------------------------------------------------------

    def _poke(self) -> None:
        self._alarm.poke()

    async def _sleep_until_poked(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - a wake-up, not a deadline
        # A wait shorter than the clock can tell apart would wake to the same instant, forever.
        await self._alarm.sleep(None if timeout is None else max(timeout, MIN_SLEEP_S))

    # -- the clock and the run's ends -----------------------------------------------------

    def _start_clock(self) -> asyncio.AbstractEventLoop:
        """From now on event times are wall-clock seconds that advance with the loop's clock:
        monotonic in a real run, and virtual under a test's virtual-time loop."""
        loop = asyncio.get_running_loop()
        self._now = loop.time
        anchor = self.wall() - loop.time()
        self.wall = lambda: anchor + loop.time()
        return loop

    def _announce_start(self, mode: str, resumed_done: int, resumed_failed: int, **extra: str) -> None:
        spec = self.project.spec
        self._emit(ev.RunStarted(
            project=self.project.name, model=spec.model, endpoint=spec.endpoint, mode=mode,
            resumed_done=resumed_done, resumed_failed=resumed_failed, total_known=self.plan.estimate_total(),
            at=self.wall(), **extra,
        ))

    def _warn_if_unpriced(self) -> None:
        spec = self.project.spec
        note = self.prices.unpriced_note(spec.model, budget_capped=spec.limits.max_cost_usd is not None)
        if note:
            self._emit(ev.Notice(note, "warning", at=self.wall()))

    def _ending(self, failed_here: int, failed_in_all: int) -> Ending:
        """Stopped, with the stop's reason; else finished, non-zero if anything of the job failed."""
        if self._stop is not None:
            reason = self._stop.reason
            return Ending("stopped", reason, self._stop.message, STOP_EXIT_CODES.get(reason, EXIT_STOPPED))
        message = "all requests answered" if not failed_here else f"{counted(failed_here, 'request')} failed"
        return Ending("finished", None, message, EXIT_SOME_FAILED if failed_in_all else EXIT_OK)

    def _finish_with(self, ending: Ending, *, done: int, failed: int, pending: int, cost_usd: float) -> ev.RunFinished:
        finished = ev.RunFinished(
            state=ending.state, reason=ending.reason, message=ending.message, done=done, failed=failed,
            pending=pending, cost_usd=cost_usd, exit_code=ending.exit_code, at=self.wall(),
        )
        self._emit(finished)
        return finished
