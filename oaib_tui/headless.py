"""`--no-ui`: a progress line while the job runs, a summary when it ends.

On a terminal the line is redrawn in place twice a second; otherwise (a log
file, CI) a plain line is printed every few seconds. The reporter is just
another consumer of the engine's events.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
import time
from collections import Counter
from typing import TextIO

from . import events as ev
from .forecast import format_duration
from .job import JobRun
from .limiting import what_limits
from .pricing import PRICES_AS_OF, PriceBook
from .progress import Progress
from .project.schema import LoadedProject
from .state.batches import read_parts
from .wording import counted, money

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


def resume_command(project: LoadedProject, no_ui: bool = True) -> str:
    return "oaib-tui " + shlex.quote(str(project.path)) + (" --no-ui" if no_ui else "")


def summary(job: JobRun, finished: ev.RunFinished, progress: Progress) -> str:
    totals = job.store.totals()
    title = "Finished" if finished.state == "finished" else "Stopped"
    lines = [f"{title}: {finished.message} ({format_duration(progress.elapsed_s())})"]
    reasons = ", ".join(f"{reason}: {n}" for reason, n in progress.retry_reasons.most_common(5))
    rows = [
        ("done", f"{finished.done:,}" + (f"   ({progress.resumed_done:,} from earlier runs)" if progress.resumed_done else "")),
        ("failed", f"{finished.failed:,}"),
        ("retries", f"{progress.retries:,}" + (f"   ({reasons})" if reasons else "")),
        ("tokens", _tokens_line(totals)),
        ("cost", f"{_money(totals.cost_usd, progress.cost_known)} in all, {_money(progress.cost_usd, progress.cost_known)} this run"
                 f"   (prices as of {PRICES_AS_OF})"),
    ]
    rows += model_cost_rows(progress)
    if finished.pending > 0:
        rows.insert(2, ("pending", f"{finished.pending:,}"))
    if progress.mode == "batch":
        rows += _batch_rows(job, totals, progress)
    if progress.duplicates:
        rows.append(("discarded", f"{counted(progress.duplicates, 'duplicate answer')} (paid for, counted in this "
                                  "run's cost, not in the results)"))
    lines += [f"  {name:<9}{value}" for name, value in rows]
    return "\n".join(lines)


def _batch_rows(job: JobRun, totals, progress: Progress) -> list[tuple[str, str]]:
    """Batch mode: the batches this run saw, by status, and what the Batch API saved against realtime prices."""
    by_status = Counter(batch.status for batch in progress.batches.values())
    rows = [("batches", f"{len(progress.batches):,}" + (": " + ", ".join(f"{n} {s}" for s, n in by_status.items())
                                                          if by_status else ""))]
    savings = progress.batch_savings(PriceBook.for_project(job.project.spec.pricing))
    if savings is not None:
        saved, realtime = savings
        rows.append(("savings", f"{_money(saved)} this run against realtime prices ({_money(realtime)}), "
                                "each answer at its own model's price"))
    return rows


def model_cost_rows(progress: Progress) -> list[tuple[str, str]]:
    """One row per model when a run's answers were priced at more than one."""
    if len(progress.by_model) < 2:
        return []
    width = max(len(model) for model in progress.by_model)
    return [("", f"{model:<{width}}  {counted(tally.requests, 'answer'):>14}  "
                 f"{tally.usage.total_tokens:>12,} tokens  {_money(tally.cost_usd, tally.cost_known)}")
            for model, tally in sorted(progress.by_model.items())]


def _tokens_line(totals) -> str:
    usage = totals.usage
    return f"input {usage.prompt_tokens:,} (cached {usage.cached_tokens:,}), output {usage.completion_tokens:,}"


def state_summary(project: LoadedProject, reader, total: int | None = None) -> str:
    """`oaib-tui status`: what the state file holds, against the records in the sources (`total`)."""
    counts, totals = reader.counts(), reader.totals()
    finished = counts.get("done", 0) + counts.get("failed", 0)
    in_flight = counts.get("queued", 0) + counts.get("sent", 0)
    remaining = max(0, total - finished) if total is not None else in_flight
    lines = [
        f"{project.name}: state file {project.state_path}",
        f"  done     {counts.get('done', 0):,}",
        f"  failed   {counts.get('failed', 0):,}",
        f"  to do    {remaining:,}" + (f"   (of {total:,} records in the sources)" if total is not None else ""),
        f"  tokens   {_tokens_line(totals)}",
        f"  cost     {_money(totals.cost_usd)}" + (f"   ({counted(totals.unpriced, 'item')} of unknown price)" if totals.unpriced else ""),
    ]
    lines += remote_batch_lines(read_parts(reader))
    if remaining:
        lines.append(f"Resume with: {resume_command(project)}")
    return "\n".join(lines)


def remote_batch_lines(parts: list, most: int = 20) -> list[str]:
    """`status` in batch mode: parts by phase, and each batch not yet downloaded with its status and counts."""
    if not parts:
        return []
    phases = Counter(part.phase for part in parts)
    lines = [f"  batches  {counted(len(parts), 'part')}: " + ", ".join(f"{n} {phase}" for phase, n in phases.items())]
    for part in [p for p in parts if p.phase != "downloaded"][:most]:
        expires = time.strftime("%Y-%m-%d %H:%M", time.localtime(part.expires_at)) if part.expires_at else "—"
        lines.append(f"    part {part.part:<5} {part.batch_id or '(not created)':<32} {part.status or part.phase:<11} "
                     f"{part.completed:,}/{part.total or part.requests:,} done, {part.failed:,} failed, expires {expires}")
    return lines


async def _run(job: JobRun, reporter: HeadlessReporter) -> ev.RunFinished:
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
    ticker = asyncio.create_task(reporter.keep_reporting())
    try:
        return await job.run()
    finally:
        ticker.cancel()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


def run_headless(project: LoadedProject, *, fresh: bool = False, retry_failed: bool = False,
                 out: TextIO | None = None, http_client=None) -> int:
    """Run a project without the dashboard; returns the exit code.

    Progress and notes go to standard error and the summary to standard output, so
    `--no-ui > summary.txt` keeps the summary; `out` takes both (an embedding caller's log).
    """
    reporter = HeadlessReporter(out)
    report_to = out if out is not None else sys.stdout
    job = JobRun(project, fresh=fresh, http_client=http_client, consumers=[reporter.handle], retry_failed=retry_failed)
    try:
        if job.store.backup_path is not None:
            reporter.line.println(f"Starting over: the old state file is kept as {job.store.backup_path}")
        finished = asyncio.run(_run(job, reporter))
        reporter.end_line()
        results, errors = job.write_outputs()
        print(summary(job, finished, reporter.progress), file=report_to)
        print(f"  results  {results}\n  errors   {errors}", file=report_to)
        if finished.state == "stopped":
            print(f"Resume with: {resume_command(project)}", file=report_to)
        return finished.exit_code
    finally:
        job.close()
