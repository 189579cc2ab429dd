"""The enqueued-token limit, cancellation and the budget cap in batch mode, on virtual time."""

from __future__ import annotations

import pytest
from batch_helpers import (
    batch_sim,
    parts_of,
    read_jsonl,
    run_batch,
    wait_for,
    write_batch_project,
)

from oaib_tui import events as ev
from oaib_tui import tokens
from oaib_tui.errors import EXIT_INTERRUPTED, EXIT_STOPPED
from oaib_tui.sim.client import simulator_openai_client

pytestmark = pytest.mark.looptime

MESSAGE = [{"role": "user", "content": "Say w1"}]
PART_TOKENS = 5 * tokens.prompt_tokens("/v1/chat/completions", {"messages": MESSAGE}, "gpt-4o-mini")


def refusals(app) -> list:
    return [b for b in app.batch_api.book.all() if b.errors and b.errors[0]["code"] == "token_limit_exceeded"]


async def test_the_enqueued_token_limit_is_learned_and_later_parts_wait_for_room(tmp_path):
    path = write_batch_project(tmp_path, n=15, batch={"max_requests": 5})
    app = batch_sim(batch_enqueued_tokens=PART_TOKENS + 5)
    finished, rec, job = await run_batch(path, app)
    assert finished.done == 15 and finished.failed == 0
    assert len(refusals(app)) == 2  # the second and third parts, created before the limit was known
    assert any(f"limit {PART_TOKENS + 5:,} tokens" in e.message for e in rec.of(ev.Notice))
    assert not rec.of(ev.RetryScheduled) and all(p.phase == "downloaded" for p in parts_of(path))
    assert [r["custom_id"] for r in read_jsonl(job.project.results_path)] == [f"item-{i}" for i in range(15)]


async def test_a_configured_enqueued_token_limit_is_never_exceeded(tmp_path):
    path = write_batch_project(tmp_path, n=15, batch={"max_requests": 5, "max_enqueued_tokens": PART_TOKENS + 5})
    app = batch_sim(batch_enqueued_tokens=PART_TOKENS + 5)
    finished, _, _ = await run_batch(path, app)
    assert finished.done == 15 and refusals(app) == [] and len(app.batch_api.book.all()) == 3


async def test_cancel_downloads_what_was_finished_and_the_next_run_sends_the_rest(tmp_path):
    path = write_batch_project(tmp_path, n=20, batch={"poll_s": 2})
    app = batch_sim(batch_validation_s=0, batch_lines_per_s=1, batch_finalizing_s=5)

    async def cancel_midway(job, rec):
        await wait_for(rec, lambda e: isinstance(e, ev.BatchCountsChanged) and e.completed >= 5)
        job.engine.cancel()

    finished, rec, job = await run_batch(path, app, during=cancel_midway)
    assert (finished.state, finished.reason, finished.exit_code) == ("stopped", "cancelled", EXIT_INTERRUPTED)
    [downloaded] = rec.of(ev.BatchDownloaded)
    assert 5 <= downloaded.succeeded < 20 and finished.done == downloaded.succeeded
    assert finished.pending == 20 - downloaded.succeeded and not rec.of(ev.BatchResubmitted)
    first = {r["custom_id"] for r in read_jsonl(job.project.results_path)}

    finished, rec, job = await run_batch(path, app)
    assert finished.state == "finished" and finished.done == 20
    [resubmitted] = rec.of(ev.BatchResubmitted)
    assert resubmitted.items == 20 - len(first)
    ids = [r["custom_id"] for r in read_jsonl(job.project.results_path)]
    assert ids == [f"item-{i}" for i in range(20)] and app.batch_api.stats.batches_created == 2


async def test_a_cancel_from_elsewhere_stops_the_run_once_the_batch_is_downloaded(tmp_path):
    path = write_batch_project(tmp_path, n=20, batch={"poll_s": 2})
    app = batch_sim(batch_validation_s=0, batch_lines_per_s=1)

    async def cancel_remotely(job, rec):
        await wait_for(rec, lambda e: isinstance(e, ev.BatchCountsChanged) and e.completed >= 3)
        client = simulator_openai_client(app)
        await client.batches.cancel(rec.of(ev.BatchCreated)[0].batch_id)
        await client.close()

    finished, rec, _ = await run_batch(path, app, during=cancel_remotely)
    assert (finished.state, finished.reason) == ("stopped", "cancelled")
    assert "cancelled" in [e.status for e in rec.of(ev.BatchStatusChanged)]
    assert rec.of(ev.BatchDownloaded)[0].succeeded == finished.done >= 3


async def test_the_budget_cap_stops_before_a_batch_that_could_exceed_it(tmp_path):
    path = write_batch_project(tmp_path, n=20, batch={"max_requests": 5}, limits={"max_cost_usd": 0.00001})
    app = batch_sim()
    finished, rec, _ = await run_batch(path, app)
    assert (finished.state, finished.reason, finished.exit_code) == ("stopped", "budget", EXIT_STOPPED)
    assert len(rec.of(ev.BatchCreated)) < 4


async def test_the_budget_cap_counts_the_batches_an_earlier_run_left_live(tmp_path):
    from oaib_tui.forecast import forecast
    from oaib_tui.project import RequestPlan, load_project

    spec = {"n": 8, "batch": {"max_requests": 4}}
    (tmp_path / "sizing").mkdir()
    unlimited = load_project(write_batch_project(tmp_path / "sizing", **spec))
    both_parts = forecast(unlimited, RequestPlan(unlimited)).batch_cost_usd
    path = write_batch_project(tmp_path, **spec, limits={"max_cost_usd": 0.75 * both_parts})  # one part fits
    app = batch_sim(batch_lines_per_s=0.001)  # the first batch stays live through both runs

    first, _, _ = await run_batch(path, app)
    second, _, _ = await run_batch(path, app)
    assert (first.reason, second.reason) == ("budget", "budget")
    assert app.batch_api.stats.batches_created == 1
    assert [p.phase for p in parts_of(path)] == ["submitted", "uploaded"]
