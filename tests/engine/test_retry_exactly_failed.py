"""After a cancel, `r` (retry failed) sends exactly the failed requests, and any resume says first what it sends again."""

from __future__ import annotations

import pytest
from engine_helpers import sim_app, write_project
from job_helpers import Recorder

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_INTERRUPTED, EXIT_SOME_FAILED
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

pytestmark = pytest.mark.looptime


async def run(path, app, *, retry_failed=False, cancel_after=None):
    recorder = Recorder()
    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[recorder],
                 retry_failed=retry_failed)

    def cancel_when_answered(event):
        answered = len(recorder.of(ev.RequestSucceeded)) + len(recorder.of(ev.RequestFailed))
        if cancel_after is not None and answered == cancel_after and not job.engine.stopping:
            job.engine.stop("cancelled", "cancelled by the user")

    job.consumers.append(cancel_when_answered)
    try:
        finished = await job.run()
    finally:
        job.close()
    return finished, recorder


async def test_retry_after_a_cancel_sends_the_failed_ones_and_says_what_stays_to_do(tmp_path):
    path = write_project(tmp_path, n=8, limits={"concurrency": 1, "max_retries": 0})
    app = sim_app()
    app.inject("400")  # the first request fails for good
    cancelled, _ = await run(path, app, cancel_after=3)
    assert (cancelled.exit_code, cancelled.done, cancelled.failed) == (EXIT_INTERRUPTED, 2, 1)

    retried, rec = await run(path, sim_app(), retry_failed=True)
    assert [e.custom_id for e in rec.of(ev.RequestSent)] == ["item-0"]  # not the five left to do
    notes = [n.message for n in rec.of(ev.Notice)]
    assert "retrying exactly the 1 failed request; 5 requests left to do stay for the next run" in notes
    assert retried.exit_code == EXIT_SOME_FAILED
    assert retried.message == "retried: 1 answered, 0 failed; 5 requests left to do stay for the next run"

    resumed, rec = await run(path, sim_app())
    assert any("resuming: 5 requests an earlier run left unanswered" in n.message for n in rec.of(ev.Notice))
    assert sorted(e.custom_id for e in rec.of(ev.RequestSent)) == [f"item-{i}" for i in range(3, 8)]
    assert (resumed.done, resumed.exit_code) == (8, 0)
