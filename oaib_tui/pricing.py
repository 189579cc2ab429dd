"""Model prices and cost arithmetic.

Prices are US dollars per 1,000,000 tokens, as OpenAI published them on
:data:`PRICES_AS_OF`. Prices change: a project file's `pricing:` section
overrides or extends this table. A model found in neither has an unknown
cost, and we say so rather than invent one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from .events import Usage

PRICES_AS_OF = "2025-08-07"
BATCH_DISCOUNT = 0.5
PER_TOKENS = 1_000_000

Tier = Literal["standard", "flex", "priority", "batch"]
"""What a request is charged at: OpenAI's `service_tier` (`default` is `standard`), or the Batch API."""
TIERS: tuple[Tier, ...] = ("standard", "flex", "priority", "batch")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input: float
    output: float = 0.0
    cached_input: float | None = None
    batch_discount: float = BATCH_DISCOUNT

    flex: ModelPrice | None = None
    """Prices with `service_tier: flex`, if the model offers it."""
    priority: ModelPrice | None = None
    """Prices with `service_tier: priority`, if the model offers it."""

    @property
    def cached(self) -> float:
        return self.input if self.cached_input is None else self.cached_input

    def for_tier(self, tier: Tier) -> ModelPrice | None:
        """The prices charged at `tier`; None when the model is not sold at that tier."""
        if tier == "standard":
            return self
        if tier == "batch":
            keep = 1 - self.batch_discount
            return ModelPrice(self.input * keep, self.output * keep, None if self.cached_input is None
                              else self.cached_input * keep, batch_discount=0.0)
        return self.flex if tier == "flex" else self.priority


# input, cached input, output — per 1M tokens.
PRICE_TABLE: dict[str, ModelPrice] = {
    "gpt-5": ModelPrice(1.25, 10.00, 0.125),
    "gpt-5-mini": ModelPrice(0.25, 2.00, 0.025),
    "gpt-5-nano": ModelPrice(0.05, 0.40, 0.005),
    "gpt-5-chat-latest": ModelPrice(1.25, 10.00, 0.125),
    "gpt-4.1": ModelPrice(2.00, 8.00, 0.50),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60, 0.10),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40, 0.025),
    "gpt-4o": ModelPrice(2.50, 10.00, 1.25),
    "gpt-4o-mini": ModelPrice(0.15, 0.60, 0.075),
    "chatgpt-4o-latest": ModelPrice(5.00, 15.00),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-4": ModelPrice(30.00, 60.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "o1": ModelPrice(15.00, 60.00, 7.50),
    "o1-mini": ModelPrice(1.10, 4.40, 0.55),
    "o1-pro": ModelPrice(150.00, 600.00),
    "o3": ModelPrice(2.00, 8.00, 0.50),
    "o3-mini": ModelPrice(1.10, 4.40, 0.55),
    "o3-pro": ModelPrice(20.00, 80.00),
    "o4-mini": ModelPrice(1.10, 4.40, 0.275),
    "gpt-3.5-turbo-instruct": ModelPrice(1.50, 2.00),
    "davinci-002": ModelPrice(2.00, 2.00),
    "babbage-002": ModelPrice(0.40, 0.40),
    "text-embedding-3-small": ModelPrice(0.02),
    "text-embedding-3-large": ModelPrice(0.13),
    "text-embedding-ada-002": ModelPrice(0.10),
    "omni-moderation-latest": ModelPrice(0.0),
    "text-moderation-latest": ModelPrice(0.0),
    "text-moderation-stable": ModelPrice(0.0),
}

_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


def is_known_model(model: str, names: Collection[str]) -> bool:
    """Whether `model` is one of `names`, or a dated snapshot (`gpt-4o-2024-08-06`) or fine-tune (`ft:gpt-4o-mini:acme::x1`) of one."""
    if model.startswith("ft:"):
        model = model.split(":")[1]
    return model in names or _SNAPSHOT_SUFFIX.sub("", model) in names


class PriceBook:
    """The built-in table plus a project's overrides."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices = {**PRICE_TABLE, **(overrides or {})}

    @classmethod
    def for_project(cls, pricing: Mapping[str, object]) -> PriceBook:
        """From the project file's `pricing:` section (schema `Price` models)."""
        overrides = {
            model: ModelPrice(p.input, p.output, p.cached_input, p.batch_discount)  # type: ignore[attr-defined]
            for model, p in pricing.items()
        }
        return cls(overrides)

    def unpriced_note(self, model: str, *, budget_capped: bool) -> str | None:
        """What a run says when it cannot price `model`, or None if it can."""
        if self.price(model) is not None:
            return None
        note = f"no price known for `{model}`: costs show as unknown (add it under `pricing:`)"
        return note + "; the budget cap cannot be enforced" if budget_capped else note

    def price(self, model: str) -> ModelPrice | None:
        """The price of a model or of its dated snapshot (`gpt-4o-2024-08-06` → `gpt-4o`)."""
        if model in self._prices:
            return self._prices[model]
        base = _SNAPSHOT_SUFFIX.sub("", model)
        return self._prices.get(base)

    def cost(self, model: str, usage: Usage, *, tier: Tier = "standard") -> float | None:
        """US dollars for real usage at `tier`; None when the model's price at that tier is unknown."""
        price = self.price(model)
        at_tier = None if price is None else price.for_tier(tier)
        return None if at_tier is None else usage_cost(at_tier, usage)


def usage_cost(price: ModelPrice, usage: Usage) -> float:
    """US dollars for `usage` at `price` (one tier's prices: see `ModelPrice.for_tier`)."""
    uncached = max(0, usage.prompt_tokens - usage.cached_tokens)
    return (
        uncached * price.input
        + usage.cached_tokens * price.cached
        + usage.completion_tokens * price.output
    ) / PER_TOKENS


def worst_case_cost(price: ModelPrice, prompt_tokens: int, max_output_tokens: int, *, tier: Tier = "standard") -> float:
    """The most a request can cost at `tier`: every prompt token uncached, every allowed output token used.

    A tier the model is not sold at is priced as standard: the cap stays conservative.
    """
    at_tier = price.for_tier(tier) or price
    return usage_cost(at_tier, Usage(prompt_tokens, 0, max_output_tokens))
