"""A run as the dashboard drives it: events queued for the app, steering, retrying failed items.

No Textual here. The engine's events land in a deque (appending is all a
consumer may cost the engine); the app drains it on a timer.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from ..engine import events as ev
from ..job import JobRun
from ..state import Totals

CANCEL_MESSAGE = "cancelled from the dashboard: requests in flight finish, the rest stays queued for a resume"
QUIT_MESSAGE = "quit from the dashboard: requests in flight finish; run the same command to resume"


class RunSession:
    """Owns a :class:`JobRun` (and its state file) until `close()`."""

    def __init__(self, job: JobRun, reopen: Callable[[], JobRun] | None = None) -> None:
        """`reopen` opens the same project again with its failed items queued (for "retry failed")."""
        self.job = job
        self._reopen = reopen
        self.events: deque[ev.Event] = deque()
        job.consumers.append(self.events.append)
        self.finished: ev.RunFinished | None = None
        self.running = False

    def drain(self) -> list[ev.Event]:
        """Every event since the last drain, oldest first."""
        events, popleft = self.events, self.events.popleft
        return [popleft() for _ in range(len(events))]

    def earlier_totals(self) -> Totals:
        """What the state file holds before a run starts: the earlier runs' tokens and spend."""
        return self.job.store.totals()

    async def run(self) -> ev.RunFinished:
        """Run the job to its end (or its stop); the dashboard runs this as a worker."""
        self.running, self.finished = True, None
        try:
            self.finished = await self.job.run()
            return self.finished
        finally:
            self.running = False

    # -- steering -------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return bool(self.job.engine and self.job.engine.paused)

    @property
    def stopping(self) -> bool:
        return bool(self.job.engine and self.job.engine.stopping)

    def pause(self) -> None:
        if self.job.engine is not None:
            self.job.engine.pause()

    def resume(self) -> None:
        if self.job.engine is not None:
            self.job.engine.resume()

    def cancel(self) -> None:
        """Stop for good: the job's own cancel hook if it has one (batch mode cancels its remote batches)."""
        hook = _hook(self.job, "cancel") or _hook(self.job.engine, "cancel")
        if hook is not None:
            hook()
        elif self.job.engine is not None:
            self.job.engine.stop("cancelled", CANCEL_MESSAGE)

    def stop(self) -> None:
        """Send nothing more; requests in flight finish (what quitting does first)."""
        if self.job.engine is not None:
            self.job.engine.stop("interrupted", QUIT_MESSAGE)

    def abandon(self) -> None:
        """Stop now; requests in flight are cancelled and sent again on resume."""
        if self.job.engine is not None:
            self.job.engine.abandon()

    @property
    def can_retry_failed(self) -> bool:
        return not self.running and self._reopen is not None

    def retry_failed(self) -> None:
        """Reopen the project with its failed items queued again; `run()` then sends them."""
        if not self.can_retry_failed:
            raise RuntimeError("failed items can be retried only between runs")
        assert self._reopen is not None
        self.job.close()
        self.job = self._reopen()
        self.job.consumers.append(self.events.append)
        self.finished = None

    def detail(self, custom_id: str) -> dict[str, Any] | None:
        return self.job.store.item(custom_id)

    def close(self) -> None:
        self.job.close()


def _hook(owner: object, name: str) -> Callable[[], Any] | None:
    hook = getattr(owner, name, None) if owner is not None else None
    return hook if callable(hook) else None
