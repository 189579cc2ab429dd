"""Turn pydantic's validation errors into problems a person can act on.

Each error's `loc` becomes a dotted key (`sources[1].path`) with the line and
column it sits at; its message says in plain words what was expected
("expected a whole number greater than 0, got 'fast'"), and an unknown key
gets a "did you mean" hint.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from oaib_tui.errors import Problem, did_you_mean
from oaib_tui.project.yamlpos import Position, locate, parent_key

_TYPE_WORDS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
_PLAIN_PHRASE_TYPES = {"value_error", "assertion_error"}


def schema_problems(
    error: ValidationError, model: type[BaseModel], data: Any, positions: dict[str, Position], file: str
) -> list[Problem]:
    """One Problem per pydantic error, located in the YAML file."""
    return [_problem(err, model, data, positions, file) for err in error.errors()]


def _problem(err: Any, model: type[BaseModel], data: Any, positions: dict[str, Position], file: str) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    is_key_error = bool(loc) and loc[-1] == "[key]"
    key = dotted_key(loc[:-1] if is_key_error else loc, data, keep_missing_last=kind == "missing")
    hint = None
    if kind == "missing":
        message = f"the required key `{loc[-1]}` is missing"
        where = locate(positions, parent_key(key))
    elif kind == "extra_forbidden":
        message, hint = _unknown_key(loc, model, data)
        where = locate(positions, key)
    else:
        message = _key_message(err) if is_key_error or kind == "invalid_key" else _value_message(err, model, loc)
        where = locate(positions, key)
    line, column = where if where else (None, None)
    return Problem(message, file=file, line=line, column=column, key=key or None, hint=hint)


def dotted_key(loc: tuple, data: Any, keep_missing_last: bool = False) -> str:
    """`("sources", 1, "path")` -> `sources[1].path`, following the data to tell list indexes from keys."""
    key, current = "", data
    for index, part in enumerate(loc):
        is_last = index == len(loc) - 1
        if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            key, current = f"{key}[{part}]", current[part]
        elif isinstance(current, dict) and _has_key(current, part):
            key, current = _join(key, part), current[part]
        elif is_last and keep_missing_last:
            key = _join(key, part)
        # anything else is a tag pydantic adds (a union member, a function name): not part of the file
    return key


def _has_key(mapping: dict, part: Any) -> bool:
    try:
        return part in mapping
    except TypeError:
        return False


def _join(key: str, part: Any) -> str:
    return f"{key}.{part}" if key else str(part)


def _unknown_key(loc: tuple, model: type[BaseModel], data: Any) -> tuple[str, str | None]:
    name = str(loc[-1])
    owner = _without_none(_annotation_at(model, loc[:-1])[0])
    if not (isinstance(owner, type) and issubclass(owner, BaseModel)):
        return f"unknown key `{name}`", None
    given = _value_at(data, loc[:-1])
    unused = [c for c in owner.model_fields if not (isinstance(given, dict) and c in given)]
    hint = _suggest(name, unused) or "expected one of " + ", ".join(f"`{c}`" for c in owner.model_fields)
    return f"unknown key `{name}`", hint


def _suggest(name: str, choices: list[str]) -> str | None:
    """A "did you mean" hint; two swapped letters (`modle`) beat a merely similar word (`mode`)."""
    swapped = [c for c in choices if len(c) == len(name) and sorted(c) == sorted(name)]
    return f"did you mean `{swapped[0]}`?" if swapped else did_you_mean(name, choices)


def _value_at(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _key_message(err: dict) -> str:
    return f"keys here must be text, got {describe_value(err.get('input'))}"


def _value_message(err: dict, model: type[BaseModel], loc: tuple) -> str:
    if err["type"] in _PLAIN_PHRASE_TYPES:
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    annotation, info = _annotation_at(model, loc)
    expected = describe_expected(annotation, info)
    if expected is None:
        msg = str(err["msg"])
        return f"{msg[:1].lower()}{msg[1:]}, got {describe_value(err.get('input'))}"
    return f"expected {expected}, got {describe_value(err.get('input'))}"


def _annotation_at(model: type[BaseModel], loc: tuple) -> tuple[Any, FieldInfo | None]:
    """The type expected at `loc` and, when `loc` ends at a model field, that field's info."""
    annotation: Any = model
    info: FieldInfo | None = None
    for part in loc:
        annotation = _without_none(annotation)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return None, None
            info = annotation.model_fields[part]
            annotation = info.annotation
        elif origin is list and isinstance(part, int):
            annotation, info = get_args(annotation)[0], None
        elif origin is dict:
            annotation, info = get_args(annotation)[1], None
        else:
            return None, None
    return annotation, info


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def describe_expected(annotation: Any, info: FieldInfo | None) -> str | None:
    """`a whole number greater than 0`, `one of `auto`, `realtime` or `batch``, … or None if unsure."""
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + _or_list([f"`{v}`" for v in get_args(annotation)])
    if origin is list:
        noun = "a list"
    elif origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        noun = "a mapping (key: value)"
    elif annotation in _TYPE_WORDS:
        noun = _TYPE_WORDS[annotation]
    else:
        return None
    bounds = _bounds(info.metadata if info else [])
    return f"{noun} {bounds}" if bounds else noun


def _bounds(metadata: list) -> str:
    found = {type(m): m for m in metadata}
    if Ge in found and Le in found:
        return f"between {found[Ge].ge} and {found[Le].le}"
    parts = []
    if Gt in found:
        parts.append(f"greater than {found[Gt].gt}")
    if Ge in found:
        parts.append(f"at least {found[Ge].ge}")
    if Lt in found:
        parts.append(f"less than {found[Lt].lt}")
    if Le in found:
        parts.append(f"at most {found[Le].le}")
    if MinLen in found:
        count = found[MinLen].min_length
        parts.append(f"with at least {count} item{'s' if count != 1 else ''}")
    return " and ".join(parts)


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_value(value: Any) -> str:
    """A short, readable description of what the file holds at some key."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
