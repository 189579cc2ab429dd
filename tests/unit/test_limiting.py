"""What limits a run, in the words every front end shows, from the engine's facts."""

from __future__ import annotations

import pytest

from oaib_tui import events as ev
from oaib_tui.headless import status_line
from oaib_tui.limiting import what_limits
from oaib_tui.progress import Progress

REQUESTS = ev.BucketView("requests", level=3_172.6, capacity=15_000, refill_per_s=25, reserve=25)
TOKENS = ev.BucketView("tokens", level=2_612.3, capacity=25_000, refill_per_s=2_500, reserve=2_500)
NOW = 100.0


def running(*events: ev.Event, in_flight: int = 0) -> Progress:
    p = Progress(clock=lambda: NOW)
    p.handle(ev.RunStarted("p", "m", "/v1/chat/completions", "auto", 0, 0, 100, at=0.0))
    for i in range(in_flight):
        p.handle(ev.RequestSent(f"r{i}", i, 1, reserved_tokens=100, at=0.0))
    for event in events:
        p.handle(event)
    return p


def pace(holdup: ev.HoldupReason, wait_s: float = 0.0, binding: ev.BucketView | None = None) -> ev.PaceObserved:
    return ev.PaceObserved(holdup, wait_s, binding, (REQUESTS, TOKENS), 32, at=NOW)


@pytest.mark.parametrize("event, in_flight, words", [
    (pace("requests", 0.04, REQUESTS), 3, "requests bucket: 3,172 of 15,000 left, refilling 25/s"),
    (pace("tokens", 0.1, TOKENS), 3, "token bucket: 2,612 of 25,000 left, refilling 2,500/s"),
    (pace("concurrency"), 32, "concurrency: 32 of 32 in flight"),
    (pace("starting"), 1, "starting: learning the limits from the first answers"),
    (pace("retries", 2.2), 0, "retry back-off: next in 3 s"),
    (pace("answers"), 2, "last answers: 2 requests in flight"),
    (pace("sources"), 0, "skipping lines finished in earlier runs"),
    (pace("rate-limited", 3.5), 0, "429 pause 4 s"),
])
def test_each_holdup_the_engine_reports_has_its_words(event, in_flight, words):
    assert what_limits(running(event, in_flight=in_flight)) == words


def test_a_slow_refill_is_said_with_its_fraction():
    slow = ev.BucketView("requests", level=0.4, capacity=5, refill_per_s=0.5)
    assert what_limits(running(pace("requests", 1.0, slow))) == "requests bucket: 0 of 5 left, refilling 0.5/s"


def test_a_429_is_said_with_its_kind_and_the_seconds_left_as_soon_as_it_comes():
    limited = ev.RateLimited("tokens", pause_s=4.0, resume_at=NOW + 4.0, at=NOW)
    assert what_limits(running(pace("tokens", 0.1, TOKENS), limited)) == "429 (tokens) pause 4 s"


def test_steering_and_stops_are_said_before_the_engines_next_report():
    assert what_limits(running(pace("tokens", 0.1, TOKENS), ev.RunPaused(at=NOW))) == "paused"
    budget = ev.RunStopping("budget", "the next request could take the spend over the cap", at=NOW)
    assert what_limits(running(pace("tokens", 0.1, TOKENS), budget, in_flight=2)) == (
        "budget: the spend cap is reached, 2 requests in flight finishing")
    stopped = ev.RunStopping("interrupted", "stopped by the user", at=NOW)
    assert what_limits(running(stopped)) == "stopping"


def test_nothing_is_said_before_the_first_report_or_once_the_run_has_ended():
    assert what_limits(running()) is None
    ended = ev.RunFinished("finished", None, "all requests answered", 100, 0, 0, 0.0, 0, at=NOW)
    assert what_limits(running(pace("tokens", 0.1, TOKENS), ended)) is None


def test_the_no_ui_line_ends_with_what_limits_the_run_and_its_eta():
    line = status_line(running(pace("tokens", 0.1, TOKENS), in_flight=3))  # 97 × 100 tokens at 2,500/s
    assert line.endswith(" │ ETA 4s │ token bucket: 2,612 of 25,000 left, refilling 2,500/s")
