"""Answer bodies per endpoint, shaped as the official SDK's types expect them.

Each builder takes a :class:`Admitted` (the admitted request and its facts) and
returns an :class:`Answer`: the JSON body and the output tokens it holds,
which the latency and the statistics need. Usage figures are exact: prompt
tokens as :func:`oaib_tui.tokens.prompt_tokens` counts them, output tokens as
the generated text's own count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..tokens import text_counter
from .textgen import (
    DEFAULT_OUTPUT_TOKENS,
    GeneratedText,
    base64_floats,
    embedding_vector,
    fingerprint,
    generate_text,
    seeded_random,
)
from .validation import MAX_TOKEN_KEYS, native_dimensions

MODEL_CREATED = 1_700_000_000
MODELS = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5-mini",
    "o4-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "omni-moderation-latest",
)
"""What `GET /v1/models` lists, with a simulator's own `models`; the endpoints also take any other priced model."""

MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)  # fmt: skip


@dataclass(frozen=True)
class Admitted:
    """An admitted request, with what every builder needs to answer it."""

    endpoint: str
    body: dict[str, Any]
    model: str
    prompt_tokens: int
    seed: int
    ordinal: int
    created: int
    service_tier: str = "default"
    """The tier that served the request, which the answer names (chat completions and responses)."""


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    output_tokens: int


def output_cap(body: dict[str, Any]) -> int | None:
    """The request's maximum output tokens per choice, if it sets one."""
    for key in MAX_TOKEN_KEYS:
        if isinstance(body.get(key), int):
            return body[key]
    return None


def _texts(admitted: Admitted, choices: int) -> tuple[list[GeneratedText], bool]:
    cap = output_cap(admitted.body)
    rng = seeded_random(admitted.seed, admitted.endpoint, fingerprint(admitted.body))
    count = text_counter(admitted.model)
    return [generate_text(rng, cap or DEFAULT_OUTPUT_TOKENS, count) for _ in range(choices)], cap is not None


def _finish_reason(text: GeneratedText, capped: bool) -> str:
    return "length" if capped and text.reached_cap else "stop"


def _completion_usage(prompt: int, output: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def chat_completion(admitted: Admitted) -> Answer:
    texts, capped = _texts(admitted, int(admitted.body.get("n") or 1))
    choices: list[dict[str, Any]] = [
        {
            "index": index,
            "message": {"role": "assistant", "content": text.text, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": _finish_reason(text, capped),
        }
        for index, text in enumerate(texts)
    ]
    output = sum(text.tokens for text in texts)
    return Answer(
        {
            "id": f"chatcmpl-sim{admitted.ordinal:012d}",
            "object": "chat.completion",
            "created": admitted.created,
            "model": admitted.model,
            "choices": choices,
            "usage": _completion_usage(admitted.prompt_tokens, output),
            "service_tier": admitted.service_tier,
            "system_fingerprint": "fp_simulator",
        },
        output,
    )


def completion(admitted: Admitted) -> Answer:
    prompt = admitted.body.get("prompt")
    prompts = len(prompt) if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int) else 1
    texts, capped = _texts(admitted, prompts * int(admitted.body.get("n") or 1))
    choices = [
        {"index": index, "text": text.text, "logprobs": None, "finish_reason": _finish_reason(text, capped)}
        for index, text in enumerate(texts)
    ]
    output = sum(text.tokens for text in texts)
    return Answer(
        {
            "id": f"cmpl-sim{admitted.ordinal:012d}",
            "object": "text_completion",
            "created": admitted.created,
            "model": admitted.model,
            "choices": choices,
            "usage": {"prompt_tokens": admitted.prompt_tokens, "completion_tokens": output, "total_tokens": admitted.prompt_tokens + output},
            "system_fingerprint": "fp_simulator",
        },
        output,
    )


def response(admitted: Admitted) -> Answer:
    """`POST /v1/responses`: one assistant message with one `output_text` part."""
    [text], capped = _texts(admitted, 1)
    incomplete = capped and text.reached_cap
    status = "incomplete" if incomplete else "completed"
    message = {
        "id": f"msg_sim{admitted.ordinal:012d}",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text.text, "annotations": [], "logprobs": []}],
    }
    instructions = admitted.body.get("instructions")
    return Answer(
        {
            "id": f"resp_sim{admitted.ordinal:012d}",
            "object": "response",
            "created_at": admitted.created,
            "completed_at": None if incomplete else admitted.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": instructions if isinstance(instructions, str) else None,
            "max_output_tokens": admitted.body.get("max_output_tokens"),
            "metadata": admitted.body.get("metadata") or {},
            "model": admitted.model,
            "output": [message],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "service_tier": admitted.service_tier,
            "temperature": admitted.body.get("temperature", 1.0),
            "tool_choice": "auto",
            "tools": [],
            "top_p": admitted.body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {
                "input_tokens": admitted.prompt_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": text.tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": admitted.prompt_tokens + text.tokens,
            },
        },
        text.tokens,
    )


def _embedding_items(value: Any) -> list[str]:
    """One key per vector to make: a string, or the token ids written out."""
    if isinstance(value, str):
        return [value]
    if value and all(isinstance(item, int) for item in value):
        return [fingerprint({"tokens": value})]
    return [item if isinstance(item, str) else fingerprint({"tokens": item}) for item in value]


def embeddings(admitted: Admitted) -> Answer:
    dimensions = admitted.body.get("dimensions") or native_dimensions(admitted.model)
    as_base64 = admitted.body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(_embedding_items(admitted.body["input"])):
        vector = embedding_vector(admitted.seed, admitted.model, item, dimensions)
        data.append({"object": "embedding", "index": index, "embedding": base64_floats(vector) if as_base64 else vector})
    usage = {"prompt_tokens": admitted.prompt_tokens, "total_tokens": admitted.prompt_tokens}
    return Answer({"object": "list", "data": data, "model": admitted.model, "usage": usage}, 0)


def _moderation_items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if all(isinstance(item, str) for item in value):
        return list(value)
    return [fingerprint({"parts": value})]  # multi-modal parts make one input


def _moderation_result(seed: int, item: str) -> dict[str, Any]:
    rng = seeded_random(seed, "moderation", item)
    scores = {category: round(rng.random() * 0.001, 8) for category in MODERATION_CATEGORIES}
    return {
        "flagged": False,
        "categories": {category: False for category in MODERATION_CATEGORIES},
        "category_scores": scores,
        "category_applied_input_types": {category: ["text"] for category in MODERATION_CATEGORIES},
    }


def moderations(admitted: Admitted) -> Answer:
    results = [_moderation_result(admitted.seed, item) for item in _moderation_items(admitted.body["input"])]
    return Answer({"id": f"modr-sim{admitted.ordinal:012d}", "model": admitted.model, "results": results}, 0)


BUILDERS: dict[str, Callable[[Admitted], Answer]] = {
    "/v1/chat/completions": chat_completion,
    "/v1/responses": response,
    "/v1/embeddings": embeddings,
    "/v1/completions": completion,
    "/v1/moderations": moderations,
}


def model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": "system"}


def model_list(extra: Iterable[str] = ()) -> dict[str, Any]:
    listed = [*MODELS, *(model for model in extra if model not in MODELS)]
    return {"object": "list", "data": [model_object(model_id) for model_id in listed]}
