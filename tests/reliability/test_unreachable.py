"""A provider that cannot be reached stops the run; it never fails the items (they stay pending for the resume).

On virtual time (looptime): the retries' back-off costs no real seconds.
"""

from __future__ import annotations

import asyncio
import socket

import httpx2
import openai
import pytest
from job_helpers import Outage
from reliability_helpers import write_ledger_project

from oaib_tui import events as ev
from oaib_tui.engine.client import network_failure
from oaib_tui.errors import EXIT_OK, EXIT_STOPPED
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.client import IN_PROCESS_BASE_URL

N = 20


async def run(project, transport) -> tuple[ev.RunFinished, list[ev.Event]]:
    events: list[ev.Event] = []
    job = JobRun(load_project(project), consumers=[events.append],
                 http_client=httpx2.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL))
    try:
        return await job.run(), events
    finally:
        job.close()


@pytest.mark.looptime
@pytest.mark.parametrize("up_for", [0, 7], ids=["down from the start", "down mid-run"])
async def test_an_outage_stops_the_run_and_fails_nothing_then_the_resume_finishes(tmp_path, up_for):
    project = write_ledger_project(tmp_path, None, N, limits={"concurrency": 4, "max_retries": 4})
    app = create_app(SimulatorSettings(latency_ms=0), clock=asyncio.get_running_loop().time)
    finished, events = await run(project, Outage(app, up_for))
    assert (finished.state, finished.exit_code, finished.done, finished.failed) == ("stopped", EXIT_STOPPED, up_for, 0)
    [stopping] = [e for e in events if isinstance(e, ev.RunStopping)]
    assert stopping.reason == "unreachable" and "cannot connect to the API" in stopping.message
    assert {e.reason for e in events if isinstance(e, ev.RetryScheduled)} == {"cannot connect"}
    assert not [e for e in events if isinstance(e, ev.RequestFailed)]

    finished, _ = await run(project, Outage(app, up_for=10**9))
    assert (finished.state, finished.exit_code, finished.done, finished.failed) == ("finished", EXIT_OK, N, 0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_refused_connection_is_told_apart_from_a_timeout(transport):
    http = openai.DefaultAioHttpClient(timeout=5) if transport == "aiohttp" else httpx2.AsyncClient(timeout=5)
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{closed_port()}/v1",
                                max_retries=0, http_client=http)
    with pytest.raises(openai.APIConnectionError) as caught:
        await client.post("/chat/completions", cast_to=httpx2.Response, body={})
    await client.close()
    assert network_failure(caught.value) == "connect"
