"""The dry-run forecast on a known input: exact token counts, costs and the time the limits allow."""

from __future__ import annotations

import pytest
import tiktoken
import yaml

from oaib_tui import forecast
from oaib_tui.engine.ratelimit import FIXED_BURST_S
from oaib_tui.project import RequestPlan, load_project

WORDS = ["kettle", "lamp", "oak desk organiser", "wool scarf"]


def make(tmp_path, **overrides):
    spec = {
        "model": "gpt-4o-mini",
        "limits": {"rpm": 60, "tpm": 1000},
        "sources": [{"items": [{"w": w} for w in WORDS]}],
        "request": {"max_tokens": 50, "messages": [{"role": "user", "content": "Describe: {w}"}]},
        **overrides,
    }
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(spec))
    project = load_project(path)
    return project, forecast.forecast(project, RequestPlan(project))


def expected_prompt(word: str) -> int:
    enc = tiktoken.get_encoding("o200k_base")
    return 3 + 3 + len(enc.encode("user")) + len(enc.encode(f"Describe: {word}"))


def test_counts_are_exact_against_tiktoken(tmp_path):
    _, result = make(tmp_path)
    assert result.requests == 4
    assert result.prompt_tokens == sum(expected_prompt(w) for w in WORDS)
    assert result.max_output_tokens == 200
    assert result.tokens_exact


def test_costs_are_prompt_only_to_worst_case_and_half_with_batch(tmp_path):
    _, result = make(tmp_path)
    prompt = sum(expected_prompt(w) for w in WORDS)
    assert result.prompt_only_cost_usd == pytest.approx(prompt * 0.15 / 1e6)
    assert result.realtime_cost_usd == pytest.approx((prompt * 0.15 + 200 * 0.60) / 1e6)
    assert result.batch_cost_usd == pytest.approx(result.realtime_cost_usd / 2)


def test_the_shortest_time_is_the_binding_limits_time_less_the_burst_it_starts_with(tmp_path):
    _, result = make(tmp_path)  # caps in mode auto: paced at the limit, FIXED_BURST_S of refill at once
    budget = result.prompt_tokens + result.max_output_tokens  # tokens as the limits count them
    assert result.shortest_s == pytest.approx(budget / 1000 * 60 - FIXED_BURST_S)
    _, by_requests = make(tmp_path, limits={"rpm": 2, "tpm": 1_000_000})
    assert by_requests.shortest_s == pytest.approx(3 * 30)  # one at once (the smallest bucket), then one per 30 s


def test_fixed_limits_pace_below_the_limit_by_the_safety_margin(tmp_path):
    _, result = make(tmp_path, mode="realtime", limits={"rpm": 60, "tpm": 1000, "safety": 0.2})
    budget = result.prompt_tokens + result.max_output_tokens
    assert result.shortest_s == pytest.approx(budget / 800 * 60 - FIXED_BURST_S)


def test_the_simulator_forecast_counts_its_burst_and_its_latency(tmp_path):
    simulator = {"rpm": 600, "tpm": 6_000, "bucket_s": 10, "latency_ms": 500}
    _, result = make(tmp_path, provider={"kind": "simulator", "simulator": simulator}, limits={"concurrency": 1})
    # Four requests, one at a time, half a second each: the token bucket (1,000 tokens, refilling 100/s,
    # 10% kept in reserve) holds them all, so the concurrency cap sets the time, and the last answer.
    assert result.shortest_s == pytest.approx(4 * 0.5 + 0.5)
    _, slow = make(tmp_path, provider={"kind": "simulator", "simulator": {**simulator, "tpm": 600}})
    budget = slow.prompt_tokens + slow.max_output_tokens
    assert slow.shortest_s == pytest.approx((budget - 90) / 10 + 0.5)  # 100 tokens at once, less 10 kept


def test_unknown_limits_and_unknown_prices_are_said_not_invented(tmp_path):
    project, result = make(tmp_path, model="my-local-model", limits={})
    assert result.shortest_s is None and result.realtime_cost_usd is None
    text = forecast.render(project, result)
    assert "unknown" in text and "pricing:" in text


def test_batch_mode_counts_the_batches_it_would_create(tmp_path):
    project, result = make(tmp_path, mode="batch", batch={"max_requests": 3})
    assert result.batches == 2
    assert "batches" in forecast.render(project, result)


SLOW_SIM = {"kind": "simulator", "simulator": {"batch_validation_s": 30, "batch_queue_s": 3_000,
                                               "batch_lines_per_s": 0.05, "batch_finalizing_s": 30}}


def rows_of(result):
    return {row.name: row for row in result.tiers}


def test_the_tiers_are_compared_side_by_side(tmp_path, monkeypatch):
    from dataclasses import replace

    from oaib_tui import pricing

    standard = pricing.PRICE_TABLE["gpt-4o-mini"]
    monkeypatch.setitem(pricing.PRICE_TABLE, "gpt-4o-mini", replace(standard, flex=standard.for_tier("batch")))
    project, result = make(tmp_path, provider=SLOW_SIM, mode="hybrid", deadline="2h",
                           hybrid={"flex_latency_s": 60})
    rows = rows_of(result)
    assert list(rows) == ["standard", "flex", "batch", "hybrid"]
    assert rows["standard"].cost_usd == pytest.approx(result.realtime_cost_usd)
    assert rows["flex"].cost_usd == pytest.approx(result.batch_cost_usd) == rows["batch"].cost_usd
    assert rows["flex"].expected_s == pytest.approx(rows["standard"].expected_s + 60)  # one wave of four requests
    assert rows["batch"].expected_s == pytest.approx(30 + 3_000 + 4 / 0.05 + 30)
    assert result.pick.startswith("batch: the batches should end in 52m20s")
    text = forecast.render(project, result)
    assert "hybrid" in text and "would pick" in text


def test_a_model_not_sold_at_flex_has_an_unknown_flex_cost(tmp_path):
    project, result = make(tmp_path)
    assert rows_of(result)["flex"].cost_usd is None
    assert "not sold at flex" in forecast.render(project, result)
    assert result.pick.startswith("batch (the cheapest")


@pytest.mark.parametrize(("deadline", "pick", "first"), [
    ("2h", "batch: the batches should end", "batch"),
    ("1h", "hybrid, starting in batch", "batch"),  # the batches take 52 minutes: too close, so a fallback is kept
    ("10m", "standard: too little time for a batch", "standard"),
])
def test_the_pick_follows_the_deadline(tmp_path, deadline, pick, first):
    _, result = make(tmp_path, provider=SLOW_SIM, mode="hybrid", deadline=deadline, hybrid={"batch_min_s": 600})
    assert result.pick.startswith(pick)
    assert rows_of(result)["hybrid"].note == f"starts in {first}"
