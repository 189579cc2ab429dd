"""A throughput chart in text: series drawn as rows of block characters on a labelled scale, over a time axis.

No Textual here: the panel hands in numbers and widths and gets back lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..wording import format_duration
from .format import SPARKS

__all__ = ["TimeSpan", "bar_rows", "nice_ceiling", "time_axis", "time_span"]

_STEPS = len(SPARKS) - 1
_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """How a span of time is laid over columns: `buckets` of `bucket_s` seconds, each `stretch` columns wide."""

    seconds: int
    bucket_s: int
    buckets: int
    stretch: int

    @property
    def columns(self) -> int:
        return self.buckets * self.stretch


def time_span(seconds: float, width: int, keep_s: float) -> TimeSpan:
    """The last `seconds` (at most `keep_s`, the history kept) over at most `width` columns, in whole seconds.

    A span shorter than the width is stretched, each bucket drawn several columns
    wide, so a young run fills the chart instead of a corner of it.
    """
    width = max(1, width)
    span = max(1, min(math.ceil(seconds), int(keep_s)))
    bucket_s = math.ceil(span / width)
    buckets = math.ceil(span / bucket_s)
    return TimeSpan(span, bucket_s, buckets, max(1, width // buckets))


def nice_ceiling(value: float) -> float:
    """The scale's top: the least of 1, 2, 2.5 and 5 times a power of ten not below `value` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in _NICE if step * power >= value * (1 - 1e-9))


def bar_rows(values: Sequence[float], top: float, rows: int, stretch: int = 1) -> list[str]:
    """`values` as bars `rows` lines high (eighths of a line each) scaled to `top`, top line first.

    A value above nothing shows at least its lowest eighth, so a trickle is told apart from a stop.
    """
    levels = [_level(value, top, rows) for value in values]
    return ["".join(_cell(level - row * _STEPS) * stretch for level in levels) for row in reversed(range(rows))]


def _level(value: float, top: float, rows: int) -> int:
    if value <= 0 or top <= 0:
        return 0
    return max(1, min(rows * _STEPS, math.ceil(value / top * rows * _STEPS)))


def _cell(level: int) -> str:
    return SPARKS[0] if level <= 0 else SPARKS[min(level, _STEPS)]


def time_axis(span: TimeSpan) -> str:
    """`−38s` under the chart's first column, `now` under its last, and the middle's time between."""
    width = span.columns
    axis = [" "] * width
    middle = f"−{format_duration(span.seconds / 2)}"
    marks = ((0, f"−{format_duration(span.seconds)}"), (width // 2 - len(middle) // 2, middle), (width - 3, "now"))
    ends = -1
    for start, label in marks:
        if start > ends and start + len(label) <= width:
            axis[start:start + len(label)] = label
            ends = start + len(label)
    return "".join(axis)
