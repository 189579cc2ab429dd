"""The base of the dashboard's panels: a widget drawn from the model, redrawn once per tick."""

from __future__ import annotations

from textual.widget import Widget

from ..model import DashboardModel


class Panel(Widget):
    """Subclasses implement `render`; the app calls `sync` when the model changed, and every
    second for panels whose figures move with time (`LIVE`)."""

    LIVE = False
    """Redraw every second even when no event came (elapsed time, meters, countdowns)."""

    def __init__(self, model: DashboardModel, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model

    def title(self) -> str | None:
        """The border title, if it depends on the model."""
        return None

    def sync(self) -> None:
        title = self.title()
        if title is not None and title != self.border_title:
            self.border_title = title
        self.refresh()
