"""After a stop, each front end says how to go on in its own words; the executors state only the facts."""

from __future__ import annotations

import pytest
from batch_helpers import batch_sim, run_batch, wait_for, write_batch_project

from oaib_tui import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.report import next_steps

pytestmark = pytest.mark.looptime


async def stop_once_created(job, rec):
    await wait_for(rec, lambda _: len(rec.of(ev.BatchCreated)) >= 2, timeout=600)
    job.engine.stop()


async def test_batches_left_running_are_a_fact_for_the_executor_and_advice_for_each_front_end(tmp_path):
    path = write_batch_project(tmp_path, n=8, batch={"max_requests": 4, "poll_s": 5})
    finished, _, _ = await run_batch(path, batch_sim(batch_lines_per_s=0.5), during=stop_once_created)
    assert finished.message.endswith("; 2 batches still running at the provider")
    assert "oaib-tui" not in finished.message and "command" not in finished.message

    job = JobRun(load_project(path))
    try:
        cli, dashboard, python = (next_steps(job, finished, front) for front in ("cli", "dashboard", "python"))
    finally:
        job.close()
    assert cli == [f"Resume with: oaib-tui {path} --no-ui",
                   f"2 batches still running at the provider: `oaib-tui cancel {path}` cancels them; "
                   "a resume within 7 days of their end reads their answers"]
    assert dashboard[0] == f"Resume with: oaib-tui {path}" and dashboard[1] == cli[1]
    assert python[0] == "call run() again to resume: what is finished is skipped"
    assert python[1].startswith("2 batches still running at the provider: run() again within 7 days of their end "
                                "follows them")


async def test_a_run_that_ended_has_no_next_steps(tmp_path):
    path = write_batch_project(tmp_path, n=3, batch={"poll_s": 5})
    finished, _, _ = await run_batch(path, batch_sim())
    job = JobRun(load_project(path))
    try:
        assert finished.state == "finished" and next_steps(job, finished, "cli") == []
    finally:
        job.close()
