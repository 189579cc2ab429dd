"""What a run's end says, in the words of the front end that shows it: the summary, and how to go on.

The executors emit facts and reason codes (RunFinished's state, reason,
message and pending count; the state file's batches); how to resume, or to
cancel batches left running, is phrased here once per front end: the command
line and the dashboard name commands, the Python API names its methods.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from dataclasses import replace
from typing import Literal

from . import events as ev
from .job import JobRun
from .lifecycle import Outputs
from .pricing import PRICES_AS_OF, PriceBook
from .progress import Progress
from .project.schema import LoadedProject
from .state.batches import read_parts
from .wording import counted, days_or_hours, format_duration, money

__all__ = [
    "Front",
    "cancel_hint",
    "model_cost_rows",
    "next_steps",
    "remote_batch_lines",
    "resume_command",
    "resume_hint",
    "run_report",
    "state_summary",
    "summary",
    "tier_cost_rows",
    "with_next_steps",
]

Front = Literal["cli", "dashboard", "python"]
"""Who tells the user: `oaib-tui --no-ui` (and `--detach`), the dashboard, or the Python API."""


def _money(value: float, known: bool = True) -> str:
    return money(value if known else None)


# -- how to go on ---------------------------------------------------------------------------


def resume_command(project: LoadedProject, no_ui: bool = True) -> str:
    return "oaib-tui " + shlex.quote(str(project.path)) + (" --no-ui" if no_ui else "")


def resume_hint(project: LoadedProject, front: Front) -> str:
    """How this front end's user resumes a stopped run (what is finished is never sent again)."""
    if front == "python":
        return "call run() again to resume: what is finished is skipped"
    return f"Resume with: {resume_command(project, no_ui=front == 'cli')}"


def cancel_hint(project: LoadedProject, live: int, front: Front) -> str:
    """What to do about batches a stopped run left running at the provider (they are billed as they finish)."""
    batches = f"{counted(live, 'batch')} still running at the provider"
    cancel = f"`oaib-tui cancel {shlex.quote(str(project.path))}` cancels them"
    within = f"within {days_or_hours(project.spec.batch.output_expires_after)} of their end"  # then their output expires
    if front == "python":
        return f"{batches}: run() again {within} follows them and reads their answers; {cancel}"
    return f"{batches}: {cancel}; a resume {within} reads their answers"


def next_steps(job: JobRun, finished: ev.RunFinished, front: Front) -> list[str]:
    """After a stop: how to resume, and what to do about batches left running; nothing after a run that ended."""
    if finished.state != "stopped":
        return []
    steps = [resume_hint(job.project, front)]
    live = sum(1 for part in read_parts(job.store) if part.live and part.batch_id)
    if live:
        steps.append(cancel_hint(job.project, live, front))
    return steps


def with_next_steps(job: JobRun, finished: ev.RunFinished, front: Front) -> ev.RunFinished:
    """`finished` with the next steps after its message, for a front end that shows only the message."""
    steps = next_steps(job, finished, front)
    return replace(finished, message="; ".join([finished.message, *steps])) if steps else finished


# -- the summary ----------------------------------------------------------------------------


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
    rows += model_cost_rows(progress) + tier_cost_rows(progress)
    if finished.pending > 0:
        rows.insert(2, ("pending", f"{finished.pending:,}"))
    if progress.mode == "batch":
        rows += _batch_rows(job, totals, progress)
    if progress.duplicates:
        rows.append(("discarded", f"{counted(progress.duplicates, 'duplicate answer')} (paid for, counted in this "
                                  "run's cost, not in the results)"))
    lines += [f"  {name:<9}{value}" for name, value in rows]
    return "\n".join(lines)


def run_report(job: JobRun, finished: ev.RunFinished, progress: Progress, outputs: Outputs | None,
               front: Front) -> str:
    """What a run's end prints: the summary, the output files written, and the next steps after a stop."""
    lines = [summary(job, finished, progress)]
    if outputs is not None:
        lines.append(f"  results  {outputs.results}\n  errors   {outputs.errors}")
    lines += next_steps(job, finished, front)
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


def tier_cost_rows(progress: Progress) -> list[tuple[str, str]]:
    """One row per charged tier when some answers were charged at flex or priority."""
    if not progress.shows_tiers:
        return []
    return [("", f"{tier + ' tier':<13}  {counted(tally.requests, 'answer'):>14}  "
                 f"{tally.usage.total_tokens:>12,} tokens  {_money(tally.cost_usd, tally.cost_known)}")
            for tier, tally in progress.tier_costs()]


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
    if totals.duplicates:
        lines.append(f"  discarded {counted(totals.duplicates, 'duplicate answer')} (paid {_money(totals.duplicate_cost_usd)}, "
                     "included in the cost, not in the results)")
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


