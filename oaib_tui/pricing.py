"""Model prices and cost arithmetic.

Prices are US dollars per 1,000,000 tokens, as OpenAI published them on
:data:`PRICES_AS_OF` (the table in `price_table`, written from genai-prices by
scripts/update_prices.py). Prices change: a project file's `pricing:` section
overrides or extends this table. A model found in neither has an unknown
cost, and we say so rather than invent one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from . import price_table
from .events import Usage
from .price_table import ALIASES, TABLE, TierPrices

PRICES_AS_OF = price_table.PRICES_AS_OF
"""The day the built-in table's prices are from."""
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
    cache_write: float | None = None
    """Prompt tokens written to the prompt cache, where OpenAI charges that apart from input."""
    batch: ModelPrice | None = None
    """The Batch API's own prices, where published; else these prices less `batch_discount`."""
    long_context_above: int | None = None
    """A request whose prompt has more tokens than this is charged `long_context` for all its tokens."""
    long_context: ModelPrice | None = None

    @property
    def cached(self) -> float:
        return self.input if self.cached_input is None else self.cached_input

    def for_tier(self, tier: Tier) -> ModelPrice | None:
        """The prices charged at `tier`; None when the model is not sold at that tier."""
        if tier == "standard":
            return self
        if tier == "batch":
            return self.batch or self._discounted(1 - self.batch_discount)
        return self.flex if tier == "flex" else self.priority

    def for_prompt(self, prompt_tokens: int) -> ModelPrice:
        """The prices one request with `prompt_tokens` is charged: long-context prices past their threshold."""
        long, above = self.long_context, self.long_context_above
        if long is None or above is None or prompt_tokens <= above:
            return self
        return long

    def _discounted(self, keep: float) -> ModelPrice:
        def times(price: float | None) -> float | None:
            return None if price is None else price * keep

        return ModelPrice(self.input * keep, self.output * keep, times(self.cached_input), batch_discount=0.0,
                          cache_write=times(self.cache_write), long_context_above=self.long_context_above,
                          long_context=self.long_context and self.long_context._discounted(keep))


def _tier_price(row: TierPrices) -> ModelPrice:
    """One tier of a `price_table` row: (input, cached input, output, cache write, long context)."""
    input_, cached, output, cache_write, long = row
    price = ModelPrice(input_, output, cached, batch_discount=0.0, cache_write=cache_write)
    if long is None:
        return price
    above, long_input, long_cached, long_output, long_cache_write = long
    return replace(price, long_context_above=above, long_context=ModelPrice(
        long_input, long_output, long_cached, batch_discount=0.0, cache_write=long_cache_write))


def _model_price(tiers: Mapping[str, TierPrices]) -> ModelPrice:
    sold = {tier: _tier_price(row) for tier, row in tiers.items()}
    return replace(sold["standard"], batch_discount=BATCH_DISCOUNT, batch=sold.get("batch"),
                   flex=sold.get("flex"), priority=sold.get("priority"))


def _price_table() -> dict[str, ModelPrice]:
    table = {model: _model_price(tiers) for model, tiers in TABLE.items()}
    return table | {alias: table[model] for alias, model in ALIASES.items()}


PRICE_TABLE: dict[str, ModelPrice] = _price_table()
"""Every model and alias of the built-in table."""

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
    def for_project(cls, pricing: Mapping[str, Any]) -> PriceBook:
        """From the project file's `pricing:` section (schema `Price` models).

        An override replaces the table's standard and batch prices; the `flex:` and `priority:` it does
        not give are the table's for that model, if any.
        """
        return cls({model: _override(model, price) for model, price in pricing.items()})

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

    def cost(self, model: str, usage: Usage, *, tier: Tier = "standard", summed: bool = False) -> float | None:
        """US dollars for real usage at `tier`; None when the model's price at that tier is unknown.

        `usage` is one answer's, unless `summed` (many answers added up): then no long-context price
        applies, since OpenAI charges those per request.
        """
        price = self.price(model)
        at_tier = None if price is None else price.for_tier(tier)
        if at_tier is None:
            return None
        return usage_cost(at_tier, usage) if not summed else usage_cost(replace(at_tier, long_context=None), usage)


def _override(model: str, given: Any) -> ModelPrice:
    """A `pricing:` entry (schema `Price`) as prices; the built-in table fills in the tiers it leaves out."""
    table = PRICE_TABLE.get(model) or PRICE_TABLE.get(_SNAPSHOT_SUFFIX.sub("", model))
    return ModelPrice(
        given.input, given.output, given.cached_input, given.batch_discount,
        flex=_sub_price(given.flex) or (table.flex if table else None),
        priority=_sub_price(given.priority) or (table.priority if table else None),
        cache_write=given.cache_write,
    )


def _sub_price(given: Any) -> ModelPrice | None:
    if given is None:
        return None
    return ModelPrice(given.input, given.output, given.cached_input, batch_discount=0.0, cache_write=given.cache_write)


def usage_cost(price: ModelPrice, usage: Usage) -> float:
    """US dollars for one request's `usage` at `price` (one tier's prices: see `ModelPrice.for_tier`).

    Cache writes are charged as input: the usage we read does not count them apart.
    """
    price = price.for_prompt(usage.prompt_tokens)
    uncached = max(0, usage.prompt_tokens - usage.cached_tokens)
    return (
        uncached * price.input
        + usage.cached_tokens * price.cached
        + usage.completion_tokens * price.output
    ) / PER_TOKENS


def worst_case_cost(price: ModelPrice, prompt_tokens: int, max_output_tokens: int, *, tier: Tier = "standard") -> float:
    """The most a request can cost at `tier`: every prompt token uncached (or written to the cache, if
    dearer), every allowed output token used, at long-context prices past their threshold.

    A tier the model is not sold at is priced as standard: the cap stays conservative.
    """
    at_tier = (price.for_tier(tier) or price).for_prompt(prompt_tokens)
    dearest_input = max(at_tier.input, at_tier.cache_write or 0.0)
    return (prompt_tokens * dearest_input + max_output_tokens * at_tier.output) / PER_TOKENS
