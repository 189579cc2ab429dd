"""Counted nouns for every message: `1 request`, `2 requests`, `1,000 batches`."""

from __future__ import annotations

_IRREGULAR = {"batch": "batches", "entry": "entries", "retry": "retries", "batch-input file": "batch-input files"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` with thousands separators and the noun in the number it takes."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {plural or _IRREGULAR.get(noun, noun + 's')}"
