"""JSON on the hot path: orjson where it gives exactly what the standard library would, `json` otherwise.

orjson is several times faster, but differs from `json` at the edges, so each
edge goes back to `json`: orjson refuses NaN, Infinity and lone surrogates
(`json.loads` accepts them), reads an integer beyond 64 bits as a float (so a
text with a run of 19 digits is read by `json`), and writes NaN as null (so
`loads` marks a non-finite number it reads as :class:`NonFinite`, which
orjson refuses to write, and `dumps_line` then writes the value with `json`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(rb"\d{19}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19}")


class NonFinite(float):
    """NaN or ±Infinity as read from stored or received JSON; `json` writes it back the same."""


def _non_finite(text: str) -> float:
    return NonFinite(text)


def _float(text: str) -> float:
    value = float(text)
    return value if value - value == 0 else NonFinite(value)


def loads(text: str | bytes) -> Any:
    """What `json.loads(text)` returns (non-finite numbers as NonFinite); raises ValueError as it does."""
    long_digits = _LONG_DIGITS if isinstance(text, bytes) else _LONG_DIGITS_TEXT
    if long_digits.search(text) is None:  # type: ignore[arg-type]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_non_finite, parse_float=_float)


def dumps_line(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, or JSON equivalent to it."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # a NonFinite, an integer beyond 64 bits, a lone surrogate, a type orjson lacks
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
