"""Costs from usage, dated snapshots, the Batch discount and project overrides."""

from __future__ import annotations

import pytest

from oaib_tui.events import Usage
from oaib_tui.pricing import ModelPrice, PriceBook, worst_case_cost
from oaib_tui.project.schema import Price, TierPrice


def test_cost_counts_cached_input_at_its_own_price():
    book = PriceBook()
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=400_000, completion_tokens=500_000)
    # gpt-4o-mini: 0.15 input, 0.075 cached, 0.60 output per 1M; batch 0.075 input and cached, 0.30 output
    assert book.cost("gpt-4o-mini", usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.5 * 0.60)
    assert book.cost("gpt-4o-mini", usage, tier="batch") == pytest.approx(0.6 * 0.075 + 0.4 * 0.075 + 0.5 * 0.30)


def test_dated_snapshots_take_the_base_models_price():
    book = PriceBook()
    assert book.price("gpt-4o-2024-08-06") == book.price("gpt-4o")
    assert book.price("gpt-4.1-mini-2025-04-14") == book.price("gpt-4.1-mini")


def test_unknown_models_have_unknown_cost_unless_overridden():
    assert PriceBook().cost("my-local-llama", Usage(10, 0, 10)) is None
    book = PriceBook.for_project({"my-local-llama": Price(input=1.0, output=2.0)})
    assert book.cost("my-local-llama", Usage(1_000_000, 0, 1_000_000)) == pytest.approx(3.0)


def test_override_replaces_the_table_and_cached_defaults_to_input():
    book = PriceBook.for_project({"gpt-4o-mini": Price(input=1.0, output=1.0, batch_discount=0.25)})
    assert book.cost("gpt-4o-mini", Usage(1_000_000, 1_000_000, 0)) == pytest.approx(1.0)
    assert book.cost("gpt-4o-mini", Usage(0, 0, 1_000_000), tier="batch") == pytest.approx(0.75)


def test_worst_case_assumes_every_allowed_output_token():
    price = PriceBook().price("gpt-4o")
    assert worst_case_cost(price, 1000, 200) == pytest.approx((1000 * 2.5 + 200 * 10) / 1e6)


def test_an_unpriced_model_is_said_once_with_what_it_costs_the_budget_cap():
    book = PriceBook()
    assert book.unpriced_note("gpt-4o-mini", budget_capped=True) is None
    assert book.unpriced_note("my-model", budget_capped=False) == (
        "no price known for `my-model`: costs show as unknown (add it under `pricing:`)")
    assert book.unpriced_note("my-model", budget_capped=True).endswith("; the budget cap cannot be enforced")


def test_a_tier_the_model_is_not_sold_at_has_an_unknown_cost() -> None:
    book = PriceBook({"m": ModelPrice(1.0, 2.0)})
    assert book.cost("m", Usage(1_000_000, 0, 0), tier="flex") is None
    assert book.cost("m", Usage(1_000_000, 0, 0), tier="priority") is None


def test_flex_and_priority_prices_apply_at_their_tiers() -> None:
    book = PriceBook({"m": ModelPrice(1.0, 2.0, flex=ModelPrice(0.5, 1.0), priority=ModelPrice(2.0, 4.0))})
    usage = Usage(1_000_000, 0, 1_000_000)
    assert book.cost("m", usage, tier="standard") == pytest.approx(3.0)
    assert book.cost("m", usage, tier="flex") == pytest.approx(1.5)
    assert book.cost("m", usage, tier="priority") == pytest.approx(6.0)
    assert book.cost("m", usage, tier="batch") == pytest.approx(1.5)


KNOWN_USAGE = Usage(prompt_tokens=1_000_000, cached_tokens=200_000, completion_tokens=100_000)
"""800k uncached and 200k cached prompt tokens, 100k output tokens: cost = 0.8 input + 0.2 cached + 0.1 output."""


@pytest.mark.parametrize(("model", "standard", "flex", "priority", "batch"), [
    ("gpt-5", 2.025, 1.0125, 4.05, 1.0125),
    ("gpt-5-mini", 0.405, 0.2025, 0.729, 0.2025),
    ("gpt-5-nano", 0.081, 0.0405, None, 0.0405),
    ("gpt-5.2", 0.8 * 1.75 + 0.2 * 0.175 + 0.1 * 14, 0.8 * 0.875 + 0.2 * 0.0875 + 0.1 * 7,
     0.8 * 3.5 + 0.2 * 0.35 + 0.1 * 28, 0.8 * 0.875 + 0.2 * 0.0875 + 0.1 * 7),
    ("gpt-4.1", 2.5, None, 4.375, 1.3),
    ("gpt-4.1-mini", 0.8 * 0.4 + 0.2 * 0.1 + 0.1 * 1.6, None, 0.8 * 0.7 + 0.2 * 0.175 + 0.1 * 2.8,
     0.8 * 0.2 + 0.2 * 0.1 + 0.1 * 0.8),
    ("gpt-4o", 3.25, None, 5.525, 1.75),
    ("gpt-4o-mini", 0.195, None, 0.325, 0.105),
    ("o3", 2.5, 1.25, 4.375, 1.3),
    ("o4-mini", 1.375, 0.8 * 0.55 + 0.2 * 0.138 + 0.1 * 2.2, 0.8 * 2.0 + 0.2 * 0.5 + 0.1 * 8.0,
     0.8 * 0.55 + 0.2 * 0.275 + 0.1 * 2.2),
    ("text-embedding-3-small", 0.02, None, None, 0.01),
    ("text-embedding-3-large", 0.13, None, None, 0.065),
])
def test_common_models_cost_known_usage_at_each_tier(model, standard, flex, priority, batch) -> None:
    """The table's prices as of PRICES_AS_OF; a tier a model is not sold at has an unknown cost."""
    book = PriceBook()
    for tier, expected in (("standard", standard), ("flex", flex), ("priority", priority), ("batch", batch)):
        cost = book.cost(model, KNOWN_USAGE, tier=tier)
        assert cost == (None if expected is None else pytest.approx(expected, abs=1e-12)), (model, tier)


def test_aliases_and_snapshots_resolve_to_their_model() -> None:
    book = PriceBook()
    assert book.price("gpt-5-chat-latest") is book.price("gpt-5")
    assert book.price("gpt-5-2025-08-07") is book.price("gpt-5")
    assert book.price("o3-2025-04-16") is book.price("o3")
    assert book.price("gpt-4o-2024-11-20") is book.price("gpt-4o")
    assert book.price("gpt-4o-2024-05-13").input == 5.0  # an old snapshot with its own price wins over the rule
    assert book.price("omni-moderation-latest").input == 0.0


def test_a_long_prompt_pays_the_long_context_price_for_the_whole_request() -> None:
    book = PriceBook()  # gpt-5.4: 2.5 / 0.25 / 15 per 1M; above 272,000 prompt tokens 5 / 0.5 / 22.5
    short, long = Usage(272_000, 0, 10_000), Usage(272_001, 1, 10_000)
    assert book.cost("gpt-5.4", short) == pytest.approx(0.272 * 2.5 + 0.01 * 15)
    assert book.cost("gpt-5.4", long) == pytest.approx(0.272 * 5 + 0.000001 * 0.5 + 0.01 * 22.5)
    assert book.cost("gpt-5.4", long, tier="flex") == pytest.approx(0.272 * 2.5 + 0.000001 * 0.25 + 0.01 * 11.25)
    assert book.cost("gpt-5.4", long, tier="priority") == pytest.approx(0.272 * 5 + 0.000001 * 0.5 + 0.01 * 30)
    assert book.cost("gpt-5.4", long, summed=True) == pytest.approx(0.272 * 2.5 + 0.000001 * 0.25 + 0.01 * 15)


def test_worst_case_charges_cache_writes_and_long_context_when_dearer() -> None:
    price = PriceBook().price("gpt-6-sol")  # 2 input, 2.5 cache write, 10 output; past 272k: 5 cache write, 15 out
    assert worst_case_cost(price, 1000, 100) == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert worst_case_cost(price, 300_000, 100) == pytest.approx((300_000 * 5 + 100 * 15) / 1e6)
    assert worst_case_cost(price, 1000, 100, tier="flex") == pytest.approx((1000 * 1.25 + 100 * 5) / 1e6)


def test_a_discounted_batch_keeps_cache_write_and_long_context_prices() -> None:
    price = ModelPrice(2.0, 10.0, 0.2, cache_write=2.5, long_context_above=10,
                       long_context=ModelPrice(4.0, 20.0, 0.4, cache_write=5.0))
    batch = price.for_tier("batch")
    assert (batch.input, batch.output, batch.cached_input, batch.cache_write) == (1.0, 5.0, 0.1, 1.25)
    assert batch.for_prompt(11).input == 2.0 and batch.for_prompt(10).input == 1.0


def test_overrides_give_flex_and_priority_and_keep_the_tables_otherwise() -> None:
    usage = Usage(1_000_000, 0, 1_000_000)
    book = PriceBook.for_project({
        "gpt-5": Price(input=1.0, output=2.0, cache_write=1.5, priority=TierPrice(input=3.0, output=6.0)),
        "my-model": Price(input=1.0, output=1.0, flex=TierPrice(input=0.25, output=0.25)),
    })
    assert book.cost("gpt-5", usage) == pytest.approx(3.0)
    assert book.cost("gpt-5", usage, tier="priority") == pytest.approx(9.0)
    assert book.cost("gpt-5", usage, tier="flex") == pytest.approx(0.625 + 5.0)  # the table's flex for gpt-5
    assert book.cost("gpt-5", usage, tier="batch") == pytest.approx(1.5)  # the override's discount, not the table's
    assert book.price("gpt-5").cache_write == 1.5
    assert book.cost("my-model", usage, tier="flex") == pytest.approx(0.5)
    assert book.cost("my-model", usage, tier="priority") is None
    assert book.cost("my-model-2026-01-01", usage) == pytest.approx(2.0)
    snapshot = PriceBook.for_project({"gpt-5-2025-08-07": Price(input=1.0, output=2.0)})
    assert snapshot.price("gpt-5-2025-08-07").flex is PriceBook().price("gpt-5").flex
