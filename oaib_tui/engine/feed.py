"""From source lines to items to send: what the state file already finished is skipped, the rest queued.

The feed is a generator the dispatcher pulls from only when it has room to
send, so a source of a million lines is never held in memory.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import events as ev
from .. import jsonfast, tokens
from ..pricing import PriceBook, worst_case_cost
from ..project import PreparedRequest, RequestPlan
from ..project.requests import UniqueIds
from ..project.schema import LoadedProject
from ..tiers import ChargedTier, requested_tier
from .resume import ELSEWHERE, ResumeIndex

SKIP_YIELD_EVERY = 5_000  # yield to the loop while skipping finished lines, so a UI stays responsive


@dataclass(slots=True)
class Item:
    """One request on its way: what it reserves, what it may cost, how often it was tried."""

    request: PreparedRequest
    body: dict[str, Any]
    """The request's body; a JsonText when it could be encoded, so that it is encoded once only."""
    prompt_tokens: int
    max_output_tokens: int
    worst_cost: float
    tier: ChargedTier = "standard"
    """The tier the body asks for: the answer's `service_tier` may say otherwise (priority downgraded)."""
    attempt: int = 0
    refusals: int = 0
    """Attempts refused for flex capacity (429 `resource_unavailable`): they have their own retry budget."""
    settled: int = 0
    """How many times an attempt ended in an outcome (done, failed or sent again): the ledger's check."""

    @property
    def reserved_tokens(self) -> int:
        return self.prompt_tokens + self.max_output_tokens

    @property
    def next_key(self) -> tuple[int, int]:
        """The limiter's key for the next attempt, so that its answer's headers sync exactly."""
        return (self.request.seq, self.attempt + 1)

    @property
    def key(self) -> tuple[int, int]:
        return (self.request.seq, self.attempt)


@dataclass(slots=True)
class Counters:
    done: int = 0
    failed: int = 0
    skipped_done: int = 0
    """Items the state file holds as done with the same request: not sent again."""
    skipped_failed: int = 0
    cost_usd: float = 0.0
    new_items: int = 0
    left_alone: int = 0
    """Lines this run does not send nor count, as its resume index says (`r`: only the failed ones)."""


class RekeyedItems:
    """(custom_id, new input_key) pairs, appended and iterated like a list of them.

    Kept as a list of ids and a flat array of keys: after a template edit the slow
    resume path recognises every finished item, and a million (str, int) tuples
    would cost ~90 MB more.
    """

    def __init__(self) -> None:
        self.custom_ids: list[str] = []
        self.input_keys = array("Q")

    def append(self, item: tuple[str, int]) -> None:
        self.custom_ids.append(item[0])
        self.input_keys.append(item[1])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return zip(self.custom_ids, self.input_keys)

    def __len__(self) -> int:
        return len(self.custom_ids)


def encoded_once(body: dict[str, Any]) -> dict[str, Any]:
    """The body with its compact JSON text attached, which the state file and the lean sender both use.

    The text is what the SDK's transport would send. A body JSON cannot carry (NaN) stays a plain
    dict, and fails where it did before: when it is sent.
    """
    try:
        return ev.JsonText(body, jsonfast.compact(body, allow_nan=False))
    except ValueError:
        return body


class ItemFeed:
    """Turns the plan's lines into items: skips finished ones, checks ids, counts tokens, emits RequestQueued."""

    def __init__(self, project: LoadedProject, plan: RequestPlan, resume_index: ResumeIndex, prices: PriceBook,
                 counters: Counters, emit: Callable[[ev.Event], None], *, wall: Callable[[], float],
                 now: Callable[[], float], counts_matter: Callable[[float], bool] = lambda rate: True) -> None:
        """`counts_matter(tokens_per_minute)`: whether exact prompt counts could change what the run does
        at the rate tokens are being reserved (see PromptCounts); `now` is the run's monotonic clock."""
        self.project, self.plan, self.resume_index = project, plan, resume_index
        self.prices, self.counters, self._emit, self.wall = prices, counters, emit, wall
        self.limits = project.spec.limits
        self.counts = PromptCounts(counts_matter, now)
        self._unique = UniqueIds(plan)
        # On the slow resume path, the new line keys of finished items, so the state file can
        # adopt this run's fingerprint and the next resume is fast again.
        self.rekeyed: RekeyedItems | None = None if resume_index.has_keys else RekeyedItems()

    def items(self) -> Iterator[Item | None]:
        """Prepared items that still need sending; None now and then while skipping finished ones."""
        index, counters = self.resume_index, self.counters
        use_keys = index.has_keys
        for line in self.plan.lines():
            status = index.status_by_key(self.plan.input_key(line)) if use_keys else None
            if status is None:
                request = self.plan.prepare(line)
                status = index.status_by_body(request.custom_id, request.body_hash)
                if status in ("done", "failed") and self.rekeyed is not None:
                    self.rekeyed.append((request.custom_id, request.input_key))
            if status == ELSEWHERE:
                counters.left_alone += 1
                if counters.left_alone % SKIP_YIELD_EVERY == 0:
                    yield None
                continue
            if status == "done":
                counters.skipped_done += 1
            elif status == "failed":
                counters.skipped_failed += 1
            else:
                self._unique.check(request, line)
                yield self._queue(request)
                continue
            if (counters.skipped_done + counters.skipped_failed) % SKIP_YIELD_EVERY == 0:
                yield None

    def _queue(self, request: PreparedRequest) -> Item:
        model = str(request.body.get("model") or self.project.spec.model)
        out = tokens.max_output_tokens(request.url, request.body, self.limits.default_max_output_tokens)
        prompt = self.counts.prompt(request, model, out)
        if self.counts.newly_exact:
            self._say_if_estimated()
        price = self.prices.price(model)
        tier = requested_tier(request.body)
        worst = worst_case_cost(price, prompt, out, tier=tier) if price else 0.0
        self.counters.new_items += 1
        body = encoded_once(request.body)
        self._emit(ev.RequestQueued(
            custom_id=request.custom_id, seq=request.seq, source=request.source, line=request.line,
            body_hash=request.body_hash, input_key=request.input_key, prompt_tokens=prompt,
            max_output_tokens=out, body=body, keep=request.keep, at=self.wall(),
        ))
        return Item(request, body, prompt, out, worst, tier)

    def _say_if_estimated(self) -> None:
        notice = tokens.estimation_notice()
        if notice:
            self._emit(ev.Notice(notice, "warning", at=self.wall()))


class PromptCounts:
    """Each request's prompt tokens: counted exactly where a count can change what the run does, else bounded.

    Loading a tokenizer costs about 0.2 CPU s of a run's start, and each count
    more on top. Exact counts matter only where the tokens-per-minute
    limit could come near (the limiter paces by the tokens reserved) or a spend
    cap stops on worst-case costs. Until then a request reserves its prompt's
    UTF-8 bytes, an upper bound of its tokens (a token is at least one byte):
    more than it needs, never less, and the answer's usage gives the difference
    back. `matter(tokens_per_minute)` is asked with the tokens reserved over the
    last second (as a rate); once it says yes, every later request is counted
    exactly.
    """

    __slots__ = ("_last_rate", "_matter", "_now", "_window_start", "_window_tokens", "exact", "newly_exact")

    def __init__(self, matter: Callable[[float], bool], now: Callable[[], float]) -> None:
        self._matter, self._now = matter, now
        self._window_start: float | None = None
        self._window_tokens = 0
        self._last_rate = 0.0
        self.exact = False
        self.newly_exact = False
        """Whether the last count was the first exact one (the moment to say if the tokenizer is missing)."""

    def prompt(self, request: PreparedRequest, model: str, max_output: int) -> int:
        self.newly_exact = False
        if not self.exact:
            bound = tokens.prompt_tokens_at_most(request.url, request.body)
            if not self._matter(self._rate(bound + max_output)):
                return bound
            self.exact = self.newly_exact = True
        return tokens.prompt_tokens(request.url, request.body, model)

    def _rate(self, reserved: int) -> float:
        """Tokens reserved a minute: over the last whole second, or this second's so far if more."""
        now = self._now()
        if self._window_start is None:
            self._window_start = now
        elif now - self._window_start >= 1.0:
            self._last_rate = self._window_tokens * 60 / (now - self._window_start)
            self._window_start, self._window_tokens = now, 0
        self._window_tokens += reserved
        return max(self._last_rate, self._window_tokens * 60.0)
