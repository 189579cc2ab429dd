"""429 `resource_unavailable` (flex capacity gone): this request alone, on its own back-off and budget."""

from __future__ import annotations

import random

import pytest

from oaib_tui.engine.retry import (
    MAX_UNAVAILABLE_RETRIES,
    RetryPolicy,
    backoff_delay,
    classify,
    unavailable_delay,
)

NOW = 1_750_000_000.0
UNAVAILABLE = {"message": "Resource unavailable", "type": "invalid_request_error", "code": "resource_unavailable"}


def refusal():
    return classify(status=429, error=UNAVAILABLE, headers={"x-ratelimit-reset-requests": "1m"}, now=NOW)


def server_error():
    return classify(status=500, error=None, headers={}, now=NOW)


def test_it_is_retried_but_is_no_rate_limit() -> None:
    outcome = refusal()
    assert (outcome.action, outcome.reason, outcome.rate_limit_kind, outcome.code) == (
        "retry", "429 resource unavailable", None, "resource_unavailable")
    assert outcome.capacity_refused
    assert outcome.server_delay_s is None  # a bucket's reset is no advice for a capacity refusal


def test_a_rate_limit_and_other_failures_keep_their_codes() -> None:
    limited = classify(status=429, error={"message": "x", "type": "tokens", "code": "rate_limit_exceeded"},
                       headers={}, now=NOW)
    assert (limited.code, server_error().code) == ("rate_limited", "other")
    assert not limited.capacity_refused


@pytest.mark.parametrize("refusals", range(1, 12))
def test_the_back_off_doubles_from_one_second_to_a_minute_half_jittered(refusals) -> None:
    ceiling = min(2.0 ** (refusals - 1), 60.0)
    delays = [unavailable_delay(refusals, None, random.Random(seed)) for seed in range(200)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert max(delays) - min(delays) > ceiling / 4  # spread, so a storm's refusals do not return together


def test_the_back_off_never_undercuts_a_wait_the_server_asked_for() -> None:
    assert unavailable_delay(1, 7.5, random.Random(1)) == 7.5


def test_refusals_have_their_own_budget_and_leave_max_retries_whole() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry(MAX_UNAVAILABLE_RETRIES, refusal(), refusals=MAX_UNAVAILABLE_RETRIES)
    assert not policy.should_retry(MAX_UNAVAILABLE_RETRIES + 1, refusal(), refusals=MAX_UNAVAILABLE_RETRIES + 1)
    # Ten refusals, then server errors: max_retries counts only the server errors.
    assert policy.should_retry(12, server_error(), refusals=10)
    assert not policy.should_retry(13, server_error(), refusals=10)


def test_the_usual_back_off_counts_only_the_attempts_that_were_not_refusals() -> None:
    policy = RetryPolicy(max_retries=6)
    after_refusals = policy.delay(12, server_error(), random.Random(3), refusals=10)
    assert after_refusals == backoff_delay(2, None, random.Random(3))
    assert policy.delay(3, refusal(), random.Random(3), refusals=3) == unavailable_delay(3, None, random.Random(3))
