"""The simulator's error answers, worded and typed as OpenAI's.

Status, `type` and `code` are what clients branch on, so they follow OpenAI's
exactly; messages follow OpenAI's wording closely enough for people to recognise.
"""

from __future__ import annotations

import math

from .http import Headers, Response, error_response
from .ratelimit import Refusal

SEND_RETRY_AFTER_MS = True
"""Send `retry-after-ms` (and `retry-after`) with a 429 that waiting can cure."""

TIMEOUT_FAULT_S = 3600.0
"""How long the `timeout` fault keeps a request waiting: longer than any sane client timeout."""

_SERVER_ERRORS = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout: the request took too long to process.",
}


def invalid_url(method: str, path: str) -> Response:
    return error_response(404, f"Invalid URL ({method} {path})", type="invalid_request_error")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> Response:
    return error_response(400, message, type="invalid_request_error", param=param, code=code)


NAMES_ONE_UNKNOWN_PARAMETER = {"/v1/responses"}
"""The Responses API names one unknown parameter, with code `unknown_parameter`; the older endpoints list them all."""


def unknown_parameters(endpoint: str, names: list[str]) -> Response:
    """400 for body keys the endpoint does not take, worded as that endpoint words it."""
    if endpoint in NAMES_ONE_UNKNOWN_PARAMETER:
        return bad_request(f"Unknown parameter: '{names[0]}'.", param=names[0], code="unknown_parameter")
    noun = "argument" if len(names) == 1 else "arguments"
    return bad_request(f"Unrecognized request {noun} supplied: {', '.join(names)}")


def invalid_type(param: str, expected: str, got: str) -> Response:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.", param=param, code="invalid_type"
    )


def model_not_found(endpoint: str, model: str) -> Response:
    """The Responses API answers 400 `The requested model ...`; the older endpoints 404."""
    if endpoint == "/v1/responses":
        return bad_request(f"The requested model '{model}' does not exist.", param="model", code="model_not_found")
    return error_response(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        type="invalid_request_error",
        code="model_not_found",
    )


def bad_json(detail: str) -> Response:
    return bad_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        f"HTTP library correctly. The OpenAI API expects a JSON payload.) Detail: {detail}"
    )


def scripted_bad_request() -> Response:
    return bad_request("Invalid request: the simulator was scripted to reject this one (fault `400`).")


def missing_key() -> Response:
    return error_response(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type="invalid_request_error",
    )


def invalid_key(masked_key: str) -> Response:
    return error_response(
        401,
        f"Incorrect API key provided: {masked_key}. "
        "You can find your API key at https://platform.openai.com/account/api-keys.",
        type="invalid_request_error",
        code="invalid_api_key",
    )


def insufficient_quota() -> Response:
    return error_response(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more information "
        "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def server_error(status: int) -> Response:
    return error_response(status, _SERVER_ERRORS[status], type="server_error")


def rate_limited(refusal: Refusal, model: str) -> Response:
    """429 `rate_limit_exceeded` whose `type` names the bucket (`requests` or `tokens`)."""
    headers: Headers = []
    if SEND_RETRY_AFTER_MS and refusal.retry_after_s is not None:
        retry_ms = math.ceil(round(refusal.retry_after_s * 1000, 6))
        headers = [
            (b"retry-after-ms", str(retry_ms).encode()),
            (b"retry-after", str(math.ceil(retry_ms / 1000)).encode()),
        ]
    return error_response(
        429, refusal.message(model), type=refusal.kind, code="rate_limit_exceeded", headers=headers
    )
