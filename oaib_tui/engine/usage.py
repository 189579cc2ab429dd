"""Reading `usage` out of any endpoint's response body."""

from __future__ import annotations

from typing import Any

from ..events import Usage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from_response(body: dict[str, Any]) -> Usage:
    """Prompt, cached and output tokens; chat/completions/embeddings and responses name them differently."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return Usage()
    if "input_tokens" in usage:  # /v1/responses
        details = usage.get("input_tokens_details") or {}
        return Usage(_int(usage.get("input_tokens")), _int(details.get("cached_tokens")), _int(usage.get("output_tokens")))
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        _int(usage.get("prompt_tokens")),
        _int(details.get("cached_tokens") if isinstance(details, dict) else 0),
        _int(usage.get("completion_tokens")),
    )
