"""The project file's schema: every key, its type, its default and what it means.

The models are strict (`extra="forbid"`): a misspelt key is an error, not a
silently ignored setting. `docs/project-file.md` documents the same keys.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oaib_tui.tiers import answer_timeout_s, requested_tier

ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
)
Endpoint = Literal[
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
]
Mode = Literal["auto", "realtime", "batch", "hybrid"]
ProviderKind = Literal["openai", "azure", "compatible", "simulator"]

_SIZE_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]I?B|B)?\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """`200MB`, `1.5 GB`, `512KiB` or a plain number of bytes, as bytes."""
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(f"expected a size such as 200MB or 1048576, got {value!r}")
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[(unit or "").upper()])


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+$", re.IGNORECASE)
_SECONDS_PER = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: int | float | str) -> float:
    """`6h`, `90m`, `1h30m`, `7d` or a plain number of seconds, as seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", text):
        return float(text)
    if not _DURATION.match(text):
        raise ValueError(f"expected a duration such as 6h, 90m, 1h30m or 7d, got {value!r}")
    return float(sum(float(n) * _SECONDS_PER[unit.lower()] for n, unit in _DURATION_PART.findall(text)))


def deadline_at(value: str, now: float) -> float:
    """A `deadline:` as a wall-clock time: a duration counts from `now`, an ISO time (UTC unless it says) is taken as is."""
    try:
        return now + parse_duration(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"expected a duration such as 6h or 90m, or an ISO time such as 2026-12-04T08:00Z, "
                         f"got {value!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
MAX_BATCH_BYTES = 200_000_000
"""The Batch API's limit on one input file."""


class _Strict(BaseModel):
    # No NaN or infinity anywhere: `poll_s: .inf` would never poll, `timeout_s: .nan` never time out.
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, allow_inf_nan=False)


class SimulatorSettings(_Strict):
    """How the built-in simulator behaves (provider kind `simulator` only)."""

    rpm: int = Field(600, gt=0)
    """Requests per minute the simulated account allows."""
    tpm: int = Field(100_000, gt=0)
    """Tokens per minute the simulated account allows (prompt + max output, as OpenAI counts)."""
    bucket_s: float = Field(60.0, gt=0)
    """Seconds of refill each rate-limit bucket holds; smaller punishes bursts harder."""
    latency_ms: float = Field(300.0, ge=0)
    """Base latency of every answer, in milliseconds."""
    latency_per_token_ms: float = Field(0.0, ge=0)
    """Extra latency per output token, in milliseconds."""
    fail_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests answered with a 5xx error."""
    drop_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests whose connection is dropped before the answer."""
    slow_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests answered `slow_ms` late."""
    slow_ms: float = Field(5_000.0, ge=0)
    """Extra delay of a slow answer, in milliseconds."""
    malformed_rate: float = Field(0.0, ge=0, le=1)
    """Share of requests answered 200 with a body that is not valid JSON."""
    flex_latency_ms: float = Field(3_000.0, ge=0)
    """Base latency of an answer to `service_tier: flex`, in milliseconds (flex is slower than standard)."""
    flex_unavailable_rate: float = Field(0.0, ge=0, le=1)
    """Share of `service_tier: flex` requests refused with 429 `resource_unavailable` (no capacity: not billed, not a rate limit)."""
    priority_latency_ms: float = Field(150.0, ge=0)
    """Base latency of an answer to `service_tier: priority`, in milliseconds."""
    priority_downgrade_rate: float = Field(0.0, ge=0, le=1)
    """Share of `service_tier: priority` requests served (and charged) at the default tier instead; the answer says so."""
    quota_after: int | None = Field(None, ge=0)
    """After this many requests, every request gets 429 `insufficient_quota`."""
    require_key: str | None = None
    """If set, requests without this API key get 401."""
    seed: int = 0
    """Seed for the generated answers and the faults, so runs are reproducible."""
    models: tuple[str, ...] = ()
    """Models the simulator serves besides those in the price table (a fine-tune, a new model); any other model gets 404 `model_not_found`, as from OpenAI."""
    time_scale: float = Field(1.0, gt=0)
    """How much faster than real time the Batch API's lifecycle runs."""
    batch_validation_s: float = Field(30.0, ge=0)
    """Batch API: simulated seconds a new batch spends `validating`."""
    batch_queue_s: float = Field(0.0, ge=0)
    """Batch API: simulated seconds a batch `in_progress` waits in the provider's queue before its first request runs (makes a hybrid rehearsal meaningful)."""
    batch_lines_per_s: float = Field(50.0, gt=0)
    """Batch API: simulated requests per second a batch `in_progress` works through."""
    batch_finalizing_s: float = Field(30.0, ge=0)
    """Batch API: simulated seconds a batch spends `finalizing` (or `cancelling`)."""
    batch_expire_after_s: float = Field(86_400.0, gt=0)
    """Batch API: simulated seconds after creation when an unfinished batch expires (the 24h window)."""
    batch_line_fail_rate: float = Field(0.0, ge=0, le=1)
    """Batch API: share of requests answered with a 500 in the batch's error file."""
    batch_invalid_line_rate: float = Field(0.0, ge=0, le=1)
    """Batch API: share of input lines the validator rejects; one such line fails its whole batch."""
    batch_enqueued_tokens: int | None = Field(None, gt=0)
    """Batch API: prompt tokens a model may have in live batches; a batch over it fails with `token_limit_exceeded`."""


class Provider(_Strict):
    """Where requests go and how they are authenticated."""

    kind: ProviderKind = "openai"
    """`openai`, `azure`, `compatible` (any OpenAI-compatible server) or `simulator` (built in, offline)."""
    base_url: str | None = None
    """The API's base address; default: OpenAI's, or `OPENAI_BASE_URL`. For `simulator`, a running `oaib-tui sim` (default: in-process)."""
    api_key_env: str = "OPENAI_API_KEY"
    """The NAME of the environment variable that holds the API key. The key itself never goes in the file."""
    organization: str | None = None
    """OpenAI organization id, if the key belongs to several."""
    project: str | None = None
    """OpenAI project id, if needed."""
    api_version: str | None = None
    """Azure only: the API version, e.g. `2024-10-21`."""
    deployment: str | None = None
    """Azure only: the deployment name (default: the model). Batch mode: the Global Batch deployment each line names as its `model`, Azure's line form (`url: /chat/completions`)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers sent with every request (printable ASCII: HTTP cannot carry more)."""
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    """Simulator behaviour (kind `simulator` only)."""

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_variable_name(cls, value: str) -> str:
        if value.startswith(("sk-", "sk_")) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError("expected the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself")
        return value

    @field_validator("headers")
    @classmethod
    def _sendable_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"`{name[:40]}` is not a header name HTTP can send (letters, digits, `-`, no spaces)")
            if not _HEADER_VALUE.fullmatch(value):
                raise ValueError(f"the value of `{name}` has a character HTTP headers cannot carry "
                                 "(a line break, a control character or non-ASCII text)")
        return headers

    @model_validator(mode="after")
    def _azure_needs_a_version(self) -> Provider:
        if self.kind == "azure" and not self.api_version:
            raise ValueError("provider kind `azure` needs `api_version` (e.g. 2024-10-21)")
        if self.kind == "azure" and not self.base_url:
            raise ValueError("provider kind `azure` needs `base_url` (https://<resource>.openai.azure.com)")
        return self


class Limits(_Strict):
    """How fast, how much and how many times."""

    rpm: int | None = Field(None, gt=0)
    """Requests per minute. `realtime`: the limit (a server stating a lower one is obeyed). `auto`: a cap on what is learned."""
    tpm: int | None = Field(None, gt=0)
    """Tokens per minute (prompt + max output). `realtime`: the limit (a server stating a lower one is obeyed). `auto`: a cap on what is learned."""
    concurrency: int = Field(50, gt=0)
    """Requests in flight at once, at most."""
    safety: float = Field(0.1, ge=0, lt=1)
    """Headroom under each limit. With `x-ratelimit-*` headers: this share of the server's bucket (at most 10 s of refill) is left unspent, for other programs on the key. Otherwise (no headers, or a `realtime` limit below the server's): the limit is paced this share slower."""
    max_retries: int = Field(6, ge=0)
    """Retries per request after the first attempt (batch mode: resubmissions)."""
    timeout_s: float | None = Field(None, gt=0, le=86_400)
    """Seconds to wait for one answer before it counts as a timeout; default: 120, or 900 for `service_tier: flex` (OpenAI's advice)."""
    max_cost_usd: float | None = Field(None, gt=0)
    """Spend cap in US dollars: no request is sent that could take the spend over it."""
    default_max_output_tokens: int = Field(1024, gt=0)
    """Output tokens assumed for budgeting when the request sets no maximum."""


class Source(_Strict):
    """One place records come from: a file, or inline items."""

    path: str | None = None
    """A `.jsonl`, `.csv`, `.txt` (one prompt a line) or a ready OpenAI batch-input `.jsonl` file; relative to the project file."""
    items: list[dict[str, Any]] | None = None
    """Inline records, instead of a file."""
    format: Literal["jsonl", "csv", "txt", "batch"] | None = None
    """The file's format; default: from its extension (`batch` is detected from the lines' shape)."""
    id: str | None = None
    """The custom_id template, e.g. `"{sku}"`; default: `<source name>-<line number>`."""
    name: str | None = None
    """The source's name in ids and messages; default: the file's stem, or `items`."""
    text_field: str = "text"
    """`.txt` sources: the field name each line is given."""

    @model_validator(mode="after")
    def _exactly_one_origin(self) -> Source:
        if (self.path is None) == (self.items is None):
            raise ValueError("a source needs exactly one of `path` or `items`")
        return self


class Batch(_Strict):
    """Batch API settings (`mode: batch`)."""

    completion_window: Literal["24h"] = "24h"
    """The window OpenAI has to finish each batch."""
    max_requests: int = Field(50_000, gt=0, le=50_000)
    """Requests per batch file, at most."""
    max_bytes: int = Field(MAX_BATCH_BYTES, gt=0, le=MAX_BATCH_BYTES)
    """Bytes per batch file, at most (`200MB`, `100 MiB`, …)."""
    poll_s: float = Field(30.0, gt=0, le=3_600)
    """Seconds between status checks of live batches."""
    clean_up: bool = True
    """Delete uploaded input files and output files from the provider once their content is saved."""
    on_expired: Literal["resubmit", "realtime"] = "resubmit"
    """What happens to items a batch did not finish: a new batch, or the realtime engine."""
    max_enqueued_tokens: int | None = Field(None, gt=0)
    """Tokens allowed in queued batches at once; default: learned from `token_limit_exceeded`."""
    output_expires_after: int = Field(7 * 86_400, ge=3_600, le=30 * 86_400)
    """How long the provider keeps each batch's output and error files (`7d`, `48h`, seconds; 1 hour to 30 days), sent as `output_expires_after` anchored at the file's creation. Files are downloaded as soon as a batch ends."""

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else value

    @field_validator("output_expires_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return round(parse_duration(value)) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


class Hybrid(_Strict):
    """How `mode: hybrid` moves items between lanes to finish by the `deadline`."""

    flex: bool = True
    """Use the flex lane (`service_tier: flex`, batch prices, slower answers) before standard realtime."""
    flex_latency_s: float = Field(60.0, ge=0, le=900)
    """Seconds a flex answer is expected to take (flex queues requests when capacity is short)."""
    margin: float = Field(0.2, ge=0, lt=1)
    """Share of the time a lane needs kept in hand: a lane is chosen only if it needs at most (1 - margin) of the time left."""
    cancel_wait_s: float = Field(600.0, ge=0)
    """Seconds a cancelled batch may take to end (and return what it finished) before its items are sent realtime anyway."""
    check_s: float = Field(60.0, gt=0, le=3_600)
    """Seconds between forecasts while batches run."""
    batch_min_s: float = Field(1_800.0, ge=0)
    """Seconds a batch takes at the least (validation, queue, finalizing): with less time left than this plus what realtime needs, the run starts in realtime."""


class Output(_Strict):
    """Where results go."""

    results: str = "out/{name}.results.jsonl"
    """One JSON line per succeeded item, in source order; `{name}` is the project's name."""
    errors: str = "out/{name}.errors.jsonl"
    """One JSON line per failed item, in source order."""
    keep: list[str] = Field(default_factory=list)
    """Source fields copied into each result line."""


class TierPrice(_Strict):
    """US dollars per 1,000,000 tokens at one `service_tier`."""

    input: float = Field(ge=0)
    """Prompt tokens."""
    output: float = Field(0.0, ge=0)
    """Output tokens."""
    cached_input: float | None = Field(None, ge=0)
    """Cached prompt tokens; default: the input price."""
    cache_write: float | None = Field(None, ge=0)
    """Prompt tokens written to the prompt cache, where that is charged apart; default: none (as input)."""


class Price(TierPrice):
    """US dollars per 1,000,000 tokens; replaces the built-in table's prices for the model."""

    batch_discount: float = Field(0.5, ge=0, le=1)
    """Share of the price taken off with the Batch API."""
    flex: TierPrice | None = None
    """Prices with `service_tier: flex`; default: the built-in table's for this model, else flex is not priced."""
    priority: TierPrice | None = None
    """Prices with `service_tier: priority`; default: the built-in table's for this model, else not priced."""


class Project(_Strict):
    """A job: where prompts come from, how they become requests, and how they are sent."""

    name: str | None = None
    """The job's name; default: the project file's stem."""
    provider: Provider = Field(default_factory=Provider)
    """Where requests go."""
    model: str
    """The model, e.g. `gpt-4o-mini`. Put in every request body unless the template sets it."""
    endpoint: Endpoint = "/v1/chat/completions"
    """The API endpoint every request goes to."""
    mode: Mode = "auto"
    """`auto` (limits learned from response headers), `realtime` (fixed limits) or `batch` (Batch API)."""
    limits: Limits = Field(default_factory=Limits)
    """Rate limits, concurrency, retries, timeout and the spend cap."""
    sources: list[Source] = Field(min_length=1)
    """Where the records come from, read in order as streams."""
    request: dict[str, Any] = Field(default_factory=dict)
    """The request body template; any string may use `{field}` of the record. `{{`/`}}` are literal braces."""
    batch: Batch = Field(default_factory=Batch)
    """Batch API settings."""
    deadline: str | None = None
    """`mode: hybrid`: when the job must be finished, a duration from the run's start (`6h`, `90m`) or an ISO time (`2026-12-04T08:00Z`)."""
    hybrid: Hybrid = Field(default_factory=Hybrid)
    """`mode: hybrid` settings."""
    output: Output = Field(default_factory=Output)
    """Where results and errors are written."""
    state: str = "out/{name}.state.db"
    """The state file (SQLite) that makes runs resumable."""
    pricing: dict[str, Price] = Field(default_factory=dict)
    """Prices for models the built-in table lacks (or to override it), per 1M tokens."""

    @property
    def timeout_s(self) -> float:
        """Seconds to wait for one answer: `limits.timeout_s` when set, else the default for the template's tier.

        A tier filled in per record (`"{tier}"`) is known per request: the engine asks `answer_timeout_s` then.
        """
        return answer_timeout_s(self.limits.timeout_s, requested_tier(self.request))

    @model_validator(mode="after")
    def _realtime_needs_limits(self) -> Project:
        if self.mode == "realtime" and (self.limits.rpm is None or self.limits.tpm is None):
            raise ValueError("`mode: realtime` needs fixed `limits.rpm` and `limits.tpm` (or use `mode: auto`)")
        return self

    @model_validator(mode="after")
    def _hybrid_needs_a_deadline(self) -> Project:
        if self.mode == "hybrid" and self.deadline is None:
            raise ValueError("`mode: hybrid` needs a `deadline:` (a duration such as 6h, or an ISO time)")
        if self.deadline is not None and self.mode != "hybrid":
            raise ValueError("`deadline:` is for `mode: hybrid` only")
        return self

    @field_validator("deadline")
    @classmethod
    def _deadline_ahead(cls, value: str | None) -> str | None:
        if value is not None:
            now = datetime.now(UTC).timestamp()
            if deadline_at(value, now) <= now:
                raise ValueError(f"the deadline {value} is already past")
        return value


class LoadedProject(BaseModel):
    """A validated project with the facts of where it was loaded from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: Project
    path: Path
    """The project file."""
    name: str
    """`spec.name`, or the file's stem."""
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Where each dotted key (`limits.rpm`, `sources[0].items[3]`) sits in the project file: 1-based (line, column)."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the project file, relative to the file's folder; `{name}` filled in."""
        return resolve_path(relative, self.name, self.base_dir)

    @property
    def state_path(self) -> Path:
        return self.resolve(self.spec.state)

    @property
    def results_path(self) -> Path:
        return self.resolve(self.spec.output.results)

    @property
    def errors_path(self) -> Path:
        return self.resolve(self.spec.output.errors)


def resolve_path(relative: str, name: str, base_dir: Path) -> Path:
    """A path as the project file's keys take it: `{name}` filled in, `~` expanded, relative to `base_dir`."""
    path = Path(relative.replace("{name}", name)).expanduser()
    return path if path.is_absolute() else base_dir / path
