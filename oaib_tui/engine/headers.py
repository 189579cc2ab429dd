"""The one reader of the answer headers that steer retries and pacing.

`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` tell the limiter
(:mod:`.ratelimit_sync`) and a 429's wait (:mod:`.retry`) the same thing, so
both read them here, with the same rules: a count is a finite number ≥ 0, a
duration is OpenAI's (`6m0s`, `120ms`) or a plain number of seconds.
`retry-after-ms` and `retry-after` are read here too.

Every answer passes through :func:`read_limit_headers`, so it looks names up
straight in case-blind mappings (aiohttp's, httpx's) instead of copying them
lower-cased, and parses each distinct duration text once.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import httpx2
import multidict

__all__ = [
    "KINDS",
    "BucketReport",
    "Kind",
    "case_blind",
    "header",
    "number",
    "parse_duration",
    "read_limit_headers",
    "retry_after",
]

Kind = Literal["requests", "tokens"]
KINDS: tuple[Kind, ...] = ("requests", "tokens")


class LowerCaseNames(dict[str, str]):
    """Headers whose names are all lower case already (the lean transport's): read by lower-case names as they are."""


CASE_BLIND = (LowerCaseNames, multidict.CIMultiDictProxy, multidict.CIMultiDict, httpx2.Headers)
"""Header mappings read by lower-case names without a lower-cased copy (aiohttp's, the SDK's, ours)."""

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@dataclass(frozen=True, slots=True)
class BucketReport:
    """One bucket's `x-ratelimit-*` headers."""

    limit: float | None
    remaining: float | None
    reset_s: float | None


_LIMIT_HEADERS = {kind: tuple(f"x-ratelimit-{part}-{kind}" for part in ("limit", "remaining", "reset")) for kind in KINDS}
_NO_REPORT = BucketReport(None, None, None)


def case_blind(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` itself if its lookups ignore case, else a copy with lower-cased names."""
    if isinstance(headers, CASE_BLIND):
        return headers
    return {str(name).lower(): str(value) for name, value in headers.items()}


def read_limit_headers(headers: Mapping[str, str]) -> dict[Kind, BucketReport]:
    """The `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` headers, per bucket that has any."""
    lowered = headers if isinstance(headers, CASE_BLIND) else case_blind(headers)  # no call on the hot path
    reports: dict[Kind, BucketReport] = {}
    for kind, (limit, remaining, reset) in _LIMIT_HEADERS.items():
        report = BucketReport(number(lowered.get(limit)), number(lowered.get(remaining)),
                              parse_duration(lowered.get(reset)))
        if report != _NO_REPORT:
            reports[kind] = report
    return reports


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name (httpx headers ignore case; a plain dict may not)."""
    value = headers.get(name)
    if value is None and not isinstance(headers, CASE_BLIND):
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return None if value is None else str(value)


def number(text: str | None) -> float | None:
    """A finite, non-negative number, or None."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_duration(text: str | None) -> float | None:
    """Seconds in an OpenAI duration (`1s`, `6m0s`, `120ms`, `1h2m3.5s`) or a plain number; None if unparseable."""
    if text is None:
        return None
    return _parse_duration(text)


@lru_cache(maxsize=1024)  # every answer has two, and they repeat: "0s", "6ms", "1m0s" …
def _parse_duration(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return _parse_go_duration(text)
    return value if math.isfinite(value) and value >= 0 else None


def _parse_go_duration(text: str) -> float | None:
    total, position = 0.0, 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != position:
            return None
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        position = part.end()
    return total if position == len(text) and position > 0 else None


def retry_after(headers: Mapping[str, str], now: float | None) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date).

    The date is read against `now` (a `time.time()` value; without it, no date
    is read). A wait in the past is 0; an absurd one (`inf`) is returned as
    such, for the caller to cap.
    """
    milliseconds = _asked_seconds(header(headers, "retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = header(headers, "retry-after")
    if value is None:
        return None
    seconds = _asked_seconds(value)
    if seconds is not None or now is None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now) if when.tzinfo is not None else None


def _asked_seconds(text: str | None) -> float | None:
    """A wait as a number: below zero is no wait, `inf` stays (too long is the caller's to cap), NaN is none."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else max(0.0, value)
