"""Batch mode against a provider that cannot be reached: the run stops (exit 3) instead of retrying for ever."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from job_helpers import Outage, Recorder
from oaib_tui.engine import events as ev
from oaib_tui.errors import EXIT_OK, EXIT_STOPPED
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import IN_PROCESS_BASE_URL

from batch_helpers import batch_sim, parts_of, write_batch_project

pytestmark = pytest.mark.looptime


async def run(path, transport, during=None) -> tuple[ev.RunFinished, Recorder]:
    """Run once over `transport`; `during(transport)` runs beside it."""
    recorder = Recorder()
    job = JobRun(load_project(path), consumers=[recorder],
                 http_client=httpx2.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL))
    try:
        running = asyncio.ensure_future(job.run())
        if during is not None:
            await during(transport)
        return await running, recorder
    finally:
        job.close()


async def test_a_provider_never_reached_stops_the_run_and_the_resume_finishes(tmp_path):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    down = Outage(app, up_for=0)
    finished, recorder = await run(path, down)
    assert (finished.state, finished.exit_code, finished.failed) == ("stopped", EXIT_STOPPED, 0)
    [stopping] = recorder.of(ev.RunStopping)
    assert stopping.reason == "unreachable"
    assert "cannot connect to the API at http://simulator.local/v1" in stopping.message
    assert down.requests == 3  # the upload, tried three times
    assert [part.phase for part in parts_of(path)] == ["uploading"]

    finished, _ = await run(path, Outage(app, up_for=10**9))
    assert (finished.state, finished.exit_code, finished.done) == ("finished", EXIT_OK, 6)


async def test_a_provider_lost_mid_run_is_waited_for(tmp_path):
    # Once it has answered, a provider that stops answering is waited for: its batches live on there.
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    flaky = Outage(app, up_for=2)  # the upload and the creation get through, then the polls fail

    async def restore(transport: Outage) -> None:
        while transport.requests < 12:
            await asyncio.sleep(10)
        transport.up_for = 10**9

    finished, recorder = await run(path, flaky, restore)
    assert (finished.state, finished.exit_code, finished.done) == ("finished", EXIT_OK, 6)
    assert not [e for e in recorder.of(ev.RunStopping) if e.reason == "unreachable"]
    assert any("keeps failing" in e.message for e in recorder.of(ev.Notice))
