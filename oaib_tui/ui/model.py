"""What the dashboard shows, folded from the engine's events: no Textual here.

A :class:`DashboardModel` is the tally of the current run (a
:class:`~oaib_tui.progress.Progress`), every request's row (a
:class:`~oaib_tui.ui.rows.RequestRows`) and what the cost table needs to
know that events do not say (prices, the budget cap, earlier runs' totals).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import events as ev
from ..pricing import ModelPrice, PriceBook
from ..progress import Progress
from ..project.schema import LoadedProject
from ..state import Totals
from .rows import RequestRows


@dataclass(frozen=True)
class CostSettings:
    """Prices and limits for the cost table."""

    price: ModelPrice | None
    budget_usd: float | None = None
    batch: bool = False
    prices: PriceBook | None = None
    """Every model's price, for jobs whose requests name several models."""

    @classmethod
    def for_project(cls, project: LoadedProject) -> CostSettings:
        """Prices, budget cap and mode from the project file."""
        spec = project.spec
        prices = PriceBook.for_project(spec.pricing)
        return cls(prices.price(spec.model), spec.limits.max_cost_usd, spec.mode == "batch", prices)


@dataclass
class DashboardModel:
    """Everything the widgets read. `handle` is the one entry for events."""

    costs: CostSettings
    clock: Callable[[], float] = time.time
    rows: RequestRows = field(default_factory=RequestRows)
    earlier: Totals | None = None
    """What the state file held before this run started (earlier runs' tokens and spend)."""
    resume_hint: str = ""
    about: tuple[str, str, str, str] = ("", "", "", "")
    """Project, model, endpoint and mode, known before the run says them (shown if it never starts)."""
    failure: str | None = None
    """Why the run could not go on (an error, not a stop), once it is known."""

    def __post_init__(self) -> None:
        self.progress = Progress(clock=self.clock)
        self.version = 0

    def new_run(self, earlier: Totals | None) -> None:
        """Start the tally afresh for another run on the same state file; the rows stay."""
        self.progress = Progress(clock=self.clock)
        self.earlier = earlier
        self.failure = None
        self.version += 1

    def shown_state(self) -> str:
        """The run's state as the header says it: also `starting` and `error`, which events do not tell."""
        if self.failure is not None:
            return "error"
        if self.progress.started_at is None:
            return "starting"
        return self.progress.run_state()

    def batch_only(self) -> bool:
        """Batch mode before any realtime request: per-minute limits do not apply."""
        p = self.progress
        return p.limits is None and (p.mode == "batch" or bool(p.batches))

    def handle(self, event: ev.Event) -> None:
        self.progress.handle(event)
        self.rows.handle(event)

    def handle_all(self, events) -> int:
        """Fold a batch of events; returns how many."""
        handle_progress, handle_rows = self.progress.handle, self.rows.handle
        n = 0
        for event in events:
            handle_progress(event)
            handle_rows(event)
            n += 1
        if n:
            self.version += 1
        return n
