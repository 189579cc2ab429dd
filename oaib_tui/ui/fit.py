"""Fitting a row of columns, or of phrases, into the width there is: what matters most stays whole.

No Textual here: widgets hand in widths and get back what to show.
"""

from __future__ import annotations

from collections.abc import Sequence


def fit_columns(widths: dict[str, int], width: int, drop_order: Sequence[str], gap: int = 1) -> tuple[str, ...]:
    """The names of `widths` (name → cells; in display order) that fit in `width` cells with `gap` cells
    before each, dropping columns in `drop_order` until they do. A column missing from `drop_order` is never
    dropped, so the caller's most important columns may still overflow when even they do not fit."""
    shown = list(widths)
    for name in drop_order:
        if _total(widths, shown, gap) <= width:
            break
        if name in shown:
            shown.remove(name)
    return tuple(shown)


def _total(widths: dict[str, int], shown: list[str], gap: int) -> int:
    return sum(widths[name] + gap for name in shown)

