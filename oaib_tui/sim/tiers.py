"""Service tiers in the simulator: which tier answers a request, how late, and when flex is refused.

`flex` answers after `flex_latency_ms` and, `flex_unavailable_rate` of the
time, is refused with OpenAI's 429 `resource_unavailable` before admission:
not billed and not charged to the rate limits. `priority` answers after
`priority_latency_ms`, unless `priority_downgrade_rate` of the time it is served
(and charged) as `default`. Every draw depends only on (seed, arrival ordinal),
so a rehearsal is reproducible whatever the timing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..project.schema import SimulatorSettings
from ..tiers import SERVICE_TIERS
from . import error_bodies
from .http import Response, error_response

UNAVAILABLE_MESSAGE = ("Resource unavailable: flex processing has no capacity for this request right now. "
                       "Please try again later, or send it with service_tier 'default'.")


@dataclass(frozen=True, slots=True)
class Served:
    """The tier an admitted request is served (and charged) at, as its answer's `service_tier` names it, and its latency."""

    service_tier: str
    latency_ms: float


def invalid_tier(body: dict[str, Any]) -> Response | None:
    """OpenAI's 400 for a `service_tier` it does not sell, or None."""
    tier = body.get("service_tier")
    if tier is None or tier in SERVICE_TIERS:
        return None
    supported = ", ".join(f"'{name}'" for name in SERVICE_TIERS[:-1]) + f", and '{SERVICE_TIERS[-1]}'"
    return error_bodies.bad_request(f"Invalid value: '{tier}'. Supported values are: {supported}.",
                                    param="service_tier", code="invalid_value")


def flex_refusal(settings: SimulatorSettings, body: dict[str, Any], ordinal: int, *,
                 scripted: bool = False) -> Response | None:
    """The 429 `resource_unavailable` for a flex request drawn out of capacity (or `scripted` so), or None."""
    if not scripted:
        if body.get("service_tier") != "flex" or not settings.flex_unavailable_rate:
            return None
        if _draw(settings, "flex", ordinal) >= settings.flex_unavailable_rate:
            return None
    return error_response(429, UNAVAILABLE_MESSAGE, type="invalid_request_error", code="resource_unavailable")


def served(settings: SimulatorSettings, body: dict[str, Any], ordinal: int) -> Served:
    """The tier that serves an admitted request, and its base latency."""
    tier = body.get("service_tier")
    if tier == "flex":
        return Served("flex", settings.flex_latency_ms)
    if tier == "priority":
        rate = settings.priority_downgrade_rate
        if not (rate and _draw(settings, "priority", ordinal) < rate):
            return Served("priority", settings.priority_latency_ms)
    return Served("default", settings.latency_ms)


def _draw(settings: SimulatorSettings, tier: str, ordinal: int) -> float:
    return random.Random(f"{settings.seed}:{tier}:{ordinal}").random()
