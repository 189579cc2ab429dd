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
# Types orjson would write but `json` would not, or would write otherwise, go to `json` (via TypeError).
_PLAIN = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_SORTED = _PLAIN | orjson.OPT_SORT_KEYS


class NonFinite(float):
    """NaN or ±Infinity as read from stored or received JSON; `json` writes it back the same."""


def _non_finite(text: str) -> float:
    return NonFinite(text)


def _float(text: str) -> float:
    value = float(text)
    return value if value - value == 0 else NonFinite(value)


def loads(text: str | bytes) -> Any:
    """What `json.loads(text)` returns (non-finite numbers as NonFinite); raises ValueError as it does."""
    return loads_like(text, parse_constant=_non_finite, parse_float=_float)


def loads_like(text: str | bytes, **json_options: Any) -> Any:
    """What `json.loads(text, **json_options)` returns, for options that only matter at orjson's edges.

    Those are `parse_constant` (NaN, Infinity) and a `parse_float` that keeps finite floats as they are.
    """
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
    return json.loads(text, **json_options)


def compact(value: Any, *, sort_keys: bool = False, allow_nan: bool = True, default: Any = None) -> str:
    """Exactly `json.dumps(value, ensure_ascii=False, separators=(",", ":"), ...)`, and its errors.

    orjson writes the text when it is sure to write the same: a NaN it would write as null, a float
    it would write differently (1e-05 as 0.00001, 1e-07 as 1e-7) and any value that is not plain
    JSON (a subclass, a date, an int beyond 64 bits) go to `json`.
    """
    try:
        out = orjson.dumps(value, option=_SORTED if sort_keys else _PLAIN)
    except TypeError:
        out = b"null"
    if b"null" in out or b"e-" in out or b"e+" in out or b"0.0000" in out:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=allow_nan,
                          default=default)
    return out.decode("utf-8")


def dumps_line(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, or JSON equivalent to it."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # a NonFinite, an integer beyond 64 bits, a lone surrogate, a type orjson lacks
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
