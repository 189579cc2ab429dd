"""OpenAI's service tiers: what a request may ask for, and what its answer says was charged.

A request's `service_tier` is `auto` (the project's default), `default`
(standard), `flex` (batch prices, slower, refused with `429
resource_unavailable` when capacity runs out) or `priority` (faster, dearer,
may be downgraded). The answer's own `service_tier` says what was charged:
costs follow the answer, never the request.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

ServiceTier = Literal["auto", "default", "flex", "priority"]
"""What a request may ask for in its body's `service_tier`."""
SERVICE_TIERS: tuple[str, ...] = get_args(ServiceTier)
ChargedTier = Literal["standard", "flex", "priority"]
"""A realtime answer's tier as the price table names it (`default` is `standard`)."""

FLEX_ENDPOINTS = ("/v1/responses", "/v1/chat/completions")
"""The endpoints that take `service_tier: flex`."""
TIER_ENDPOINTS = FLEX_ENDPOINTS
"""The endpoints that take `service_tier` at all."""
FLEX_TIMEOUT_S = 900.0
"""The answer timeout of a flex request when `limits.timeout_s` is not set: OpenAI's advice for flex (15 minutes)."""
DEFAULT_TIMEOUT_S = 120.0
"""The answer timeout of any other request when `limits.timeout_s` is not set."""

_CHARGED: dict[Any, ChargedTier] = {"default": "standard", "flex": "flex", "priority": "priority"}


def answer_timeout_s(timeout_s: float | None, tier: ChargedTier) -> float:
    """Seconds to wait for an answer: `limits.timeout_s` when set, else the default for the requested tier."""
    if timeout_s is not None:
        return timeout_s
    return FLEX_TIMEOUT_S if tier == "flex" else DEFAULT_TIMEOUT_S


def requested_tier(body: Any) -> ChargedTier:
    """The tier a request body asks for; `auto` and no `service_tier` are priced as standard."""
    tier = body.get("service_tier") if isinstance(body, dict) else None
    return _CHARGED.get(tier, "standard")


def charged_tier(answer: Any, requested: ChargedTier) -> ChargedTier:
    """The tier the answer says it was charged at (`default`, `flex`, `priority`), else the requested one."""
    tier = answer.get("service_tier") if isinstance(answer, dict) else None
    return _CHARGED.get(tier, requested)
