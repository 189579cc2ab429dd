"""The hybrid plan's arithmetic, the answer gate and the flex lane's sender, without a run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from oaib_tui import events as ev
from oaib_tui.deadline import Outlook, batch_eta_s, first_lane, next_lane, realtime_times
from oaib_tui.engine.client import Reply
from oaib_tui.hybrid.gate import AnswerGate
from oaib_tui.hybrid.lanes import TierSender
from oaib_tui.pricing import ModelPrice, PriceBook

OUTLOOK = Outlook(time_left_s=10_000, remaining=100, standard_s=100, flex_s=400, batch_eta_s=None, margin=0.2,
                  cancel_wait_s=600, check_s=60, batch_min_s=1_800)


def test_a_run_starts_in_the_batches_when_they_have_time_and_a_fallback_stays_possible():
    assert first_lane(OUTLOOK) == "batch"
    assert first_lane(replace(OUTLOOK, time_left_s=2_000)) == "flex"  # 1,600 usable: too short for a batch
    assert first_lane(replace(OUTLOOK, time_left_s=300)) == "standard"  # 240 usable: flex needs 400
    assert first_lane(replace(OUTLOOK, time_left_s=2_000, flex_s=None)) == "standard"


def test_the_batches_are_kept_while_there_is_time_to_fall_back_after_the_next_look():
    assert next_lane(OUTLOOK, "batch") == "batch"
    # 1,300 s left: 1,040 usable − 600 cancel wait − 60 check = 380 < the 400 flex needs.
    late = replace(OUTLOOK, time_left_s=1_300)
    assert next_lane(late, "batch") == "flex"  # flex, after the 600 s a cancel may take, fits in 1,040
    assert next_lane(replace(late, batch_eta_s=900), "batch") == "batch"  # on course: left to finish
    assert next_lane(replace(late, time_left_s=1_200), "batch") == "standard"  # 400 + 600 > 960 usable


def test_flex_gives_way_to_standard_when_it_no_longer_fits():
    assert next_lane(OUTLOOK, "flex") == "flex"
    # 450 s left: flex (400) is inside the deadline though not inside the margin: its delays are what the
    # margin is for, and standard (100 + the 60 s to the next look) still fits in the 360 usable.
    assert next_lane(replace(OUTLOOK, time_left_s=450), "flex") == "flex"
    assert next_lane(replace(OUTLOOK, time_left_s=390), "flex") == "standard"  # flex would miss the deadline
    assert next_lane(replace(OUTLOOK, time_left_s=1_000, standard_s=750), "flex") == "standard"  # last chance
    assert next_lane(replace(OUTLOOK, time_left_s=10), "standard") == "standard"


def test_flex_takes_the_longer_of_its_waves_of_answers_and_the_rate_limits():
    assert realtime_times(100.0, remaining=120, concurrency=50, flex_latency_s=60) == (100.0, 180.0)  # 3 waves
    assert realtime_times(500.0, remaining=120, concurrency=50, flex_latency_s=60) == (500.0, 560.0)  # the limits


def test_the_batches_eta_comes_from_their_progress_while_watched():
    assert batch_eta_s([(100.0, 10, 30), (100.0, 20, 20)]) == pytest.approx(300.0)
    assert batch_eta_s([(100.0, 0, 30)]) is None  # still queued: no telling
    assert batch_eta_s([]) is None


def answer(custom_id: str, cost: float = 0.5, seq: int = 0) -> ev.RequestSucceeded:
    return ev.RequestSucceeded(custom_id=custom_id, seq=seq, attempt=1, status_code=200, latency_s=0.1,
                               usage=ev.Usage(1_000_000, 0, 0), cost_usd=cost, response={"id": custom_id},
                               at=0.0, model="m")


def test_the_gate_keeps_the_first_answer_and_counts_the_later_one():
    seen: list[ev.Event] = []
    gate = AnswerGate(seen.append, PriceBook(), lambda: 0.0)
    gate.forward(answer("a", 0.25), "batch")
    gate.forward(ev.RequestSent(custom_id="a", seq=0, attempt=1, reserved_tokens=0, at=0.0), "standard")
    gate.forward(answer("a", 0.5), "standard")
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["RequestSucceeded", "DuplicateAnswer", "Notice"]
    assert seen[1].lane == "standard" and seen[1].cost_usd == 0.5
    assert (gate.cost_usd, gate.duplicates) == (0.75, 1)


def test_a_stray_batch_answer_is_recorded_when_it_comes_first():
    seen: list[ev.Event] = []
    gate = AnswerGate(seen.append, PriceBook(), lambda: 0.0)
    gate.forward(ev.RequestQueued(custom_id="b", seq=7, source="s", line=1, body_hash="h", input_key=1,
                                  prompt_tokens=1, max_output_tokens=1, body={}, keep={}, at=0.0), "standard")
    gate.stray(answer("b", seq=-1))
    gate.stray(answer("unknown-to-this-run", seq=-1))
    assert [type(e).__name__ for e in seen] == ["RequestQueued", "RequestSucceeded", "DuplicateAnswer", "Notice"]
    assert seen[1].seq == 7


def test_the_flex_lane_prices_its_answers_at_flex_or_unknown():
    flex = ModelPrice(0.5, 0.0)
    seen: list[ev.Event] = []
    gate = AnswerGate(seen.append, PriceBook({"m": ModelPrice(1.0, 0.0, flex=flex)}), lambda: 0.0)
    gate.forward(answer("c", cost=1.0), "flex")
    gate = AnswerGate(seen.append, PriceBook({"m": ModelPrice(1.0, 0.0)}), lambda: 0.0)
    gate.forward(answer("d", cost=1.0), "flex")
    assert [e.cost_usd for e in seen] == [0.5, None]


async def test_the_flex_sender_sets_the_tier_on_every_attempt_without_touching_the_request():
    sent: list[dict] = []

    class Inner:
        name = "sdk"

        async def send(self, url, body, timeout_s):
            sent.append(body)
            return Reply(200, {}, {})

        async def close(self):
            raise AssertionError("the run closes its own sender")

    body = {"model": "m", "input": "hi"}
    sender = TierSender(Inner(), "flex")
    await sender.send("/v1/responses", body, 900)
    await sender.close()
    assert sent == [{"model": "m", "input": "hi", "service_tier": "flex"}] and "service_tier" not in body


def test_a_running_flex_lane_is_judged_by_the_latency_of_its_answers():
    from oaib_tui.deadline import flex_pace_s

    # 120 left in waves of 50 that take 90 s each (queueing included): 3 waves, above the 100 s the limits need.
    assert flex_pace_s(100.0, remaining=120, concurrency=50, latency_s=90, waited_s=5, least_s=60) == 270.0
    assert flex_pace_s(100.0, remaining=120, concurrency=50, latency_s=1, waited_s=5, least_s=60) == 101.0
    # Nothing answered yet: the forecast at the expected latency, or longer once waited past it.
    assert flex_pace_s(10.0, remaining=40, concurrency=50, latency_s=None, waited_s=5, least_s=60) == 70.0
    assert flex_pace_s(10.0, remaining=40, concurrency=50, latency_s=None, waited_s=300, least_s=60) == 360.0
    assert flex_pace_s(10.0, remaining=0, concurrency=50, latency_s=None, waited_s=300, least_s=60) == 0.0
