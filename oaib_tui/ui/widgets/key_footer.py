"""The footer's keys, fitted to the terminal: shorter words and less space in the narrow layout (the
screen's `-narrow` class), and if even that does not fit, the least needed keys left out (their keys
still work; `?` lists them all)."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

SHORT = {"retry_failed": "Retry", "open": "Open"}
KEEP_ORDER = ("quit_run", "help", "pause", "resume", "cancel", "cycle_filter", "open", "retry_failed", "toggle_follow")
"""Actions from the most needed to the least; actions not named here are the first left out."""


class KeyFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._fitted_to: tuple[int, bool] | None = None

    def compose(self) -> ComposeResult:
        width = self.app.size.width
        self.compact = self.screen.has_class("-narrow")
        keys = [widget for widget in super().compose() if isinstance(widget, FooterKey)]
        if self.compact:
            for key in keys:
                key.description = SHORT.get(key.action, key.description)
        kept = _fitting(keys, width, self.compact)
        self._fitted_to = (width, self.compact)
        yield from (key for key in keys if key in kept)

    def on_resize(self, event: events.Resize) -> None:
        if self._fitted_to is not None and self._fitted_to[0] != event.size.width:
            self.call_after_refresh(self.recompose)


def _fitting(keys: list[FooterKey], width: int, compact: bool) -> list[FooterKey]:
    """The keys that fit in `width`, keeping those most needed (see `KEEP_ORDER`)."""
    by_need = sorted(keys, key=lambda key: KEEP_ORDER.index(key.action) if key.action in KEEP_ORDER
                     else len(KEEP_ORDER))
    kept = list(keys)
    while kept and sum(_width(key, compact) for key in kept) > width:
        kept.remove(next(key for key in reversed(by_need) if key in kept))
    return kept


def _width(key: FooterKey, compact: bool) -> int:
    """Cells a key takes in the footer (see FooterKey's and Footer's styles)."""
    key_cells = cell_len(key.key_display) + (0 if compact else 2)
    description = cell_len(key.description) + 1 if key.description else 0
    return key_cells + description + (1 if compact else 0)
