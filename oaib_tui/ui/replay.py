"""Showing a recorded event stream: a clock that stands still, and folding events at their own times.

Snapshot tests, screenshots and benchmarks use this to put the dashboard in
a known state without running anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import events as ev
from .model import DashboardModel


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def replay(model: DashboardModel, clock: FakeClock, events: Iterable[ev.Event], *, now: float | None = None) -> None:
    """Fold `events` as if each arrived at its own time (`at`); then stop the clock at `now` if given."""
    for event in events:
        clock.now = max(clock.now, event.at)
        model.handle(event)
    model.version += 1
    if now is not None:
        clock.now = now
