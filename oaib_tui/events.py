"""The engine's event stream: small frozen records of what happened.

The engine knows nothing of who listens. The state store, the headless
reporter and the dashboard consume the same events. Times (`at`) are
`time.time()` seconds, so they can be stored and shown as wall-clock times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["interrupted", "budget", "quota", "auth", "unreachable", "cancelled", "error", "detached"]
"""Why a run stopped before its end: the one vocabulary of the engines, the state file and the front ends."""
RetryCode = Literal["rate_limited", "resource_unavailable", "other"]
"""Why a retry waits: a rate limit (the whole run pauses), flex capacity gone (this request alone backs off), or any other failure."""
RunState = Literal["running", "paused", "rate-limited", "stopping", "finished", "stopped"]


class JsonText(dict):
    """A JSON object that keeps the text it was read from, so that storing it costs no second encoding."""

    __slots__ = ("text",)

    def __init__(self, value: dict, text: str) -> None:
        super().__init__(value)
        self.text = text


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the API reports them in `usage`."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.cached_tokens + other.cached_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class RunStarted:
    project: str
    model: str
    endpoint: str
    mode: str
    resumed_done: int
    """Items already finished in the state file (not sent again)."""
    resumed_failed: int
    total_known: int | None
    """Items in the sources if counted up front, else None."""
    at: float
    transport: str = "sdk"
    """How attempts are sent: `lean` (aiohttp on the URL and headers the SDK resolved) or `sdk`."""


@dataclass(frozen=True, slots=True)
class RequestQueued:
    """An item that will be sent (not already finished in the state file)."""

    custom_id: str
    seq: int
    source: str
    line: int
    body_hash: str
    input_key: int
    """Fast resume key: a hash of the project's request fingerprint and the raw source line."""
    prompt_tokens: int
    """Counted exactly, or where a count cannot change the run, its upper bound (see engine.feed.PromptCounts):
    the answer's usage replaces it."""
    max_output_tokens: int
    body: dict[str, Any] = field(repr=False)
    keep: dict[str, Any] = field(repr=False)
    at: float
    batch: int | None = None
    """Batch mode: the part (batch-input file) the item was written into; None in realtime."""


@dataclass(frozen=True, slots=True)
class RequestSent:
    custom_id: str
    seq: int
    attempt: int
    """1 for the first try."""
    reserved_tokens: int
    at: float


@dataclass(frozen=True, slots=True)
class RequestSucceeded:
    custom_id: str
    seq: int
    attempt: int
    status_code: int
    latency_s: float
    usage: Usage
    cost_usd: float | None
    """None when the model's price is unknown."""
    response: dict[str, Any] = field(repr=False)
    at: float
    model: str = ""
    """The model the cost was priced at (the answer's, or the requested one if the answer's has no price)."""
    tier: str = "standard"
    """The tier the cost was priced at (a `pricing.Tier`): what the answer's `service_tier` says was charged, or `batch`."""


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    custom_id: str
    seq: int
    attempt: int
    """The attempt that failed."""
    reason: str
    """Short and human: `429 tokens`, `503`, `timeout`, `connection dropped`."""
    status_code: int | None
    delay_s: float
    message: str
    at: float
    code: RetryCode = "other"
    """`resource_unavailable`: flex capacity ran out; this request alone waits, the run goes on."""


@dataclass(frozen=True, slots=True)
class RequestFailed:
    custom_id: str
    seq: int
    attempt: int
    reason: str
    status_code: int | None
    message: str
    error: dict[str, Any] | None = field(repr=False)
    at: float


@dataclass(frozen=True, slots=True)
class LimitsObserved:
    """What the limiter now believes; `source` says where the limits came from."""

    rpm_limit: float | None
    tpm_limit: float | None
    source: Literal["headers", "fixed", "starting"]
    remaining_requests: int | None
    remaining_tokens: int | None
    at: float


@dataclass(frozen=True, slots=True)
class RateLimited:
    """The server refused for rate; sending pauses for everyone until `resume_at`."""

    kind: Literal["requests", "tokens", "unknown"]
    pause_s: float
    resume_at: float
    at: float


HoldupReason = Literal[
    "requests", "tokens", "rate-limited", "starting", "concurrency", "paused",
    "retries", "answers", "sources", "budget", "stopping",
]
"""What the dispatcher waits for before it sends the next request.

`requests`/`tokens`: a rate-limit bucket refills; `rate-limited`: a 429 pause;
`starting`: the first answers, which tell the limits; `concurrency`: the cap on
requests in flight; `paused`: the user; `retries`: a retry's back-off (nothing
else is left to send); `answers`: the last answers (nothing is left to send);
`sources`: reading past lines finished earlier; `budget`/`stopping`: no more go out.
"""


@dataclass(frozen=True, slots=True)
class BucketView:
    """One rate-limit bucket as the limiter models it: a request goes when the bucket holds its cost plus the reserve."""

    kind: Literal["requests", "tokens"]
    level: float
    """What it holds now (may be below zero after a request larger than the bucket)."""
    capacity: float
    refill_per_s: float
    """The pace we let it refill at (the limit, or a share of it for fixed limits)."""
    reserve: float = 0.0
    """What we leave in it for other programs on the same key."""


@dataclass(frozen=True, slots=True)
class PaceObserved:
    """What holds sending back now, and the limiter's buckets; every quarter second while a realtime run sends."""

    holdup: HoldupReason
    wait_s: float
    """Seconds until the holdup lets the next request go, where that can be told (a bucket, a pause, a back-off); else 0."""
    binding: BucketView | None
    """The bucket that holds it back (holdup `requests` or `tokens`)."""
    buckets: tuple[BucketView, ...]
    """Every bucket a request must get through (empty while the limits are unknown)."""
    concurrency: int
    """The most requests in flight at once."""
    at: float


@dataclass(frozen=True, slots=True)
class RunPaused:
    at: float


@dataclass(frozen=True, slots=True)
class RunResumed:
    at: float


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should read once (estimated token counts, a budget nearing its cap …)."""

    message: str
    level: Literal["info", "warning", "error"] = "info"
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class RunStopping:
    """No new requests go out; those in flight are allowed to finish."""

    reason: StopReason
    message: str
    at: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The last event of a run, whether it completed or stopped."""

    state: Literal["finished", "stopped"]
    reason: StopReason | None
    message: str
    done: int
    failed: int
    pending: int
    cost_usd: float
    exit_code: int
    at: float


BatchStatus = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]


@dataclass(frozen=True, slots=True)
class BatchCreated:
    """A batch-input file was uploaded and a remote batch created from it (batch mode)."""

    batch_id: str
    part: int
    input_file_id: str
    requests: int
    expires_at: float | None
    at: float


@dataclass(frozen=True, slots=True)
class BatchStatusChanged:
    batch_id: str
    status: BatchStatus
    at: float


@dataclass(frozen=True, slots=True)
class BatchCountsChanged:
    batch_id: str
    total: int
    completed: int
    failed: int
    at: float


@dataclass(frozen=True, slots=True)
class BatchDownloaded:
    """A finished batch's output and error files were read into the state file."""

    batch_id: str
    succeeded: int
    failed: int
    unfinished: int
    """Items the batch never ran (expired, cancelled): they go to a new batch or to realtime."""
    at: float


@dataclass(frozen=True, slots=True)
class BatchResubmitted:
    items: int
    reason: str
    to: Literal["batch", "realtime"]
    at: float


@dataclass(frozen=True, slots=True)
class LaneChanged:
    """`mode: hybrid`: the items not yet answered now go through this lane (`batch`, `flex` or `standard`)."""

    lane: Literal["batch", "flex", "standard"]
    items: int | None
    """Items moved (None when not known yet: lines still unread)."""
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class DuplicateAnswer:
    """`mode: hybrid`: an item answered by a second lane after the first one had answered it.

    The first answer is kept; this one is discarded, but it was paid for: its cost is counted.
    """

    custom_id: str
    lane: Literal["batch", "flex", "standard"]
    usage: Usage
    cost_usd: float | None
    at: float


Event = (
    RunStarted
    | RequestQueued
    | RequestSent
    | RequestSucceeded
    | RetryScheduled
    | RequestFailed
    | LimitsObserved
    | RateLimited
    | PaceObserved
    | RunPaused
    | RunResumed
    | Notice
    | RunStopping
    | RunFinished
    | BatchCreated
    | BatchStatusChanged
    | BatchCountsChanged
    | BatchDownloaded
    | BatchResubmitted
    | LaneChanged
    | DuplicateAnswer
)
