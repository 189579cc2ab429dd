"""The simulator's batch lines: validating an input file, and answering one request line.

Validation follows the real Batch API: every line a JSON object with a unique
`custom_id`, `method: POST`, the batch's `url` and a `body`; one model for the
whole file, a model that exists (`model_not_found` fails the batch; Azure's
lines name deployments, which are the user's own); at most 50,000 lines and
200 MB. A body the endpoint would reject (an unknown parameter, a wrong type)
does not fail the batch: its line gets the endpoint's 400 in the error file, as
OpenAI does. Answers reuse the endpoints' own answer builders, so a batch
answer is what the same realtime request would get.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from .. import tokens
from ..project.schema import SimulatorSettings
from .responses import BUILDERS, Admitted
from .textgen import seeded_random
from .validation import ModelCatalog, validate

MAX_LINES = 50_000
MAX_FILE_BYTES = 200 * 1000**2
MAX_LISTED_ERRORS = 100
"""Line errors a failed batch lists, at most (the real API also lists only some)."""
DEFAULT_MODEL = "omni-moderation-latest"


@dataclass(frozen=True, slots=True)
class InputLine:
    custom_id: str
    body: dict[str, Any]
    prompt_tokens: int


@dataclass
class ParsedInput:
    """A validated input file: its lines and model, or the line errors that fail the batch."""

    lines: list[InputLine]
    model: str | None
    errors: list[dict[str, Any]]

    @property
    def tokens(self) -> int:
        return sum(line.prompt_tokens for line in self.lines)


def _error(code: str, message: str, line: int | None = None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "line": line, "message": message, "param": param}


def parse_input(content: bytes, endpoint: str, settings: SimulatorSettings, batch_id: str) -> ParsedInput:
    """Check every line of an input file as the Batch API's validation step does."""
    if len(content) > MAX_FILE_BYTES:
        return ParsedInput([], None, [_error("file_too_large", f"The input file exceeds {MAX_FILE_BYTES:,} bytes.")])
    rng = seeded_random(settings.seed, "batch-invalid", batch_id)
    lines: list[InputLine] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: str | None = None
    models = ModelCatalog(settings.models) if endpoint.startswith("/v1/") else None
    for number, raw in enumerate(content.splitlines(), start=1):  # bytes: ASCII line ends only
        if not raw.strip():
            continue
        problem, parsed = _check_line(raw, endpoint, seen)
        if problem is None and settings.batch_invalid_line_rate and rng.random() < settings.batch_invalid_line_rate:
            problem = _error("invalid_request", "This line was rejected by the simulator (batch_invalid_line_rate).")
        if problem is None and parsed is not None:
            problem, model = _model_problem(str(parsed.body.get("model") or DEFAULT_MODEL), model, models)
        if problem is not None:
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append({**problem, "line": number})
            continue
        lines.append(parsed)  # type: ignore[arg-type]
    if len(lines) + len(errors) > MAX_LINES:
        errors.insert(0, _error("too_many_requests", f"A batch may hold at most {MAX_LINES:,} requests."))
    if not lines and not errors:
        errors.append(_error("empty_file", "The input file has no requests."))
    return ParsedInput(lines, model, errors)


def _model_problem(line_model: str, model: str | None,
                   models: ModelCatalog | None) -> tuple[dict[str, Any] | None, str | None]:
    """The line error for this line's model, if any, and the batch's model after it."""
    if models is not None and not models.knows(line_model):
        return _error("model_not_found", f"The provided model '{line_model}' is not supported by the Batch API.",
                      param="body.model"), model
    if model is not None and line_model != model:
        return _error("mismatched_model", f"All requests in a batch must use the same model; "
                      f"this line uses `{line_model}`, earlier lines `{model}`.", param="body.model"), model
    return None, line_model


def _check_line(raw: bytes, endpoint: str, seen: set[str]) -> tuple[dict[str, Any] | None, InputLine | None]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error("invalid_json_line", "This line is not parseable as valid JSON."), None
    if not isinstance(data, dict):
        return _error("invalid_json_line", "This line is not a JSON object."), None
    custom_id, body = data.get("custom_id"), data.get("body")
    if not isinstance(custom_id, str) or not custom_id:
        return _error("missing_required_parameter", "Missing required parameter: 'custom_id'.", param="custom_id"), None
    if custom_id in seen:
        return _error("duplicate_custom_id", f"The custom_id `{custom_id}` is used more than once.", param="custom_id"), None
    seen.add(custom_id)
    if data.get("method") != "POST":
        return _error("invalid_method", "The method must be POST.", param="method"), None
    if data.get("url") != endpoint:
        return _error("mismatched_endpoint", f"The url must be the batch's endpoint `{endpoint}`.", param="url"), None
    if not isinstance(body, dict):
        return _error("invalid_body", "The body must be a JSON object.", param="body"), None
    model = str(body.get("model") or DEFAULT_MODEL)
    return None, InputLine(custom_id, body, tokens.prompt_tokens(openai_endpoint(endpoint), body, model))


def openai_endpoint(endpoint: str) -> str:
    """`/chat/completions` (Azure's name for a batch's endpoint) → `/v1/chat/completions`."""
    return endpoint if endpoint.startswith("/v1/") else "/v1" + endpoint


@dataclass(frozen=True, slots=True)
class LineAnswer:
    line: bytes
    """The output or error file line, newline included."""
    ok: bool
    input_tokens: int = 0
    output_tokens: int = 0


def answer_line(line: InputLine, *, endpoint: str, batch_id: str, index: int, settings: SimulatorSettings,
                faults: random.Random, created: int) -> LineAnswer:
    """The output-file line (200) or error-file line (400, 500) for one request of a batch."""
    request_id = f"req_{batch_id.removeprefix('batch_')}_{index:06d}"
    draw = faults.random()  # drawn for every line, so that one line's fate never shifts another's
    endpoint = openai_endpoint(endpoint)
    refused = validate(endpoint, line.body)
    if refused is not None:
        return LineAnswer(_dump(line, batch_id, index, refused.status, request_id, json.loads(refused.body)), False)
    if draw < settings.batch_line_fail_rate:
        error = {"message": "The server had an error while processing your request. Sorry about that!",
                 "type": "server_error", "param": None, "code": None}
        return LineAnswer(_dump(line, batch_id, index, 500, request_id, {"error": error}), False)
    model = str(line.body.get("model") or DEFAULT_MODEL)
    answer = BUILDERS[endpoint](Admitted(endpoint, line.body, model, line.prompt_tokens, settings.seed, index + 1, created))
    return LineAnswer(_dump(line, batch_id, index, 200, request_id, answer.body), True,
                      line.prompt_tokens, answer.output_tokens)


def _dump(line: InputLine, batch_id: str, index: int, status: int, request_id: str, body: dict[str, Any]) -> bytes:
    record = {
        "id": f"batch_req_{batch_id.removeprefix('batch_')}_{index:06d}",
        "custom_id": line.custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": body},
        "error": None,
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def unfinished_line(custom_id: str, batch_id: str, index: int, code: str, message: str) -> bytes:
    """An error-file line for a request the batch never ran (`batch_expired`)."""
    record = {"id": f"batch_req_{batch_id.removeprefix('batch_')}_{index:06d}", "custom_id": custom_id,
              "response": None, "error": {"code": code, "message": message}}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
