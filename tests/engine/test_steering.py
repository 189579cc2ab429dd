"""The engine contract both executors keep: steering a realtime run as a batch run is steered."""

from __future__ import annotations

import pytest
from engine_helpers import Recorder, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_INTERRUPTED
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

pytestmark = pytest.mark.looptime


async def _run_cancelled_after(tmp_path, answers: int) -> tuple[ev.RunFinished, Recorder]:
    path = write_project(tmp_path, n=30, limits={"concurrency": 2})
    recorder = Recorder()
    job: JobRun | None = None

    def cancel_after(event: ev.Event) -> None:
        recorder(event)
        succeeded = len(recorder.of(ev.RequestSucceeded))
        if isinstance(event, ev.RequestSucceeded) and succeeded == answers and job is not None and job.engine:
            job.engine.cancel()

    job = JobRun(load_project(path), http_client=simulator_http_client(sim_app(latency_ms=50)),
                 consumers=[cancel_after])
    try:
        finished = await job.run()
    finally:
        job.close()
    return finished, recorder


async def test_cancelling_a_realtime_run_stops_it_as_cancelled_and_leaves_the_rest_for_a_resume(tmp_path):
    finished, rec = await _run_cancelled_after(tmp_path, answers=5)
    assert (finished.state, finished.reason, finished.exit_code) == ("stopped", "cancelled", EXIT_INTERRUPTED)
    assert [e.reason for e in rec.of(ev.RunStopping)] == ["cancelled"]
    assert 5 <= finished.done < 30


async def test_a_realtime_run_is_never_draining_and_is_stopping_once_stopped(tmp_path):
    path = write_project(tmp_path, n=4)
    job = JobRun(load_project(path), http_client=simulator_http_client(sim_app()))
    seen: list[tuple[bool, bool]] = []

    def steer(event: ev.Event) -> None:
        if isinstance(event, ev.RequestSucceeded) and job.engine is not None and not seen:
            seen.append((job.engine.stopping, job.engine.draining))
            job.engine.stop()
            seen.append((job.engine.stopping, job.engine.draining))

    job.consumers.append(steer)
    try:
        await job.run()
    finally:
        job.close()
    assert seen == [(False, False), (True, False)]
