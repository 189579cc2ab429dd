"""RPM and TPM meters: use over the last minute against the limit, where the limit came from,
the server's remaining figures, a sparkline of recent sending, and a rate-limit pause's countdown."""

from __future__ import annotations

import math
from typing import Literal

from rich.console import Group
from rich.text import Text

from ...meters import HISTORY_KEEP_S
from ...wording import counted
from ..format import bar, compact, sparkline, spread
from .panel import Panel

SOURCES = {"headers": "learned from headers", "fixed": "fixed", "starting": "not learned yet"}
SPARK_BUCKET_S = 2.0
SPARKS_FROM_HEIGHT = 7
"""Lines it takes to show both meters with their sparklines and the pause line; given fewer, no sparklines."""


class LimitsPanel(Panel):
    LIVE = True
    EVERY_S = 1.0

    def title(self) -> str:
        limits = self.model.progress.limits
        if self.model.batch_only():
            return "Batch queue"
        return "Rate limits" + (f" · {SOURCES.get(limits.source, limits.source)}" if limits else "")

    def render(self) -> Group:
        p = self.model.progress
        limits = p.limits
        if self.model.batch_only():
            return self._batch_queue()
        requests, tokens = p.per_minute()
        width = max(20, self.content_region.width)
        return Group(
            *self._meter("RPM", requests, limits.rpm_limit if limits else None,
                         limits.remaining_requests if limits else None, "requests", width),
            *self._meter("TPM", tokens, limits.tpm_limit if limits else None,
                         limits.remaining_tokens if limits else None, "tokens", width),
            self._pause_line(width),
        )

    def _meter(self, label: str, used: float, limit: float | None, remaining: int | None, what: Literal["requests", "tokens"],
               width: int) -> list[Text]:
        share = used / limit if limit else 0.0
        style = "red" if share >= 0.95 else "yellow" if share >= 0.8 else "green"
        figures = Text.assemble((label, "bold"), f" {compact(used)}")
        if limit:
            figures.append(f"/{compact(limit)} ")
            figures.append(f"{share:.0%}", style)
        server = Text(f"{compact(remaining)} left" if remaining is not None else "", "dim")
        if figures.cell_len + 1 + server.cell_len > width:
            server = Text()
        lines = [spread(figures, server, width), Text(bar(share, width), style)]
        if self.content_region.height >= SPARKS_FROM_HEIGHT:
            history = self.model.progress.sent_meter.history(buckets=self._buckets(width), bucket_s=SPARK_BUCKET_S,
                                                             what=what)
            ceiling = limit * SPARK_BUCKET_S / 60 if limit else None
            lines.append(Text(sparkline(history, ceiling), "cyan"))
        return lines

    def _batch_queue(self) -> Group:
        batches = self.model.progress.batches.values()
        live = [batch for batch in batches if not batch.is_final]
        waiting = sum(batch.total - batch.completed - batch.failed for batch in live)
        return Group(
            Text("No per-minute limits: each batch runs within its window.", "dim"),
            Text.assemble(("live batches  ", "bold"), f"{len(live):,} of {len(self.model.progress.batches):,}"),
            Text.assemble(("waiting in them  ", "bold"), counted(waiting, "request")),
        )

    @staticmethod
    def _buckets(width: int) -> int:
        return max(1, min(int(HISTORY_KEEP_S / SPARK_BUCKET_S), width))

    def _pause_line(self, width: int) -> Text:
        p = self.model.progress
        state = p.run_state()
        if state == "rate-limited" and p.rate_limited_until:
            left = math.ceil(max(0.0, p.rate_limited_until - p.clock()))
            kind = p.rate_limit_kind or "unknown"
            return Text(f"429 {kind}: sending resumes in {left}s", "bold dark_orange")
        if state == "paused":
            return Text("paused by you: p resumes sending", "bold yellow")
        span = self._buckets(width) * SPARK_BUCKET_S
        return Text(f"bar: last minute · sparks: last {span:.0f}s", "dim")
