"""The lanes' executors: the batch engine as in `mode: batch`, and the realtime engine per tier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from .. import events as ev
from ..batch.executor import BatchExecutor
from ..batch.ledger import PartLedger
from ..deadline import Lane
from ..engine.client import Reply, Sender
from ..engine.realtime import RealtimeExecutor
from ..engine.resume import OnlyThese, ResumeIndex
from ..project.schema import LoadedProject
from ..tiers import answer_timeout_s

"""Flex may queue a request for many minutes: OpenAI advises a 15-minute timeout."""


class TierSender:
    """Sends every attempt with `service_tier` set (the flex lane); the request recorded stays the template's."""

    def __init__(self, inner: Sender, tier: str) -> None:
        self.inner = inner
        self.tier = tier
        self.name = inner.name

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
        return await self.inner.send(url, {**body, "service_tier": self.tier}, timeout_s)

    async def close(self) -> None:
        """The inner sender belongs to the run, which closes it."""


def batch_lane(project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
               ledger: PartLedger, only: OnlyThese | None = None) -> BatchExecutor:
    """The batch engine, leaving what its batches do not finish to the hybrid plan (never its own realtime)."""
    batch = project.spec.batch.model_copy(update={"on_expired": "resubmit"})
    spec = project.spec.model_copy(update={"mode": "batch", "batch": batch})
    return BatchExecutor(project.model_copy(update={"spec": spec}), client, emit, ledger, only=only)


def realtime_lane(project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
                  lane: Lane, resume: ResumeIndex, sender: Sender, *, budget_left: float | None = None) -> RealtimeExecutor:
    """The realtime engine (limits learned from headers, capped by the project's) at the lane's tier.

    `budget_left`: what `limits.max_cost_usd` leaves after the other lanes' spending.
    """
    spec = project.spec.model_copy(update={"mode": "auto"})
    # The lane adds `service_tier: flex` as it sends, after the feed: the per-request default cannot see it.
    timeout_s = answer_timeout_s(spec.limits.timeout_s, "flex") if lane == "flex" else spec.limits.timeout_s
    limits = spec.limits.model_copy(update={"timeout_s": timeout_s, "max_cost_usd": budget_left})
    spec = spec.model_copy(update={"limits": limits})
    tiered = TierSender(sender, "flex") if lane == "flex" else sender
    return RealtimeExecutor(project.model_copy(update={"spec": spec}), client, emit, resume=resume, sender=tiered)
