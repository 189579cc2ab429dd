"""The two buckets and the figures they report, on a fake clock."""

from __future__ import annotations

import math

import openai
import pytest
from sim_helpers import FakeClock, chat_body

from oaib_tui import tokens
from oaib_tui.sim.ratelimit import ServerLimits, openai_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-1, "0s"),
        (0.0001, "1ms"),
        (0.12, "120ms"),
        (0.18, "180ms"),
        (0.999, "999ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (8.64, "8.64s"),
        (59.9999, "1m0s"),
        (360, "6m0s"),
        (61.25, "1m1.25s"),
        (3723.5, "1h2m3.5s"),
    ],
)
def test_openai_duration_writes_waits_like_openai(seconds: float, text: str) -> None:
    assert openai_duration(seconds) == text


def test_openai_duration_never_rounds_a_wait_down() -> None:
    assert openai_duration(0.0201) == "21ms"
    assert openai_duration(1.0001) == "1.001s"


def test_buckets_start_full_and_refuse_the_request_past_the_limit(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=60, tpm=10_000, bucket_s=60, clock=clock)
    for _ in range(60):
        assert limiter.admit(10) is None
    refusal = limiter.admit(10)
    assert refusal is not None and refusal.kind == "requests"
    assert refusal.wait_s == pytest.approx(1.0)  # 60 rpm refill one request a second
    assert (refusal.limit, refusal.used, refusal.requested) == (60, 60, 1)


def test_buckets_refill_continuously_at_limit_per_60_seconds(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=600, tpm=6_000, bucket_s=60, clock=clock)
    assert limiter.admit(6_000) is None
    clock.advance(0.5)  # 100 tokens/s
    assert limiter.tokens.level == pytest.approx(0)  # levels refresh only when asked
    refusal = limiter.admit(51)
    assert refusal is not None and refusal.kind == "tokens"
    assert limiter.tokens.level == pytest.approx(50)
    assert refusal.wait_s == pytest.approx(0.01)
    assert limiter.admit(50) is None


def test_token_refusal_reports_the_true_wait_in_the_message(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=1000, tpm=100_000, bucket_s=60, clock=clock)
    assert limiter.admit(99_800) is None
    refusal = limiter.admit(500)
    assert refusal is not None
    # 300 tokens short at 100000/60 per second: 180 ms.
    assert refusal.wait_s == pytest.approx(0.18)
    assert refusal.message("gpt-4o-mini") == (
        "Rate limit reached for gpt-4o-mini in organization org-sim on tokens per min (TPM): "
        "Limit 100000, Used 99800, Requested 500. Please try again in 180ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )


def test_retry_after_covers_both_buckets(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=60, tpm=600, bucket_s=60, clock=clock)
    assert limiter.admit(600) is None
    for _ in range(59):
        limiter.charge(0)
    refusal = limiter.admit(300)
    assert refusal is not None and refusal.kind == "requests"
    assert refusal.wait_s == pytest.approx(1.0)
    assert refusal.retry_after_s == pytest.approx(30.0)  # the token bucket needs 30 s for 300 tokens


def test_a_smaller_bucket_holds_fewer_seconds_of_refill(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=600, tpm=60_000, bucket_s=6, clock=clock)
    assert (limiter.requests.capacity, limiter.tokens.capacity) == (60, 6_000)
    admitted = sum(limiter.admit(10) is None for _ in range(100))
    assert admitted == 60
    clock.advance(1000)  # a long pause refills only the bucket's size
    assert limiter.admit(0) is None
    assert limiter.requests.level == pytest.approx(59)


def test_a_request_larger_than_the_bucket_is_too_large_and_waiting_cannot_help(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=60, tpm=1_000, bucket_s=60, clock=clock)
    refusal = limiter.admit(1_001)
    assert refusal is not None and refusal.too_large and refusal.retry_after_s is None
    assert refusal.message("gpt-4o").startswith(
        "Request too large for gpt-4o in organization org-sim on tokens per min (TPM): Limit 1000, Requested 1001."
    )
    assert limiter.tokens.level == 1_000  # nothing deducted


def test_a_request_bucket_always_holds_at_least_one_request(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=1, tpm=1_000, bucket_s=1, clock=clock)
    assert limiter.admit(1) is None


def test_resize_keeps_what_the_bucket_holds(clock: FakeClock) -> None:
    limiter = ServerLimits(rpm=60, tpm=1_000, bucket_s=60, clock=clock)
    limiter.admit(900)
    limiter.resize(rpm=120, tpm=2_000, bucket_s=60)
    assert limiter.tokens.level == pytest.approx(100)
    assert limiter.tokens.capacity == 2_000
    limiter.resize(rpm=120, tpm=50, bucket_s=60)
    assert limiter.tokens.level == 50


async def test_admission_deducts_prompt_plus_max_output_and_never_refunds(make_app, client_for) -> None:
    app = make_app(rpm=100, tpm=10_000)
    client = client_for(app)
    body = chat_body(max_tokens=500)
    raw = await client.chat.completions.with_raw_response.create(**body)
    completion = raw.parse()
    reserved = tokens.prompt_tokens("/v1/chat/completions", body) + 500
    assert completion.usage.completion_tokens < 500
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) == 10_000 - reserved
    assert app.stats.tokens_admitted == reserved


async def test_requests_429_through_the_sdk(make_app, client_for, clock) -> None:
    app = make_app(rpm=2, tpm=100_000)
    client = client_for(app)
    for _ in range(2):
        await client.chat.completions.create(**chat_body())
    clock.advance(6)  # 0.2 of a request refilled: 24 s to go
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(**chat_body())
    error = caught.value
    assert error.status_code == 429
    assert error.body["type"] == "requests" and error.body["code"] == "rate_limit_exceeded"
    assert error.body["param"] is None
    assert "on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in 24s." in error.body["message"]
    assert error.response.headers["retry-after-ms"] == "24000"
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert app.stats.rate_limited == {"requests": 1}


async def test_tokens_429_through_the_sdk(make_app, client_for) -> None:
    app = make_app(rpm=1000, tpm=600)
    client = client_for(app)
    body = chat_body(max_tokens=400)
    reserved = tokens.prompt_tokens("/v1/chat/completions", body) + 400
    await client.chat.completions.create(**body)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(**body)
    wait_s = (reserved - (600 - reserved)) / 10  # 600 tpm refill 10 tokens a second
    assert caught.value.body["type"] == "tokens"
    assert f"Please try again in {openai_duration(wait_s)}." in caught.value.body["message"]
    assert caught.value.response.headers["retry-after-ms"] == str(math.ceil(wait_s * 1000))
    assert app.stats.rate_limited == {"tokens": 1}


async def test_request_too_large_is_a_429_without_retry_after(make_app, client_for) -> None:
    app = make_app(tpm=100)
    with pytest.raises(openai.RateLimitError) as caught:
        await client_for(app).chat.completions.create(**chat_body(max_tokens=200))
    assert caught.value.body["message"].startswith("Request too large for gpt-4o-mini")
    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert "retry-after-ms" not in caught.value.response.headers
    assert app.stats.rate_limited == {"too_large": 1}


async def test_embeddings_reserve_their_prompt_only(make_app, client_for) -> None:
    app = make_app(tpm=10_000)
    raw = await client_for(app).embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello world")
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) == 10_000 - raw.parse().usage.prompt_tokens
