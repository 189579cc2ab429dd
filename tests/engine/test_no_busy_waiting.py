"""While a bucket or a 429 pause holds every request, the engine sleeps until the next grant (virtual time).

A dispatcher that polled would sleep thousands of times over these holds (the shortest sleep is 1 ms);
one that sleeps until the next grant sleeps a few times per request.
"""

from __future__ import annotations

import pytest
from engine_helpers import Recorder, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.engine.steering import Steering
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

pytestmark = pytest.mark.looptime


async def run_counting_sleeps(path, app, monkeypatch) -> tuple[ev.RunFinished, list[float | None], float]:
    sleeps: list[float | None] = []
    sleep = Steering._sleep_until_poked

    async def counted(self, timeout=None):
        sleeps.append(timeout)
        await sleep(self, timeout)

    monkeypatch.setattr(Steering, "_sleep_until_poked", counted)
    recorder = Recorder()
    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[recorder])
    try:
        finished = await job.run()
    finally:
        job.close()
    started, ended = recorder.of(ev.RunStarted)[0].at, finished.at
    return finished, sleeps, ended - started


async def test_a_request_bucket_that_holds_every_request_is_slept_through_not_polled(tmp_path, monkeypatch):
    path = write_project(tmp_path, n=12, limits={"concurrency": 4})
    finished, sleeps, elapsed = await run_counting_sleeps(path, sim_app(rpm=60, tpm=10_000_000, bucket_s=1), monkeypatch)
    assert finished.done == 12
    assert elapsed >= 8  # one request a second after the first: the bucket held the run most of the time
    assert len(sleeps) <= 4 * 12


async def test_an_answer_that_brings_no_grant_closer_leaves_the_dispatcher_asleep(tmp_path, monkeypatch):
    """Held by the request bucket, the dispatcher sleeps once per request: until the next grant. An answer
    arriving meanwhile (its headers say nothing new) used to wake it to go back to sleep: twice per request."""
    path = write_project(tmp_path, n=30, limits={"concurrency": 4})
    app = sim_app(rpm=60, tpm=10_000_000, bucket_s=1, latency_ms=300)
    finished, sleeps, elapsed = await run_counting_sleeps(path, app, monkeypatch)
    assert finished.done == 30
    assert 28 <= elapsed < 30.5  # one a second: no grant came later for the dispatcher sleeping through answers
    assert len(sleeps) <= 30 + 3


async def test_a_429_pause_is_slept_through_not_polled(tmp_path, monkeypatch):
    path = write_project(tmp_path, n=6, limits={"concurrency": 2})
    app = sim_app(rpm=6, tpm=10_000_000, bucket_s=10)  # the scripted 429s ask for the bucket's refill: ~10 s
    app.inject("ok", "429-requests", "429-requests")
    finished, sleeps, elapsed = await run_counting_sleeps(path, app, monkeypatch)
    assert finished.done == 6
    assert elapsed >= 10
    assert len(sleeps) <= 4 * 6 + 4
