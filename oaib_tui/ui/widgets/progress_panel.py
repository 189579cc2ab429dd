"""How far the run is: a bar, then done, failed, in flight, retrying and queued with their rates."""

from __future__ import annotations

from rich.text import Text

from ...progress import PACE_WINDOW_S
from ..format import bar, count
from .panel import Panel

NAME_WIDTH, COUNT_WIDTH = 9, 9


class ProgressPanel(Panel):
    LIVE = True
    EVERY_S = 0.5

    def title(self) -> str:
        return "Progress"

    def render(self) -> Text:
        p = self.model.progress
        width = max(10, self.content_region.width)
        finished = p.finished_count
        if p.total:
            fraction = finished / p.total
            text = Text.assemble((bar(fraction, width - 8), "green"), f" {fraction:>6.1%}\n")
            caption = f"{count(finished)} of {count(p.total)} finished"
        else:
            text = Text(bar(0, width - 8) + "      ?\n", style="dim")
            caption = f"{count(finished)} finished (total unknown)"
        if p.resumed_done or p.resumed_failed:
            caption += f", {count(p.resumed_done + p.resumed_failed)} before"
        text.append(caption + "\n", "dim")
        sent_rate = p.sent_meter.per_second("requests", window_s=PACE_WINDOW_S)
        queued = p.queued
        rows = (
            ("done", "green", p.done_total, _rate(p.done_meter.per_second("requests"))),
            ("failed", "red", p.failed_total, ""),
            ("in flight", "cyan", p.in_flight, f"{_rate(sent_rate)} sent" if sent_rate else ""),
            ("retrying", "yellow", p.retrying, ""),
            ("queued", "dim", queued, ""),
        )
        for name, style, value, note in rows:
            figure = "?" if value is None else count(value)
            text.append(name.ljust(NAME_WIDTH), style)
            text.append(figure.rjust(COUNT_WIDTH) + " ")
            text.append(note + "\n", "dim")
        text.rstrip()
        return text


def _rate(per_second: float | None) -> str:
    return "" if not per_second else f"{per_second:,.1f}/s"
