"""Remote batches (batch mode): id, status, requests done as a bar and in figures, age, time to expiry, and
what happened. Where that does not fit, the id, the age and the bar are left out."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from ...progress import BatchState
from ..fit import fit_columns
from ..format import bar, count
from .panel import Panel

STATUS_STYLES = {
    "validating": "dim", "in_progress": "cyan", "finalizing": "cyan", "completed": "green",
    "failed": "red", "expired": "dark_orange", "cancelling": "yellow", "cancelled": "yellow",
}
BAR_WIDTH = 8
MAX_ROWS = 7
COLUMNS: dict[str, JustifyMethod] = {
    "batch": "left", "part": "right", "status": "left", "requests": "left", "done/total": "left", "age": "right",
    "expires": "right", "what happened": "left",
}
"""Column → how it is justified, in the order shown."""
DROP_ORDER = ("batch", "age", "requests", "expires", "what happened")
"""Columns given up, first to last, when the panel is too narrow for all."""
ID_WIDTH, OUTCOME_MAX = 22, 40
"""The id is cut beyond `ID_WIDTH`; what happened is given room for `OUTCOME_MAX` cells before anything is
left out (a longer story is cut)."""


class BatchPanel(Panel):
    LIVE = True
    EVERY_S = 1.0

    def title(self) -> str:
        batches = self.model.progress.batches.values()
        live = sum(1 for batch in batches if not batch.is_final)
        return f"Remote batches · {live} live of {len(self.model.progress.batches)}"

    def render(self) -> Table:
        now = self.model.progress.clock()
        rows = [_cells(batch, now) for batch in self._shown()]
        widths = {name: max(len(name), *(_cell_len(row[name]) for row in rows)) for name in COLUMNS}
        widths["batch"] = min(widths["batch"], ID_WIDTH)
        widths["what happened"] = min(widths["what happened"], OUTCOME_MAX)
        shown = fit_columns(widths, self.content_region.width, DROP_ORDER)
        table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, expand=True, show_edge=False,
                      header_style="dim")
        for name in shown:
            table.add_column(name, justify=COLUMNS[name], no_wrap=True, overflow="ellipsis",
                             ratio=1 if name == "what happened" else None,
                             max_width=ID_WIDTH if name == "batch" else None)
        for row in rows:
            table.add_row(*(row[name] for name in shown))
        return table

    def _shown(self) -> list[BatchState]:
        """Live batches first (they change), then the finished ones, newest first, as many as fit."""
        batches = list(self.model.progress.batches.values())
        live = [batch for batch in batches if not batch.is_final]
        final = [batch for batch in reversed(batches) if batch.is_final]
        return (live + final)[:MAX_ROWS]


def _cells(batch: BatchState, now: float) -> dict[str, Text | str]:
    return {"batch": batch.batch_id.removeprefix("batch_"), "part": str(batch.part),
            "status": Text(batch.status, STATUS_STYLES.get(batch.status, "")), "requests": _bar(batch),
            "done/total": _counts(batch),
            "age": _coarse(now - batch.created_at), "expires": _expiry(batch, now), "what happened": _outcome(batch)}


def _cell_len(value: Text | str) -> int:
    return value.cell_len if isinstance(value, Text) else cell_len(value)


def _bar(batch: BatchState) -> Text:
    total = batch.total or batch.requests
    done = batch.completed + batch.failed
    fraction = done / total if total else 0.0
    return Text(bar(fraction, BAR_WIDTH), "red" if batch.failed and batch.failed == done else "green")


def _counts(batch: BatchState) -> Text:
    total = batch.total or batch.requests
    done = batch.completed + batch.failed
    text = Text(f"{count(done)}/{count(total)}")
    if batch.failed:
        text.append(f" {count(batch.failed)}✗", "red")
    return text


def _expiry(batch: BatchState, now: float) -> str:
    if batch.is_final or batch.expires_at is None:
        return "—"
    return _coarse(max(0.0, batch.expires_at - now))


def _coarse(seconds: float) -> str:
    """Batches live for hours: minutes are precise enough past the first hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _outcome(batch: BatchState) -> Text:
    text = Text()
    if batch.downloaded:
        got = batch.downloaded
        text.append(f"got {count(got.succeeded)} ok", "green")
        if got.failed:
            text.append(f", {count(got.failed)} failed", "red")
        if got.unfinished:
            text.append(f", {count(got.unfinished)} not run", "dark_orange")
    if batch.resubmitted:
        text.append(f" → {batch.resubmitted.to}", "cyan")
    if batch.status in ("cancelled", "cancelling") and not text:
        text.append(batch.status, "yellow")
    return text
