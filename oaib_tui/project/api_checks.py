"""What a valid project may still get wrong about the API it talks to.

Warnings (`oaib-tui validate` prints them): a request key the endpoint does not
take, which OpenAI answers with a 400, and a model it does not know, which it
answers with a 404. The parameter lists are the simulator's own
(:mod:`oaib_tui.request_params`), so what passes here passes a rehearsal too.

An error (the project does not load): a spend cap on a model without a price,
since a cap that cannot be counted cannot be kept.

A `compatible` server serves its own models and takes its own parameters, so
its projects get no warnings.
"""

from __future__ import annotations

from typing import Any

from oaib_tui.errors import Problem, did_you_mean
from oaib_tui.pricing import PRICE_TABLE, PriceBook, is_known_model
from oaib_tui.project.requests import plain_template
from oaib_tui.project.schema import LoadedProject, Project
from oaib_tui.project.sources import display_path
from oaib_tui.project.template import parse_text
from oaib_tui.project.yamlpos import Position, locate
from oaib_tui.request_params import params_for


def request_warnings(project: LoadedProject) -> list[Problem]:
    """Unknown request keys, then an unknown model; empty for a `compatible` provider."""
    if project.spec.provider.kind == "compatible":
        return []
    label = display_path(project.path)
    warnings = _unknown_parameters(project, label) + _unknown_model(project, label)
    return sorted(warnings, key=lambda warning: (warning.line or 0, warning.column or 0))


def unpriced_cap_problems(spec: Project, positions: dict[str, Position], label: str) -> list[Problem]:
    """The load error for `limits.max_cost_usd` set on a model that neither the price table nor `pricing:` prices."""
    found = request_model(spec)
    if spec.limits.max_cost_usd is None or found is None:
        return []
    model, _ = found
    if PriceBook.for_project(spec.pricing).price(model) is not None:
        return []
    close = did_you_mean(model, [*PRICE_TABLE, *spec.pricing])
    advice = f"give `{model}` a price under `pricing:` (US dollars per 1M tokens), or remove the cap"
    return [Problem(f"the spend cap cannot be kept: no price is known for `{model}`", file=label,
                    key="limits.max_cost_usd", hint=f"{close} Otherwise {advice}" if close else advice,
                    **_at(positions, "limits.max_cost_usd"))]


def request_model(spec: Project) -> tuple[str, str] | None:
    """The model every request names, and the key that names it; None if the template fills it from records."""
    template_model = plain_template(spec.request).get("model")
    if template_model is None:
        return spec.model, "model"
    if not isinstance(template_model, str):
        return None
    parts = parse_text(template_model, "request.model")
    return ("".join(parts), "request.model") if all(isinstance(p, str) for p in parts) else None  # type: ignore[arg-type]


def known_models(spec: Project) -> list[str]:
    """The price table's models and the project's priced ones; for the simulator, the models it serves."""
    extra = spec.provider.simulator.models if spec.provider.kind == "simulator" else spec.pricing
    return list(dict.fromkeys([*PRICE_TABLE, *extra]))


def _unknown_parameters(project: LoadedProject, label: str) -> list[Problem]:
    endpoint = project.spec.endpoint
    params = params_for(endpoint)
    template: dict[str, Any] = plain_template(project.spec.request)
    unused = [name for name in params.names if name not in template]
    return [
        Problem(f"{endpoint} takes no parameter `{key}`: OpenAI answers 400 (unknown parameter)", file=label,
                key=f"request.{key}", hint=did_you_mean(key, unused), **_at(project.positions, f"request.{key}"))
        for key in params.unknown(template)
    ]


def _unknown_model(project: LoadedProject, label: str) -> list[Problem]:
    found = request_model(project.spec)
    names = known_models(project.spec)
    if found is None or is_known_model(found[0], names):
        return []
    model, key = found
    where = "under `provider.simulator.models`" if project.spec.provider.kind == "simulator" else "under `pricing:`"
    hint = did_you_mean(model, names) or f"if it is a model the price table lacks, list it {where}"
    return [Problem(f"unknown model `{model}`: OpenAI answers 404 `model_not_found`", file=label, key=key,
                    hint=hint, **_at(project.positions, key))]


def _at(positions: dict[str, Position], key: str) -> dict[str, int]:
    found = locate(positions, key)
    return {"line": found[0], "column": found[1]} if found else {}
