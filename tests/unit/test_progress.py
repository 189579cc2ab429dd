"""Progress folds events into the figures both front ends show."""

from __future__ import annotations

import pytest

from oaib_tui import events as ev
from oaib_tui.progress import Progress


def sent(cid, attempt=1):
    return ev.RequestSent(custom_id=cid, seq=0, attempt=attempt, reserved_tokens=10, at=0.0)


def retry(cid):
    return ev.RetryScheduled(custom_id=cid, seq=0, attempt=1, reason="503", status_code=503, delay_s=1.0,
                             message="", at=0.0)


def done(cid):
    return ev.RequestSucceeded(custom_id=cid, seq=0, attempt=1, status_code=200, latency_s=0.1,
                               usage=ev.Usage(5, 0, 5), cost_usd=0.001, response={}, at=0.0)


def test_retrying_counts_items_waiting_for_their_retry_whatever_the_attempt_number():
    p = Progress(clock=lambda: 100.0)
    for event in (sent("a"), sent("b"), retry("a"), retry("b")):
        p.handle(event)
    assert (p.in_flight, p.retrying) == (0, 2)
    p.handle(sent("a", attempt=2))
    p.handle(sent("b", attempt=1))  # a batch leftover sent by the realtime engine starts again at 1
    assert (p.in_flight, p.retrying) == (2, 0)


def test_answers_without_a_send_in_this_run_never_make_in_flight_negative():
    p = Progress(clock=lambda: 100.0)
    p.handle(done("from-an-earlier-batch"))
    assert p.in_flight == 0 and p.done == 1 and p.cost_usd == 0.001


TOKENS = ev.BucketView("tokens", level=1_000, capacity=10_000, refill_per_s=1_000, reserve=0)


def realtime(total=100, answered=20, clock=None):
    """A realtime run of `total` requests of 100 tokens, `answered` of them answered in 0.5 s each."""
    p = Progress(clock=clock or (lambda: 10.0))
    p.handle(ev.RunStarted("p", "m", "/v1/chat/completions", "auto", 0, 0, total, at=0.0))
    for i in range(answered):
        p.handle(ev.RequestSent(f"r{i}", i, 1, reserved_tokens=100, at=0.0))
        p.handle(ev.RequestSucceeded(f"r{i}", i, 1, 200, 0.5, ev.Usage(50, 0, 50), 0.0, {}, at=0.0))
    return p


def pace(at=10.0, buckets=(TOKENS,), concurrency=100):
    return ev.PaceObserved("tokens", 0.0, buckets[0] if buckets else None, buckets, concurrency, at)


def test_the_eta_is_the_limiters_model_of_what_is_left_counted_down_since_the_report():
    clock = [10.0]
    p = realtime(clock=lambda: clock[0])
    assert p.eta_s() is None  # no report from the engine yet
    p.handle(pace())
    # 80 requests of 100 tokens: 1,000 at once, the other 7,000 at 1,000 a second, then one answer's 0.5 s.
    assert p.eta_s() == pytest.approx(7.5)
    clock[0] = 13.0
    assert p.eta_s() == pytest.approx(4.5)
    clock[0] = 30.0
    assert p.eta_s() == 0.0


def test_the_eta_counts_the_concurrency_cap_over_the_latency_when_it_binds():
    p = realtime()
    p.handle(pace(buckets=(), concurrency=4))
    assert p.eta_s() == pytest.approx(80 * 0.5 / 4 + 0.5)


def test_the_eta_adds_what_is_left_of_a_429_pause_and_the_refill_during_it():
    p = realtime()
    p.handle(ev.RateLimited("tokens", 3.0, resume_at=13.0, at=10.0))
    p.handle(pace())
    assert p.eta_s() == pytest.approx(3.0 + (8_000 - 4_000) / 1_000 + 0.5)


def test_the_eta_expects_retries_as_often_as_so_far():
    p = realtime(answered=0)
    for i in range(10):
        p.handle(ev.RequestSent(f"r{i}", i, 1, reserved_tokens=100, at=0.0))
        if i < 5:
            p.handle(retry(f"r{i}"))
            p.handle(ev.RequestSent(f"r{i}", i, 2, reserved_tokens=100, at=0.0))
        p.handle(done(f"r{i}"))
    p.handle(pace(buckets=(ev.BucketView("requests", 0, 10, 10),)))
    assert p.eta_s() == pytest.approx(90 * 1.5 / 10 + 0.1)  # half of them needed a second attempt


def test_there_is_no_eta_while_paused_or_stopping_and_none_is_needed_when_done():
    p = realtime()
    p.handle(pace())
    p.handle(ev.RunPaused(at=10.0))
    assert p.eta_s() is None
    p.handle(ev.RunResumed(at=10.0))
    assert p.eta_s() is not None
    p.handle(ev.RunStopping("interrupted", "stopped by the user", at=10.0))
    assert p.eta_s() is None  # it ends with requests left
    assert realtime(total=20).eta_s() == 0.0


def batch_run(now: float) -> Progress:
    p = Progress(clock=lambda: now)
    p.handle(ev.RunStarted("p", "m", "/v1/chat/completions", "batch", 0, 0, 300, at=0.0))
    for n in (1, 2, 3):
        p.handle(ev.BatchCreated(f"batch_{n}", n, f"file_{n}", 100, None, at=0.0))
    return p


def test_batch_mode_takes_the_eta_from_the_slowest_batchs_pace():
    p = batch_run(now=100.0)
    assert p.eta_s() is None  # no batch has moved
    p.handle(ev.BatchCountsChanged("batch_1", 100, 50, 0, at=100.0))  # 2 s an item: 100 s to go
    p.handle(ev.BatchCountsChanged("batch_2", 100, 20, 5, at=100.0))  # 4 s an item: 300 s to go
    # batch_3 has not moved: at the others' mean pace (3 s an item) its 100 take 300 s, 100 of them spent.
    assert p.eta_s() == pytest.approx(300.0)
    p.handle(ev.BatchStatusChanged("batch_2", "cancelled", at=100.0))
    assert p.eta_s() == pytest.approx(100.0)  # batch_3 now at batch_1's pace, as long as batch_1 needs
