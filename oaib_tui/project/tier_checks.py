"""`request.service_tier`: one of OpenAI's tiers, and `flex` only where OpenAI sells it.

A template (`"{tier}"`) is left to each record: the API judges it. Any other
value is checked when the project loads, so a typo costs no request.
"""

from __future__ import annotations

from oaib_tui.errors import Problem, did_you_mean
from oaib_tui.project.schema import Project
from oaib_tui.project.yamlpos import Position, locate
from oaib_tui.tiers import FLEX_ENDPOINTS, SERVICE_TIERS

KEY = "request.service_tier"


def service_tier_problems(spec: Project, positions: dict[str, Position], label: str) -> list[Problem]:
    """The load errors for `request.service_tier`: an unknown tier, or `flex` on an endpoint without it."""
    if "service_tier" not in spec.request:
        return []
    value = spec.request["service_tier"]
    if isinstance(value, str) and "{" in value:
        return []
    problem = _problem(value, spec)
    if problem is None:
        return []
    message, hint = problem
    found = locate(positions, KEY)
    where = {"line": found[0], "column": found[1]} if found else {}
    return [Problem(message, file=label, key=KEY, hint=hint, **where)]


def _problem(value: object, spec: Project) -> tuple[str, str | None] | None:
    choices = ", ".join(f"`{tier}`" for tier in SERVICE_TIERS)
    if not isinstance(value, str) or value not in SERVICE_TIERS:
        shown = f"`{value}`" if isinstance(value, str) else repr(value)
        hint = did_you_mean(value, SERVICE_TIERS) if isinstance(value, str) else None
        return f"unknown service tier {shown}: expected one of {choices}", hint or f"one of {choices}"
    if value == "flex" and spec.endpoint not in FLEX_ENDPOINTS:
        takers = " and ".join(f"`{endpoint}`" for endpoint in FLEX_ENDPOINTS)
        return (f"`service_tier: flex` is sold only on {takers}, not on `{spec.endpoint}`",
                "remove `service_tier`, or use `default`")
    return None
