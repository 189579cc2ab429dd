"""The simulator's ASGI app: routes, and the path every model request takes.

A request to a model endpoint goes through, in order:

1. the API key (`require_key`): 401;
2. the quota (`quota_after`): 429 `insufficient_quota`;
3. the fault, scripted with :meth:`SimulatorApp.inject` or drawn from the
   seed: most faults answer here, before admission, and cost no capacity;
4. the body's validity: 400; then the model's existence: 404 (Responses:
   400) `model_not_found`, except under Azure's paths, where the model is
   the user's own deployment name;
5. the rate limits: 429 `requests`/`tokens`; admission deducts both buckets;
6. the answer, after the configured latency.

A 5xx fault is the exception in step 3: it is decided there but answered
after step 4, and charged to the buckets as OpenAI counts failed requests
(never refused, so a scripted 5xx stays a 5xx). `slow` and `malformed`
change an admitted answer, so a full bucket turns them into a 429 first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

from .. import tokens
from ..project.schema import SimulatorSettings
from ..tiers import TIER_ENDPOINTS
from . import error_bodies
from .auth import api_key_of, check_key, mask_key
from .batch_routes import BatchApi
from .faults import SERVER_ERRORS, ConnectionDropped, FaultPlan
from .http import (
    BadJson,
    Headers,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    dump_json,
    json_response,
    read_body,
    request_from_scope,
    run_lifespan,
    send_response,
)
from .ratelimit import ORGANIZATION, BucketKind, Refusal, ServerLimits
from .responses import BUILDERS, Admitted, model_list, model_object
from .router import Router
from .stats import SimulatorStats
from .textgen import DEFAULT_OUTPUT_TOKENS
from .tiers import flex_refusal, served
from .validation import ModelCatalog, validate

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]

API_PREFIXES = ("/v1", "/openai", "/openai/v1", "/openai/deployments/{deployment}")
"""OpenAI's prefix, and Azure's (classic deployments, and its newer `/openai/v1`)."""
OPENAI_PREFIX = "/v1"
"""The one prefix whose models are OpenAI's; under Azure's, a model is a deployment name the user chose."""
MODEL_LIST_PREFIXES = ("/v1", "/openai", "/openai/v1")
STATS_PATHS = ("/sim/stats", "/v1/sim/stats")
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
_STATIC_HEADERS: Headers = [(b"openai-organization", ORGANIZATION.encode()), (b"openai-version", b"2020-10-01")]
_LIMIT_SETTINGS = ("rpm", "tpm", "bucket_s")
SCRIPTED_429: dict[str, BucketKind] = {"429-requests": "requests", "429-tokens": "tokens"}


class SimulatorApp:
    """An OpenAI-compatible API, offline, deterministic and fast. Callable as an ASGI app."""

    def __init__(self, settings: SimulatorSettings, *, clock: Clock, sleep: Sleep, wall_clock: Clock) -> None:
        self._settings = settings
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._request_ids = count(1)
        self.stats = SimulatorStats()
        self.faults = FaultPlan()
        self.limiter = ServerLimits(settings.rpm, settings.tpm, settings.bucket_s, clock)
        self.models = ModelCatalog(settings.models)
        self.router = Router()
        """The route table; other features (the Batch API) add their routes here."""
        self.batch_api = BatchApi(lambda: self._settings, clock, wall_clock)
        """The Files and Batches API (its batches live on the clock, sped up by `time_scale`)."""
        self._add_routes()
        self.batch_api.add_routes(self.router)

    @property
    def settings(self) -> SimulatorSettings:
        """The settings in force (frozen; change them with :meth:`update`)."""
        return self._settings

    def update(self, **changes: Any) -> SimulatorSettings:
        """Change settings live (validated; a misspelt name is an error). Buckets keep what they hold."""
        unknown = set(changes) - set(SimulatorSettings.model_fields)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(sorted(unknown))}")
        self._settings = SimulatorSettings.model_validate({**self._settings.model_dump(), **changes})
        self.models = ModelCatalog(self._settings.models)
        if set(changes) & set(_LIMIT_SETTINGS):
            self.limiter.resize(self._settings.rpm, self._settings.tpm, self._settings.bucket_s)
        return self._settings

    def inject(self, *faults: str) -> None:
        """Script the outcome of the next model requests, one each: `"500"`, `"drop"`, `"ok"`, … (see FAULT_KINDS)."""
        self.faults.inject(faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await run_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = request_from_scope(scope, await read_body(receive))
        await send_response(send, await self.handle(request))

    async def handle(self, request: Request) -> Response:
        """The response to one request; raises :class:`ConnectionDropped` for a dropped connection."""
        request_id = f"req_sim{next(self._request_ids):024d}"
        found = self.router.match(request.method, request.path)
        if found is None:
            response = error_bodies.invalid_url(request.method, request.path)
        else:
            handler, request.params = found
            response = await handler(request)
        response.headers.extend(_STATIC_HEADERS)
        response.headers.append((b"x-request-id", request_id.encode()))
        return response

    def _add_routes(self) -> None:
        for prefix in API_PREFIXES:
            for endpoint in BUILDERS:
                handler = self._model_endpoint(endpoint, check_model=prefix == OPENAI_PREFIX)
                self.router.add("POST", prefix + endpoint.removeprefix("/v1"), handler)
        for prefix in MODEL_LIST_PREFIXES:
            self.router.add("GET", f"{prefix}/models", self._list_models)
            self.router.add("GET", f"{prefix}/models/{{model_id}}", self._get_model)
        # Also under /v1, so that a client whose base URL ends in /v1 finds it too.
        for path in STATS_PATHS:
            self.router.add("GET", path, self._get_stats)

    def _model_endpoint(self, endpoint: str, check_model: bool) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            response = await self._answer(endpoint, request, check_model)
            self.stats.statuses[response.status] += 1
            return response

        return handler

    async def _list_models(self, request: Request) -> Response:
        return check_key(request, self._settings.require_key) or json_response(200, model_list(self._settings.models))

    async def _get_model(self, request: Request) -> Response:
        model_id = request.params["model_id"]
        refused = check_key(request, self._settings.require_key) or self.models.refusal("/v1/models", model_id)
        return refused or json_response(200, model_object(model_id))

    async def _get_stats(self, request: Request) -> Response:
        return json_response(200, self.stats.as_dict())

    async def _answer(self, endpoint: str, request: Request, check_model: bool) -> Response:
        settings, stats = self._settings, self.stats
        stats.received += 1
        ordinal = stats.received
        refused = check_key(request, settings.require_key) or _over_quota(settings, ordinal)
        if refused:
            return self._with_limits(refused)
        fault = self.faults.next(settings, ordinal)
        if fault:
            stats.faults[fault] += 1
            early = await self._early_fault(fault, request)
            if early:
                return self._with_limits(early, error_bodies.TIMEOUT_FAULT_S * 1000 if fault == "timeout" else 0)
        parsed = _parse(endpoint, request, self.models if check_model else None)
        if isinstance(parsed, Response):
            return self._with_limits(parsed)
        if fault in SERVER_ERRORS:
            self.limiter.charge(parsed.reserved)
            await self._delay(settings.latency_ms)
            return self._with_limits(error_bodies.server_error(int(fault)), settings.latency_ms)
        unavailable = flex_refusal(settings, parsed.body, ordinal, scripted=fault == "unavailable")
        if unavailable:
            stats.flex_unavailable += 1
            return self._with_limits(unavailable)
        if fault in SCRIPTED_429:
            refusal: Refusal | None = self.limiter.forced_refusal(SCRIPTED_429[fault], parsed.reserved)
        else:
            refusal = self.limiter.admit(parsed.reserved)
        if refusal:
            stats.rate_limited["too_large" if refusal.too_large else refusal.kind] += 1
            return self._with_limits(error_bodies.rate_limited(refusal, parsed.model))
        return await self._admitted(endpoint, parsed, ordinal, fault)

    async def _admitted(self, endpoint: str, parsed: _Parsed, ordinal: int, fault: str | None) -> Response:
        settings, stats = self._settings, self.stats
        stats.admitted += 1
        stats.tokens_admitted += parsed.reserved
        limit_headers = self.limiter.headers()  # as of admission, as OpenAI reports them
        tier = served(settings, parsed.body, ordinal)
        if endpoint in TIER_ENDPOINTS:
            stats.served_tiers[tier.service_tier] += 1
        admitted = Admitted(endpoint, parsed.body, parsed.model, parsed.prompt, settings.seed, ordinal,
                            int(self._wall_clock()), tier.service_tier)
        answer = BUILDERS[endpoint](admitted)
        delay_ms = tier.latency_ms + settings.latency_per_token_ms * answer.output_tokens
        if fault == "slow":
            delay_ms += settings.slow_ms
        await self._delay(delay_ms)
        headers = [*limit_headers, (b"openai-processing-ms", str(round(delay_ms)).encode())]
        raw = dump_json(answer.body)
        if fault == "malformed":
            return Response(200, raw[: len(raw) // 2], headers)
        stats.answered += 1
        stats.output_tokens += answer.output_tokens
        return Response(200, raw, headers)

    async def _early_fault(self, fault: str, request: Request) -> Response | None:
        """The answer of a fault that strikes before the body is read, or None for the others."""
        if fault == "drop":
            raise ConnectionDropped("the simulator dropped the connection (fault `drop`)")
        if fault == "timeout":
            await self._sleep(error_bodies.TIMEOUT_FAULT_S)
            return error_bodies.server_error(504)
        if fault == "401":
            key = api_key_of(request)
            return error_bodies.invalid_key(mask_key(key)) if key else error_bodies.missing_key()
        if fault == "quota":
            return error_bodies.insufficient_quota()
        if fault == "400":
            return error_bodies.scripted_bad_request()
        return None

    async def _delay(self, milliseconds: float) -> None:
        if milliseconds > 0:  # the zero-latency path must not even yield to the loop
            await self._sleep(milliseconds / 1000)

    def _with_limits(self, response: Response, processing_ms: float = 0) -> Response:
        response.headers[:0] = [*self.limiter.headers(), (b"openai-processing-ms", str(round(processing_ms)).encode())]
        return response


@dataclass(frozen=True)
class _Parsed:
    body: dict[str, Any]
    model: str
    prompt: int
    reserved: int
    """Prompt + the most output tokens it may produce: what admission deducts."""


def _parse(endpoint: str, request: Request, models: ModelCatalog | None) -> _Parsed | Response:
    """The valid body and its token figures, or the 400 (or 404) to answer."""
    try:
        body = _with_deployment_model(request.json(), request.params.get("deployment"))
    except BadJson as exc:
        return error_bodies.bad_json(str(exc))
    invalid = validate(endpoint, body)
    if invalid:
        return invalid
    model = str(body.get("model") or DEFAULT_MODERATION_MODEL)
    unknown_model = models.refusal(endpoint, model) if models else None
    if unknown_model:
        return unknown_model
    prompt = tokens.prompt_tokens(endpoint, body, model)
    output = tokens.max_output_tokens(endpoint, body, DEFAULT_OUTPUT_TOKENS * int(body.get("n") or 1))
    return _Parsed(body, model, prompt, prompt + output)


def _over_quota(settings: SimulatorSettings, ordinal: int) -> Response | None:
    if settings.quota_after is not None and ordinal > settings.quota_after:
        return error_bodies.insufficient_quota()
    return None


def _with_deployment_model(body: dict[str, Any], deployment: str | None) -> dict[str, Any]:
    """Azure names the model by its deployment in the path; the body need not repeat it."""
    if deployment and not body.get("model"):
        return {**body, "model": deployment}
    return body


def create_app(
    settings: SimulatorSettings | None = None,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    wall_clock: Clock = time.time,
) -> SimulatorApp:
    """A simulator with these settings; inject `clock` and `sleep` to test without waiting."""
    return SimulatorApp(settings or SimulatorSettings(), clock=clock, sleep=sleep, wall_clock=wall_clock)
