"""Never record an item twice: every lane's events pass here before the state file sees them.

An item is in one lane at a time, but a cancelled batch may still return an
answer for an item already sent realtime (or the realtime answer may come after
the batch's). The first answer is kept; a later one was paid for, so its cost is
counted (a DuplicateAnswer the state file adds up) and a Notice says so, but it
is not recorded over the first. Bookkeeping for an answered item (queued, sent,
retried, failed) is dropped: it would undo its `done`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from .. import events as ev
from ..deadline import Lane
from ..pricing import PriceBook
from ..wording import money

LANE_EVENTS = (ev.RunStarted, ev.RunFinished)
"""The lanes' own start and finish: the hybrid run around them has its own."""


class AnswerGate:
    """Passes each lane's events on to `emit`, keeping the first answer of every item."""

    def __init__(self, emit: Callable[[ev.Event], None], prices: PriceBook, wall: Callable[[], float]) -> None:
        self._emit = emit
        self.prices = prices
        self.wall = wall
        self.answered: set[str] = set()
        self._seqs: dict[str, int] = {}
        self.cost_usd = 0.0
        """Every answer's cost this run, the discarded ones included."""
        self.duplicates = 0
        self.answers: Counter[Lane] = Counter()
        """First answers recorded, by the lane that gave them."""
        self.latency_s: dict[Lane, float] = {}
        """The seconds those answers took, added up by lane."""
        self.on_stopping: Callable[[ev.RunStopping], None] = self._emit
        self.retiring: set[Lane] = set()
        """Lanes that gave way to another: only their items' events and notices still pass."""

    def lane(self, lane: Lane) -> Callable[[ev.Event], None]:
        """The `emit` a lane's executor is given."""
        return lambda event: self.forward(event, lane)

    def forward(self, event: ev.Event, lane: Lane) -> None:
        if isinstance(event, LANE_EVENTS):
            return
        if isinstance(event, ev.RunStopping):
            self.on_stopping(event)
            return
        if isinstance(event, ev.RequestSucceeded):
            self._answer(self._priced(event, lane), lane)
            return
        custom_id = getattr(event, "custom_id", None)
        if custom_id is None and lane in self.retiring and not isinstance(event, ev.Notice):
            return  # its limits and what holds it up are not the run's any more
        if custom_id is not None and custom_id in self.answered:
            return  # queued, sent, retried or failed after its answer: nothing to record
        if isinstance(event, ev.RequestQueued):
            self._seqs[event.custom_id] = event.seq
        self._emit(event)

    def stray(self, answer: ev.RequestSucceeded) -> None:
        """A batch answer for an item the realtime lane took out of its part: kept if it is the first.

        An item this run's realtime lane never queued was moved (and maybe answered) by an
        earlier run: its state is not known here, so the batch's answer is only counted.
        """
        seq = self._seqs.get(answer.custom_id)
        if seq is None:
            self._duplicate(answer, "batch")
        else:
            self._answer(replace(answer, seq=seq), "batch")

    def _answer(self, answer: ev.RequestSucceeded, lane: Lane) -> None:
        if answer.custom_id in self.answered:
            self._duplicate(answer, lane)
            return
        self.answered.add(answer.custom_id)
        self.answers[lane] += 1
        self.latency_s[lane] = self.latency_s.get(lane, 0.0) + answer.latency_s
        self.cost_usd += answer.cost_usd or 0.0
        self._emit(answer)

    def mean_latency_s(self, lane: Lane) -> float | None:
        return self.latency_s.get(lane, 0.0) / self.answers[lane] if self.answers[lane] else None

    def _duplicate(self, answer: ev.RequestSucceeded, lane: Lane) -> None:
        self.duplicates += 1
        self.cost_usd += answer.cost_usd or 0.0
        now = self.wall()
        self._emit(ev.DuplicateAnswer(custom_id=answer.custom_id, lane=lane, usage=answer.usage,
                                      cost_usd=answer.cost_usd, at=now))
        cost = money(answer.cost_usd)
        self._emit(ev.Notice(f"{answer.custom_id} was answered again by the {lane} lane after its first answer: "
                             f"the later answer is discarded (it was paid for: {cost})", "warning", at=now))

    def _priced(self, answer: ev.RequestSucceeded, lane: Lane) -> ev.RequestSucceeded:
        """A flex lane's answer is charged at flex (unknown where the model is not sold at flex).

        The lane sets `service_tier: flex` only as it sends, so an answer that does not name its tier
        would be priced at the stored body's tier; flex never downgrades (running out is a 429).
        """
        if lane != "flex":
            return answer
        return replace(answer, cost_usd=self.prices.cost(answer.model, answer.usage, tier="flex"), tier="flex")
