"""The dry-run forecast: what a project would send, what it could cost, how long it must take.

Every record is streamed through the template and counted; nothing is sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import tokens
from .batch.writer import LineForm, PartCounter, PartLimits
from .deadline import Lane, Outlook, first_lane, guessed_standard_s, realtime_times
from .engine.ratelimit import RateLimiter
from .events import BucketView, Usage
from .outlook import Workload, sending_time
from .pricing import PRICES_AS_OF, PriceBook, Tier, usage_cost
from .project.schema import LoadedProject, deadline_at
from .sim.ratelimit import ServerLimits
from .wording import format_duration, money


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
    tiers: tuple[TierRow, ...] = ()
    """Standard, flex, batch and hybrid side by side."""
    pick: str = ""
    """Which lane the job would take, and why (for the deadline, in `mode: hybrid`)."""


@dataclass(frozen=True)
class TierRow:
    name: str
    cost_usd: float | None
    """Prompts plus every allowed output token at the tier's prices; None where a model is not sold at it."""
    shortest_s: float | None
    expected_s: float | None
    note: str = ""
    cost_low_usd: float | None = field(default=None)
    """Hybrid: the least it may cost (everything through the batches)."""


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
    return (), "limits unknown until the server's headers are seen: set limits.rpm/tpm to forecast"


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
    cost = {"realtime": 0.0, "batch": 0.0, "prompt": 0.0, "flex": 0.0}
    unpriced: set[str] = set()
    no_flex = False
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
            cost["realtime"] += _tier_cost(price, prompt, out, "standard") or 0.0
            cost["batch"] += _tier_cost(price, prompt, out, "batch") or 0.0
            cost["prompt"] += _tier_cost(price, prompt, 0, "standard") or 0.0
            flex = _tier_cost(price, prompt, out, "flex")
            no_flex = no_flex or flex is None
            cost["flex"] += flex or 0.0
        if spec.mode == "batch":  # split as the batch writer splits
            batcher.add(request.url, model, len(form.line(request.custom_id, request.url, body)), prompt)
    shortest, limits_from = shortest_time_s(project, count, prompt_total + output_total)
    batches = batcher.parts if spec.mode == "batch" else math.ceil(count / spec.batch.max_requests)
    costs = {tier: None if unpriced or (tier == "flex" and no_flex) else value for tier, value in cost.items()}
    rows, pick = compare_tiers(project, count, shortest, costs, batches)
    return Forecast(
        requests=count,
        prompt_tokens=prompt_total,
        max_output_tokens=output_total,
        realtime_cost_usd=None if unpriced else cost["realtime"],
        batch_cost_usd=None if unpriced else cost["batch"],
        prompt_only_cost_usd=None if unpriced else cost["prompt"],
        shortest_s=shortest,
        limits_from=limits_from,
        batches=batches,
        tokens_exact=all(tokens.counts_are_exact(m) for m in models) if models else True,
        models=tuple(sorted(models)),
        tiers=rows,
        pick=pick,
    )


def _tier_cost(price, prompt_tokens: int, max_output_tokens: int, tier: Tier) -> float | None:
    at_tier = price.for_tier(tier)
    return None if at_tier is None else usage_cost(at_tier, Usage(prompt_tokens, 0, max_output_tokens))


def batch_time_s(project: LoadedProject, requests: int, batches: int) -> tuple[float | None, float | None]:
    """Shortest and expected time through the Batch API: the simulator's lifecycle, else only the least it takes.

    The batches run side by side, so the largest sets the time.
    """
    spec = project.spec
    if spec.provider.kind != "simulator":
        return spec.hybrid.batch_min_s, None  # OpenAI promises only the 24-hour window
    sim = spec.provider.simulator
    largest = math.ceil(requests / max(1, batches))
    seconds = sim.batch_validation_s + sim.batch_queue_s + largest / sim.batch_lines_per_s + sim.batch_finalizing_s
    return seconds / sim.time_scale, seconds / sim.time_scale


def compare_tiers(project: LoadedProject, requests: int, standard_s: float | None, costs: dict[str, float | None],
                  batches: int) -> tuple[tuple[TierRow, ...], str]:
    """Cost and time at each tier, and the lane the job would take."""
    spec = project.spec
    standard, flex = (realtime_times(standard_s, requests, spec.limits.concurrency, spec.hybrid.flex_latency_s)
                      if standard_s is not None else (None, None))
    batch_short, batch_expected = batch_time_s(project, requests, max(1, batches))
    flex_usable = costs["flex"] is not None and spec.hybrid.flex
    fallback_cost = costs["flex"] if flex_usable else costs["realtime"]
    rows = [
        TierRow("standard", costs["realtime"], standard, standard),
        TierRow("flex", costs["flex"], flex, flex, "" if costs["flex"] is not None else "not sold at flex"),
        TierRow("batch", costs["batch"], batch_short, batch_expected, "" if batch_expected else "within 24h"),
    ]
    pick, hybrid = _pick(project, requests, standard, flex if flex_usable else None, batch_short, batch_expected)
    if hybrid is not None:
        lane, expected = hybrid
        first = {"batch": (costs["batch"], batch_short), "flex": (fallback_cost, flex), "standard": (costs["realtime"], standard)}
        low, shortest = first[lane]
        high = fallback_cost if lane == "batch" else costs["realtime"]  # where a slipping lane moves to
        rows.append(TierRow("hybrid", high, shortest, expected, f"starts in {lane}", cost_low_usd=low))
    return tuple(rows), pick


def _pick(project: LoadedProject, requests: int, standard_s: float | None, flex_s: float | None,
          batch_short: float | None, batch_expected: float | None) -> tuple[str, tuple[Lane, float | None] | None]:
    """The lane for the deadline (hybrid), or the cheapest when there is none."""
    spec = project.spec
    if spec.deadline is None:
        return "batch (the cheapest; `mode: hybrid` with a `deadline:` plans for a deadline)", None
    now = time.time()
    left = deadline_at(spec.deadline, now) - now
    settings = spec.hybrid
    guess = guessed_standard_s(requests, spec.limits.concurrency)  # as the run guesses before any header
    outlook = Outlook(time_left_s=left, remaining=requests, standard_s=standard_s if standard_s is not None else guess,
                      flex_s=flex_s, batch_eta_s=batch_expected, margin=settings.margin,
                      cancel_wait_s=settings.cancel_wait_s, check_s=settings.check_s,
                      batch_min_s=settings.batch_min_s)  # as the run decides
    lane = first_lane(outlook)
    in_time = format_duration(left)
    if lane == "batch":
        if batch_expected is not None and batch_expected <= outlook.usable_s:
            return f"batch: the batches should end in {format_duration(batch_expected)}, well before the deadline " \
                   f"({in_time})", (lane, batch_expected)
        return (f"hybrid, starting in batch: the deadline ({in_time}) leaves time to fall back on "
                f"{'flex' if flex_s is not None else 'standard'} if the batches are slow", (lane, left))
    if standard_s is None:
        return f"{lane}: too little time for a batch ({in_time} left; realtime time unknown)", (lane, None)
    needed = flex_s if lane == "flex" and flex_s is not None else standard_s
    if needed > outlook.usable_s:
        return (f"standard, but even it needs {format_duration(standard_s)}: the deadline ({in_time}) "
                "cannot be met", (lane, needed))
    return f"{lane}: too little time for a batch ({in_time} left)", (lane, needed)


def format_usd(value: float | None) -> str:
    if value is None:
        return "unknown (no price for this model: add it under `pricing:`)"
    return money(value)


def tier_lines(result: Forecast) -> list[str]:
    """The tiers side by side: worst-case cost, shortest and expected time; then the pick."""
    if not result.tiers:
        return []
    lines = [f"  {'tier':<10} {'cost, up to':>20} {'shortest':>10} {'expected':>10}"]
    for row in result.tiers:
        cost = "unknown" if row.cost_usd is None else money(row.cost_usd)
        if row.cost_low_usd is not None and row.cost_usd is not None and row.cost_low_usd != row.cost_usd:
            cost = f"{money(row.cost_low_usd)}–{money(row.cost_usd)}"
        lines.append(f"  {row.name:<10} {cost:>20} {format_duration(row.shortest_s):>10} "
                     f"{format_duration(row.expected_s):>10}" + (f"   ({row.note})" if row.note else ""))
    lines.append(f"  would pick           {result.pick}")
    return lines


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
        f"  shortest time        {format_duration(result.shortest_s):>14}   "
        + (f"(at {result.limits_from})" if result.shortest_s is not None else f"({result.limits_from})"),
        f"  prices as of         {PRICES_AS_OF:>14}",
        *tier_lines(result),
    ]
    if spec.mode == "batch":
        lines.insert(4, f"  batches              {result.batches:>14,}")
    if spec.limits.max_cost_usd is not None and result.realtime_cost_usd is not None:
        cap = spec.limits.max_cost_usd
        if result.realtime_cost_usd > cap:
            lines.append(f"  budget cap {money(cap)} may stop the run before it ends (worst case above the cap)")
    return "\n".join(lines)
