"""Small text helpers the dashboard's widgets share: numbers, money, durations, bars and sparklines."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from ..wording import format_duration
from ..wording import money as money  # the one money formatter, re-exported for the widgets

SPARKS = " ▁▂▃▄▅▆▇█"
BAR_FULL, BAR_EMPTY = "█", "░"
BAR_PARTS = " ▏▎▍▌▋▊▉"


def count(value: float) -> str:
    """1,234 below a million, 1.23M above (a column must not widen as the run grows)."""
    if value >= 10_000_000:
        return f"{value / 1_000_000:,.1f}M"
    return f"{value:,.0f}"


def compact(value: float) -> str:
    """A short figure for tight spots: 950, 12.3k, 4.50M."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if value >= 10_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:,.0f}"


def duration(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `width` cells wide, in eighths of a cell."""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = BAR_FULL * full + (BAR_PARTS[part] if part and full < width else "")
    return text + BAR_EMPTY * (width - len(text))


def sparkline(values: Sequence[float], ceiling: float | None = None) -> str:
    """One character per value, scaled to `ceiling` (default: the largest value)."""
    top = ceiling or max(values, default=0.0)
    if top <= 0:
        return SPARKS[0] * len(values)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[min(steps, math.ceil(value / top * steps))] for value in values)


def spread(left: Text, right: Text, width: int) -> Text:
    """`left` and `right` on one line `width` cells wide: right-aligned right, left cut short if need be."""
    room = max(0, width - right.cell_len - 1)
    if left.cell_len > room:
        left = left.copy()
        left.truncate(room, overflow="ellipsis")
    line = left.copy()
    line.pad_right(max(0, width - left.cell_len - right.cell_len))
    line.append_text(right)
    return line


def cell(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` cells: cut with an ellipsis, or padded."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width else ""
    return text.rjust(width) if right else text.ljust(width)
