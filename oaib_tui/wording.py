"""Words and numbers every message shares: counted nouns (`1 request`, `2 requests`) and money."""

from __future__ import annotations

import math

_IRREGULAR = {"batch": "batches", "entry": "entries", "retry": "retries", "batch-input file": "batch-input files"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with thousands separators and the noun in the number it takes."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {plural or _IRREGULAR.get(noun, noun + 's')}"


def money(value: float | None) -> str:
    """US dollars as every front end shows them: `$12.50`, `$0.0123`, and small sums to two significant
    digits (`$0.0005`, `$0.000064`), so that a cap of $0.0005 never reads as `$0.00`. `unknown` for None."""
    if value is None or math.isnan(value):
        return "unknown"
    size = abs(value)
    if size == 0:
        return "$0"
    if size >= 10:
        return f"${value:,.2f}"
    if size >= 0.01:
        return f"${value:,.4f}"
    decimals = -math.floor(math.log10(size)) + 1
    text = f"{value:.{decimals}f}"
    while text.endswith("0") and len(text.split(".")[1]) > 4:
        text = text[:-1]
    return f"${text}" if value >= 0 else f"-${text[1:]}"


def days_or_hours(seconds: float) -> str:
    """`7 days`, `36 hours`: a span of whole days in days, else in hours."""
    return counted(round(seconds / 86_400), "day") if seconds % 86_400 == 0 else counted(round(seconds / 3_600), "hour")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
