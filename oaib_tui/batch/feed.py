"""Writing parts: fresh requests streamed from the sources, and the unfinished items of downloaded parts.

Fresh requests are rendered, written to their part's file and announced
(RequestQueued, with the part) one at a time; the writer hands the engine each
part as soon as it is full. Leftovers are rewritten from the request bodies the
state file holds, and move to their new part in the same transaction that
records it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Protocol

from .. import events as ev
from .. import tokens
from ..engine.resume import OnlyThese
from ..parts import Part
from ..pricing import PriceBook, worst_case_cost
from ..project import PreparedRequest, RequestPlan
from ..project.requests import UniqueIds
from ..project.schema import LoadedProject, Project
from .gate import TokenGate
from .ledger import PartLedger
from .writer import LineForm, PartLimits, PartWriter, WrittenPart, parts_folder

YIELD_EVERY = 256
"""Lines written between yields to the event loop, so uploads and polls go on while files are written."""
SKIP_YIELD_EVERY = 5000


class FeedOwner(Protocol):
    """What the feeder needs from the executor it writes parts for."""

    project: LoadedProject
    plan: RequestPlan
    prices: PriceBook
    ledger: PartLedger
    gate: TokenGate
    numbers: Iterator[int]
    wall: Callable[[], float]
    only: OnlyThese | None

    spec: Project
    @property
    def stopping(self) -> bool: ...
    @property
    def draining(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    def emit(self, event: ev.Event) -> None: ...
    async def submit(self, written: WrittenPart, move: list[str] | None = None, round_: int = 1) -> None: ...
    def resubmit_reason(self, parts: list[Part]) -> str: ...


class PartFeeder:
    """Writes the engine's parts; `exhausted` once every fresh request of the sources is in a part."""

    def __init__(self, engine: FeedOwner) -> None:
        self.engine = engine
        self.form = LineForm.of(engine.project)
        self.exhausted = False
        self._fresh: Iterator[PreparedRequest | None] | None = None
        self._writer: PartWriter | None = None
        self._leftover_writer: PartWriter | None = None

    def discard(self) -> None:
        """Drop the files still open (the run stopped): their items go back to the writer on resume."""
        for writer in (self._writer, self._leftover_writer):
            if writer is not None:
                writer.discard()

    def _new_writer(self, max_tokens: int | None) -> PartWriter:
        engine = self.engine
        batch = engine.spec.batch
        limits = PartLimits(batch.max_requests, batch.max_bytes, max_tokens)
        return PartWriter(parts_folder(engine.ledger.state_path), limits, lambda: next(engine.numbers))

    def _should_pause(self) -> bool:
        engine = self.engine
        return engine.stopping or engine.draining or engine.paused

    # -- fresh requests -------------------------------------------------------------------

    async def write_fresh(self) -> None:
        """Write fresh requests until one part is complete (then hand it over) or the sources end."""
        if self._fresh is None:
            self._fresh = self._fresh_requests()
            self._writer = self._new_writer(self.engine.spec.batch.max_enqueued_tokens)
        writer = self._writer
        assert writer is not None
        for count, request in enumerate(self._fresh, start=1):
            closed = self._write_request(writer, request) if request is not None else None
            if closed is not None:
                await self.engine.submit(closed)
                return
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
                if self._should_pause():
                    return
        self.exhausted = True
        for part in writer.close_all():
            await self.engine.submit(part)

    def _fresh_requests(self) -> Iterator[PreparedRequest | None]:
        """Requests no part holds yet and no run finished; None now and then while skipping many."""
        plan, ledger, only = self.engine.plan, self.engine.ledger, self.engine.only
        fast = ledger.fingerprint_matches(plan.fingerprint)
        skip = ledger.skip_keys() if fast else set()
        unique = UniqueIds(plan)
        for skipped, line in enumerate(plan.lines()):
            if (skip and plan.input_key(line) in skip) or (only and only.status_by_key(plan.input_key(line))):
                if skipped % SKIP_YIELD_EVERY == 0:
                    yield None
                continue
            request = plan.prepare(line)
            if not fast and ledger.should_skip(request.custom_id, request.body_hash):
                continue
            if only and only.status_by_body(request.custom_id, request.body_hash):
                continue
            unique.check(request, line)
            yield request

    def _write_request(self, writer: PartWriter, request: PreparedRequest) -> WrittenPart | None:
        engine = self.engine
        model = str(request.body.get("model") or engine.spec.model)
        line = self.form.line(request.custom_id, request.url, request.body)
        prompt, output, worst = self._figures(request.url, model, request.body)
        url = self.form.url(request.url)
        number, closed = (None, None) if writer.too_big(line) else writer.add(url, model, line, prompt, worst)
        engine.emit(ev.RequestQueued(
            custom_id=request.custom_id, seq=request.seq, source=request.source, line=request.line,
            body_hash=request.body_hash, input_key=request.input_key, prompt_tokens=prompt, max_output_tokens=output,
            body=request.body, keep=request.keep, at=engine.wall(), batch=number))
        if number is None:
            engine.emit(ev.RequestFailed(
                custom_id=request.custom_id, seq=request.seq, attempt=0, reason="request too large", status_code=None,
                message=f"the batch-input line is {len(line):,} bytes, over batch.max_bytes", error=None,
                at=engine.wall()))
        return closed

    def _figures(self, url: str, model: str, body: dict) -> tuple[int, int, float]:
        """Prompt tokens (what the enqueued-token limit counts), the most output tokens, and the most it can cost."""
        prompt = tokens.prompt_tokens(url, body, model)
        output = tokens.max_output_tokens(url, body, self.engine.spec.limits.default_max_output_tokens)
        price = self.engine.prices.price(model)
        return prompt, output, worst_case_cost(price, prompt, output, tier="batch") if price else 0.0

    # -- leftovers ------------------------------------------------------------------------

    async def write_leftovers(self, parts: list[Part]) -> None:
        """Put the unfinished items of downloaded parts into new parts, one round further on."""
        groups: dict[tuple[str, str], list[Part]] = {}
        for part in parts:
            groups.setdefault((part.url, part.model), []).append(part)
        for (url, model), group in groups.items():
            if self.engine.stopping:
                return
            await self._rewrite_group(url, model, group)

    async def _rewrite_group(self, url: str, model: str, group: list[Part]) -> None:
        engine = self.engine
        round_ = max(p.round for p in group) + 1
        writer = self._leftover_writer = self._new_writer(engine.gate.limit(model))
        moved: dict[int, list[str]] = {}
        count = 0
        for old in group:
            for custom_id, request in engine.ledger.request_lines(old.part, unfinished_only=True):
                if engine.only is not None and custom_id not in engine.only.ids:
                    continue  # `retry failed`: what a cancel left stays in its part for the next run
                prompt, _, worst = self._figures(url, model, json.loads(request))
                number, closed = writer.add(url, model, self.form.line(custom_id, url, request), prompt, worst)
                moved.setdefault(number, []).append(custom_id)
                count += 1
                if closed is not None:
                    await engine.submit(closed, moved.pop(closed.number), round_)
                    if engine.stopping:
                        return
        for closed in writer.close_all():
            await engine.submit(closed, moved.pop(closed.number), round_)
        self._leftover_writer = None
        if count:
            engine.emit(ev.BatchResubmitted(items=count, reason=engine.resubmit_reason(group), to="batch",
                                            at=engine.wall()))
