"""`--no-ui`: a progress line while the job runs, a summary when it ends.

On a terminal the line is redrawn in place twice a second; otherwise (a log
file, CI) a plain line is printed every few seconds. The reporter is just
another consumer of the engine's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, TextIO

from . import events as ev
from .job import JobRun
from .lifecycle import Outputs, RunOptions, in_background, run_to_end_sync
from .limiting import what_limits
from .progress import Progress
from .project.schema import LoadedProject
from .report import run_report
from .wording import format_duration, money

TTY_INTERVAL_S = 0.5
PLAIN_INTERVAL_S = 5.0


def _money(value: float, known: bool = True) -> str:
    return money(value if known else None)


def _against(value: float, limit: float | None) -> str:
    return f"{value:,.0f}" + (f"/{limit:,.0f}" if limit else "")


def status_line(p: Progress) -> str:
    if p.mode == "hybrid":
        return f"lane {p.lane or '—'} │ " + (batch_status_line(p) if p.lane == "batch" else realtime_status_line(p))
    if p.mode == "batch":
        return batch_status_line(p)
    return realtime_status_line(p)


def realtime_status_line(p: Progress) -> str:
    rpm, tpm = p.per_minute()  # used over the last minute, as the server counts it
    rpm_limit = p.limits.rpm_limit if p.limits else None
    tpm_limit = p.limits.tpm_limit if p.limits else None
    total = f"/{p.total:,}" if p.total is not None else ""
    parts = [
        f"{p.run_state():<12}",
        f"done {p.done_total:,}{total}",
        f"failed {p.failed_total:,}",
        f"in flight {p.in_flight}",
        f"retrying {p.retrying}",
        f"RPM {_against(rpm, rpm_limit)}",
        f"TPM {_against(tpm, tpm_limit)}",
        f"spend {_money(p.cost_usd, p.cost_known)}",
        _eta(p),
    ]
    limited_by = what_limits(p)
    if limited_by:
        parts.append(limited_by)
    return " │ ".join(parts)


def _eta(p: Progress) -> str:
    eta = p.eta_s()
    return f"ETA {format_duration(eta) if eta is not None else '—'}"


def batch_status_line(p: Progress) -> str:
    """Batch mode: the batches by status and the items in them, instead of rates."""
    by_status = Counter(batch.status for batch in p.batches.values())
    waiting = sum(max(0, b.total - b.completed - b.failed) for b in p.batches.values() if not b.is_final)
    total = f"/{p.total:,}" if p.total is not None else ""
    parts = [
        f"{p.run_state():<12}",
        "batches " + (", ".join(f"{n} {status}" for status, n in by_status.items()) or "none yet"),
        f"done {p.done_total:,}{total}",
        f"failed {p.failed_total:,}",
        f"in batches {waiting:,}",
        f"spend {_money(p.cost_usd, p.cost_known)}",
        _eta(p),
    ]
    return " │ ".join(parts)


class LiveLine:
    """One status line on a text stream: redrawn in place on a terminal, else printed as a new line each time."""

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self.out, self.interactive = out, interactive
        self._width = 0

    def show(self, line: str) -> None:
        if not self.interactive:
            self.println(line)
            return
        self.out.write("\r" + line + " " * max(0, self._width - len(line)))
        self._width = len(line)
        self.out.flush()

    def println(self, text: str) -> None:
        """A line of its own, above the status line (which the next `show` draws again)."""
        if self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.out.write(text + "\n")
        self.out.flush()

    def end(self) -> None:
        """Leave the status line as it is and move below it."""
        if self._width:
            self.out.write("\n")
            self._width = 0
        self.out.flush()


class HeadlessReporter:
    """Prints progress for one run; `handle` is its event consumer."""

    def __init__(self, out: TextIO | None = None, interactive: bool | None = None) -> None:
        self.out = out if out is not None else sys.stderr  # looked up now: the caller may have replaced it
        self.interactive = self.out.isatty() if interactive is None else interactive
        self.progress = Progress()
        self.line = LiveLine(self.out, self.interactive)

    def handle(self, event: ev.Event) -> None:
        self.progress.handle(event)
        if isinstance(event, ev.Notice):
            self.line.println(f"note: {event.message}")
        elif isinstance(event, ev.RunStopping):
            self.line.println(f"stopping: {event.message}")

    def tick(self) -> None:
        self.line.show(status_line(self.progress))

    async def keep_reporting(self) -> None:
        interval = TTY_INTERVAL_S if self.interactive else PLAIN_INTERVAL_S
        while True:
            await asyncio.sleep(interval)
            self.tick()

    def end_line(self) -> None:
        self.line.end()

    @contextlib.contextmanager
    def ticking(self) -> Iterator[None]:
        """The status line redrawn while the block lasts, and left as it is once the block ends without error."""
        with in_background(self.keep_reporting()):
            yield
        self.end_line()


@contextlib.contextmanager
def steered_by_signals(job: JobRun) -> Iterator[None]:
    """Ctrl-C (or SIGTERM) stops the run, letting requests in flight finish; a second one abandons them."""
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if job.engine is None:
            return
        if interrupts == 1:
            job.engine.stop("interrupted", "interrupted: letting requests in flight finish (Ctrl-C again to abandon them)")
        else:
            job.engine.abandon()

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    loop.add_signal_handler(signal.SIGTERM, on_interrupt)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


class HeadlessRun:
    """`--no-ui` as a front end of the run lifecycle: progress on a line, the summary at the end."""

    def __init__(self, project: LoadedProject, out: TextIO | None) -> None:
        self.project = project
        self.reporter = HeadlessReporter(out)
        self.handle = self.reporter.handle
        self.report_to = out if out is not None else sys.stdout

    def opened(self, job: JobRun) -> None:
        if job.store.backup_path is not None:
            self.reporter.line.println(f"Starting over: the old state file is kept as {job.store.backup_path}")

    def alongside(self, job: JobRun) -> Iterator[AbstractContextManager[Any]]:
        yield steered_by_signals(job)
        yield self.reporter.ticking()

    def report(self, job: JobRun, finished: ev.RunFinished, outputs: Outputs | None) -> int:
        print(run_report(job, finished, self.reporter.progress, outputs, "cli"), file=self.report_to)
        return finished.exit_code


def run_headless(project: LoadedProject, *, fresh: bool = False, retry_failed: bool = False,
                 out: TextIO | None = None, http_client=None) -> int:
    """Run a project without the dashboard; returns the exit code.

    Progress and notes go to standard error and the summary to standard output, so
    `--no-ui > summary.txt` keeps the summary; `out` takes both (an embedding caller's log).
    """
    front = HeadlessRun(project, out)
    options = RunOptions(fresh=fresh, retry_failed=retry_failed, http_client=http_client)
    return run_to_end_sync(project, front, options, opened=front.opened)
