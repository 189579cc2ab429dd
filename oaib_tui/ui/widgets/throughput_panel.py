"""Throughput over time: requests and tokens answered per second, each on its own labelled scale."""

from __future__ import annotations

from typing import Literal

from rich.console import Group
from rich.text import Text

from ...meters import HISTORY_KEEP_S
from ...wording import format_duration
from ..chart import TimeSpan, bar_rows, nice_ceiling, time_axis, time_span
from ..format import compact
from .panel import Panel

LABEL_WIDTH = 18
"""The scale's column: the series' name and top on the first line, its peak and 0 on the last."""
SERIES: tuple[tuple[Literal["requests", "tokens"], str, str], ...] = (
    ("requests", "requests/s", "green"),
    ("tokens", "tokens/s", "cyan"),
)


class ThroughputPanel(Panel):
    LIVE = True
    EVERY_S = 1.0

    def title(self) -> str:
        span = self._span()
        per_column = f", {span.bucket_s}s a column" if span.bucket_s > 1 else ""
        return f"Throughput · answers in the last {format_duration(span.seconds)}{per_column}"

    def render(self) -> Group:
        span = self._span()
        rows = 2 if self.content_region.height >= 5 else 1
        lines = [line for what, name, style in SERIES for line in self._series(what, name, style, span, rows)]
        return Group(*lines, Text(" " * LABEL_WIDTH + time_axis(span), "dim"))

    def _span(self) -> TimeSpan:
        width = max(1, self.content_region.width - LABEL_WIDTH)
        return time_span(self.model.progress.elapsed_s(), width, HISTORY_KEEP_S)

    def _series(self, what: Literal["requests", "tokens"], name: str, style: str, span: TimeSpan,
                rows: int) -> list[Text]:
        running = self.model.progress.ended_at is None
        counts = self.model.progress.done_meter.history(buckets=span.buckets, bucket_s=span.bucket_s, what=what,
                                                        whole_seconds=running)
        per_second = [count / span.bucket_s for count in counts]
        peak = max(per_second, default=0.0)
        top = nice_ceiling(peak)
        bars = bar_rows(per_second, top, rows, span.stretch)
        if rows == 1:
            return [_line(name, f"≤{figure(top)}", "bold", bars[0], style)]
        middle = [_line("", "", "", bar, style) for bar in bars[1:-1]]
        return [_line(name, figure(top), "bold", bars[0], style), *middle,
                _line(f"peak {figure(peak)}", "0", "dim", bars[-1], style)]


def figure(value: float) -> str:
    """A scale's figure: three digits at most below a thousand (0.25, 2.5, 14.5, 120), then 12.3k."""
    return f"{value:.3g}" if value < 999.5 else compact(value)


def _line(label: str, scale: str, label_style: str, bar: str, style: str) -> Text:
    room = LABEL_WIDTH - 2 - len(scale)
    return Text.assemble((label[:room].ljust(room), label_style), (scale, "dim"), " ▕", (bar, style))
