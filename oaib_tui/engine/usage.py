"""Reading `usage` out of any endpoint's response body.

A paid answer is kept whatever its `usage` looks like: an odd shape makes the
usage unknown (None), never an exception that would lose the answer.
"""

from __future__ import annotations

from typing import Any

from ..events import Usage
from ..pricing import PriceBook, Tier
from ..tiers import requested_tier

MAX_TOKENS_READ = 100_000_000  # 100x the largest context window; a larger count is a server's mistake


class UnreadableUsage(ValueError):
    """The answer's `usage` is present but not in a shape we can count."""


def _count(value: Any, *, optional: bool = False) -> int:
    if value is None and optional:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_READ:
        return value
    raise UnreadableUsage(f"token count {value!r:.40}")


def _details(usage: dict[str, Any], key: str) -> dict[str, Any]:
    details = usage.get(key)
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise UnreadableUsage(f"{key} {details!r:.40}")
    return details


def _read(usage: dict[str, Any]) -> Usage:
    if "input_tokens" in usage:  # /v1/responses
        cached = _details(usage, "input_tokens_details").get("cached_tokens")
        return Usage(_count(usage.get("input_tokens")), _count(cached, optional=True),
                     _count(usage.get("output_tokens"), optional=True))
    cached = _details(usage, "prompt_tokens_details").get("cached_tokens")
    return Usage(_count(usage.get("prompt_tokens"), optional=True), _count(cached, optional=True),
                 _count(usage.get("completion_tokens"), optional=True))


def usage_from_response(body: Any) -> Usage | None:
    """Prompt, cached and output tokens; chat/completions/embeddings and responses name them differently.

    An answer without `usage` counts nothing (Usage()); one whose `usage` cannot be read gives None,
    so the caller stores the answer with its usage and cost unknown.
    """
    usage = body.get("usage") if isinstance(body, dict) else None
    if usage is None:
        return Usage()
    if not isinstance(usage, dict):
        return None
    try:
        return _read(usage)
    except UnreadableUsage:
        return None


def priced_usage(body: Any, prices: PriceBook, fallback_model: str, *,
                 tier: Tier = "standard") -> tuple[Usage, float | None, str]:
    """The answer's usage, its cost, and the model priced: the answering model if priced, else the requested one.

    Unreadable usage is stored as zero tokens with the cost unknown (None): the answer is kept.
    """
    usage = usage_from_response(body)
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or prices.price(model) is None:
        model = fallback_model
    if usage is None:
        return Usage(), None, model
    return usage, prices.cost(model, usage, tier=tier), model


def unpriced_tier_note(prices: PriceBook, model: str, request: dict[str, Any]) -> str | None:
    """What a run says when the request template asks for a tier its model has no price at, or None."""
    tier = requested_tier(request)
    price = prices.price(model)
    if price is None or price.for_tier(tier) is not None:
        return None
    return (f"no {tier} price known for `{model}`: answers charged at {tier} have an unknown cost "
            "(the spend cap counts them at their worst case)")
