"""A job built in Python, in batch mode, against the simulator's Batch API on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from api_helpers import ids, sim

from oaib_tui import Job
from oaib_tui.sim.client import simulator_openai_client

pytestmark = pytest.mark.looptime

QUICK_BATCHES = {"batch_validation_s": 30, "batch_lines_per_s": 2, "batch_finalizing_s": 30}


def batch_job(tmp_path, app, n=9, **options) -> Job:
    job = Job("gpt-4o-mini", mode="batch", batch={"max_requests": 4, "poll_s": 10}, quiet=True,
              client=simulator_openai_client(app), state=tmp_path / "b.state.db", **options)
    for i in range(n):
        job.add(messages=[{"role": "user", "content": f"Say {i}"}], max_tokens=10, custom_id=f"b-{i}",
                metadata={"i": i})
    return job


async def test_a_batch_job_returns_results_in_input_order_with_metadata_at_the_batch_price(tmp_path):
    app = sim(**QUICK_BATCHES)
    results = await batch_job(tmp_path, app).run()
    assert results.state == "finished"
    assert ids(results) == [f"b-{i}" for i in range(9)]
    assert [r.metadata for r in results] == [{"i": i} for i in range(9)]
    assert all(r.ok and r.text for r in results)
    assert app.batch_api.stats.batches_created == 3
    realtime_price = sum(r.usage.prompt_tokens * 0.15 + r.usage.completion_tokens * 0.6 for r in results) / 1e6
    assert results.cost == pytest.approx(realtime_price / 2)


async def test_a_batch_job_streams_results_as_batches_end_and_resumes_by_re_attaching(tmp_path):
    app = sim(**{**QUICK_BATCHES, "batch_lines_per_s": 0.1})  # the batch of one line ends 30 s before the others
    job = batch_job(tmp_path, app)
    seen = []
    async for result in job.stream():
        seen.append(result.custom_id)
        job.stop()
    assert seen == ["b-8"]
    results = await batch_job(tmp_path, app).run()
    assert ids(results) == [f"b-{i}" for i in range(9)]
    assert app.batch_api.stats.batches_created == 3, "the live batches were re-attached, not created again"


async def test_one_batch_job_may_mix_endpoints_each_in_its_own_batches(tmp_path):
    app = sim(**QUICK_BATCHES)
    job = batch_job(tmp_path, app, n=2)
    job.add("embeddings.create", model="text-embedding-3-small", input="a line", custom_id="e-1", metadata="emb")
    results = await job.run()
    assert ids(results) == ["b-0", "b-1", "e-1"]
    assert results[2].response["data"][0]["embedding"] and results[2].metadata == "emb"
    assert app.batch_api.stats.batches_created == 2


async def test_a_hybrid_job_with_a_deadline_the_batches_miss_finishes_in_time_paying_each_request_once(tmp_path):
    app = sim(batch_validation_s=30, batch_queue_s=3_000, batch_lines_per_s=0.05, batch_finalizing_s=30)
    job = Job("gpt-4o-mini", mode="hybrid", deadline="1h", quiet=True, client=simulator_openai_client(app),
              hybrid={"flex": False, "check_s": 30, "batch_min_s": 60, "cancel_wait_s": 60},
              batch={"poll_s": 30}, limits={"rpm": 600, "tpm": 100_000}, state=tmp_path / "h.state.db")
    for i in range(40):  # a batch of 40 would take 30 + 3,000 + 800 + 30 s: longer than the hour the job has
        job.add(messages=[{"role": "user", "content": f"Say {i}"}], max_tokens=10, custom_id=f"h-{i}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await job.run()
    assert results.state == "finished" and loop.time() - started <= 3_600
    assert ids(results) == [f"h-{i}" for i in range(40)] and all(r.ok for r in results)
    [batch] = app.batch_api.book.all()
    assert batch.status == "cancelled" and batch.completed + app.stats.answered == 40  # each paid once
    assert app.stats.answered > 0


def test_a_hybrid_job_without_a_deadline_says_what_is_missing(tmp_path):
    from oaib_tui.errors import UserError

    with pytest.raises(UserError) as caught:
        Job("gpt-4o-mini", mode="hybrid", state=tmp_path / "h.state.db")
    assert "deadline" in str(caught.value) + str(getattr(caught.value, "problems", ""))
