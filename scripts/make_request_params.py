"""Write oaib_tui/request_params.json: the parameters each endpoint accepts, from the openai SDK's request types.

    python scripts/make_request_params.py [--check]

The SDK's `*CreateParams` TypedDicts are generated from OpenAI's OpenAPI spec,
so they are the closest thing to the API's own list. Run this after upgrading
`openai`; `--check` only says whether the file is out of date (exit 1 if so).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import openai
from openai.types import (
    completion_create_params,
    embedding_create_params,
    moderation_create_params,
)
from openai.types.chat import completion_create_params as chat_create_params
from openai.types.responses import response_create_params
from typing_extensions import is_typeddict

OUT = Path(__file__).resolve().parents[1] / "oaib_tui" / "request_params.json"

PARAMS = {
    "/v1/chat/completions": chat_create_params.CompletionCreateParamsNonStreaming,
    "/v1/responses": response_create_params.ResponseCreateParamsNonStreaming,
    "/v1/embeddings": embedding_create_params.EmbeddingCreateParams,
    "/v1/completions": completion_create_params.CompletionCreateParamsNonStreaming,
    "/v1/moderations": moderation_create_params.ModerationCreateParams,
}
ALSO_REQUIRED = {"/v1/responses": ["model"]}
"""The SDK leaves `model` optional because a stored prompt may name one; the simulator serves no stored prompts."""

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
_ARRAYS = (list, Iterable, Sequence)
_OBJECTS = (dict, Mapping)


def json_types(annotation: typing.Any) -> set[str]:
    """The JSON types a Python annotation of the SDK allows: `{"string", "array<object>"}`, …"""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Required, typing.NotRequired):
        return json_types(args[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(json_types(arg) for arg in args))
    if origin is typing.Literal:
        return {_SCALARS[type(value)] for value in args}
    if annotation in _SCALARS:
        return {_SCALARS[annotation]}
    if is_typeddict(annotation) or annotation in _OBJECTS or origin in _OBJECTS:
        return {"object"}
    if annotation in _ARRAYS or origin in _ARRAYS or getattr(origin, "__name__", "") == "SequenceNotStr":
        return {_array_of(args)}
    return {"any"}


def _array_of(args: tuple) -> str:
    items = json_types(args[0]) - {"null"} if args else {"any"}
    return f"array<{items.pop()}>" if len(items) == 1 and "any" not in items else "array"


def describe(annotation: typing.Any) -> str:
    allowed = json_types(annotation) - {"null"}  # the API takes null for "not given" alike
    if "any" in allowed:
        return "any"
    if "integer" in allowed and "number" in allowed:
        allowed.discard("integer")
    arrays = {kind for kind in allowed if kind.startswith("array")}
    if len(arrays) > 1:  # `input`: strings or token arrays; one word says enough
        allowed = (allowed - arrays) | {"array"}
    return "|".join(sorted(allowed))


def endpoint_entry(endpoint: str, params: type) -> dict[str, typing.Any]:
    hints = typing.get_type_hints(params, include_extras=True)
    required = [name for name, hint in hints.items() if typing.get_origin(hint) is typing.Required]
    required += [name for name in ALSO_REQUIRED.get(endpoint, []) if name not in required]
    return {"required": sorted(required), "params": {name: describe(hints[name]) for name in sorted(hints)}}


def build() -> dict[str, typing.Any]:
    return {
        "about": "The top-level parameters each endpoint's request body may hold, with their JSON types "
                 "(`a|b` either, `array<object>` an array of objects). Written by scripts/make_request_params.py "
                 "from the openai SDK's request types; run it again rather than edit this file.",
        "openai_sdk": openai.__version__,
        "endpoints": {endpoint: endpoint_entry(endpoint, params) for endpoint, params in PARAMS.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date; write nothing")
    args = parser.parse_args()
    text = json.dumps(build(), indent=2) + "\n"
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        print("up to date" if current == text else f"{OUT} is out of date")
        return 0 if current == text else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
