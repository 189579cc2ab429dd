"""The headers every answer carries, read through `with_raw_response` as the engine reads them."""

from __future__ import annotations

import re

import openai
import pytest
from sim_helpers import chat_body

DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


def seconds(duration: str) -> float:
    match = re.match(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?$", duration)
    assert match, duration
    hours, minutes, secs, millis = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs + millis / 1000


async def test_every_answer_carries_the_rate_limit_headers(make_app, client_for) -> None:
    app = make_app(rpm=500, tpm=90_000)
    raw = await client_for(app).chat.completions.with_raw_response.create(**chat_body())
    headers = raw.headers
    assert all(name in headers for name in RATE_HEADERS)
    assert headers["x-ratelimit-limit-requests"] == "500" and headers["x-ratelimit-limit-tokens"] == "90000"
    assert DURATION.match(headers["x-ratelimit-reset-requests"])
    assert DURATION.match(headers["x-ratelimit-reset-tokens"])
    assert headers["x-request-id"].startswith("req_")
    assert headers["openai-processing-ms"] == "0"


async def test_remaining_falls_and_reset_grows_with_each_request(make_app, client_for) -> None:
    client = client_for(make_app(rpm=100, tpm=50_000))
    seen = []
    for index in range(4):
        raw = await client.chat.completions.with_raw_response.create(**chat_body(f"request {index}"))
        seen.append(raw.headers)
    remaining_requests = [int(h["x-ratelimit-remaining-requests"]) for h in seen]
    remaining_tokens = [int(h["x-ratelimit-remaining-tokens"]) for h in seen]
    resets = [seconds(h["x-ratelimit-reset-requests"]) for h in seen]
    assert remaining_requests == [99, 98, 97, 96]
    assert remaining_tokens == sorted(remaining_tokens, reverse=True) and len(set(remaining_tokens)) == 4
    assert resets == pytest.approx([0.6, 1.2, 1.8, 2.4])  # 100 rpm: 0.6 s a request
    assert len({h["x-request-id"] for h in seen}) == 4


async def test_headers_show_the_refill_as_time_passes(make_app, client_for, clock) -> None:
    client = client_for(make_app(rpm=60, tpm=60_000))
    for _ in range(10):
        await client.chat.completions.create(**chat_body())
    clock.advance(4)
    raw = await client.chat.completions.with_raw_response.create(**chat_body())
    assert raw.headers["x-ratelimit-remaining-requests"] == "53"  # 60 - 11 + 4 refilled
    assert raw.headers["x-ratelimit-reset-requests"] == "7s"


async def test_errors_carry_the_headers_too(make_app, client_for) -> None:
    app = make_app(rpm=1)
    client = client_for(app)
    await client.chat.completions.create(**chat_body())
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(**chat_body())
    app.inject("500")
    with pytest.raises(openai.InternalServerError) as server_error:
        await client.chat.completions.create(**chat_body())
    for error in (caught.value, server_error.value):
        assert all(name in error.response.headers for name in RATE_HEADERS)
        assert error.response.headers["x-request-id"].startswith("req_")
        assert error.response.headers["openai-processing-ms"] == "0"


async def test_processing_time_is_the_simulated_latency(make_app, client_for, fake_sleep) -> None:
    app = make_app(latency_ms=250, latency_per_token_ms=2)
    raw = await client_for(app).chat.completions.with_raw_response.create(**chat_body())
    output = raw.parse().usage.completion_tokens
    assert raw.headers["openai-processing-ms"] == str(250 + 2 * output)
    assert fake_sleep.calls == [pytest.approx((250 + 2 * output) / 1000)]
