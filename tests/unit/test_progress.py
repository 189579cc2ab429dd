"""Progress folds events into the figures both front ends show."""

from __future__ import annotations

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
