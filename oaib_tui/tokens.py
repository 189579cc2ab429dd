"""Token counting the way OpenAI counts, with tiktoken — and a clear fallback.

tiktoken downloads its encodings on first use. Where that cannot happen (no
network, a firewall that swallows packets) we never hang and never crash: the
load is given a few seconds in a daemon thread, and if it fails every count is
estimated from the text's length. The first time that happens a notice is
logged; :func:`estimation_notice` lets the CLI and the engine say it once.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

log = logging.getLogger("oaib_tui.tokens")

LOAD_TIMEOUT_S = float(os.environ.get("OAIB_TUI_TOKENIZER_TIMEOUT", "10"))
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text

# Per-message overheads of the chat format (OpenAI cookbook, "How to count tokens").
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-", "gpt-oss", "codex")

_estimated_encodings: set[str] = set()
_lock = threading.Lock()


def encoding_name_for(model: str) -> str:
    """The tiktoken encoding a model uses; o200k_base for models tiktoken does not know."""
    base = model.split(":")[0].removeprefix("ft:")
    if base.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if base.startswith(("gpt-4", "gpt-3.5", "text-embedding", "davinci", "babbage")):
        return "cl100k_base"
    return "o200k_base"


def _load_with_timeout(name: str) -> Any | None:
    result: dict[str, Any] = {}

    def load() -> None:
        try:
            import tiktoken

            result["encoding"] = tiktoken.get_encoding(name)
        except BaseException as exc:  # noqa: BLE001 - any failure means "estimate"
            result["error"] = exc

    thread = threading.Thread(target=load, name=f"tiktoken-{name}", daemon=True)
    thread.start()
    thread.join(LOAD_TIMEOUT_S)
    if "encoding" in result:
        return result["encoding"]
    reason = result.get("error") or f"timed out after {LOAD_TIMEOUT_S:g}s"
    with _lock:
        first = not _estimated_encodings
        _estimated_encodings.add(name)
    if first:
        # Said to the user once, by whoever shows notices (the engine's Notice event, the dry-run).
        log.debug("tiktoken encoding %s could not be loaded: %s", name, reason)
    return None


@cache
def _encoding(name: str) -> Any | None:
    return _load_with_timeout(name)


def estimation_notice() -> str | None:
    """A sentence to show once if any count so far was estimated, else None."""
    if not _estimated_encodings:
        return None
    names = ", ".join(sorted(_estimated_encodings))
    return (
        f"Token counts are estimated (~{CHARS_PER_TOKEN} characters a token): the tiktoken encoding {names} "
        "could not be loaded. Set TIKTOKEN_CACHE_DIR to a folder holding it for exact counts."
    )


def counts_are_exact(model: str) -> bool:
    return _encoding(encoding_name_for(model)) is not None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@lru_cache(maxsize=64)
def text_counter(model: str) -> Callable[[str], int]:
    """A function that counts the tokens of a string for this model."""
    encoding = _encoding(encoding_name_for(model))
    if encoding is None:
        return estimate_tokens
    encode = encoding.encode_ordinary
    return lambda text: len(encode(text)) if text else 0


def _content_text(content: Any) -> str:
    """The text of a message content: a string, or a list of parts (text parts counted, images not)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return "" if content is None else str(content)


def count_messages(messages: list[Any], count: Callable[[str], int]) -> int:
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE
        if not isinstance(message, dict):
            total += count(str(message))
            continue
        for key, value in message.items():
            if key == "content":
                total += count(_content_text(value))
            elif isinstance(value, str):
                total += count(value)
                if key == "name":
                    total += TOKENS_PER_NAME
    return total


def _count_inputs(value: Any, count: Callable[[str], int]) -> int:
    """`input`/`prompt` of embeddings, completions, moderations and responses."""
    if value is None:
        return 0
    if isinstance(value, str):
        return count(value)
    if isinstance(value, list):
        if value and all(isinstance(v, int) for v in value):
            return len(value)  # already token ids
        if value and all(isinstance(v, dict) and ("role" in v or v.get("type") == "message") for v in value):
            return count_messages(value, count)
        return sum(_count_inputs(v, count) for v in value)
    if isinstance(value, dict):
        return count(_content_text(value.get("content", value.get("text", ""))))
    return count(str(value))


def prompt_tokens(endpoint: str, body: dict[str, Any], model: str | None = None) -> int:
    """Prompt tokens of one request body, as the endpoint's usage would report them."""
    return _prompt_tokens(endpoint, body, text_counter(model or str(body.get("model", ""))))


def prompt_tokens_at_most(endpoint: str, body: dict[str, Any]) -> int:
    """An upper bound of `prompt_tokens` without a tokenizer: every token is at least one byte of UTF-8."""
    return _prompt_tokens(endpoint, body, _utf8_bytes)


def _utf8_bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _prompt_tokens(endpoint: str, body: dict[str, Any], count: Callable[[str], int]) -> int:
    if endpoint.endswith("/chat/completions"):
        return count_messages(body.get("messages") or [], count)
    if endpoint.endswith("/responses"):
        total = _count_inputs(body.get("input"), count)
        if isinstance(body.get("instructions"), str):
            total += count(body["instructions"])
        return total
    if endpoint.endswith("/completions"):
        return _count_inputs(body.get("prompt"), count)
    return _count_inputs(body.get("input"), count)


def max_output_tokens(endpoint: str, body: dict[str, Any], default: int) -> int:
    """The most output tokens a request may produce, as rate limits reserve them.

    Embeddings and moderations produce none. A request without a maximum is
    budgeted at ``default``.
    """
    if endpoint.endswith(("/embeddings", "/moderations")):
        return 0
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value * max(1, int(body.get("n", 1) or 1))
    return default
