"""Rate limits as OpenAI enforces them, and the headers that report them.

Two buckets, one of requests and one of tokens. Each refills continuously at
its per-minute limit / 60 per second and holds `bucket_s` seconds of refill
(60 s: a full minute), starting full. A request is admitted only if both
buckets have room for it (1 request; prompt tokens + max output tokens), and
admission deducts both for good: nothing is refunded once the answer turns
out shorter, as OpenAI does not refund either.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .http import Headers

RATE_LIMIT_DOCS = "https://platform.openai.com/account/rate-limits"
ORGANIZATION = "org-sim"

BucketKind = Literal["requests", "tokens"]
_FLOAT_DUST = 1e-9
_UNITS = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)"}


def openai_duration(seconds: float) -> str:
    """A wait as OpenAI writes it: `0s`, `120ms`, `1s`, `1.5s`, `6m0s`, `1h2m3.5s`.

    Rounded up to the millisecond, so a client that waits this long is never early.
    """
    # round() first: float noise such as 180.00000000003 ms must not become 181ms.
    millis = math.ceil(round(seconds * 1000, 6))
    if millis <= 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


class ServerBucket:
    """A continuously refilling allowance of one unit (requests or tokens)."""

    def __init__(self, limit_per_min: int, bucket_s: float, now: float, *, at_least: float = 0.0) -> None:
        self.limit_per_min = limit_per_min
        self.capacity = max(limit_per_min * bucket_s / 60.0, at_least)
        self.level = self.capacity
        self.updated = now

    @property
    def rate(self) -> float:
        """Units refilled per second."""
        return self.limit_per_min / 60.0

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = max(now, self.updated)

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds `amount` (0 if it already does)."""
        shortfall = amount - self.level
        # Refill arithmetic leaves float dust (0.9999999999 of 1): that is room, not a wait.
        return 0.0 if shortfall <= _FLOAT_DUST else shortfall / self.rate

    def seconds_to_full(self) -> float:
        return max(0.0, (self.capacity - self.level) / self.rate)

    def resize(self, limit_per_min: int, bucket_s: float, *, at_least: float = 0.0) -> None:
        self.limit_per_min = limit_per_min
        self.capacity = max(limit_per_min * bucket_s / 60.0, at_least)
        self.level = min(self.level, self.capacity)


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted, with the figures of OpenAI's 429 message."""

    kind: BucketKind
    limit: int
    used: int
    requested: int
    wait_s: float
    """The true wait until this bucket has room for the request."""
    retry_after_s: float | None
    """The wait until both buckets have room; None when waiting cannot help."""
    too_large: bool = False

    def message(self, model: str) -> str:
        where = f"for {model} in organization {ORGANIZATION} on {_UNITS[self.kind]}"
        if self.too_large:
            return (
                f"Request too large {where}: Limit {self.limit}, Requested {self.requested}. "
                f"The input or output tokens must be reduced in order to run successfully. "
                f"Visit {RATE_LIMIT_DOCS} to learn more."
            )
        return (
            f"Rate limit reached {where}: Limit {self.limit}, Used {self.used}, Requested {self.requested}. "
            f"Please try again in {openai_duration(self.wait_s)}. Visit {RATE_LIMIT_DOCS} to learn more."
        )


class ServerLimits:
    """The request and token buckets of one simulated organization (thread-safe)."""

    def __init__(self, rpm: int, tpm: int, bucket_s: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        # A request bucket smaller than one request would refuse everything forever.
        self.requests = ServerBucket(rpm, bucket_s, now, at_least=1.0)
        self.tokens = ServerBucket(tpm, bucket_s, now)

    def resize(self, rpm: int, tpm: int, bucket_s: float) -> None:
        """New limits; what the buckets hold is kept (up to their new size)."""
        with self._lock:
            self._refill()
            self.requests.resize(rpm, bucket_s, at_least=1.0)
            self.tokens.resize(tpm, bucket_s)

    def admit(self, tokens: int) -> Refusal | None:
        """Deduct one request and `tokens` if both buckets have room; else say why not."""
        with self._lock:
            self._refill()
            if tokens > self.tokens.capacity:
                return Refusal("tokens", self.tokens.limit_per_min, 0, tokens, math.inf, None, too_large=True)
            request_wait = self.requests.wait_for(1)
            token_wait = self.tokens.wait_for(tokens)
            if request_wait > 0 or token_wait > 0:
                retry_after = max(request_wait, token_wait)
                if request_wait > 0:
                    return self._refusal("requests", self.requests, 1, request_wait, retry_after)
                return self._refusal("tokens", self.tokens, tokens, token_wait, retry_after)
            self.requests.level -= 1
            self.tokens.level -= tokens
            return None

    def forced_refusal(self, kind: BucketKind, tokens: int) -> Refusal:
        """A refusal of this kind whatever the buckets hold (scripted faults); nothing is deducted.

        Its wait is the true one if the bucket is short, else the time the
        bucket takes to refill what the request asks, as if it had just been spent.
        """
        with self._lock:
            self._refill()
            bucket, requested = (self.requests, 1) if kind == "requests" else (self.tokens, tokens)
            wait = bucket.wait_for(requested) or requested / bucket.rate
            return self._refusal(kind, bucket, requested, wait, wait)

    def charge(self, tokens: int) -> None:
        """Deduct what a failed (5xx) request is counted for, never below empty."""
        with self._lock:
            self._refill()
            self.requests.level = max(0.0, self.requests.level - 1)
            self.tokens.level = max(0.0, self.tokens.level - tokens)

    def headers(self) -> Headers:
        """The six `x-ratelimit-*` headers as of now."""
        with self._lock:
            self._refill()
            requests, tokens = self.requests, self.tokens
            return [
                (b"x-ratelimit-limit-requests", str(requests.limit_per_min).encode()),
                (b"x-ratelimit-limit-tokens", str(tokens.limit_per_min).encode()),
                (b"x-ratelimit-remaining-requests", str(math.floor(requests.level)).encode()),
                (b"x-ratelimit-remaining-tokens", str(math.floor(tokens.level)).encode()),
                (b"x-ratelimit-reset-requests", openai_duration(requests.seconds_to_full()).encode()),
                (b"x-ratelimit-reset-tokens", openai_duration(tokens.seconds_to_full()).encode()),
            ]

    def _refill(self) -> None:
        now = self._clock()
        self.requests.refill(now)
        self.tokens.refill(now)

    @staticmethod
    def _refusal(kind: BucketKind, bucket: ServerBucket, requested: int, wait: float, retry_after: float) -> Refusal:
        used = round(bucket.capacity - bucket.level)
        return Refusal(kind, bucket.limit_per_min, used, requested, wait, retry_after)
