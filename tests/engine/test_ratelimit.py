"""The rate limiter's rules, one at a time, on a fake clock (the closed loop is in test_ratelimit_loop)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oaib_tui.engine.ratelimit import FIXED_BURST_S, RateLimiter, read_limit_headers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def limit_headers(requests: tuple[int, float, str], tokens: tuple[int, float, str] | None = None) -> dict[str, str]:
    """`x-ratelimit-*` headers from (limit per minute, remaining, reset) per bucket."""
    headers = {}
    for kind, figures in (("requests", requests), ("tokens", tokens)):
        if figures:
            limit, remaining, reset = figures
            headers |= {f"x-ratelimit-limit-{kind}": str(limit), f"x-ratelimit-remaining-{kind}": str(remaining),
                        f"x-ratelimit-reset-{kind}": reset}
    return headers


def grants_now(limiter: RateLimiter, tokens: int = 0, most: int = 10_000) -> int:
    """How many requests of `tokens` are granted at once."""
    for granted in range(most):
        if limiter.try_acquire(tokens) > 0:
            return granted
    return most


def learned(clock: Clock, *, bucket_s: float = 60.0, **options) -> RateLimiter:
    """A limiter (`auto` unless learn=False) that sent one request of 100 tokens at 0 and had its answer at 0.3 s."""
    limiter = RateLimiter(rpm=options.pop("rpm", None), tpm=options.pop("tpm", None),
                          safety=options.pop("safety", 0.1), learn=options.pop("learn", True), clock=clock)
    assert limiter.try_acquire(100, key="first") == 0.0
    clock.now = 0.3
    requests_left = 600 * bucket_s / 60 - 1  # the server's buckets, full before our request
    tokens_left = 100_000 * bucket_s / 60 - 100
    limiter.observe(limit_headers((600, requests_left, "100ms"), (100_000, tokens_left, "60ms")), key="first")
    return limiter


# -- fixed limits (mode realtime) -----------------------------------------------------------


def test_fixed_limits_allow_a_burst_of_a_few_seconds_then_pace_at_the_limit_less_safety():
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=None, safety=0.1, learn=False, clock=clock)
    assert grants_now(limiter) == FIXED_BURST_S * 9  # 600 rpm less 10% is 9 a second
    assert limiter.try_acquire(0) == pytest.approx(1 / 9)
    granted = 0
    while clock.now < 10.0:
        wait = limiter.try_acquire(0)
        granted += wait == 0
        clock.now += wait
    assert granted == pytest.approx(90, abs=1)


def test_fixed_limits_pace_tokens_and_let_a_request_larger_than_the_bucket_go_when_it_is_full():
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=60_000, safety=0.0, learn=False, clock=clock)  # 1,000 tokens/s, holds 5,000
    assert limiter.try_acquire(8_000) == 0.0
    assert limiter.try_acquire(1_000) == pytest.approx(4.0)  # 3,000 in debt, then 1,000 more


def test_fixed_limits_count_what_the_server_actually_charged():
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=60_000, safety=0.0, learn=False, clock=clock)
    assert limiter.try_acquire(5_000) == 0.0
    limiter.reconcile(estimated_prompt=100, actual_prompt=1_100)
    assert limiter.try_acquire(1) == pytest.approx(1.001)
    limiter.reconcile(estimated_prompt=1_100, actual_prompt=100)  # 1,000 given back: empty again
    assert limiter.try_acquire(1) == pytest.approx(0.001)


def test_an_absurd_usage_costs_at_most_a_minute_of_tokens():
    # A hostile server's 9.2 billion prompt tokens once left a debt that stalled the run for 15 hours.
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=60_000, safety=0.0, learn=False, clock=clock)
    assert limiter.try_acquire(100) == 0.0
    limiter.reconcile(estimated_prompt=100, actual_prompt=9_220_446_776)
    assert 1 < limiter.try_acquire(1) <= 60.001  # at most one minute of refill, not hours


def test_fixed_limits_follow_the_servers_bucket_once_headers_state_the_same_limit():
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=100_000, safety=0.1, learn=False, clock=clock)
    before = limiter.snapshot()
    assert (before.source, before.rpm_limit, before.tpm_limit) == ("fixed", 600, 100_000)
    assert before.remaining_requests is None
    assert limiter.try_acquire(10, key="first") == 0.0
    clock.now = 0.3
    limiter.observe(limit_headers((600, 0, "59s"), (100_000, 42, "59s")), key="first")
    after = limiter.snapshot()
    assert (after.source, after.rpm_limit, after.tpm_limit) == ("fixed", 600, 100_000)
    # What the server had left when it admitted ours, plus 0.3 s of refill since.
    assert (after.remaining_requests, after.remaining_tokens) == (3, 542)
    assert limiter.try_acquire(600) > 0  # the server's bucket has too few tokens, whatever our own pace allows


@pytest.mark.parametrize("bucket_s, burst", [(60.0, 590), (10.0, 90)])
def test_fixed_limits_spend_the_burst_the_server_reports_less_a_reserve(bucket_s, burst):
    # The server's limits are the configured ones: its whole bucket is ours, less safety × (≤10 s of refill).
    clock = Clock()
    limiter = learned(clock, bucket_s=bucket_s, rpm=600, tpm=100_000, learn=False)
    assert limiter.snapshot().source == "fixed"
    assert grants_now(limiter, tokens=100) == burst
    assert limiter.try_acquire(100) == pytest.approx(0.1)


def test_a_fixed_limit_below_the_servers_keeps_its_own_pace():
    clock = Clock()
    limiter = RateLimiter(rpm=60, tpm=None, safety=0.0, learn=False, clock=clock)  # 1 a second, 5 at once
    assert limiter.try_acquire(100, key="first") == 0.0
    clock.now = 0.3
    limiter.observe(limit_headers((600, 599, "100ms"), (100_000, 99_900, "60ms")), key="first")
    assert grants_now(limiter) == 4
    snapshot = limiter.snapshot()
    # No tpm configured: the server's token limit is the one in force.
    assert (snapshot.source, snapshot.rpm_limit, snapshot.tpm_limit) == ("headers", 60, 100_000)


def test_fixed_limits_above_the_servers_give_way_to_the_servers():
    clock = Clock()
    limiter = RateLimiter(rpm=6_000, tpm=None, safety=0.0, learn=False, clock=clock)
    assert limiter.try_acquire(0, key="first") == 0.0
    clock.now = 0.3
    limiter.observe(limit_headers((600, 9, "1s")), key="first")  # 9 left, full in 1 s: it holds 19
    assert grants_now(limiter) == 12  # 9, and 0.3 s of refill since
    assert limiter.snapshot().rpm_limit == 600


def test_a_pause_holds_every_request_until_it_ends():
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=None, safety=0.1, learn=False, clock=clock)
    limiter.pause_until(3.0)
    limiter.pause_until(2.0)  # an earlier end does not shorten it
    assert limiter.try_acquire(0) == pytest.approx(3.0)
    clock.now = 1.0
    assert limiter.try_acquire(0) == pytest.approx(2.0)
    assert limiter.snapshot().paused_until == 3.0
    clock.now = 3.0
    assert limiter.try_acquire(0) == 0.0
    assert limiter.snapshot().paused_until is None


def test_safety_must_leave_something_to_send():
    with pytest.raises(ValueError):
        RateLimiter(rpm=600, tpm=None, safety=1.0, learn=False, clock=Clock())


# -- learned limits (mode auto) -------------------------------------------------------------


def test_learning_starts_with_one_request_until_headers_arrive():
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=clock)
    assert limiter.try_acquire(100) == 0.0
    assert limiter.try_acquire(100) > 0
    starting = limiter.snapshot()
    assert (starting.source, starting.rpm_limit, starting.tpm_limit) == ("starting", None, None)
    clock.now = 0.3
    limiter.observe(limit_headers((600, 599, "100ms"), (100_000, 99_900, "60ms")))
    learned = limiter.snapshot()
    assert (learned.source, learned.rpm_limit, learned.tpm_limit) == ("headers", 600, 100_000)
    assert limiter.try_acquire(100) == 0.0


def test_learning_starts_with_a_fraction_of_the_rpm_cap_when_there_is_one():
    limiter = RateLimiter(rpm=600, tpm=None, safety=0.1, learn=True, clock=Clock(), start_fraction=0.05)
    assert grants_now(limiter) == 30


def test_learning_sends_one_more_now_and_then_while_no_answer_comes():
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=clock)
    assert limiter.try_acquire(100) == 0.0
    clock.now += limiter.try_acquire(100)
    assert clock.now == pytest.approx(2.0)
    assert limiter.try_acquire(100) == 0.0


def test_a_server_that_reports_no_limits_leaves_the_caps_alone_to_pace():
    clock = Clock()
    limiter = RateLimiter(rpm=120, tpm=None, safety=0.1, learn=True, clock=clock, start_fraction=0.01)
    assert grants_now(limiter) == 1
    for _ in range(3):
        limiter.observe({"content-type": "application/json"})
    assert limiter.snapshot().source == "fixed"
    assert grants_now(limiter) == FIXED_BURST_S * 2 - 1  # the cap's burst, less the first request


@pytest.mark.parametrize("bucket_s, burst", [(60.0, 590), (10.0, 90)])
def test_headers_teach_the_limits_and_the_burst_the_server_allows_less_a_reserve(bucket_s, burst):
    # The bucket's size is remaining + reset·rate; the reserve is safety × at most 10 s of refill.
    clock = Clock()
    limiter = learned(clock, bucket_s=bucket_s)
    assert limiter.snapshot().remaining_requests == 600 * bucket_s / 60
    assert grants_now(limiter, tokens=100) == burst
    assert limiter.try_acquire(100) == pytest.approx(0.1)


def test_a_cap_below_the_learned_limit_paces_at_the_cap():
    clock = Clock()
    limiter = learned(clock, rpm=300)
    assert limiter.snapshot().rpm_limit == 300
    assert grants_now(limiter) == FIXED_BURST_S * 5  # the cap's own burst
    assert limiter.try_acquire(0) == pytest.approx(0.2)


def test_a_cap_above_the_learned_limit_changes_nothing():
    clock = Clock()
    limiter = learned(clock, rpm=1_000)
    assert limiter.snapshot().rpm_limit == 600
    assert grants_now(limiter) == 590


def server_answers_after_another_program_took_200(limiter: RateLimiter, *, keyed: bool) -> dict[str, dict[str, str]]:
    """Grants a, b, c at 0.3 s. The server admits a, another program takes 200, then b and c."""
    for key in "abc":
        assert limiter.try_acquire(100, key=key if keyed else None) == 0.0
    answers = {"a": (599, 99_800), "b": (398, 99_700), "c": (397, 99_600)}  # remaining as each was admitted
    return {key: limit_headers((600, r, "1s"), (100_000, t, "1s")) for key, (r, t) in answers.items()}


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "unkeyed"])
def test_an_answer_counts_the_grants_still_in_flight_and_what_others_took(keyed):
    clock = Clock()
    limiter = learned(clock)
    answers = server_answers_after_another_program_took_200(limiter, keyed=keyed)
    clock.now = 0.5
    limiter.observe(answers["a"], key="a" if keyed else None)
    assert limiter.snapshot().remaining_requests == 599  # a's answer cannot know of the others yet
    limiter.observe(answers["b"], key="b" if keyed else None)
    # b's answer, at 398 when b was admitted: c is still to be counted, 0.2 s of refill added.
    assert limiter.snapshot().remaining_requests in ((399,) if keyed else (399, 400))


def test_a_late_answer_from_early_in_a_burst_does_not_raise_the_estimate():
    clock = Clock()
    limiter = learned(clock)
    headers = []
    for sent in range(100):  # the server admits them in order, its level falling from 600
        assert limiter.try_acquire(100) == 0.0
        headers.append(limit_headers((600, 599 - sent, "1s")))
    clock.now = 0.6
    for answer in headers[1:]:
        limiter.observe(answer)
    before = limiter.snapshot().remaining_requests
    limiter.observe(headers[0])  # "599 left": true when it was admitted, long out of date now
    assert limiter.snapshot().remaining_requests <= before


def test_an_older_keyed_answer_than_the_last_one_may_only_lower_the_estimate():
    clock = Clock()
    limiter = learned(clock)
    for key in "ab":
        limiter.try_acquire(100, key=key)
    clock.now = 0.5
    limiter.observe(limit_headers((600, 500, "1s")), key="b")
    assert limiter.snapshot().remaining_requests == 502
    limiter.observe(limit_headers((600, 599, "1s")), key="a")
    assert limiter.snapshot().remaining_requests == 502


def test_reconcile_counts_the_difference_unless_the_answer_already_did():
    clock = Clock()
    limiter = learned(clock)
    limiter.try_acquire(100, key="a")
    before = limiter.snapshot().remaining_tokens
    limiter.reconcile(estimated_prompt=50, actual_prompt=150, key="a")  # its answer is not in yet
    assert limiter.snapshot().remaining_tokens == before - 100
    limiter.observe(limit_headers((600, 598, "200ms"), (100_000, before - 200, "1s")), key="a")
    after_answer = limiter.snapshot().remaining_tokens
    limiter.reconcile(estimated_prompt=50, actual_prompt=150, key="a")  # already in the answer's figure
    assert limiter.snapshot().remaining_tokens == after_answer
    limiter.reconcile(estimated_prompt=50, actual_prompt=150)  # no key: counted
    assert limiter.snapshot().remaining_tokens == after_answer - 100


def test_limit_headers_are_read_whatever_their_capitals_and_durations():
    reports = read_limit_headers({
        "X-RateLimit-Limit-Requests": "500", "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms", "x-ratelimit-remaining-tokens": "12", "x-ratelimit-reset-tokens": "6m0s",
    })
    assert (reports["requests"].limit, reports["requests"].remaining, reports["requests"].reset_s) == (500, 499, 0.12)
    assert (reports["tokens"].limit, reports["tokens"].remaining, reports["tokens"].reset_s) == (None, 12, 360)
    assert read_limit_headers({"content-type": "application/json"}) == {}


# -- what it tells the ETA and the front ends ------------------------------------------------


def test_holdup_names_the_bucket_that_keeps_a_request_waiting_longest():
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=6_000, safety=0.0, learn=False, clock=clock)
    assert limiter.holdup(100) == (None, 0.0)
    while limiter.try_acquire(100) == 0:
        pass  # the token bucket (500 tokens) runs dry long before the requests bucket (50)
    gate, wait = limiter.holdup(100)
    assert gate == "tokens" and wait == pytest.approx(limiter.try_acquire(100))
    clock.now += 60
    while limiter.try_acquire(1) == 0:
        pass  # requests of 1 token: now the requests bucket runs dry first
    assert limiter.holdup(1)[0] == "requests"


def test_holdup_says_starting_until_headers_and_rate_limited_while_a_pause_lasts():
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=clock)
    assert limiter.try_acquire(10) == 0.0
    assert limiter.holdup(10)[0] == "starting"
    limiter.pause_until(4.0)
    assert limiter.holdup(10) == ("rate-limited", 4.0)


def test_buckets_show_fixed_limits_paced_below_the_limit_without_a_reserve():
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=60_000, safety=0.1, learn=False, clock=clock)
    limiter.try_acquire(1_000)
    requests, tokens = limiter.buckets()
    assert (requests.kind, requests.capacity, requests.refill_per_s, requests.reserve) == ("requests", 45, 9, 0)
    assert (tokens.kind, tokens.level, tokens.capacity, tokens.refill_per_s) == ("tokens", 3_500, 4_500, 900)


def test_buckets_show_the_servers_buckets_once_learned_with_the_reserve_kept_in_them():
    clock = Clock()
    limiter = learned(clock, bucket_s=10)
    assert RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=clock).buckets() == ()
    requests, tokens = limiter.buckets()
    assert (requests.capacity, requests.refill_per_s, requests.reserve) == pytest.approx((100, 10, 10))
    assert (tokens.capacity, tokens.refill_per_s) == pytest.approx((100_000 / 6, 100_000 / 60))
    assert tokens.level == pytest.approx(tokens.capacity)  # our 100 tokens came back in the 0.3 s since
    limiter.try_acquire(1_000)
    assert limiter.buckets()[1].level == pytest.approx(tokens.capacity - 1_000)


@settings(max_examples=200, deadline=None)
@given(grants=st.lists(st.tuples(st.floats(0, 5), st.integers(0, 5_000)), min_size=1, max_size=40),
       answered=st.integers(0, 39), r_remaining=st.floats(0, 100), t_remaining=st.floats(0, 50_000),
       later=st.floats(0, 5))
def test_both_buckets_placed_in_one_walk_as_each_alone(grants, answered, r_remaining, t_remaining, later):
    from oaib_tui.engine.ratelimit_sync import Bucket, GrantLog

    log, at = GrantLog(), 0.0
    for gap, tokens in grants:
        at += gap
        log.add(at, float(tokens), key=len(log._grants))
    grant = log.find(min(answered, len(grants) - 1))
    requests, tokens = Bucket(10.0, 60.0, 0.0), Bucket(1_000.0, 40_000.0, 0.0)
    now = at + later
    both = log.levels_now(grant, (requests, r_remaining), (tokens, t_remaining), now)
    alone = (log.level_now(grant, "requests", requests, r_remaining, now),
             log.level_now(grant, "tokens", tokens, t_remaining, now))
    assert both == pytest.approx(alone, rel=1e-12, abs=1e-9)
