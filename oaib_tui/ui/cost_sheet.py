"""The cost table's figures: tokens by kind with their prices, spend, projection, savings and budget."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Usage
from ..pricing import PER_TOKENS
from ..progress import Progress
from .model import DashboardModel


@dataclass(frozen=True)
class CostLine:
    label: str
    tokens: int
    price_per_m: float | None
    """List price per 1M tokens (before any batch discount); None if unknown."""
    usd: float | None


@dataclass(frozen=True)
class CostSheet:
    lines: tuple[CostLine, ...]
    spend: float | None
    """Every run on this state file, as charged; None if the price is unknown."""
    this_run: float | None
    projected: float | None
    """The spend once every item is done, at the average cost so far."""
    savings: float | None
    """What the Batch API's discount saved (batch mode only)."""
    budget: float | None


def cost_sheet(model: DashboardModel) -> CostSheet:
    """The figures for the cost table, from the run's tally and the earlier runs' totals."""
    p, settings = model.progress, model.costs
    earlier_usage = model.earlier.usage if model.earlier else Usage()
    earlier_cost = model.earlier.cost_usd if model.earlier else 0.0
    usage = earlier_usage + p.usage
    price = settings.price
    uncached = max(0, usage.prompt_tokens - usage.cached_tokens)
    rows = (("input", uncached, price.input if price else None),
            ("cached input", usage.cached_tokens, price.cached if price else None),
            ("output", usage.completion_tokens, price.output if price else None))
    lines = tuple(CostLine(label, tokens, per_m, None if per_m is None else tokens * per_m / PER_TOKENS)
                  for label, tokens, per_m in rows)
    known = price is not None and p.cost_known
    spend = earlier_cost + p.cost_usd if known else None
    list_total = sum(line.usd or 0.0 for line in lines)
    savings = max(0.0, list_total - spend) if settings.batch and spend is not None else None
    if len(p.by_model) > 1 or set(p.by_model) - {p.model}:  # answers priced at other models than the project's
        lines += model_lines(p)
        per_model = p.batch_savings(settings.prices) if settings.batch and settings.prices else None
        savings = per_model[0] if per_model else None
    if p.shows_tiers:
        lines += tier_lines(p)
    return CostSheet(lines, spend, p.cost_usd if known else None, _projected(model, spend), savings,
                     settings.budget_usd)


def model_lines(p: Progress) -> tuple[CostLine, ...]:
    """This run's spend by model, for a job whose requests name several."""
    return tuple(CostLine(f"{model} ({tally.requests:,})", tally.usage.total_tokens, None,
                          tally.cost_usd if tally.cost_known else None)
                 for model, tally in sorted(p.by_model.items()))


def tier_lines(p: Progress) -> tuple[CostLine, ...]:
    """This run's spend by the tier each answer was charged at (`standard`, `flex`, `priority`, `batch`)."""
    return tuple(CostLine(f"{tier} tier ({tally.requests:,})", tally.usage.total_tokens, None, tally.cost)
                 for tier, tally in p.tier_costs())


def _projected(model: DashboardModel, spend: float | None) -> float | None:
    p = model.progress
    finished = p.finished_count
    if spend is None or p.total is None or finished == 0:
        return None
    return spend * p.total / finished
