"""The one reader of `x-ratelimit-*` and `retry-after(-ms)`: durations, counts, and retry and limiter agreeing."""

from __future__ import annotations

import email.utils

import httpx2
import multidict
import pytest

from oaib_tui.engine.headers import header, number, parse_duration, read_limit_headers, retry_after
from oaib_tui.engine.ratelimit import RateLimiter
from oaib_tui.engine.retry import server_delay

NOW = 1_700_000_000.0


@pytest.mark.parametrize("text, seconds", [
    ("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1.5s", 1.5), ("1h2m3.5s", 3723.5), ("0s", 0.0),
    ("20ms", 0.02), ("500us", 0.0005), (" 2s ", 2.0), ("1.5", 1.5), ("17", 17.0), ("0", 0.0),
])
def test_durations_as_openai_writes_them_and_plain_numbers(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "1x", "1s2", "s", "-1s", "-1", "nan", "inf", "1m-2s"])
def test_anything_else_is_not_a_duration(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("text, value", [("12", 12.0), ("0", 0.0), ("1.5", 1.5), ("-3", None), ("inf", None),
                                         ("nan", None), ("many", None), (None, None)])
def test_a_count_is_a_finite_number_not_below_zero(text, value):
    assert number(text) == value


def as_mappings(raw: dict[str, str]) -> list:
    """The same headers as a plain dict, as aiohttp hands them over, and as httpx (the SDK) does."""
    return [dict(raw), multidict.CIMultiDictProxy(multidict.CIMultiDict(raw)), httpx2.Headers(raw)]


@pytest.mark.parametrize("headers", as_mappings({"X-RateLimit-Remaining-Tokens": "12", "Retry-After-Ms": "250"}))
def test_names_are_read_whatever_their_capitals_in_every_mapping(headers):
    assert read_limit_headers(headers)["tokens"].remaining == 12
    assert header(headers, "retry-after-ms") == "250"
    assert retry_after(headers, NOW) == 0.25


def test_retry_after_in_seconds_as_a_date_and_in_the_past():
    assert retry_after({"retry-after": "3"}, NOW) == 3.0
    assert retry_after({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, NOW) == pytest.approx(30)
    assert retry_after({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, NOW) == 0.0
    assert retry_after({"retry-after": "-5"}, NOW) == 0.0
    assert retry_after({"retry-after": "nan"}, NOW) is None
    assert retry_after({}, NOW) is None


@pytest.mark.parametrize("remaining", ["-40", "inf", "lots", "nan"])
def test_a_429_wait_and_the_limiter_read_a_bad_remaining_alike(remaining):
    # Both ignore it: the 429 waits for the bucket's reset, the limiter learns only the limit.
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": remaining,
               "x-ratelimit-reset-requests": "7s"}
    assert server_delay(headers, now=NOW, rate_limit_kind="requests") == 7.0
    assert read_limit_headers(headers)["requests"].remaining is None
    limiter = RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=lambda: 0.0)
    limiter.observe(headers)
    assert limiter.snapshot().remaining_requests is None


def test_a_429_wait_and_the_limiter_read_the_same_bucket():
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "59s"}
    report = read_limit_headers(headers)["requests"]
    assert (report.limit, report.remaining, report.reset_s) == (600, 0, 59)
    # room for one request comes after 1 / (600 per minute) = 0.1 s, not when the bucket is full
    assert server_delay(headers, now=NOW, rate_limit_kind="requests") == pytest.approx(0.1)
