"""The base of the dashboard's panels: a widget drawn from the model, redrawn when it changed."""

from __future__ import annotations

from textual.widget import Widget

from ..model import DashboardModel


class Panel(Widget):
    """Subclasses implement `render`; the app calls `sync` after events, and every second for
    panels whose figures move with time (`LIVE`).

    Drawing costs far more than folding events, so panels whose news can wait a moment
    (`EVERY_S`) are redrawn at most that often; what was held back is drawn at the next chance.
    """

    LIVE = False
    """Redraw every second even when no event came (elapsed time, meters, countdowns)."""
    EVERY_S = 0.0
    """Redraw at most this often (seconds) while events keep coming."""

    def __init__(self, model: DashboardModel, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.held_back = False
        """Something changed that is not drawn yet."""
        self._drawn_at = float("-inf")

    def title(self) -> str | None:
        """The border title, if it depends on the model."""
        return None

    def has_news(self) -> bool:
        """Whether an event changed what this panel shows (subclasses may know better)."""
        return True

    def sync(self, now: float, force: bool = False) -> None:
        """Redraw, unless it was done less than `EVERY_S` ago (then it is held back)."""
        if not force and not self.held_back and not self.has_news():
            return
        if not force and now - self._drawn_at < self.EVERY_S:
            self.held_back = True
            return
        self.held_back = False
        self._drawn_at = now
        title = self.title()
        if title is not None and title != self.border_title:
            self.border_title = title
        self.refresh()
