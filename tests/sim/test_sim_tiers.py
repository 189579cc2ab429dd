"""Service tiers in the simulator: validated as OpenAI does, flex's latency and refusals, priority's downgrades."""

from __future__ import annotations

import openai
import pytest
from sim_helpers import chat_body

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.tiers import served


async def test_every_chat_and_responses_answer_names_the_tier_that_served_it(make_app, client_for) -> None:
    client = client_for(make_app())
    plain = await client.chat.completions.create(**chat_body())
    flex = await client.chat.completions.create(**chat_body(service_tier="flex"))
    priority = await client.responses.create(model="gpt-4o-mini", input="hi", service_tier="priority")
    auto = await client.responses.create(model="gpt-4o-mini", input="hi", service_tier="auto")
    assert (plain.service_tier, flex.service_tier, priority.service_tier, auto.service_tier) == (
        "default", "flex", "priority", "default")


async def test_an_unknown_tier_is_a_400_naming_the_supported_ones(make_app, client_for) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client_for(make_app()).chat.completions.create(**chat_body(service_tier="fast"))
    body = caught.value.body
    assert (body["param"], body["code"]) == ("service_tier", "invalid_value")
    assert body["message"] == ("Invalid value: 'fast'. Supported values are: "
                               "'auto', 'default', 'flex', and 'priority'.")


async def test_an_endpoint_without_tiers_refuses_the_parameter(make_app, client_for) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client_for(make_app()).embeddings.create(model="text-embedding-3-small", input="hi",
                                                       extra_body={"service_tier": "flex"})
    assert "service_tier" in caught.value.body["message"]


async def test_flex_is_refused_at_its_rate_with_openais_resource_unavailable(make_app, client_for) -> None:
    app = make_app(flex_unavailable_rate=0.6, seed=3)
    client = client_for(app)
    refused = 0
    for _ in range(200):
        try:
            await client.chat.completions.create(**chat_body(service_tier="flex"))
        except openai.RateLimitError as error:
            assert error.status_code == 429 and error.body["code"] == "resource_unavailable"
            refused += 1
    assert 100 <= refused <= 140
    assert app.stats.flex_unavailable == refused
    assert app.stats.admitted == 200 - refused  # refusals cost no rate-limit capacity
    assert app.stats.rate_limited == {}
    assert await client.chat.completions.create(**chat_body())  # standard requests are never refused


async def test_flex_and_priority_answer_after_their_own_latency(make_app, client_for, fake_sleep) -> None:
    client = client_for(make_app(latency_ms=300, flex_latency_ms=4_000, priority_latency_ms=100))
    for tier in ("flex", "priority", "default"):
        await client.chat.completions.create(**chat_body(service_tier=tier, max_tokens=5))
    assert fake_sleep.calls == [4.0, 0.1, 0.3]


def test_priority_is_downgraded_at_its_rate_and_the_draw_is_reproducible() -> None:
    settings = SimulatorSettings(priority_downgrade_rate=0.25, latency_ms=300, priority_latency_ms=100)
    tiers = [served(settings, {"service_tier": "priority"}, ordinal).service_tier for ordinal in range(1, 401)]
    assert 70 <= tiers.count("default") <= 130
    assert set(tiers) == {"priority", "default"}
    assert tiers == [served(settings, {"service_tier": "priority"}, n).service_tier for n in range(1, 401)]
    assert served(settings, {"service_tier": "priority"}, tiers.index("default") + 1).latency_ms == 300


async def test_a_refusal_can_be_scripted(make_app, client_for) -> None:
    app = make_app()
    app.inject("unavailable")
    with pytest.raises(openai.RateLimitError) as caught:
        await client_for(app).chat.completions.create(**chat_body(service_tier="flex"))
    assert caught.value.body["code"] == "resource_unavailable"
    assert (app.stats.faults, app.stats.flex_unavailable) == ({"unavailable": 1}, 1)
