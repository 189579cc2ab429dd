"""What to do after a failed attempt: retry, fail the request, or stop the run.

Pure functions of (attempt, status, error body, headers, clock): no I/O, no
sleeping. The rules follow the openai SDK's `_base_client.py` and improve on it
where a long job needs it:

- Retried: 408, 409, 429 `rate_limit_exceeded`, 5xx, timeouts, failed and
  dropped connections, and 200 answers whose body is not JSON. `x-should-retry`
  overrides the status, as in the SDK.
- Failed (no point retrying): 400, 404, 422 and any request too large.
- Stopped (no request can succeed): 401, 403 and `insufficient_quota`.
- Flex capacity gone (429 `resource_unavailable`): not billed and not a rate
  limit. The one request waits and tries again on its own back-off
  (:func:`unavailable_delay`: 1 s doubling to 60 s, half of it jittered);
  nothing else pauses and the limiter learns nothing from it. These refusals
  have their own budget, :data:`MAX_UNAVAILABLE_RETRIES` per request, and do
  not use up `max_retries`: a storm of them is expected under flex and costs
  nothing but time, while `max_retries` is for failures that may be billed.

Where the SDK refuses to retry when `retry-after` exceeds two minutes, we cap the
wait at :data:`MAX_SERVER_DELAY_S` and retry: a job of a million requests should
wait, not give up.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..events import RetryCode
from .headers import KINDS, BucketReport, Kind, header, parse_duration, read_limit_headers, retry_after

__all__ = [
    "MAX_SERVER_DELAY_S",
    "MAX_UNAVAILABLE_RETRIES",
    "Outcome",
    "RetryPolicy",
    "backoff_delay",
    "classify",
    "server_delay",
    "unavailable_delay",
]

Action = Literal["retry", "fail", "stop"]
RateLimitKind = Literal["requests", "tokens", "unknown"]
Failure = Literal["timeout", "connect", "connection", "malformed"]

MAX_SERVER_DELAY_S = 120.0
"""Longest wait we accept from the server (the SDK's cap for `retry-after`); longer asks are cut to this."""
SERVER_DELAY_SPREAD = 0.1
"""Share of a server-asked delay added at random, so requests told the same wait do not return together."""
SERVER_DELAY_MIN_SPREAD_S = 0.05
"""The spread added to a tiny server-asked delay, at least."""
BACKOFF_JITTER = 0.25
"""Exponential delays are cut by up to this share at random, as the SDK does."""
UNAVAILABLE = "resource_unavailable"
"""The error code of a flex request refused because capacity ran out (429, not billed, not a rate limit)."""
UNAVAILABLE_REASON = "429 resource unavailable"
MAX_UNAVAILABLE_RETRIES = 30
"""Retries per request after `resource_unavailable` refusals, apart from `max_retries` (~25 minutes of back-off)."""
UNAVAILABLE_BASE_S = 1.0
UNAVAILABLE_CAP_S = 60.0

_TRY_AGAIN = re.compile(r"try again in\s+(\S+?)\.?(?:\s|$)", re.IGNORECASE)
_RETRY_AFTER_SECONDS = re.compile(r"retry after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)  # Azure's wording
_REQUESTED = re.compile(r"Requested (\d+)")
_KIND_IN_MESSAGE = re.compile(r"on (requests|tokens) per", re.IGNORECASE)
_TOO_LARGE_CODES = {"context_length_exceeded", "request_too_large", "string_above_max_length"}
_QUOTA = "insufficient_quota"

_DESCRIPTIONS: dict[str, str] = {
    "timeout": "no answer before the timeout",
    "cannot connect": "could not connect to the API",
    "connection dropped": "the connection dropped before an answer came",
    "malformed response": "the answer's body is not the JSON object it should be",
}


def server_delay(
    headers: Mapping[str, str],
    body_message: str | None = None,
    *,
    now: float | None = None,
    rate_limit_kind: RateLimitKind | None = None,
) -> float | None:
    """The wait the server asked for, in seconds (at most :data:`MAX_SERVER_DELAY_S`), or None.

    In order: `retry-after-ms`; `retry-after` (seconds, or an HTTP date read
    against `now`, a `time.time()` value); for a 429 rate limit
    (`rate_limit_kind` set), the bucket's `x-ratelimit-reset-*` (the larger of
    both when the kind is unknown); last, "Please try again in 1.5s" in the message.

    `x-ratelimit-reset-*` is the time until the bucket is *full* again, which can
    be a whole minute; when the headers also say the limit and what remains, we
    wait only until the bucket has room for the request (never longer than reset).
    """
    delay = retry_after(headers, now)
    if delay is None and rate_limit_kind is not None:
        delay = _reset_delay(headers, rate_limit_kind, body_message or "")
    if delay is None and body_message:
        delay = _delay_in_message(body_message)
    if delay is None or math.isnan(delay):
        return None
    return min(max(delay, 0.0), MAX_SERVER_DELAY_S)


def _delay_in_message(message: str) -> float | None:
    match = _TRY_AGAIN.search(message)
    if match:
        return parse_duration(match.group(1))
    match = _RETRY_AFTER_SECONDS.search(message)
    return float(match.group(1)) if match else None


def _reset_delay(headers: Mapping[str, str], kind: RateLimitKind, message: str) -> float | None:
    reports = read_limit_headers(headers)
    kinds: tuple[Kind, ...] = KINDS if kind == "unknown" else (kind,)
    delays = [d for d in (_bucket_delay(reports.get(k), k, message) for k in kinds) if d is not None]
    return max(delays) if delays else None


def _bucket_delay(report: BucketReport | None, kind: Kind, message: str) -> float | None:
    if report is None or report.reset_s is None:
        return None
    requested = _REQUESTED.search(message)
    wanted = 1.0 if kind == "requests" else (float(requested.group(1)) if requested else None)
    if not report.limit or report.remaining is None or wanted is None:
        return report.reset_s
    return min(report.reset_s, max(0.0, (wanted - report.remaining) / (report.limit / 60.0)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one failed attempt ends, and why, in words the dashboard can show."""

    action: Action
    """`retry` this request, `fail` it (retrying cannot help), or `stop` the run (no request can succeed)."""
    reason: str
    """Short and human: `429 tokens`, `503`, `timeout`, `connection dropped`, `request too large` …"""
    server_delay_s: float | None
    """The wait the server asked for, if any."""
    rate_limit_kind: RateLimitKind | None
    """Set for a 429 rate limit: the runner holds every request, not just this one."""
    message: str
    """The server's message, or a description of what happened."""
    status: int | None = None
    """The HTTP status, None when no answer came."""
    error: dict[str, Any] | None = None
    """The error object of the answer's body, if it had one."""

    @property
    def capacity_refused(self) -> bool:
        """Flex capacity ran out (429 `resource_unavailable`): retry this request alone, later."""
        return self.reason == UNAVAILABLE_REASON

    @property
    def code(self) -> RetryCode:
        """The typed reason a retry is scheduled for."""
        if self.capacity_refused:
            return "resource_unavailable"
        return "rate_limited" if self.rate_limit_kind is not None else "other"


def refusal_reason(outcome_reason: str) -> Literal["auth", "quota"]:
    """Why a refusal that no request can get past stops the run: the key (401, 403), else the account."""
    return "auth" if outcome_reason in ("401", "403") else "quota"


def internal_error(error: BaseException) -> Outcome:
    """An attempt that broke inside the engine: the item fails with the error named, never vanishes."""
    return Outcome("fail", "internal error", None, None, f"{type(error).__name__}: {error}")


def classify(
    *,
    status: int | None,
    error: dict[str, Any] | None,
    headers: Mapping[str, str],
    failure: Failure | None = None,
    now: float,
) -> Outcome:
    """Decide what a failed attempt means. `now` is `time.time()`, for `retry-after` dates."""
    if failure in ("timeout", "connect", "connection") or status is None:
        reason = {"timeout": "timeout", "connect": "cannot connect"}.get(failure or "", "connection dropped")
        return Outcome("retry", reason, None, None, _DESCRIPTIONS[reason], status, error)
    message = str((error or {}).get("message") or "")
    kind = _rate_limit_kind(status, error, message)
    delay = server_delay(headers, message, now=now, rate_limit_kind=kind)
    action, reason = _rule(status, error, message, kind, failure)
    action = _obey_should_retry(header(headers, "x-should-retry"), action)
    return Outcome(action, reason, delay, kind, message or _DESCRIPTIONS.get(reason, f"HTTP {status}"), status, error)


def _rule(
    status: int, error: dict[str, Any] | None, message: str, kind: RateLimitKind | None, failure: Failure | None
) -> tuple[Action, str]:
    code, kind_of_error = (error or {}).get("code"), (error or {}).get("type")
    if status in (401, 403):
        return "stop", str(status)
    if status == 429 and _QUOTA in (code, kind_of_error):
        return "stop", "insufficient quota"
    if _too_large(status, code, message):
        return "fail", "request too large"
    if status == 429 and UNAVAILABLE in (code, kind_of_error):
        return "retry", UNAVAILABLE_REASON
    if kind is not None:
        return "retry", "429" if kind == "unknown" else f"429 {kind}"
    if 200 <= status < 300:
        return "retry", "malformed response"
    if status in (408, 409) or status >= 500:
        return "retry", str(status)
    return "fail", str(status)


def _too_large(status: int, code: Any, message: str) -> bool:
    if status == 413:
        return True
    if status == 400 and code in _TOO_LARGE_CODES:
        return True
    return status == 429 and message.lstrip().lower().startswith("request too large")


def _rate_limit_kind(status: int, error: dict[str, Any] | None, message: str) -> RateLimitKind | None:
    """`requests`/`tokens`/`unknown` for a 429 that waiting can cure; None for anything else."""
    if status != 429:
        return None
    code, kind = (error or {}).get("code"), (error or {}).get("type")
    if _QUOTA in (code, kind) or UNAVAILABLE in (code, kind) or _too_large(status, code, message):
        return None
    if kind in ("requests", "tokens"):
        return kind
    match = _KIND_IN_MESSAGE.search(message)
    return match.group(1).lower() if match else "unknown"  # type: ignore[return-value]


def _obey_should_retry(header: str | None, action: Action) -> Action:
    """`x-should-retry: true/false` overrides the status, as in the SDK; a stop stays a stop."""
    if action == "stop" or header is None:
        return action
    value = header.strip().lower()
    if value == "true":
        return "retry"
    if value == "false":
        return "fail"
    return action


def backoff_delay(
    attempt: int, server_delay: float | None, rng: random.Random, *, base: float = 0.5, cap: float = 60.0
) -> float:
    """Seconds to wait before retrying after failed attempt number `attempt` (1 for the first try).

    Exponential like the SDK: `base·2^(attempt-1)`, capped at `cap`, cut by up to
    25% at random. When the server asked for a delay, never less than that: the
    server's delay plus a random 10% (at least 50 ms) spread, so that the many
    requests refused together with the same header do not all come back at once.
    """
    exponent = min(max(attempt, 1) - 1, 64)
    delay = min(base * 2.0**exponent, cap) * (1 - BACKOFF_JITTER * rng.random())
    if server_delay is None or not math.isfinite(server_delay) or server_delay < 0:
        return delay
    spread = max(SERVER_DELAY_MIN_SPREAD_S, SERVER_DELAY_SPREAD * server_delay)
    return max(delay, server_delay + spread * rng.random())


def unavailable_delay(refusals: int, server_delay: float | None, rng: random.Random) -> float:
    """Seconds to wait after a request's `refusals`-th `resource_unavailable`: 1 s doubling to 60 s.

    Half of each delay is jittered (not a quarter, as for other failures): a refusal
    storm turns many requests away at once, and they should not all return together.
    """
    exponent = min(max(refusals, 1) - 1, 64)
    delay = min(UNAVAILABLE_BASE_S * 2.0**exponent, UNAVAILABLE_CAP_S) * (0.5 + 0.5 * rng.random())
    if server_delay is None or not math.isfinite(server_delay) or server_delay < 0:
        return delay
    return max(delay, server_delay)


class RetryPolicy:
    """At most `max_retries` retries per request after its first attempt, not counting flex capacity refusals.

    Those (429 `resource_unavailable`) have their own budget of `max_unavailable` retries.
    """

    def __init__(self, max_retries: int, max_unavailable: int | None = None) -> None:
        if max_retries < 0 or (max_unavailable or 0) < 0:
            raise ValueError("max_retries must be 0 or more")
        self.max_retries = max_retries
        self.max_unavailable = MAX_UNAVAILABLE_RETRIES if max_unavailable is None else max_unavailable

    def should_retry(self, attempt: int, outcome: Outcome, *, refusals: int = 0) -> bool:
        """True if the outcome is retryable and its budget not spent.

        `attempt` is the attempt that failed (1 for the first); `refusals` how many of
        the request's attempts, this one included, were refused for flex capacity.
        """
        if outcome.action != "retry":
            return False
        if outcome.capacity_refused:
            return refusals <= self.max_unavailable
        return attempt - refusals <= self.max_retries

    def delay(self, attempt: int, outcome: Outcome, rng: random.Random, *, refusals: int = 0) -> float:
        """Seconds before the retry: the capacity back-off for a flex refusal, else the usual one."""
        if outcome.capacity_refused:
            return unavailable_delay(refusals, outcome.server_delay_s, rng)
        return backoff_delay(attempt - refusals, outcome.server_delay_s, rng)
