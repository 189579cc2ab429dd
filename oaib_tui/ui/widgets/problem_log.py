"""Retries and errors, newest first, each with its reason (429 tokens, 503, timeout, …).

(The attempt number is in the request list and the detail view: the log keeps to what fits.)
"""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text

from ...engine import events as ev
from .panel import Panel


class ProblemLog(Panel):
    def title(self) -> str:
        p = self.model.progress
        return f"Retries {p.retries:,} · errors {p.failed:,}"

    def render(self) -> Table | Text:
        problems = self.model.progress.problems
        if not problems:
            return Text("no retries or errors yet", style="dim")
        table = Table(box=None, padding=(0, 1, 0, 0), expand=True, show_edge=False, header_style="dim")
        table.add_column("time", width=8, no_wrap=True, style="dim")
        table.add_column("reason", width=10, no_wrap=True, overflow="ellipsis")
        table.add_column("request", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("then", width=7, no_wrap=True, justify="right")
        shown = max(1, self.content_region.height - 1)
        for _, event in zip(range(shown), problems):
            table.add_row(*_cells(event))
        return table


def _cells(event: ev.RetryScheduled | ev.RequestFailed) -> tuple[str, Text, str, Text]:
    clock = time.strftime("%H:%M:%S", time.localtime(event.at))
    request = event.custom_id
    if isinstance(event, ev.RetryScheduled):
        return clock, Text(event.reason, "yellow"), request, Text(f"+{event.delay_s:.1f}s", "dim")
    return clock, Text(event.reason, "red"), request, Text("failed", "bold red")
