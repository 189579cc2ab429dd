"""Retries and errors, newest first, each with its reason (429 tokens, 503, timeout, …).

(The attempt number is in the request list and the detail view: the log keeps to what fits.)
"""

from __future__ import annotations

import time

from rich.text import Text

from ... import events as ev
from ..format import cell
from .panel import Panel

TIME_WIDTH, REASON_WIDTH, THEN_WIDTH = 8, 10, 7


class ProblemLog(Panel):
    EVERY_S = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._newest: tuple | None = None

    def title(self) -> str:
        p = self.model.progress
        return f"Retries {p.retries:,} · errors {p.failed:,}"

    def has_news(self) -> bool:
        problems = self.model.progress.problems
        newest = (len(problems), id(problems[0]) if problems else None)
        news, self._newest = newest != self._newest, newest
        return news

    def render(self) -> Text:
        problems = self.model.progress.problems
        if not problems:
            return Text("no retries or errors yet", style="dim")
        width = self.content_region.width
        request_width = max(6, width - TIME_WIDTH - REASON_WIDTH - THEN_WIDTH - 3)
        text = Text.assemble((cell("time", TIME_WIDTH) + " " + cell("reason", REASON_WIDTH) + " "
                              + cell("request", request_width) + cell("then", THEN_WIDTH, right=True) + "\n", "dim"))
        shown = max(1, self.content_region.height - 1)
        for _, event in zip(range(shown), problems):
            _line(text, event, request_width)
        text.rstrip()
        return text


def _line(text: Text, event: ev.RetryScheduled | ev.RequestFailed, request_width: int) -> None:
    retry = isinstance(event, ev.RetryScheduled)
    text.append(time.strftime("%H:%M:%S", time.localtime(event.at)) + " ", "dim")
    text.append(cell(event.reason, REASON_WIDTH) + " ", "yellow" if retry else "red")
    text.append(cell(event.custom_id, request_width))
    if retry:
        text.append(cell(f"+{event.delay_s:.1f}s", THEN_WIDTH, right=True) + "\n", "dim")
    else:
        text.append(cell("failed", THEN_WIDTH, right=True) + "\n", "bold red")
