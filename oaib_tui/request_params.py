"""The parameters OpenAI accepts in each endpoint's request body, and the JSON type of each.

The lists are data: `request_params.json`, written from the openai SDK's
request types by `scripts/make_request_params.py`. The simulator rejects a body
that breaks them, as OpenAI does; `oaib-tui validate` warns about a request
template that does. Only top-level parameters are listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "array<object>": "an array of objects",
    "array<string>": "an array of strings",
}
"""How OpenAI names each type in its `invalid_type` messages."""

_ITEM = {"array<object>": "object", "array<string>": "string"}


@dataclass(frozen=True)
class WrongType:
    """A value of the wrong JSON type: `param` (`temperature`, `messages[0]`) wanted `expected`, held `got`."""

    param: str
    expected: str
    got: str


@dataclass(frozen=True)
class EndpointParams:
    """What one endpoint's body may hold."""

    required: tuple[str, ...]
    types: Mapping[str, str]
    """Each parameter's JSON type: `number`, `array<object>`, or several joined by `|`."""

    @property
    def names(self) -> list[str]:
        return list(self.types)

    def unknown(self, keys: Iterable[str]) -> list[str]:
        """The keys this endpoint does not take, in the order given."""
        return [key for key in keys if key not in self.types]

    def wrong_type(self, body: Mapping[str, Any]) -> WrongType | None:
        """The first known parameter whose value has the wrong type; null means "not given" and always passes."""
        for name, value in body.items():
            kinds = self.types.get(name)
            if kinds is None or value is None:
                continue
            problem = _type_problem(name, value, kinds.split("|"))
            if problem:
                return problem
        return None


@cache
def _table() -> dict[str, EndpointParams]:
    text = resources.files(__package__).joinpath("request_params.json").read_text(encoding="utf-8")
    endpoints = json.loads(text)["endpoints"]
    return {
        endpoint: EndpointParams(tuple(entry["required"]), dict(entry["params"]))
        for endpoint, entry in endpoints.items()
    }


def params_for(endpoint: str) -> EndpointParams:
    """The parameters of `/v1/chat/completions`, or of any other endpoint the project schema allows."""
    return _table()[endpoint]


def describe_value(value: Any) -> str:
    """`a string`, `an integer`, … as OpenAI says what it got."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _type_problem(name: str, value: Any, kinds: list[str]) -> WrongType | None:
    if "any" in kinds:
        return None
    fitting = [kind for kind in kinds if _fits(value, kind)]
    if not fitting:
        words = [_WORDS.get(kind, kind) for kind in kinds]
        expected = words[0] if len(words) == 1 else "one of " + " or ".join(words)
        return WrongType(name, expected, describe_value(value))
    item_kind = _ITEM.get(fitting[0])
    if item_kind:
        for index, item in enumerate(value):
            if not _fits(item, item_kind):
                return WrongType(f"{name}[{index}]", _WORDS[item_kind], describe_value(item))
    return None


def _fits(value: Any, kind: str) -> bool:
    if kind.startswith("array"):
        return isinstance(value, list)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, (int, float))
    if kind == "string":
        return isinstance(value, str)
    return kind == "object" and isinstance(value, dict)
