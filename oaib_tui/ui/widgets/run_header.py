"""The top line: what runs (project, model, endpoint, mode and hybrid mode's lane), its state, what limits it now, elapsed time and ETA."""

from __future__ import annotations

from rich.text import Text

from ...limiting import what_limits
from ..format import duration, spread
from .panel import Panel

STATE_STYLES = {
    "running": "bold black on green",
    "paused": "bold black on yellow",
    "rate-limited": "bold white on dark_orange3",
    "stopping": "bold black on yellow",
    "finished": "bold white on blue",
    "stopped": "bold white on red",
    "error": "bold white on red",
    "starting": "bold black on grey70",
}


MIN_ABOUT = 6
"""Cells kept for the project's name (it shortens to `dem…`) before what limits the run is cut (and for the lane)."""


def _shorter(limited_by: str | None) -> list[str | None]:
    """What limits the run in full, then its name alone (`token bucket`), then nothing."""
    if not limited_by:
        return [None]
    name = limited_by.split(":", 1)[0]
    return [limited_by, name, None] if name != limited_by else [limited_by, None]


class RunHeader(Panel):
    """One line, redrawn every second, and at once when the state changes."""

    LIVE = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._state: tuple | None = None

    def has_news(self) -> bool:
        state = (self.model.shown_state(), self.model.progress.finished, self.model.progress.lane)
        news, self._state = state != self._state, state
        return news

    def render(self) -> Text:
        p = self.model.progress
        state = self.model.shown_state()
        ended = state in ("finished", "stopped", "error")
        limited_by = None if ended else what_limits(p)
        width = self.content_region.width
        least_about = MIN_ABOUT + (len(f" · {p.lane} lane") if p.lane else 0)
        # Elapsed time and the ETA matter most: what limits the run shrinks to its name, then goes.
        for limit in _shorter(limited_by):
            right = self._right(state, ended, limit)
            if right.cell_len + 1 + least_about <= width:
                break
        return spread(self._about(width - right.cell_len - 1), right, width)

    def _right(self, state: str, ended: bool, limited_by: str | None) -> Text:
        p = self.model.progress
        right = Text.assemble(
            (f" {state.upper()} ", STATE_STYLES.get(state, "reverse")),
            (f" {p.finished.message}" if p.finished else "", "bold"),
            f" {limited_by}" if limited_by else "",
            "   elapsed ", (duration(p.elapsed_s()), "bold"),
        )
        if not ended:
            right.append_text(Text.assemble("   ETA ", (duration(p.eta_s()), "bold")))
        return right

    def _about(self, room: int) -> Text:
        """What runs, leaving out the endpoint, the program's name, the mode, then the model, until it fits."""
        p = self.model.progress
        project, model, endpoint, mode = (p.project, p.model, p.endpoint, p.mode) if p.project else self.model.about
        choices: list[tuple[tuple[str, ...], bool]] = [
            ((model, endpoint, mode), True), ((model, mode), True), ((model, mode), False), ((model,), False), ((), False)]
        if p.lane:  # hybrid mode: the lane the items not yet answered go through now outlasts the model
            lane = f"{p.lane} lane"
            mode = f"{mode}: {lane}"
            choices = [((model, endpoint, mode), True), ((model, mode), True), ((model, mode), False),
                       ((model, lane), False), ((lane,), False), ((), False)]
        for details, named in choices:
            text = Text.assemble(("oaib-tui", "bold"), " │ ") if named else Text()
            text.append(project or "…", "bold")
            for part in details:
                if part:
                    text.append(" · " + part)
            if text.cell_len <= room:
                break
        return text
