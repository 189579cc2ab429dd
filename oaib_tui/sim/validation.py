"""The 400s and 404s: what a request body must hold for each endpoint, worded as OpenAI words it.

The parameters each endpoint takes, and their types, are the data of
:mod:`oaib_tui.request_params`; a key it does not list is rejected, as OpenAI
rejects it. Which models exist is :class:`ModelCatalog`'s business.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..pricing import PRICE_TABLE, is_known_model
from ..request_params import describe_value, params_for
from . import error_bodies
from .http import Response
from .tiers import invalid_tier

MAX_TOKEN_KEYS = ("max_completion_tokens", "max_output_tokens", "max_tokens")
MODEL_OPTIONAL = {"/v1/moderations"}

NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS = 1536
"""text-embedding-3-small and text-embedding-ada-002, and any embedding model we do not know."""


def native_dimensions(model: str) -> int:
    return NATIVE_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


class ModelCatalog:
    """The models the simulator serves: the price table's, their snapshots and fine-tunes, and `extra` ones."""

    def __init__(self, extra: Collection[str] = ()) -> None:
        self.names = frozenset(PRICE_TABLE) | frozenset(extra)

    def knows(self, model: str) -> bool:
        return is_known_model(model, self.names)

    def refusal(self, endpoint: str, model: str) -> Response | None:
        """None if the model exists, else OpenAI's `model_not_found` answer for this endpoint."""
        return None if self.knows(model) else error_bodies.model_not_found(endpoint, model)


def validate(endpoint: str, body: dict[str, Any]) -> Response | None:
    """None if the body is acceptable, else the 400 to answer (the model's existence is checked apart)."""
    params = params_for(endpoint)
    unknown = params.unknown(body)
    if unknown:
        return error_bodies.unknown_parameters(endpoint, unknown)
    if body.get("stream"):
        return error_bodies.bad_request(
            "Streaming is not supported by the oaib-tui simulator: send the request without `stream: true`.",
            param="stream",
        )
    if endpoint not in MODEL_OPTIONAL and not body.get("model"):
        return error_bodies.bad_request("you must provide a model parameter")
    missing = [name for name in params.required if name != "model" and body.get(name) in (None, "", [])]
    if missing:
        return error_bodies.bad_request(
            f"Missing required parameter: '{missing[0]}'.", param=missing[0], code="missing_required_parameter"
        )
    wrong = params.wrong_type(body)
    if wrong:
        return error_bodies.invalid_type(wrong.param, wrong.expected, wrong.got)
    return invalid_tier(body) or _bounds_problem(endpoint, body)


def _bounds_problem(endpoint: str, body: dict[str, Any]) -> Response | None:
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
        return error_bodies.invalid_type(key, "an integer", describe_value(value))
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
