"""The retry rules: durations, the server's asked-for delay, classification, backoff and the policy."""

from __future__ import annotations

import dataclasses
import email.utils
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oaib_tui.engine.retry import (
    MAX_SERVER_DELAY_S,
    Outcome,
    RetryPolicy,
    backoff_delay,
    classify,
    server_delay,
)

NOW = 1_700_000_000.0


# -- the delay the server asked for ---------------------------------------------------------


def test_retry_after_ms_comes_first_then_retry_after():
    assert server_delay({"retry-after-ms": "250", "retry-after": "3"}, now=NOW) == 0.25
    assert server_delay({"Retry-After": "1.5"}, now=NOW) == 1.5


def test_retry_after_may_be_an_http_date_read_against_now():
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert server_delay({"retry-after": date}, now=NOW) == pytest.approx(30)
    assert server_delay({"retry-after": date}) is None  # no clock, no date


@pytest.mark.parametrize("headers", [{"retry-after": "600"}, {"retry-after-ms": "1e12"}, {"retry-after": "inf"}])
def test_absurd_delays_are_cut_to_the_cap(headers):
    assert server_delay(headers, now=NOW) == MAX_SERVER_DELAY_S


def test_a_date_in_the_past_means_now():
    assert server_delay({"retry-after": email.utils.formatdate(NOW - 5, usegmt=True)}, now=NOW) == 0.0


def test_a_429_waits_for_room_in_its_bucket_not_for_the_bucket_to_be_full():
    full_in_a_minute = {"x-ratelimit-reset-requests": "59s", "x-ratelimit-limit-requests": "600",
                        "x-ratelimit-remaining-requests": "0"}
    assert server_delay(full_in_a_minute, now=NOW, rate_limit_kind="requests") == pytest.approx(0.1)
    tokens = {"x-ratelimit-reset-tokens": "50s", "x-ratelimit-limit-tokens": "60000",
              "x-ratelimit-remaining-tokens": "200"}
    message = "Rate limit reached on tokens per min (TPM): Limit 60000, Used 59800, Requested 1200."
    assert server_delay(tokens, message, now=NOW, rate_limit_kind="tokens") == pytest.approx(1.0)
    assert server_delay(tokens, "", now=NOW, rate_limit_kind="tokens") == 50.0  # how much is wanted is unknown


def test_a_429_of_unknown_kind_waits_for_the_later_reset():
    headers = {"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "6.5s"}
    assert server_delay(headers, now=NOW, rate_limit_kind="unknown") == 6.5
    assert server_delay(headers, now=NOW) is None  # reset headers mean nothing outside a 429


@pytest.mark.parametrize("message, seconds", [
    ("Rate limit reached for gpt-4o. Please try again in 1.5s. Visit https://x to learn more.", 1.5),
    ("Please try again in 20ms.", 0.02),
    ("Please try again in 6m0s", MAX_SERVER_DELAY_S),
    ("Requests have exceeded the token rate limit. Please retry after 7 seconds.", 7.0),
    ("The engine is overloaded.", None),
])
def test_last_the_wait_written_in_the_message(message, seconds):
    assert server_delay({}, message, now=NOW) == seconds


# -- classify -------------------------------------------------------------------------------


def rate_limit(kind: str | None, message: str = "Rate limit reached. Please try again in 1s.") -> dict:
    return {"message": message, "type": kind, "code": "rate_limit_exceeded"}


@pytest.mark.parametrize("status, error, action, reason, kind", [
    (429, rate_limit("requests"), "retry", "429 requests", "requests"),
    (429, rate_limit("tokens"), "retry", "429 tokens", "tokens"),
    (429, rate_limit(None, "Rate limit reached for o1 on tokens per min (TPM): Limit 10"), "retry", "429 tokens", "tokens"),
    (429, None, "retry", "429", "unknown"),
    (429, {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"},
     "stop", "insufficient quota", None),
    (429, {"message": "Quota", "type": "insufficient_quota", "code": None}, "stop", "insufficient quota", None),
    (429, rate_limit("tokens", "Request too large for gpt-4 on tokens per min (TPM): Limit 10000, Requested 30000."),
     "fail", "request too large", None),
    (400, {"message": "maximum context length", "code": "context_length_exceeded"}, "fail", "request too large", None),
    (413, None, "fail", "request too large", None),
    (400, {"message": "Invalid 'messages'", "type": "invalid_request_error"}, "fail", "400", None),
    (404, None, "fail", "404", None),
    (422, None, "fail", "422", None),
    (401, {"message": "Incorrect API key provided"}, "stop", "401", None),
    (403, None, "stop", "403", None),
    (408, None, "retry", "408", None),
    (409, None, "retry", "409", None),
    (500, None, "retry", "500", None),
    (503, {"message": "The engine is currently overloaded"}, "retry", "503", None),
])
def test_each_answer_is_retried_failed_or_stops_the_run(status, error, action, reason, kind):
    outcome = classify(status=status, error=error, headers={}, now=NOW)
    assert (outcome.action, outcome.reason, outcome.rate_limit_kind) == (action, reason, kind)
    assert (outcome.status, outcome.error) == (status, error)
    assert outcome.message


@pytest.mark.parametrize("failure, status, reason", [
    ("timeout", None, "timeout"), ("connection", None, "connection dropped"), (None, None, "connection dropped"),
    ("malformed", 200, "malformed response"),
])
def test_no_usable_answer_is_retried(failure, status, reason):
    outcome = classify(status=status, error=None, headers={}, failure=failure, now=NOW)
    assert (outcome.action, outcome.reason, outcome.server_delay_s) == ("retry", reason, None)
    assert outcome.message


def test_the_server_message_and_delay_are_kept():
    outcome = classify(status=429, error=rate_limit("tokens", "Slow down. Please try again in 2s."),
                       headers={"retry-after-ms": "1500"}, now=NOW)
    assert (outcome.message, outcome.server_delay_s) == ("Slow down. Please try again in 2s.", 1.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.action = "fail"  # type: ignore[misc]


@pytest.mark.parametrize("status, header, action", [
    (400, "true", "retry"), (503, "false", "fail"), (429, "False", "fail"), (401, "true", "stop"), (500, "maybe", "retry"),
])
def test_x_should_retry_overrides_the_status_but_not_a_stop(status, header, action):
    assert classify(status=status, error=None, headers={"X-Should-Retry": header}, now=NOW).action == action


# -- backoff --------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt, low, high", [(1, 0.375, 0.5), (2, 0.75, 1.0), (4, 3.0, 4.0), (30, 45.0, 60.0)])
def test_backoff_doubles_with_each_attempt_less_up_to_a_quarter_and_is_capped(attempt, low, high):
    delays = [backoff_delay(attempt, None, random.Random(seed)) for seed in range(200)]
    assert low <= min(delays) < max(delays) <= high


@given(attempt=st.integers(1, 100), asked=st.floats(0, MAX_SERVER_DELAY_S), seed=st.integers(0, 2**32))
def test_backoff_never_waits_less_than_the_server_asked(attempt, asked, seed):
    delay = backoff_delay(attempt, asked, random.Random(seed))
    assert asked <= delay <= max(60.0, asked * 1.1 + 0.05)


def test_requests_told_the_same_wait_do_not_all_come_back_at_once():
    delays = sorted(backoff_delay(1, 3.0, random.Random(seed)) for seed in range(100))
    assert delays[0] >= 3.0
    assert delays[-1] - delays[0] > 0.2


def test_backoff_is_reproducible_from_the_seed():
    assert backoff_delay(3, 1.0, random.Random(5)) == backoff_delay(3, 1.0, random.Random(5))


# -- the policy -----------------------------------------------------------------------------


def outcome(action: str = "retry", delay: float | None = None) -> Outcome:
    return Outcome(action, "503", delay, None, "overloaded", 503)  # type: ignore[arg-type]


def test_the_policy_allows_max_retries_after_the_first_attempt():
    policy = RetryPolicy(2)
    assert [policy.should_retry(attempt, outcome()) for attempt in (1, 2, 3)] == [True, True, False]
    assert not policy.should_retry(1, outcome("fail"))
    assert not RetryPolicy(0).should_retry(1, outcome())


def test_a_negative_retry_count_is_refused():
    with pytest.raises(ValueError):
        RetryPolicy(-1)


@pytest.mark.parametrize("headers", [
    {"retry-after": "1e309"}, {"retry-after": "inf"}, {"retry-after": "Infinity"}, {"retry-after-ms": "1e400"},
    {"retry-after": "99999999999999h"}, {"retry-after": "nan"}, {"retry-after": "-5"}, {"retry-after-ms": "-inf"},
    {"x-ratelimit-reset-requests": "1e309"}, {"x-ratelimit-reset-requests": "9999999h"},
])
def test_a_server_asked_delay_is_never_more_than_the_cap_nor_negative(headers):
    # Two minutes, as the SDK caps retry-after: a server cannot park a run for days, and NaN waits nothing.
    delay = server_delay(headers, now=0.0, rate_limit_kind="requests")
    assert delay is None or 0.0 <= delay <= MAX_SERVER_DELAY_S
