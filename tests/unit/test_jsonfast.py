"""The fast JSON path reads and writes what the standard library would, edges included."""

from __future__ import annotations

import datetime
import json
import math
import random
import struct

import pytest

from oaib_tui import jsonfast

TEXTS = [
    '{"a":1,"b":[true,false,null],"c":"é\\u2028\\n\\"","d":-0.0,"e":1.5e-7,"f":1e16}',
    '{"big":123456789012345678901234567890,"neg":-9223372036854775809,"u64":18446744073709551615}',
    '{"id":"chatcmpl-1234567890123456789012"}',
    '[NaN,Infinity,-Infinity,1e400]',
    '"\\ud800 lone surrogate"',
    '{"a":1,"a":2}',
    ' {"spaced" : [ 1 , 2 ] } ',
]


def same(a: object, b: object) -> bool:
    """Equal, NaN included, and of the same types (an int stays an int)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b) and not (isinstance(a, float) and isinstance(b, float)):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize("text", TEXTS)
def test_loads_reads_what_json_reads(text: str) -> None:
    assert same(jsonfast.loads(text), json.loads(text))
    assert same(jsonfast.loads(text.encode("utf-8")), json.loads(text))


@pytest.mark.parametrize("text", TEXTS)
def test_a_line_written_reads_back_as_json_wrote_it(text: str) -> None:
    value = jsonfast.loads(text)
    expected = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    assert same(json.loads(jsonfast.dumps_line(value)), json.loads(expected))
    assert "\n" not in jsonfast.dumps_line(value)


def test_non_finite_numbers_are_written_as_json_writes_them_not_as_null() -> None:
    assert jsonfast.dumps_line(jsonfast.loads('{"x":[NaN,-Infinity,1e999]}')) == '{"x":[NaN,-Infinity,Infinity]}'


@pytest.mark.parametrize("text", ['{"a":', '{"a":1}x', "", "nul", b'\xff{"a":1}'])
def test_damaged_json_is_refused_as_json_refuses_it(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        jsonfast.loads(text)


def plain_dumps(value: object, **options: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), **options)  # type: ignore[arg-type]


def outcome(write: object, value: object, **options: object) -> str:
    try:
        return write(value, **options)  # type: ignore[operator]
    except (TypeError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def test_compact_writes_every_float_exactly_as_json_does() -> None:
    rng = random.Random(14)
    floats = [m * 10.0**k for k in range(-30, 30) for m in (1.0, 1.5, 7.268718963593349)]
    floats += [rng.random() * 10.0 ** rng.randint(-20, 20) for _ in range(20_000)]
    floats += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    finite = [value for value in floats if math.isfinite(value)]
    assert [jsonfast.compact(value) for value in finite] == [plain_dumps(value) for value in finite]


@pytest.mark.parametrize("value", [
    {"b": 1, "a": [None, True, False, -0.0, 2**63 - 1, -(2**63)]},
    {"é": 1, "e": 2, "\U0001f600": 3, "z": "e-mail \u2028 \x1f \x7f \"q\" \\"},
    {"x": float("nan")}, [float("inf")], {1: 2}, 2**70, "\ud800", datetime.date(2026, 12, 3),
])
@pytest.mark.parametrize("options", [{}, {"sort_keys": True, "allow_nan": False, "default": str}])
def test_compact_gives_what_json_gives_or_fails_as_it_fails(value: object, options: dict[str, object]) -> None:
    assert outcome(jsonfast.compact, value, **options) == outcome(plain_dumps, value, **options)


def refuse(constant: str) -> float:
    raise ValueError(f"refused {constant}")


@pytest.mark.parametrize("text", ['{"a":1}', '{"a":NaN}', '{"n":123456789012345678901234567890}', '{"a":'])
def test_loads_like_honours_the_json_options_orjson_lacks(text: str) -> None:
    assert outcome(jsonfast.loads_like, text, parse_constant=refuse) == outcome(json.loads, text, parse_constant=refuse)
