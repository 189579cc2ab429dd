"""Faults: each kind, scripted exactly with `inject` or drawn reproducibly from the seed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import openai
import pytest
from pydantic import ValidationError
from sim_helpers import chat_body

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim import FAULT_KINDS, SimulatorApp, create_app
from oaib_tui.sim.auth import mask_key
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.sim.error_bodies import TIMEOUT_FAULT_S
from oaib_tui.sim.faults import random_fault


async def outcome(client: openai.AsyncOpenAI) -> str:
    """What one chat request turned into: `ok`, an HTTP status, or the exception's name."""
    try:
        await client.chat.completions.create(**chat_body())
    except openai.APIStatusError as error:
        return str(error.status_code)
    except (openai.APIConnectionError, ValueError) as error:
        return type(error).__name__
    return "ok"


@pytest.mark.parametrize(
    ("fault", "error_type", "status", "type_", "code"),
    [
        ("500", openai.InternalServerError, 500, "server_error", None),
        ("502", openai.InternalServerError, 502, "server_error", None),
        ("503", openai.InternalServerError, 503, "server_error", None),
        ("400", openai.BadRequestError, 400, "invalid_request_error", None),
        ("401", openai.AuthenticationError, 401, "invalid_request_error", "invalid_api_key"),
        ("quota", openai.RateLimitError, 429, "insufficient_quota", "insufficient_quota"),
        ("429-requests", openai.RateLimitError, 429, "requests", "rate_limit_exceeded"),
        ("429-tokens", openai.RateLimitError, 429, "tokens", "rate_limit_exceeded"),
    ],
)
async def test_scripted_error_faults(make_app, client_for, fault, error_type, status, type_, code) -> None:
    app = make_app()
    app.inject(fault)
    with pytest.raises(error_type) as caught:
        await client_for(app, api_key="sk-proj-abcdefghijklmnopqrstuvwxyz").chat.completions.create(**chat_body())
    assert caught.value.status_code == status
    assert caught.value.body["type"] == type_ and caught.value.body["code"] == code
    assert "abcdefghijklmnopqrstuvwxyz" not in caught.value.body["message"]
    assert app.stats.faults == {fault: 1}
    assert await outcome(client_for(app)) == "ok"  # the script is used up


async def test_quota_message_is_openais(make_app, client_for) -> None:
    app = make_app()
    app.inject("quota")
    with pytest.raises(openai.RateLimitError) as caught:
        await client_for(app).chat.completions.create(**chat_body())
    assert caught.value.body["message"].startswith(
        "You exceeded your current quota, please check your plan and billing details."
    )


async def test_scripted_429_says_how_long_to_wait(make_app, client_for) -> None:
    app = make_app(rpm=600)
    app.inject("429-requests")
    with pytest.raises(openai.RateLimitError) as caught:
        await client_for(app).chat.completions.create(**chat_body())
    assert "Please try again in 100ms." in caught.value.body["message"]
    assert caught.value.response.headers["retry-after-ms"] == "100"
    assert app.stats.rate_limited == {"requests": 1} and app.stats.admitted == 0


async def test_dropped_connection_is_an_api_connection_error_in_process(make_app, client_for) -> None:
    app = make_app()
    app.inject("drop")
    with pytest.raises(openai.APIConnectionError):
        await client_for(app).chat.completions.create(**chat_body())
    assert app.stats.faults == {"drop": 1} and app.stats.admitted == 0
    assert app.stats.statuses == {}


async def test_malformed_answer_is_a_200_with_truncated_json(make_app) -> None:
    app = make_app()
    app.inject("malformed")
    async with simulator_http_client(app) as http:
        response = await http.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    assert response.content.startswith(b'{"id":"chatcmpl-')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert app.stats.admitted == 1 and app.stats.answered == 0


async def test_malformed_answer_fails_the_sdks_parsing(make_app, client_for) -> None:
    app = make_app()
    app.inject("malformed")
    with pytest.raises(json.JSONDecodeError):
        await client_for(app).chat.completions.create(**chat_body())


async def test_slow_answer_adds_slow_ms(make_app, client_for, fake_sleep) -> None:
    app = make_app(latency_ms=100, slow_ms=4000)
    app.inject("slow", "ok")
    client = client_for(app)
    await client.chat.completions.create(**chat_body())
    await client.chat.completions.create(**chat_body())
    assert fake_sleep.calls == [pytest.approx(4.1), pytest.approx(0.1)]


async def test_timeout_sleeps_past_any_client_timeout_then_answers_504(make_app, client_for, fake_sleep) -> None:
    app = make_app()
    app.inject("timeout")
    with pytest.raises(openai.InternalServerError) as caught:
        await client_for(app).chat.completions.create(**chat_body())
    assert fake_sleep.calls == [TIMEOUT_FAULT_S] and TIMEOUT_FAULT_S >= 600
    assert caught.value.status_code == 504


async def test_zero_latency_never_sleeps(make_app, client_for, fake_sleep) -> None:
    client = client_for(make_app(latency_ms=0))
    for _ in range(5):
        await client.chat.completions.create(**chat_body())
    assert fake_sleep.calls == []


async def test_inject_scripts_an_exact_sequence(make_app, client_for) -> None:
    app = make_app()
    app.inject("503", "ok", "drop", "429-tokens", "ok")
    client = client_for(app)
    seen = [await outcome(client) for _ in range(6)]
    assert seen == ["503", "ok", "APIConnectionError", "429", "ok", "ok"]
    assert app.faults.pending == 0


def test_inject_refuses_unknown_kinds(make_app) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        make_app().inject("500", "explode")
    assert set(FAULT_KINDS) >= {"429-requests", "429-tokens", "500", "503", "drop", "slow", "malformed", "quota", "401", "timeout", "400"}


async def test_a_server_error_is_charged_to_the_buckets_but_a_drop_is_not(make_app, client_for) -> None:
    app = make_app(rpm=10)
    client = client_for(app)
    app.inject("drop", "500")
    assert await outcome(client) == "APIConnectionError"
    assert app.limiter.requests.level == 10
    assert await outcome(client) == "500"
    assert app.limiter.requests.level == 9


async def test_a_scripted_server_error_stays_one_when_the_bucket_is_empty(make_app, client_for) -> None:
    app = make_app(rpm=1)
    client = client_for(app)
    assert await outcome(client) == "ok"
    app.inject("500")
    assert await outcome(client) == "500"
    assert await outcome(client) == "429"


async def test_random_faults_are_reproducible_by_seed(make_app, client_for) -> None:
    async def run(app: SimulatorApp) -> list[str]:
        client = client_for(app)
        return [await outcome(client) for _ in range(60)]

    rates = {"fail_rate": 0.2, "drop_rate": 0.1, "malformed_rate": 0.1, "rpm": 10_000, "tpm": 10_000_000}
    first = await run(make_app(seed=11, **rates))
    again = await run(make_app(seed=11, **rates))
    other = await run(make_app(seed=12, **rates))
    assert first == again
    assert first != other
    assert len(set(first)) >= 4


def test_random_faults_come_at_roughly_their_rates(make_app) -> None:
    settings = make_app(seed=5, fail_rate=0.1, drop_rate=0.05, malformed_rate=0.05, slow_rate=0.2).settings
    kinds = Counter(random_fault(settings, ordinal) for ordinal in range(1, 2001))
    server_errors = kinds["500"] + kinds["502"] + kinds["503"]
    assert 160 <= server_errors <= 240
    assert 70 <= kinds["drop"] <= 130 and 70 <= kinds["malformed"] <= 130
    assert 0.15 * 1600 <= kinds["slow"] <= 0.25 * 1600  # slow strikes a share of the others
    assert min(kinds["500"], kinds["502"], kinds["503"]) > 30


async def test_fault_rates_hold_through_the_app(make_app, client_for) -> None:
    app = make_app(seed=9, fail_rate=0.1, drop_rate=0.1, slow_rate=0.1, rpm=100_000, tpm=100_000_000)
    client = client_for(app)
    seen = Counter([await outcome(client) for _ in range(300)])
    assert 15 <= seen["APIConnectionError"] <= 45
    assert 15 <= seen["500"] + seen["502"] + seen["503"] <= 45
    assert 10 <= app.stats.faults["slow"] <= 45
    assert app.stats.received == 300


async def test_require_key_accepts_the_key_and_refuses_others_without_echoing_them(make_app, client_for) -> None:
    app = make_app(require_key="sk-right-key-0123456789")
    assert await outcome(client_for(app, api_key="sk-right-key-0123456789")) == "ok"
    wrong = "sk-wrong-key-abcdefghijklmnop"
    with pytest.raises(openai.AuthenticationError) as caught:
        await client_for(app, api_key=wrong).chat.completions.create(**chat_body())
    message = caught.value.body["message"]
    assert message.startswith("Incorrect API key provided: sk-wr") and wrong not in message
    assert caught.value.body["code"] == "invalid_api_key"
    async with simulator_http_client(app) as http:
        missing = await http.post("/chat/completions", json=chat_body())
        models = await http.get("/models")
        stats = await http.get("/sim/stats")
    assert missing.status_code == 401 and "didn't provide an API key" in missing.json()["error"]["message"]
    assert models.status_code == 401
    assert stats.status_code == 200  # the control endpoint needs no key


@pytest.mark.parametrize(
    ("key", "masked"),
    [("sk-abcdefghijklmnopqrstuvwxyz", "sk-ab********wxyz"), ("sk-abcdefghij", "sk-ab********"), ("sk-short", "***")],
)
def test_mask_key_never_shows_a_whole_key(key: str, masked: str) -> None:
    assert mask_key(key) == masked


async def test_quota_after_refuses_every_later_request(make_app, client_for) -> None:
    app = make_app(quota_after=3)
    client = client_for(app)
    seen = [await outcome(client) for _ in range(5)]
    assert seen == ["ok", "ok", "ok", "429", "429"]
    assert app.stats.statuses == {200: 3, 429: 2} and app.stats.rate_limited == {}


async def test_checks_run_in_order_auth_then_quota_then_faults(make_app, client_for) -> None:
    app = make_app(require_key="sk-the-right-key-000000", quota_after=1)
    app.inject("500")
    assert await outcome(client_for(app, api_key="sk-a-wrong-key-00000000")) == "401"
    assert app.faults.pending == 1  # a refused key does not use up the script
    good = client_for(app, api_key="sk-the-right-key-000000")
    assert await outcome(good) == "429"  # request 2 is past the quota
    assert app.faults.pending == 1


async def test_update_changes_settings_live_and_validates_them(make_app, client_for) -> None:
    app = make_app(rpm=5)
    client = client_for(app)
    app.update(fail_rate=1.0)
    assert await outcome(client) in {"500", "502", "503"}
    app.update(fail_rate=0.0, rpm=100)
    assert app.limiter.requests.capacity == 100
    assert await outcome(client) == "ok"
    with pytest.raises(ValueError, match="unknown simulator setting"):
        app.update(fial_rate=0.5)
    with pytest.raises(ValidationError):
        app.update(fail_rate=2.0)
    assert app.settings.fail_rate == 0.0


async def test_timeout_with_the_real_sleep_is_cut_by_the_callers_own_deadline(client_for) -> None:
    # In-process, ASGITransport ignores httpx timeouts: the caller's asyncio deadline is what ends the wait.
    app = create_app(SimulatorSettings(latency_ms=0))
    app.inject("timeout")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client_for(app).chat.completions.create(**chat_body())
    assert await outcome(client_for(app)) == "ok"
