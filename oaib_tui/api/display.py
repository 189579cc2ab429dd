"""Compact progress for notebooks and scripts: done, failed, RPM, TPM, spend and ETA on one line.

In a Jupyter kernel the line is one output cell updated in place; on a
terminal it is redrawn with a carriage return; elsewhere (a log file) a plain
line is printed every few seconds. `quiet=True` prints nothing at all.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Protocol, TextIO

from .. import events as ev
from ..headless import LiveLine
from ..limiting import what_limits
from ..progress import Progress
from ..wording import format_duration, money

REDRAW_INTERVAL_S = 0.5
PLAIN_INTERVAL_S = 10.0


def _money(value: float, known: bool) -> str:
    return money(value) if known else "spend unknown"


def progress_line(p: Progress) -> str:
    """`job: 1,200/10,000 done │ 3 failed │ RPM 480 │ TPM 52,000 │ $0.0123 │ ETA 2m10s │ token bucket: …`."""
    rpm, tpm = p.per_minute()
    finished = p.done_total
    total = f"/{p.total:,}" if p.total is not None else ""
    parts = [f"{p.project or 'job'}: {finished:,}{total} done", f"{p.failed_total:,} failed",
             f"RPM {rpm:,.0f}", f"TPM {tpm:,.0f}", _money(p.cost_usd, p.cost_known)]
    if p.finished is None:
        eta = p.eta_s()
        parts.append(f"ETA {format_duration(eta) if eta is not None else '—'}")
        limited_by = what_limits(p)
        if limited_by:
            parts.append(limited_by)
        state = p.run_state()
        if state != "running":
            parts.insert(1, state)
    return " │ ".join(parts)


def final_line(p: Progress) -> str:
    finished = p.finished
    if finished is None:
        return progress_line(p)
    line = f"{progress_line(p)} │ {finished.state}: {finished.message} in {format_duration(p.elapsed_s())}"
    return line + (" │ " + tier_costs(p) if p.shows_tiers else "")


def tier_costs(p: Progress) -> str:
    """`flex $0.0102 (900), standard $0.0040 (100)`: this run's spend by the tier each answer was charged at."""
    return ", ".join(f"{tier} {_money(tally.cost_usd, tally.cost_known)} ({tally.requests:,})"
                     for tier, tally in p.tier_costs())


class Display(Protocol):
    interval_s: float

    def handle(self, event: ev.Event) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


class QuietDisplay:
    """Shows nothing (`quiet=True`)."""

    interval_s = 3600.0

    def handle(self, event: ev.Event) -> None:
        pass

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class TextDisplay:
    """One line on a text stream: redrawn in place on a terminal, else printed now and then."""

    def __init__(self, out: TextIO, interactive: bool | None = None) -> None:
        self.out = out
        self.interactive = _is_terminal(out) if interactive is None else interactive
        self.interval_s = REDRAW_INTERVAL_S if self.interactive else PLAIN_INTERVAL_S
        self.progress = Progress()
        self.line = LiveLine(out, self.interactive)

    def handle(self, event: ev.Event) -> None:
        self.progress.handle(event)
        if isinstance(event, (ev.Notice, ev.RunStopping)):
            self.line.println(f"note: {event.message}")

    def tick(self) -> None:
        self.line.show(progress_line(self.progress))

    def close(self) -> None:
        self.line.show(final_line(self.progress))
        self.line.end()


class NotebookDisplay:
    """One output in a Jupyter cell, updated in place through IPython's display handles."""

    interval_s = REDRAW_INTERVAL_S

    def __init__(self, ipython_display: Any) -> None:
        self._display = ipython_display
        self.progress = Progress()
        self._handle = None

    def handle(self, event: ev.Event) -> None:
        self.progress.handle(event)
        if isinstance(event, (ev.Notice, ev.RunStopping)):
            self._display.display(self._display.Pretty(f"note: {event.message}"))

    def tick(self) -> None:
        self._show(progress_line(self.progress))

    def close(self) -> None:
        self._show(final_line(self.progress))

    def _show(self, line: str) -> None:
        text = self._display.Pretty(line)
        if self._handle is None:
            self._handle = self._display.display(text, display_id=True)
        else:
            self._handle.update(text)


def choose_display(quiet: bool, out: TextIO | None = None) -> Display:
    """Nothing if quiet; a notebook output in a Jupyter kernel; else a line on `out` (default stderr)."""
    if quiet:
        return QuietDisplay()
    if out is None:
        ipython_display = _notebook_display_module()
        if ipython_display is not None:
            return NotebookDisplay(ipython_display)
    return TextDisplay(out if out is not None else sys.stderr)


def _notebook_display_module() -> Any:
    """`IPython.display` when running in a Jupyter kernel, else None (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    import IPython.display

    return IPython.display


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


async def keep_showing(display: Display) -> None:
    """Redraw the display every `interval_s` until cancelled."""
    while True:
        await asyncio.sleep(display.interval_s)
        display.tick()
