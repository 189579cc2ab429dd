"""What holds sending back, as the engine reports it (PaceObserved), in each situation; on virtual time."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from engine_helpers import Recorder, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

pytestmark = pytest.mark.looptime

GENEROUS = {"rpm": 100_000, "tpm": 10_000_000}


async def reports(path, app, steer=None) -> list[ev.PaceObserved]:
    """The PaceObserved events of one run; `steer(job, event)` sees every event as it comes."""
    recorder = Recorder()
    job = JobRun(load_project(path), http_client=simulator_http_client(app), consumers=[recorder])
    if steer:
        job.consumers.append(lambda event: steer(job, event))
    try:
        await job.run()
    finally:
        job.close()
    return recorder.of(ev.PaceObserved)


def most_said(paces: list[ev.PaceObserved]) -> str:
    return Counter(p.holdup for p in paces).most_common(1)[0][0]


async def test_a_token_limit_binds_with_the_token_bucket_and_its_refill(tmp_path):
    path = write_project(tmp_path, n=40)
    paces = await reports(path, sim_app(rpm=100_000, tpm=6_000, bucket_s=1))
    assert most_said(paces) == "tokens"
    binding = next(p.binding for p in paces if p.holdup == "tokens")
    assert binding is not None and (binding.kind, binding.refill_per_s) == ("tokens", 100)
    # The capacity is learned from headers that round `remaining` to a token and `reset` to a millisecond:
    # the median of a few such readings lands within half a token of the server's 100.
    assert binding.capacity == pytest.approx(100, abs=0.5)


async def test_a_request_limit_binds_with_the_requests_bucket(tmp_path):
    path = write_project(tmp_path, n=20)
    paces = await reports(path, sim_app(rpm=120, tpm=10_000_000, bucket_s=1))
    assert most_said(paces) == "requests"
    assert all(p.binding.kind == "requests" and p.binding.refill_per_s == 2 for p in paces if p.holdup == "requests")


async def test_the_concurrency_cap_binds_when_answers_are_slow_and_the_limits_generous(tmp_path):
    path = write_project(tmp_path, n=12, limits={"concurrency": 2})
    paces = await reports(path, sim_app(latency_ms=1_000, **GENEROUS))
    assert most_said(paces) == "concurrency"
    assert {p.concurrency for p in paces} == {2}


async def test_a_429_pause_is_reported_with_the_time_it_has_left(tmp_path):
    path = write_project(tmp_path, n=3, limits={"concurrency": 1})
    app = sim_app(rpm=100_000, tpm=600)  # a forced 429 for ~30 tokens asks for a 3 s wait at 10 tokens/s
    app.inject("429-tokens")
    paces = [p for p in await reports(path, app) if p.holdup == "rate-limited"]
    assert len(paces) >= 8  # every quarter second of the pause
    assert paces[0].wait_s > 2.5 and paces[0].wait_s > paces[1].wait_s > paces[-1].wait_s >= 0


async def test_a_pause_by_the_user_is_reported(tmp_path):
    path = write_project(tmp_path, n=10, limits={"concurrency": 1})

    def pause_once(job, event):
        if isinstance(event, ev.RequestSucceeded) and event.seq == 2:
            job.engine.pause()
            asyncio.get_running_loop().call_later(2.0, job.engine.resume)

    paces = await reports(path, sim_app(latency_ms=100, **GENEROUS), steer=pause_once)
    assert [p.holdup for p in paces].count("paused") >= 7


async def test_a_budget_stop_is_reported_while_the_requests_in_flight_finish(tmp_path):
    path = write_project(tmp_path, n=10, limits={"concurrency": 4, "max_cost_usd": 0.00004})
    paces = await reports(path, sim_app(latency_ms=1_000, **GENEROUS))
    assert paces and paces[-1].holdup == "budget"


async def test_learning_the_limits_is_reported_until_the_first_answer(tmp_path):
    path = write_project(tmp_path, n=4)
    paces = await reports(path, sim_app(latency_ms=1_000, **GENEROUS))
    assert [p.holdup for p in paces[:3]] == ["starting"] * 3
    assert paces[0].buckets == ()  # the limits are not known yet


async def test_a_retry_back_off_is_reported_when_nothing_else_is_left(tmp_path):
    path = write_project(tmp_path, n=1)
    app = sim_app(**GENEROUS)
    app.inject("503", "503")
    paces = await reports(path, app)
    assert paces and {p.holdup for p in paces} == {"retries"}
    assert all(p.wait_s > 0 for p in paces)


async def test_the_last_answers_are_reported_once_everything_is_sent(tmp_path):
    path = write_project(tmp_path, n=2)
    paces = await reports(path, sim_app(latency_ms=1_000, **GENEROUS))
    assert paces and paces[-1].holdup == "answers"
