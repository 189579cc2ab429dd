"""Retries and errors, newest first, each with its reason (429 tokens, 503, timeout, …).

(The attempt number is in the request list and the detail view: the log keeps to what fits.)
Given one line (the narrow layout), it gives the counts and the newest problem.
"""

from __future__ import annotations

import time

from rich.text import Text

from ... import events as ev
from ..fit import fit_columns
from ..format import cell
from .panel import Panel

TIME_WIDTH, REASON_WIDTH, THEN_WIDTH = 8, 10, 7
SUMMARY_LEFT_OUT = ("at", "newest", "then")
"""Parts of the one-line summary left out first when it is narrow."""


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
        if self.content_region.height == 1:
            return self._summary_line()
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


    def _summary_line(self) -> Text:
        """`Retries 37 · errors 3   newest: 503 review-00436 at 08:53:53, retried after 4.0s`, as much as fits."""
        heading = Text.assemble((self.title(), "bold"), "  ")
        problems = self.model.progress.problems
        if not problems:
            return heading.append("no retries or errors yet", "dim")
        newest = problems[0]
        retry = isinstance(newest, ev.RetryScheduled)
        phrases = {
            "newest": Text("newest:", "dim"), "reason": Text(newest.reason, "yellow" if retry else "red"),
            "request": Text(newest.custom_id),
            "at": Text(f"at {time.strftime('%H:%M:%S', time.localtime(newest.at))}", "dim"),
            "then": Text(f"retried after {newest.delay_s:.1f}s", "dim") if retry else Text("failed", "bold red"),
        }
        shown = fit_columns({name: phrase.cell_len for name, phrase in phrases.items()},
                            self.content_region.width - heading.cell_len, SUMMARY_LEFT_OUT)
        text = heading + Text(" ").join(phrases[name] for name in shown)
        text.truncate(self.content_region.width, overflow="ellipsis")
        return text


def _line(text: Text, event: ev.RetryScheduled | ev.RequestFailed, request_width: int) -> None:
    retry = isinstance(event, ev.RetryScheduled)
    text.append(time.strftime("%H:%M:%S", time.localtime(event.at)) + " ", "dim")
    text.append(cell(event.reason, REASON_WIDTH) + " ", "yellow" if retry else "red")
    text.append(cell(event.custom_id, request_width))
    if isinstance(event, ev.RetryScheduled):
        text.append(cell(f"+{event.delay_s:.1f}s", THEN_WIDTH, right=True) + "\n", "dim")
    else:
        text.append(cell("failed", THEN_WIDTH, right=True) + "\n", "bold red")
