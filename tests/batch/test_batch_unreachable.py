"""Batch mode against a provider that cannot be reached: the run stops (exit 3) instead of retrying for ever."""

from __future__ import annotations

import asyncio

import pytest
from batch_helpers import batch_sim, parts_of, run_batch, write_batch_project
from job_helpers import Outage

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_OK, EXIT_STOPPED

pytestmark = pytest.mark.looptime


async def test_a_provider_never_reached_stops_the_run_and_the_resume_finishes(tmp_path):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    down = Outage(app, up_for=0)
    finished, recorder, _ = await run_batch(path, app, transport=down)
    assert (finished.state, finished.exit_code, finished.failed) == ("stopped", EXIT_STOPPED, 0)
    [stopping] = recorder.of(ev.RunStopping)
    assert stopping.reason == "unreachable"
    assert "cannot connect to the API at http://simulator.local/v1" in stopping.message
    assert down.requests == 3  # the upload, tried three times
    assert [part.phase for part in parts_of(path)] == ["uploading"]

    finished, _, _ = await run_batch(path, app)
    assert (finished.state, finished.exit_code, finished.done) == ("finished", EXIT_OK, 6)


async def test_a_provider_lost_mid_run_is_waited_for(tmp_path):
    # Once it has answered, a provider that stops answering is waited for: its batches live on there.
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    flaky = Outage(app, up_for=2)  # the upload and the creation get through, then the polls fail

    async def restore(job, recorder) -> None:
        while flaky.requests < 12:
            await asyncio.sleep(10)
        flaky.up_for = 10**9

    finished, recorder, _ = await run_batch(path, app, transport=flaky, during=restore)
    assert (finished.state, finished.exit_code, finished.done) == ("finished", EXIT_OK, 6)
    assert not [e for e in recorder.of(ev.RunStopping) if e.reason == "unreachable"]
    assert any("keeps failing" in e.message for e in recorder.of(ev.Notice))
