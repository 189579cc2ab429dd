"""The dry-run forecast: what a project would send, what it could cost, how long it must take.

Every record is streamed through the template and counted; nothing is sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from . import tokens
from .batch.writer import LineForm, PartCounter, PartLimits
from .engine.ratelimit import RateLimiter
from .events import BucketView
from .outlook import Workload, sending_time
from .pricing import PRICES_AS_OF, PriceBook, worst_case_cost
from .project.schema import LoadedProject
from .sim.ratelimit import ServerLimits
from .wording import money


@dataclass(frozen=True)
class Forecast:
    requests: int
    prompt_tokens: int
    max_output_tokens: int
    realtime_cost_usd: float | None
    """Prompt tokens plus every allowed output token, at realtime prices; None if unpriced."""
    batch_cost_usd: float | None
    prompt_only_cost_usd: float | None
    """What the prompts alone cost: the least the job can cost."""
    shortest_s: float | None
    """The shortest time the rate limits allow (their burst, then their refill), None if the limits are unknown."""
    limits_from: str
    batches: int
    """Batch files the Batch API mode would create."""
    tokens_exact: bool
    models: tuple[str, ...]


def _known_limits(project: LoadedProject) -> tuple[tuple[BucketView, ...], str]:
    """The buckets the limiter paces with once the first answer is in, and where their limits come from.

    The limiter itself is asked: given the project's limits, and for the simulator
    the headers of its first answer (full buckets), as a run's limiter would see them.
    """
    spec = project.spec
    limits = spec.limits
    limiter = RateLimiter(rpm=limits.rpm, tpm=limits.tpm, safety=limits.safety, learn=spec.mode == "auto",
                          clock=lambda: 0.0)
    if spec.provider.kind == "simulator":
        sim = spec.provider.simulator
        headers = ServerLimits(sim.rpm, sim.tpm, sim.bucket_s, clock=lambda: 0.0).headers()
        limiter.observe({name.decode(): value.decode() for name, value in headers})
        return limiter.buckets(), "the simulator's settings" + (" and the limits in the project file"
                                                                 if limits.rpm or limits.tpm else "")
    if limits.rpm or limits.tpm:
        return limiter.buckets(), "limits in the project file"
    return (), "unknown until the server's headers are seen (set limits.rpm/tpm to forecast)"


def shortest_time_s(project: LoadedProject, requests: int, budget_tokens: int) -> tuple[float | None, str]:
    """The time the limits allow (the live ETA's model, :mod:`.outlook`), and where the limits come from.

    A real API's latency is unknown until it answers, so only the simulator's counts (its base latency).
    """
    buckets, limits_from = _known_limits(project)
    spec = project.spec
    latency = spec.provider.simulator.latency_ms / 1000 if spec.provider.kind == "simulator" else 0.0
    work = Workload(requests, budget_tokens / max(1, requests), latency, spec.limits.concurrency)
    return (sending_time(work, buckets) if buckets else None), limits_from


def forecast(project: LoadedProject, requests: Iterable) -> Forecast:
    """Stream every prepared request and add up what the project would send."""
    spec = project.spec
    prices = PriceBook.for_project(spec.pricing)
    batcher = PartCounter(PartLimits(spec.batch.max_requests, spec.batch.max_bytes, spec.batch.max_enqueued_tokens))
    form = LineForm.of(project)
    count = prompt_total = output_total = 0
    cost = {"realtime": 0.0, "batch": 0.0, "prompt": 0.0}
    unpriced: set[str] = set()
    models: set[str] = set()
    for request in requests:
        body = request.body
        model = str(body.get("model") or spec.model)
        models.add(model)
        prompt = tokens.prompt_tokens(request.url, body, model)
        out = tokens.max_output_tokens(request.url, body, spec.limits.default_max_output_tokens)
        count += 1
        prompt_total += prompt
        output_total += out
        price = prices.price(model)
        if price is None:
            unpriced.add(model)
        else:
            cost["realtime"] += worst_case_cost(price, prompt, out)
            cost["batch"] += worst_case_cost(price, prompt, out, tier="batch")
            cost["prompt"] += worst_case_cost(price, prompt, 0)
        if spec.mode == "batch":  # split as the batch writer splits
            batcher.add(request.url, model, len(form.line(request.custom_id, request.url, body)), prompt)
    shortest, limits_from = shortest_time_s(project, count, prompt_total + output_total)
    return Forecast(
        requests=count,
        prompt_tokens=prompt_total,
        max_output_tokens=output_total,
        realtime_cost_usd=None if unpriced else cost["realtime"],
        batch_cost_usd=None if unpriced else cost["batch"],
        prompt_only_cost_usd=None if unpriced else cost["prompt"],
        shortest_s=shortest,
        limits_from=limits_from,
        batches=batcher.parts if spec.mode == "batch" else math.ceil(count / spec.batch.max_requests),
        tokens_exact=all(tokens.counts_are_exact(m) for m in models) if models else True,
        models=tuple(sorted(models)),
    )


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def format_usd(value: float | None) -> str:
    if value is None:
        return "unknown (no price for this model: add it under `pricing:`)"
    return money(value)


def render(project: LoadedProject, result: Forecast) -> str:
    """The forecast as the CLI prints it."""
    spec = project.spec
    exactness = "exact (tiktoken)" if result.tokens_exact else "ESTIMATED (tiktoken encoding unavailable)"
    lines = [
        f"Forecast for {project.name} ({spec.model} → {spec.endpoint}, mode {spec.mode}); nothing was sent.",
        f"  requests             {result.requests:>14,}",
        f"  prompt tokens        {result.prompt_tokens:>14,}   {exactness}",
        f"  max output tokens    {result.max_output_tokens:>14,}",
        f"  cost, realtime       {format_usd(result.prompt_only_cost_usd):>14} to {format_usd(result.realtime_cost_usd)}"
        "  (prompts only … every allowed output token)",
        f"  cost, Batch API      up to {format_usd(result.batch_cost_usd)}",
        f"  shortest time        {format_duration(result.shortest_s):>14}   (at {result.limits_from})",
        f"  prices as of         {PRICES_AS_OF:>14}",
    ]
    if spec.mode == "batch":
        lines.insert(4, f"  batches              {result.batches:>14,}")
    if spec.limits.max_cost_usd is not None and result.realtime_cost_usd is not None:
        cap = spec.limits.max_cost_usd
        if result.realtime_cost_usd > cap:
            lines.append(f"  budget cap {money(cap)} may stop the run before it ends (worst case above the cap)")
    return "\n".join(lines)
