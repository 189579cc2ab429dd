"""A run as the dashboard drives it: the job in its own thread, its events queued for the app,
steering, and retrying failed items.

No Textual here. The engine's events land in a deque (appending is all a
consumer may cost the engine); the app drains it on a timer. The job, and its
state file, live in an :class:`~oaib_tui.ui.engine_thread.EngineThread`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Any, TypeVar

from .. import events as ev
from ..job import JobRun
from ..state import Totals
from .answers import item_preview
from .engine_thread import EngineThread
from .rows import EarlierRows

T = TypeVar("T")
CANCEL_MESSAGE = "cancelled from the dashboard: requests in flight finish, the rest stays queued for a resume"
QUIT_MESSAGE = "quit from the dashboard: requests in flight finish; run the same command to resume"
ABANDON_WAIT_S = 10.0
EARLIER_CHUNK = 50_000
"""Rows of earlier runs handed to the app at a time: one chunk is copied in within a few milliseconds."""


class RunSession:
    """Owns a :class:`JobRun` (and its state file) until `close()`."""

    def __init__(self, open_job: Callable[[], JobRun], reopen: Callable[[], JobRun] | None = None) -> None:
        """`open_job` opens the project (in the job's thread; what it raises is raised here, before any
        screen opens); `reopen` opens it again with its failed items queued ("retry failed")."""
        self.events: deque[ev.Event] = deque()
        self._reopen = reopen
        self._thread = EngineThread()
        try:
            self.job = self._thread.call(lambda: self._adopt(open_job()))
        except BaseException:
            self._thread.stop()
            raise
        self.finished: ev.RunFinished | None = None
        self.running = False
        self._run_future: concurrent.futures.Future[ev.RunFinished] | None = None
        self.loads_earlier = True
        """The next run first hands over the rows earlier runs finished (only the session's first run does)."""
        self._early_calls: list[tuple[str, tuple]] = []

    def _adopt(self, job: JobRun) -> JobRun:
        job.consumers.append(self.events.append)
        return job

    def call(self, work: Callable[[], T]) -> T:
        """Run `work()` where the job lives (anything that reads the state file must)."""
        return self._thread.call(work)

    def drain(self) -> list[ev.Event]:
        """Every event since the last drain, oldest first."""
        popleft = self.events.popleft
        return [popleft() for _ in range(len(self.events))]

    def earlier_totals(self) -> Totals:
        """What the state file holds before a run starts: the earlier runs' tokens and spend."""
        return self.call(self.job.store.totals)

    async def run(self) -> ev.RunFinished:
        """Run the job to its end (or its stop) in its thread; awaited by the dashboard's worker."""
        self.running, self.finished = True, None
        load_earlier, self.loads_earlier = self.loads_earlier, False
        self._run_future = self._thread.run(self._run_job(load_earlier))
        try:
            finished = await asyncio.wrap_future(self._run_future)
            self.finished = finished
            return finished
        finally:
            self.running = False

    async def _run_job(self, load_earlier: bool) -> ev.RunFinished:
        if load_earlier:
            await self._load_earlier()
        run = asyncio.ensure_future(self.job.run())
        ready = asyncio.ensure_future(self.job.engine_ready.wait())
        await asyncio.wait((run, ready), return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        self._apply_early_calls()
        return await run

    def _apply_early_calls(self) -> None:
        """Steering asked for before the engine existed (keys pressed while earlier rows loaded)."""
        engine = self.job.engine
        calls, self._early_calls = self._early_calls, []
        for name, args in calls:
            if engine is not None:
                getattr(engine, name)(*args)

    async def _load_earlier(self) -> None:
        """Queue the rows earlier runs finished, in chunks, ahead of every event of the run.

        Coming first, they are in the list before the job queues anything, so an item it sends
        again finds its row and starts it over instead of adding a second one.
        """
        rows = self.job.store.iter_rows()
        while True:
            chunk = list(islice(rows, EARLIER_CHUNK))
            more = len(chunk) == EARLIER_CHUNK
            self.events.append(EarlierRows.from_rows(chunk, more=more))  # type: ignore[arg-type]
            if not more:
                return
            await asyncio.sleep(0)  # steering calls and detail reads get their turn

    # -- steering -------------------------------------------------------------------------

    def _engine_call(self, name: str, *args: Any) -> None:
        self._thread.loop.call_soon_threadsafe(self._call_or_remember, name, args)

    def _call_or_remember(self, name: str, args: tuple) -> None:
        """On the job's loop: call the engine, or, not built yet, remember the call for when it is."""
        engine = self.job.engine
        if engine is None or self._early_calls:  # behind remembered calls: keep the order
            self._early_calls.append((name, args))
        else:
            getattr(engine, name)(*args)

    @property
    def paused(self) -> bool:
        return bool(self.job.engine and self.job.engine.paused)

    @property
    def stopping(self) -> bool:
        return bool(self.job.engine and self.job.engine.stopping)

    def pause(self) -> None:
        self._engine_call("pause")

    def resume(self) -> None:
        self._engine_call("resume")

    def cancel(self) -> None:
        """Stop for good: the engine's own cancel if it has one (batch mode cancels its remote batches)."""
        engine = self.job.engine
        if callable(getattr(engine, "cancel", None)):
            self._engine_call("cancel")
        else:
            self._engine_call("stop", "cancelled", CANCEL_MESSAGE)

    def stop(self) -> None:
        """Send nothing more; requests in flight finish (what quitting does first)."""
        self._engine_call("stop", "interrupted", QUIT_MESSAGE)

    def abandon(self) -> None:
        """Stop now; requests in flight are cancelled and sent again on resume."""
        self._engine_call("abandon")

    @property
    def can_retry_failed(self) -> bool:
        return not self.running and self._reopen is not None

    def retry_failed(self) -> None:
        """Reopen the project with its failed items queued again; `run()` then sends them."""
        if not self.can_retry_failed:
            raise RuntimeError("failed items can be retried only between runs")
        assert self._reopen is not None
        reopen = self._reopen

        def swap() -> JobRun:
            self.job.close()
            return self._adopt(reopen())

        self.job = self.call(swap)
        self.finished = None

    async def detail(self, custom_id: str) -> dict[str, Any] | None:
        """Everything the state file knows of one request (read in the job's thread)."""
        return await self._thread.call_async(lambda: self.job.store.item(custom_id))

    async def previews(self, custom_ids: list[str]) -> dict[str, str]:
        """One line of each request's answer or error, as the state file has them (read in the job's thread)."""
        return await self._thread.call_async(lambda: {custom_id: item_preview(self.job.store.item(custom_id))
                                                      for custom_id in custom_ids})

    def close(self) -> None:
        """Abandon a run still going, close the state file, end the thread; safe to call twice."""
        if not self._thread.alive:
            return
        if self._run_future is not None and not self._run_future.done():
            self.abandon()
            # The run's own error was reported already; closing must go on whatever it was.
            with contextlib.suppress(BaseException):
                self._run_future.result(ABANDON_WAIT_S)
        try:
            self.call(self.job.close)
        finally:
            self._thread.stop()
