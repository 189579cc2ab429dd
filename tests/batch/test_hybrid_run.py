"""`mode: hybrid` end to end against the in-process simulator, on virtual time.

The simulator's batches sit in a queue longer than the deadline allows, so the
plan must cancel them and move what they did not finish to realtime.
"""

from __future__ import annotations

import pytest
from batch_helpers import batch_sim, read_jsonl, run_batch, write_batch_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_OK
from oaib_tui.pricing import PriceBook
from oaib_tui.project import load_project
from oaib_tui.state.accounting import account
from oaib_tui.state.reader import StateReader

pytestmark = pytest.mark.looptime

SLOW_BATCHES = {"batch_validation_s": 30, "batch_queue_s": 3_000, "batch_lines_per_s": 0.05, "batch_finalizing_s": 30}
"""A batch of 40 would take 30 + 3,000 + 800 + 30 s: longer than the hour the job has."""


def write_hybrid_project(tmp_path, n=40, deadline="1h", **hybrid):
    settings = {"flex": False, "check_s": 30, "batch_min_s": 60, "cancel_wait_s": 60, "margin": 0.2, **hybrid}
    return write_batch_project(tmp_path, n=n, mode="hybrid", deadline=deadline, hybrid=settings,
                               limits={"max_retries": 2, "rpm": 600, "tpm": 100_000})


def recorded_items(path):
    project = load_project(path)
    with StateReader.open_readonly(project.state_path) as reader:
        return list(reader.iter_results(("done", "failed")))


def costs_at_every_tier(items, model="gpt-4o-mini"):
    from oaib_tui.engine.usage import usage_from_response

    prices = PriceBook()
    usages = [usage_from_response(item["response"]) for item in items]
    return (sum(prices.cost(model, u, tier="batch") for u in usages),
            sum(prices.cost(model, u, tier="standard") for u in usages))


async def test_a_deadline_shorter_than_the_batches_finishes_in_time_paying_each_item_once(tmp_path):
    path = write_hybrid_project(tmp_path)
    app = batch_sim(**SLOW_BATCHES)
    finished, rec, job = await run_batch(path, app)
    started = rec.of(ev.RunStarted)[0].at
    assert (finished.state, finished.done, finished.failed, finished.exit_code) == ("finished", 40, 0, EXIT_OK)
    assert finished.at - started <= 3_600
    assert [e.lane for e in rec.of(ev.LaneChanged)] == ["batch", "standard"]
    [batch] = app.batch_api.book.all()
    assert batch.status == "cancelled" and 0 < batch.completed < 40
    # Paid once each: the batch's answers plus the realtime ones are exactly the items.
    assert batch.completed + app.stats.answered == 40
    accounting = account(job.store.path, job.store.identity)
    assert (accounting.done, accounting.duplicates, accounting.all_answered) == (40, 0, True)
    assert not rec.of(ev.DuplicateAnswer)
    items = recorded_items(path)
    all_batch, all_standard = costs_at_every_tier(items)
    cost = sum(item["cost_usd"] for item in items)
    assert all_batch < cost < all_standard
    assert finished.cost_usd == pytest.approx(cost)
    assert [r["custom_id"] for r in read_jsonl(job.project.results_path)] == [f"item-{i}" for i in range(40)]


async def test_a_batch_answer_after_the_realtime_one_is_counted_and_discarded(tmp_path):
    path = write_hybrid_project(tmp_path, cancel_wait_s=0)  # realtime starts while the batch is still cancelling
    app = batch_sim(**SLOW_BATCHES)
    finished, rec, job = await run_batch(path, app)
    [batch] = app.batch_api.book.all()
    duplicates = rec.of(ev.DuplicateAnswer)
    assert batch.completed > 0 and len(duplicates) == batch.completed
    assert all(d.lane == "batch" and d.cost_usd > 0 for d in duplicates)
    notices = [n.message for n in rec.of(ev.Notice) if "answered again" in n.message]
    assert len(notices) == len(duplicates)
    assert app.stats.answered == 40  # realtime answered every item first, by the deadline
    started = rec.of(ev.RunStarted)[0].at
    assert max(e.at for e in rec.of(ev.RequestSucceeded)) - started <= 3_600
    accounting = account(job.store.path, job.store.identity)
    assert (accounting.done, accounting.duplicates, accounting.all_answered) == (40, len(duplicates), True)
    assert accounting.duplicate_cost_usd == pytest.approx(sum(d.cost_usd for d in duplicates))
    assert finished.exit_code == EXIT_OK and "duplicate answer" in finished.message
    items = {item["custom_id"]: item for item in recorded_items(path)}
    first = {e.custom_id: e for e in rec.of(ev.RequestSucceeded)}
    for duplicate in duplicates:  # the state file holds the realtime answer, not the batch's
        assert items[duplicate.custom_id]["response"] == first[duplicate.custom_id].response
        assert items[duplicate.custom_id]["response"]["id"].startswith("chatcmpl")
    # `oaib-tui status` counts what the discarded answers cost: they were paid for.
    from oaib_tui.report import state_summary

    paid_for_duplicates = sum(d.cost_usd for d in duplicates)
    with StateReader.open_readonly(job.store.path) as reader:
        totals = reader.totals()
        status = state_summary(job.project, reader, total=40)
    assert totals.duplicates == len(duplicates)
    assert totals.cost_usd == pytest.approx(sum(i["cost_usd"] for i in items.values()) + paid_for_duplicates)
    assert totals.cost_usd == pytest.approx(finished.cost_usd)
    assert f"discarded {len(duplicates)} duplicate answer" in status and "included in the cost" in status


async def test_batches_on_course_are_left_to_finish(tmp_path):
    path = write_hybrid_project(tmp_path, n=10)
    app = batch_sim(batch_validation_s=30, batch_queue_s=0, batch_lines_per_s=1, batch_finalizing_s=30)
    finished, rec, _ = await run_batch(path, app)
    assert (finished.done, finished.exit_code) == (10, EXIT_OK)
    assert [e.lane for e in rec.of(ev.LaneChanged)] == ["batch"]
    assert app.stats.answered == 0


async def test_a_deadline_too_short_for_a_batch_starts_in_realtime(tmp_path):
    path = write_hybrid_project(tmp_path, n=10, deadline="90s")
    app = batch_sim(**SLOW_BATCHES)
    finished, rec, _ = await run_batch(path, app)
    assert (finished.done, finished.exit_code) == (10, EXIT_OK)
    assert [e.lane for e in rec.of(ev.LaneChanged)] == ["standard"]
    assert app.batch_api.book.all() == [] and app.stats.answered == 10


@pytest.fixture
def flex_sold(monkeypatch):
    """gpt-4o-mini sold at flex at batch prices (as OpenAI sells flex where it does)."""
    from dataclasses import replace

    from oaib_tui import pricing

    standard = pricing.PRICE_TABLE["gpt-4o-mini"]
    monkeypatch.setitem(pricing.PRICE_TABLE, "gpt-4o-mini", replace(standard, flex=standard.for_tier("batch")))


async def test_the_rest_moves_to_flex_when_flex_can_still_make_it(tmp_path, flex_sold, monkeypatch):
    from oaib_tui.hybrid.lanes import TierSender

    tiers: list[str] = []
    send = TierSender.send

    async def spy(self, url, body, timeout_s):
        tiers.append(self.tier)
        return await send(self, url, body, timeout_s)

    monkeypatch.setattr(TierSender, "send", spy)
    path = write_hybrid_project(tmp_path, flex=True, flex_latency_s=5)
    app = batch_sim(**SLOW_BATCHES)
    finished, rec, _ = await run_batch(path, app)
    assert tiers and set(tiers) == {"flex"} and len(tiers) == app.stats.answered
    assert (finished.done, finished.exit_code) == (40, EXIT_OK)
    assert [e.lane for e in rec.of(ev.LaneChanged)] == ["batch", "flex"]
    [batch] = app.batch_api.book.all()
    assert batch.completed + app.stats.answered == 40 and app.stats.answered > 0
    all_batch, _ = costs_at_every_tier(recorded_items(path))
    assert finished.cost_usd == pytest.approx(all_batch)  # flex is charged at batch prices


async def test_without_a_flex_price_the_flex_lane_is_skipped(tmp_path):
    path = write_hybrid_project(tmp_path, n=10, deadline="90s", flex=True)
    finished, rec, _ = await run_batch(path, batch_sim(**SLOW_BATCHES))
    assert [e.lane for e in rec.of(ev.LaneChanged)] == ["standard"] and finished.done == 10


async def test_a_resumed_run_keeps_the_first_runs_deadline_and_the_live_batch(tmp_path):
    from batch_helpers import wait_for

    path = write_hybrid_project(tmp_path)
    app = batch_sim(**SLOW_BATCHES)

    async def stop_once_the_batch_is_live(job, rec):
        await wait_for(rec, lambda e: isinstance(e, ev.BatchStatusChanged) and e.status == "in_progress")
        job.engine.stop("interrupted", "stopped by the test")

    stopped, _, job = await run_batch(path, app, during=stop_once_the_batch_is_live)
    assert stopped.state == "stopped"
    kept = StateReader.open_readonly(job.store.path)
    first_deadline = kept.meta["hybrid_deadline"]
    kept.close()
    finished, _, job = await run_batch(path, app)
    assert (finished.done, finished.exit_code) == (40, EXIT_OK)
    assert len(app.batch_api.book.all()) == 1  # the live batch was found again, not made twice
    with StateReader.open_readonly(job.store.path) as reader:
        assert reader.meta["hybrid_deadline"] == first_deadline
    [batch] = app.batch_api.book.all()
    assert batch.completed + app.stats.answered == 40


async def test_parts_never_sent_as_batches_are_retired_so_a_later_run_pays_nothing_again(tmp_path):
    path = write_hybrid_project(tmp_path)
    text = path.read_text().replace("poll_s: 30", "poll_s: 30\n  max_requests: 10\n  max_enqueued_tokens: 1")
    path.write_text(text)
    app = batch_sim(**SLOW_BATCHES)
    finished, _, _ = await run_batch(path, app)
    assert (finished.done, finished.exit_code) == (40, EXIT_OK)
    batches = len(app.batch_api.book.all())
    assert 0 < batches < 4  # the enqueued-token limit held the other parts back
    paid = app.stats.answered + sum(b.completed for b in app.batch_api.book.all())
    assert paid == 40
    again, rec, _ = await run_batch(path, app)
    assert (again.done, again.exit_code) == (40, EXIT_OK)
    assert len(app.batch_api.book.all()) == batches and app.stats.answered + sum(
        b.completed for b in app.batch_api.book.all()) == 40
    assert not rec.of(ev.RequestSent)


async def test_the_spend_cap_covers_every_lane(tmp_path):
    path = write_hybrid_project(tmp_path)
    path.write_text(path.read_text().replace("max_retries: 2", "max_retries: 2\n  max_cost_usd: 0.0002"))
    app = batch_sim(**SLOW_BATCHES)
    finished, _, _ = await run_batch(path, app)
    assert (finished.state, finished.reason) == ("stopped", "budget")
    assert 0 < finished.done < 40
    assert sum(item["cost_usd"] for item in recorded_items(path)) <= 0.0002


class SlowFlex:
    """The SDK's sender, but a flex request waits `queue_s` (virtual seconds) before it reaches the server."""

    name = "sdk"

    def __init__(self, inner, queue_s: float) -> None:
        self.inner, self.queue_s = inner, queue_s

    async def send(self, url, body, timeout_s):
        import asyncio

        if body.get("service_tier") == "flex":
            await asyncio.sleep(self.queue_s)
        return await self.inner.send(url, body, timeout_s)

    async def close(self) -> None:
        await self.inner.close()


async def run_with_slow_flex(path, app, queue_s: float):
    """Run the project against `app` with flex requests held `queue_s` before they reach it."""
    from oaib_tui.engine.client import SdkSender
    from oaib_tui.job import JobRun
    from oaib_tui.sim.client import simulator_openai_client

    client = simulator_openai_client(app)
    rec: list[ev.Event] = []
    job = JobRun(load_project(path), client=client, sender=SlowFlex(SdkSender(client), queue_s),
                 consumers=[rec.append])
    try:
        finished = await job.run()
    finally:
        job.close()
        await client.close()
    return finished, rec, job


async def test_flex_gives_way_to_standard_when_its_own_pace_misses_the_deadline(tmp_path, flex_sold):
    path = write_hybrid_project(tmp_path, deadline="10m", flex=True, flex_latency_s=5, batch_min_s=1_000)
    app = batch_sim(**SLOW_BATCHES)
    finished, rec, _ = await run_with_slow_flex(path, app, 700)
    started = next(e for e in rec if isinstance(e, ev.RunStarted)).at
    assert [e.lane for e in rec if isinstance(e, ev.LaneChanged)] == ["flex", "standard"]
    assert (finished.done, finished.exit_code) == (40, EXIT_OK)
    assert finished.at - started <= 600
    assert app.stats.answered == 40  # the abandoned flex requests never reached the server
    dropped = [e.message for e in rec if isinstance(e, ev.Notice) and "still unanswered" in e.message]
    assert len(dropped) == 1  # flex's requests in flight were waited for until the deadline needed them


async def test_flex_requests_in_flight_when_flex_gives_way_are_answered_once_not_sent_again(tmp_path, flex_sold):
    path = write_hybrid_project(tmp_path, deadline="10m", flex=True, flex_latency_s=5, batch_min_s=1_000)
    path.write_text(path.read_text().replace("max_retries: 2", "max_retries: 2\n  concurrency: 10"))
    app = batch_sim(**SLOW_BATCHES)
    # A wave of 10 flex answers every 150 s: too slow for 40 items by the deadline.
    finished, rec, job = await run_with_slow_flex(path, app, 150)
    started = next(e for e in rec if isinstance(e, ev.RunStarted)).at
    switched = next(e for e in rec if isinstance(e, ev.LaneChanged) and e.lane == "standard").at
    assert [e.lane for e in rec if isinstance(e, ev.LaneChanged)] == ["flex", "standard"]
    assert (finished.done, finished.exit_code) == (40, EXIT_OK) and finished.at - started <= 600
    answers = [e for e in rec if isinstance(e, ev.RequestSucceeded)]
    flex_late = [e for e in answers if e.tier == "flex" and e.at > switched]
    assert flex_late, "flex requests in flight at the switch answered after it"
    # Every item reached the server once: no flex request was dropped and sent again through standard.
    assert app.stats.answered == 40 and len(answers) == 40 and len({e.custom_id for e in answers}) == 40
    assert not [e for e in rec if isinstance(e, ev.DuplicateAnswer)]
    sent = [e.custom_id for e in rec if isinstance(e, ev.RequestSent)]
    assert len(sent) == 40
    accounting = account(job.store.path, job.store.identity)
    assert (accounting.done, accounting.duplicates, accounting.all_answered) == (40, 0, True)


def test_the_status_line_names_the_lane():
    from oaib_tui.headless import status_line
    from oaib_tui.progress import Progress

    progress = Progress()
    progress.handle(ev.RunStarted(project="p", model="m", endpoint="/v1/chat/completions", mode="hybrid",
                                  resumed_done=0, resumed_failed=0, total_known=4, at=0.0))
    progress.handle(ev.LaneChanged(lane="batch", items=4, reason="", at=0.0))
    assert status_line(progress).startswith("lane batch │") and "batches" in status_line(progress)
    progress.handle(ev.LaneChanged(lane="standard", items=4, reason="", at=1.0))
    assert status_line(progress).startswith("lane standard │") and "RPM" in status_line(progress)
    progress.handle(ev.DuplicateAnswer(custom_id="a", lane="batch", usage=ev.Usage(), cost_usd=0.25, at=2.0))
    assert (progress.duplicates, progress.cost_usd) == (1, 0.25)


async def test_cancel_in_the_batch_lane_cancels_the_batches_and_keeps_what_they_finished(tmp_path):
    from batch_helpers import wait_for

    path = write_hybrid_project(tmp_path)
    app = batch_sim(**{**SLOW_BATCHES, "batch_queue_s": 0})

    async def cancel_once_answers_come(job, rec):
        await wait_for(rec, lambda e: isinstance(e, ev.BatchCountsChanged) and e.completed >= 5)
        job.engine.cancel()

    finished, _, _ = await run_batch(path, app, during=cancel_once_answers_come)
    [batch] = app.batch_api.book.all()
    assert (finished.state, finished.reason, batch.status) == ("stopped", "cancelled", "cancelled")
    assert finished.done == batch.completed >= 5 and app.stats.answered == 0


def test_items_moved_out_of_a_cancelled_batch_are_not_retries_in_hybrid_mode():
    from oaib_tui.progress import Progress

    def after_a_cancelled_batch(mode: str) -> Progress:
        progress = Progress()
        progress.handle(ev.RunStarted(project="p", model="m", endpoint="/v1/chat/completions", mode=mode,
                                      resumed_done=0, resumed_failed=0, total_known=2, at=0.0))
        for seq in (0, 1):
            progress.handle(ev.RequestSent(custom_id=f"i{seq}", seq=seq, attempt=1, reserved_tokens=10, at=1.0))
            progress.handle(ev.RetryScheduled(f"i{seq}", seq, 1, "batch_cancelled", None, 0.0, "not run", 2.0))
        return progress

    hybrid, batch = after_a_cancelled_batch("hybrid"), after_a_cancelled_batch("batch")
    assert (hybrid.moved, hybrid.retries, hybrid.retrying, hybrid.queued, hybrid.in_flight) == (2, 0, 0, 2, 0)
    assert not hybrid.problems
    assert (batch.moved, batch.retries, batch.retrying) == (0, 2, 2)
