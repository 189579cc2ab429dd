"""`oaib-tui PROJECT --detach`: put every request into a batch at the provider, then leave.

The batch engine runs as usual, writing, uploading and creating batches. Once
every request that is not finished sits in a batch the provider holds, the
run stops the engine's way (live batches keep running remotely) and exits 0,
saying how to come back. `oaib-tui PROJECT` later re-attaches: it downloads
what finished and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, TextIO

from . import events as ev
from .batch.executor import BatchExecutor
from .errors import EXIT_OK, Problem, UserError
from .headless import HeadlessReporter
from .job import JobRun
from .lifecycle import Outputs, RunOptions, drive, in_background, run_to_end_sync
from .project.schema import LoadedProject
from .report import remote_batch_lines, summary
from .state.batches import read_parts

CHECK_INTERVAL_S = 0.5
NOT_CREATED_YET = ("written", "uploading", "uploaded", "creating")
HELD_REMOTELY = ("submitted", "ended")
"""Parts whose batch the provider holds (an ended one is downloaded by the next run)."""


def batches_hold_the_rest(engine: BatchExecutor) -> bool:
    """Every request not yet finished is in a batch the provider holds, and nothing is left to write."""
    if not engine.feeder.exhausted or engine.stopping or engine.draining:
        return False
    parts = engine.ledger.parts()
    if any(part.phase in NOT_CREATED_YET for part in parts):
        return False
    held = [part.part for part in parts if part.phase in HELD_REMOTELY]
    if not held:
        return False  # nothing remote to wait for: the run ends by itself
    counts = engine.ledger.counts()
    return counts["queued"] + counts["sent"] == engine.ledger.unfinished_count(held)


async def detach_when_held(job: JobRun, interval_s: float = CHECK_INTERVAL_S) -> bool:
    """Stop the run once the provider holds every unfinished request; True if it did."""
    while True:
        await asyncio.sleep(interval_s)
        engine = job.engine
        if isinstance(engine, BatchExecutor) and batches_hold_the_rest(engine):
            engine.stop("detached", "detached: the batches keep running at the provider")
            return True


class DetachingRun:
    """`--detach` as a front end of the run lifecycle: the headless progress line, and a watcher that
    stops the run once the provider holds every unfinished request."""

    def __init__(self, reporter: HeadlessReporter | None, out: TextIO | None = None) -> None:
        self.reporter = reporter
        self.out = out
        self.detached = False

    def handle(self, event: ev.Event) -> None:
        if self.reporter is not None:
            self.reporter.handle(event)

    def alongside(self, job: JobRun) -> Iterator[AbstractContextManager[Any]]:
        yield self._watching(job)
        if self.reporter is not None:
            yield self.reporter.ticking()

    @contextlib.contextmanager
    def _watching(self, job: JobRun) -> Iterator[None]:
        with in_background(detach_when_held(job)) as watcher:
            yield
        self.detached = watcher.done() and not watcher.cancelled() and watcher.result()

    def report(self, job: JobRun, finished: ev.RunFinished, outputs: Outputs | None) -> int:
        assert self.reporter is not None  # a run that reports has shown its progress
        print(detached_message(job, job.project) if self.detached else summary(job, finished, self.reporter.progress),
              file=self.out if self.out is not None else sys.stdout)
        return EXIT_OK if self.detached else finished.exit_code


async def run_until_detached(job: JobRun, reporter: HeadlessReporter | None = None) -> tuple[ev.RunFinished, bool]:
    """Run the job until it detaches or ends by itself; returns the last event and whether it detached."""
    front = DetachingRun(reporter)
    finished = await drive(job, front)
    return finished, front.detached


def refuse_unless_batch(project: LoadedProject) -> None:
    if project.spec.mode != "batch":
        raise UserError("--detach needs batch mode", [Problem(
            f"`mode` is `{project.spec.mode}`: a realtime job sends its requests from this process, so it cannot leave",
            file=str(project.path), key="mode", hint="set `mode: batch` to run through the Batch API")])


def refuse_in_process_simulator(project: LoadedProject) -> None:
    """The in-process simulator lives and dies with this process, and its batches with it."""
    provider = project.spec.provider
    if provider.kind == "simulator" and not provider.base_url:
        raise UserError("--detach needs a provider that outlives this process", [Problem(
            "`provider.kind` is `simulator` without a `base_url`: the simulator runs inside this process, so its "
            "batches would end when --detach exits", file=str(project.path), key="provider.kind",
            hint="serve it with `oaib-tui sim --port 8000` and set `provider.base_url: http://127.0.0.1:8000/v1`, "
                 "or run without --detach")])


def run_detached(project: LoadedProject, *, fresh: bool = False, retry_failed: bool = False,
                 out: TextIO | None = None, http_client=None) -> int:
    """`--detach`: create the batches, record them, say how to come back; returns the exit code.

    `http_client` is a transport the caller keeps alive (tests hand an in-process simulator's).
    """
    refuse_unless_batch(project)
    if http_client is None:
        refuse_in_process_simulator(project)
    front = DetachingRun(HeadlessReporter(out), out)
    return run_to_end_sync(project, front, RunOptions(fresh=fresh, retry_failed=retry_failed, http_client=http_client))


def detached_message(job: JobRun, project: LoadedProject) -> str:
    """What `--detach` prints on leaving: the batches, and the commands to come back, check and cancel."""
    parts = [part for part in read_parts(job.store) if part.phase in HELD_REMOTELY]
    quoted = shlex.quote(str(project.path))
    lines = [f"Detached: {len(parts):,} batch{'es' if len(parts) != 1 else ''} at the provider hold every "
             "request not yet answered; nothing runs here any more."]
    lines += remote_batch_lines(read_parts(job.store))
    lines += [
        f"Come back with:  oaib-tui {quoted}             (downloads what finished and carries on)",
        f"Check on them:   oaib-tui status {quoted} --remote",
        f"Cancel them:     oaib-tui cancel {quoted}",
    ]
    return "\n".join(lines)
