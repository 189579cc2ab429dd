"""The 400s: what a request body must hold for each endpoint, worded as OpenAI words it."""

from __future__ import annotations

from typing import Any

from . import error_bodies
from .http import Response

REQUIRED = {
    "/v1/chat/completions": "messages",
    "/v1/completions": "prompt",
    "/v1/embeddings": "input",
    "/v1/moderations": "input",
}
MAX_TOKEN_KEYS = ("max_completion_tokens", "max_output_tokens", "max_tokens")
MODEL_OPTIONAL = {"/v1/moderations"}

NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS = 1536
"""text-embedding-3-small and text-embedding-ada-002, and any embedding model we do not know."""


def native_dimensions(model: str) -> int:
    return NATIVE_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


def validate(endpoint: str, body: dict[str, Any]) -> Response | None:
    """None if the body is acceptable, else the 400 to answer."""
    if body.get("stream"):
        return error_bodies.bad_request(
            "Streaming is not supported by the oaib-tui simulator: send the request without `stream: true`.",
            param="stream",
        )
    if endpoint not in MODEL_OPTIONAL and not body.get("model"):
        return error_bodies.bad_request("you must provide a model parameter")
    required = REQUIRED.get(endpoint)
    if required and body.get(required) in (None, "", []):
        return error_bodies.bad_request(
            f"Missing required parameter: '{required}'.", param=required, code="missing_required_parameter"
        )
    for key in MAX_TOKEN_KEYS:
        problem = _integer_problem(body, key, minimum=1)
        if problem:
            return problem
    problem = _integer_problem(body, "n", minimum=1, maximum=128)
    if problem is None and endpoint == "/v1/embeddings":
        problem = _integer_problem(body, "dimensions", minimum=1, maximum=native_dimensions(str(body["model"])))
    return problem


def _integer_problem(body: dict[str, Any], key: str, minimum: int, maximum: int | None = None) -> Response | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return error_bodies.bad_request(
            f"Invalid type for '{key}': expected an integer, but got {type(value).__name__} instead.",
            param=key,
            code="invalid_type",
        )
    if value < minimum:
        return error_bodies.bad_request(
            f"Invalid '{key}': integer below minimum value. Expected a value >= {minimum}, but got {value} instead.",
            param=key,
            code="integer_below_min_value",
        )
    if maximum is not None and value > maximum:
        return error_bodies.bad_request(
            f"Invalid '{key}': integer above maximum value. Expected a value <= {maximum}, but got {value} instead.",
            param=key,
            code="integer_above_max_value",
        )
    return None
