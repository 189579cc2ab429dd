"""Batch mode, after a cancel: `r` (retry failed) sends exactly the failed requests, and says first what stays to do."""

from __future__ import annotations

import pytest
from batch_helpers import batch_sim, read_jsonl, run_batch, wait_for, write_batch_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_INTERRUPTED, EXIT_SOME_FAILED

pytestmark = pytest.mark.looptime


@pytest.mark.parametrize("on_expired", ["resubmit", "realtime"])
async def test_retry_after_a_cancel_sends_the_failed_ones_not_those_the_cancel_left(tmp_path, on_expired):
    path = write_batch_project(tmp_path, n=20, batch={"poll_s": 2}, limits={"max_retries": 0})
    app = batch_sim(batch_validation_s=0, batch_lines_per_s=1, batch_finalizing_s=5, batch_line_fail_rate=1.0)

    async def cancel_midway(job, rec):
        await wait_for(rec, lambda e: isinstance(e, ev.BatchCountsChanged) and e.failed >= 5)
        job.engine.cancel()

    cancelled, _, _ = await run_batch(path, app, during=cancel_midway)
    assert (cancelled.state, cancelled.reason, cancelled.exit_code) == ("stopped", "cancelled", EXIT_INTERRUPTED)
    failed, left = cancelled.failed, 20 - cancelled.failed
    assert cancelled.done == 0 and 5 <= failed < 20

    app.update(batch_line_fail_rate=0.0)
    # The retried items of a downloaded batch go into a new batch, or with on_expired: realtime, to the realtime API.
    write_batch_project(tmp_path, n=20, batch={"poll_s": 2, "on_expired": on_expired}, limits={"max_retries": 0})
    retried, rec, job = await run_batch(path, app, retry_failed=True)
    notes = [n.message for n in rec.of(ev.Notice)]
    assert f"retrying exactly the {failed} failed requests; {left} requests left to do stay for the next run" in notes
    assert sum(e.items for e in rec.of(ev.BatchResubmitted)) == failed  # not the ones the cancel left
    assert (retried.done, retried.failed) == (failed, 0)
    assert retried.exit_code == EXIT_SOME_FAILED
    assert retried.message == f"retried: {failed} answered, 0 failed; {left} requests left to do stay for the next run"
    answered = {r["custom_id"] for r in read_jsonl(job.project.results_path)}
    assert len(answered) == failed

    resumed, rec, job = await run_batch(path, app)
    assert any(f"resuming: {left} requests an earlier run left unanswered" in n.message for n in rec.of(ev.Notice))
    assert (resumed.state, resumed.done, resumed.failed) == ("finished", 20, 0)
    assert [r["custom_id"] for r in read_jsonl(job.project.results_path)] == [f"item-{i}" for i in range(20)]
