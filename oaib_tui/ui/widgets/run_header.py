"""The top line: what runs (project, model, endpoint, mode), its state, elapsed time and ETA."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ..format import duration
from .panel import Panel

STATE_STYLES = {
    "running": "bold black on green",
    "paused": "bold black on yellow",
    "rate-limited": "bold white on dark_orange3",
    "stopping": "bold black on yellow",
    "finished": "bold white on blue",
    "stopped": "bold white on red",
}


class RunHeader(Panel):
    """One line, refreshed every tick."""
    LIVE = True

    def render(self) -> Table:
        p = self.model.progress
        state = p.run_state()
        left = Text.assemble(("oaib-tui", "bold"), " │ ", (p.project or "…", "bold"))
        for part in (p.model, p.endpoint, p.mode):
            if part:
                left.append(" · ")
                left.append(part)
        eta = p.eta_s() if state not in ("finished", "stopped") else None
        outcome = f" {p.finished.message}" if p.finished else ""
        right = Text.assemble(
            (f" {state.upper()} ", STATE_STYLES.get(state, "reverse")), (outcome, "bold"),
            "   elapsed ", (duration(p.elapsed_s()), "bold"),
            "   ETA ", (duration(eta) if state not in ("finished", "stopped") else "—", "bold"), " ",
        )
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        return grid
