"""What a request asks for and what its answer says was charged; tier costs on known usage."""

from __future__ import annotations

import pytest

from oaib_tui.engine.usage import priced_usage
from oaib_tui.events import Usage
from oaib_tui.pricing import ModelPrice, PriceBook, usage_cost, worst_case_cost
from oaib_tui.tiers import charged_tier, requested_tier

PRICE = ModelPrice(2.00, 8.00, 0.50, flex=ModelPrice(1.00, 4.00, 0.25), priority=ModelPrice(3.50, 14.00, 0.875))
USAGE = Usage(prompt_tokens=1_000_000, cached_tokens=200_000, completion_tokens=500_000)


@pytest.mark.parametrize(("body", "tier"), [
    ({}, "standard"), ({"service_tier": "auto"}, "standard"), ({"service_tier": "default"}, "standard"),
    ({"service_tier": "flex"}, "flex"), ({"service_tier": "priority"}, "priority"), ("not a body", "standard"),
])
def test_the_tier_a_body_asks_for(body, tier) -> None:
    assert requested_tier(body) == tier


@pytest.mark.parametrize(("answer", "requested", "charged"), [
    ({"service_tier": "default"}, "priority", "standard"),  # priority downgraded
    ({"service_tier": "flex"}, "flex", "flex"),
    ({"service_tier": "priority"}, "priority", "priority"),
    ({}, "flex", "flex"),  # an answer that does not say: what was asked
    ({"service_tier": "scale"}, "standard", "standard"),
    (None, "priority", "priority"),
])
def test_the_answer_says_what_was_charged(answer, requested, charged) -> None:
    assert charged_tier(answer, requested) == charged


@pytest.mark.parametrize(("tier", "expected"), [
    ("standard", 0.8 * 2.00 + 0.2 * 0.50 + 0.5 * 8.00),
    ("flex", 0.8 * 1.00 + 0.2 * 0.25 + 0.5 * 4.00),
    ("priority", 0.8 * 3.50 + 0.2 * 0.875 + 0.5 * 14.00),
    ("batch", (0.8 * 2.00 + 0.2 * 0.50 + 0.5 * 8.00) / 2),
])
def test_an_answer_is_priced_at_its_tier(tier, expected) -> None:
    book = PriceBook({"m": PRICE})
    body = {"model": "m", "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 500_000,
                                    "prompt_tokens_details": {"cached_tokens": 200_000}}}
    usage, cost, model = priced_usage(body, book, "m", tier=tier)
    assert (usage, model) == (USAGE, "m")
    assert cost == pytest.approx(expected)
    assert book.cost("m", USAGE, tier=tier) == pytest.approx(expected)


def test_a_tier_the_model_is_not_sold_at_has_an_unknown_cost() -> None:
    assert PriceBook({"m": ModelPrice(2.00, 8.00)}).cost("m", USAGE, tier="flex") is None


def test_the_worst_case_uses_the_requested_tiers_price() -> None:
    assert worst_case_cost(PRICE, 1000, 500, tier="priority") == pytest.approx(
        usage_cost(PRICE.priority, Usage(1000, 0, 500)))
    assert worst_case_cost(PRICE, 1000, 500, tier="flex") < worst_case_cost(PRICE, 1000, 500)
