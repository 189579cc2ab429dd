"""How far the run is: a bar, then done, failed, in flight, retrying and queued with their rates."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..format import bar, count
from .panel import Panel


class ProgressPanel(Panel):
    """How far the run is."""
    LIVE = True

    def title(self) -> str:
        return "Progress"

    def render(self) -> Group:
        p = self.model.progress
        width = max(10, self.content_region.width)
        finished = p.finished_count
        if p.total:
            fraction = finished / p.total
            headline = Text.assemble((bar(fraction, width - 8), "green"), f" {fraction:>6.1%}")
            caption = f"{count(finished)} of {count(p.total)} finished"
        else:
            headline = Text(bar(0, width - 8) + "      ?", style="dim")
            caption = f"{count(finished)} finished (total not known yet)"
        if p.resumed_done or p.resumed_failed:
            caption += f", {count(p.resumed_done + p.resumed_failed)} in earlier runs"
        done_rate = p.done_meter.per_second("requests")
        sent_rate = p.pace_meter.per_second("requests")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(min_width=9)
        grid.add_column(justify="right", min_width=9)
        grid.add_column(style="dim")
        grid.add_row(Text("done", "green"), count(p.done + p.resumed_done), _rate(done_rate))
        grid.add_row(Text("failed", "red"), count(p.failed + p.resumed_failed), "")
        grid.add_row(Text("in flight", "cyan"), count(p.in_flight), f"{_rate(sent_rate)} sent" if sent_rate else "")
        grid.add_row(Text("retrying", "yellow"), count(p.retrying), "")
        queued = p.queued
        grid.add_row(Text("queued", "dim"), "?" if queued is None else count(queued), "")
        return Group(headline, Text(caption, style="dim"), grid)


def _rate(per_second: float | None) -> str:
    return "" if not per_second else f"{per_second:,.1f}/s"
