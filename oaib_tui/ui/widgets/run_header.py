"""The top line: what runs (project, model, endpoint, mode), its state, what limits it now, elapsed time and ETA."""

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


class RunHeader(Panel):
    """One line, redrawn every second, and at once when the state changes."""

    LIVE = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._state: tuple | None = None

    def has_news(self) -> bool:
        state = (self.model.shown_state(), self.model.progress.finished)
        news, self._state = state != self._state, state
        return news

    def render(self) -> Text:
        p = self.model.progress
        state = self.model.shown_state()
        project, *details = (p.project, p.model, p.endpoint, p.mode) if p.project else self.model.about
        left = Text.assemble(("oaib-tui", "bold"), " │ ", (project or "…", "bold"))
        for part in details:
            if part:
                left.append(" · " + part)
        ended = state in ("finished", "stopped", "error")
        limited_by = None if ended else what_limits(p)
        right = Text.assemble(
            (f" {state.upper()} ", STATE_STYLES.get(state, "reverse")),
            (f" {p.finished.message}" if p.finished else "", "bold"),
            f" {limited_by}" if limited_by else "",
            "   elapsed ", (duration(p.elapsed_s()), "bold"),
            "   ETA ", ("—" if ended else duration(p.eta_s()), "bold"),
        )
        return spread(left, right, self.content_region.width)
