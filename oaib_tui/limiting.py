"""What limits a run now, in words, for every front end: `token bucket: 2,612 of 25,000 left, refilling 2,500/s`.

The engine reports facts (a reason code and numbers, :class:`~oaib_tui.events.PaceObserved`);
the words are made here, from a :class:`~oaib_tui.progress.Progress`, so that the
dashboard, the `--no-ui` line and the Python display say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import events as ev
from .progress import Progress
from .wording import counted

__all__ = ["what_limits"]

BUCKET_NAMES = {"requests": "requests bucket", "tokens": "token bucket"}


def what_limits(p: Progress) -> str | None:
    """What holds the run back now, in a few words; None once it has ended or before anything is known.

    Steering and stops that events tell at once (pause, stop, a 429) come first;
    else the engine's latest report says.
    """
    if p.finished is not None:
        return None
    if p.state == "paused":
        return "paused"
    if p.stopping is not None:
        return _stopping(p, p.stopping)
    pause_left = (p.rate_limited_until or 0.0) - p.clock()
    if pause_left > 0:
        return _rate_limited(p.rate_limit_kind, pause_left)
    if p.pace is None:
        return None
    return _HOLDUPS[p.pace.holdup](p, p.pace)


def _stopping(p: Progress, stop: ev.RunStopping) -> str:
    finishing = f", {counted(p.in_flight, 'request')} in flight finishing" if p.in_flight else ""
    if stop.reason == "budget":
        return "budget: the spend cap is reached" + finishing
    return "stopping" + finishing


def _rate_limited(kind: str | None, seconds: float) -> str:
    what = f" ({kind})" if kind in ("requests", "tokens") else ""
    return f"429{what} pause {_seconds(seconds)}"


def _bucket(p: Progress, pace: ev.PaceObserved) -> str:
    bucket = pace.binding
    if bucket is None:
        return BUCKET_NAMES.get(pace.holdup, pace.holdup)
    left = max(0, math.floor(bucket.level))
    return (f"{BUCKET_NAMES[bucket.kind]}: {left:,} of {math.floor(bucket.capacity):,} left, "
            f"refilling {_rate(bucket.refill_per_s)}/s")


def _rate(per_second: float) -> str:
    if per_second >= 10:
        return f"{per_second:,.0f}"
    return f"{per_second:.2f}".rstrip("0").rstrip(".")


def _seconds(seconds: float) -> str:
    return f"{math.ceil(seconds):,} s"


_HOLDUPS: dict[str, Callable[[Progress, ev.PaceObserved], str]] = {
    "requests": _bucket,
    "tokens": _bucket,
    "rate-limited": lambda p, pace: _rate_limited(p.rate_limit_kind, pace.wait_s - (p.clock() - pace.at)),
    "starting": lambda p, pace: "starting: learning the limits from the first answers",
    "concurrency": lambda p, pace: f"concurrency: {p.in_flight:,} of {pace.concurrency:,} in flight",
    "paused": lambda p, pace: "paused",
    "retries": lambda p, pace: "retry back-off" + (f": next in {_seconds(pace.wait_s)}" if pace.wait_s else ""),
    "answers": lambda p, pace: f"last answers: {counted(p.in_flight, 'request')} in flight",
    "sources": lambda p, pace: "skipping lines finished in earlier runs",
    "budget": lambda p, pace: "budget: the spend cap is reached",
    "stopping": lambda p, pace: "stopping",
}
