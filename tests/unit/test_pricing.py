"""Costs from usage, dated snapshots, the Batch discount and project overrides."""

from __future__ import annotations

import pytest

from oaib_tui.events import Usage
from oaib_tui.pricing import ModelPrice, PriceBook, worst_case_cost
from oaib_tui.project.schema import Price


def test_cost_counts_cached_input_at_its_own_price():
    book = PriceBook()
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=400_000, completion_tokens=500_000)
    # gpt-4o-mini: 0.15 input, 0.075 cached, 0.60 output per 1M
    assert book.cost("gpt-4o-mini", usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.5 * 0.60)
    assert book.cost("gpt-4o-mini", usage, tier="batch") == pytest.approx((0.09 + 0.03 + 0.30) / 2)


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
