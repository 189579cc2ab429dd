"""One run of a project, from start to report, the same for every front end.

start (open the state file: a :class:`~oaib_tui.job.JobRun` with the front end's consumers)
→ drive (run the job, with what the front end keeps going beside it: a progress ticker, signal
handlers, a watcher) → write the output files → summarise (the front end's own report).

`--no-ui`, `--detach` and the Python API run it whole (:func:`run_to_end`); the dashboard drives
its run from its own thread and app, and shares the start (:meth:`RunOptions.open`) and the end
(:func:`conclude`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx2
import openai

from . import events as ev
from .job import JobRun
from .project.schema import LoadedProject

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Consumer = Callable[[ev.Event], None]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How a run opens the project: what every front end's `run` is asked for."""

    fresh: bool = False
    """Start over: the old state file is kept as a backup."""
    retry_failed: bool = False
    """Send exactly the requests that failed before."""
    http_client: httpx2.AsyncClient | None = None
    """A transport the caller keeps alive (tests hand an in-process simulator's)."""
    client: openai.AsyncOpenAI | None = None
    """A ready SDK client to send with (the Python API's `client=`)."""

    def open(self, project: LoadedProject, consumers: Sequence[Consumer] = ()) -> JobRun:
        """Start: open the state file (taking its lock) for a run whose events go to `consumers`."""
        return JobRun(project, fresh=self.fresh, http_client=self.http_client, consumers=list(consumers),
                      retry_failed=self.retry_failed, client=self.client)


@dataclass(frozen=True, slots=True)
class Outputs:
    """The output files a run wrote."""

    results: Path
    errors: Path


class FrontEnd(Protocol[T_co]):
    """How one front end takes part in a run: what it consumes, keeps going beside it, and reports."""

    def handle(self, event: ev.Event) -> None:
        """Every event of the run, recorded first (see `JobRun`)."""
        ...

    def alongside(self, job: JobRun) -> Iterable[AbstractContextManager[Any]]:
        """What runs while the job does (entered on its event loop, left when the run ends)."""
        ...

    def report(self, job: JobRun, finished: ev.RunFinished, outputs: Outputs | None) -> T_co:
        """Summarise the run that ended (its outputs written, unless the front end keeps none)."""
        ...


@contextlib.contextmanager
def in_background(work: Coroutine[Any, Any, T]) -> Iterator[asyncio.Task[T]]:
    """`work` as a task of the running loop for as long as the block lasts."""
    task = asyncio.get_running_loop().create_task(work)
    try:
        yield task
    finally:
        task.cancel()


async def drive(job: JobRun, front: FrontEnd[Any]) -> ev.RunFinished:
    """Run the job to its end (or its stop) with the front end's company entered around it, on this loop."""
    with contextlib.ExitStack() as stack:
        for context in front.alongside(job):
            stack.enter_context(context)
        return await job.run()


def conclude(job: JobRun, finished: ev.RunFinished, report: Callable[[JobRun, ev.RunFinished, Outputs | None], T],
             *, writes_outputs: bool = True) -> T:
    """Write the output files (unless the front end keeps none), then let the front end report."""
    outputs = Outputs(*job.write_outputs()) if writes_outputs else None
    return report(job, finished, outputs)


async def run_to_end(project: LoadedProject, front: FrontEnd[T], options: RunOptions, *,
                     extra_consumers: Sequence[Consumer] = (), writes_outputs: bool = True) -> T:
    """The whole lifecycle on the running loop: start, drive, write the outputs, report; the state file
    is closed whatever happens."""
    job = options.open(project, [front.handle, *extra_consumers])
    try:
        finished = await drive(job, front)
        return conclude(job, finished, front.report, writes_outputs=writes_outputs)
    finally:
        job.close()


def run_to_end_sync(project: LoadedProject, front: FrontEnd[T], options: RunOptions,
                    opened: Callable[[JobRun], None] | None = None) -> T:
    """`run_to_end` for a command line: the state file is opened (and a refusal raised) before the event
    loop starts, `opened` is told of it, and the loop runs just the drive."""
    job = options.open(project, [front.handle])
    try:
        if opened is not None:
            opened(job)
        finished = asyncio.run(drive(job, front))
        return conclude(job, finished, front.report)
    finally:
        job.close()
