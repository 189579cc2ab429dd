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
