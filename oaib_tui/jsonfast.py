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
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


class NonFinite(float):
    """NaN or ±Infinity as read from stored or received JSON; `json` writes it back the same."""


def _non_finite(text: str) -> float:
    return NonFinite(text)


def _float(text: str) -> float:
    value = float(text)
    return value if value - value == 0 else NonFinite(value)


def loads(text: str | bytes) -> Any:
    """What `json.loads(text)` returns (non-finite numbers as NonFinite); raises ValueError as it does."""
    try:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        data = b""
    # A run of 19 digits might be an integer orjson would read as a float (a regex costs more than a parse).
    if data and _LONG_DIGITS not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_non_finite, parse_float=_float)


def dumps_line(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, or JSON equivalent to it."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # a NonFinite, an integer beyond 64 bits, a lone surrogate, a type orjson lacks
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
