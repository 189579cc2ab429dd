"""Batch-mode projects, run in-process against the simulator on the loop's clock (virtual time with looptime)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
from job_helpers import Recorder, read_jsonl, sim_on_loop_clock, write_batch_project

from oaib_tui import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.app import SimulatorApp
from oaib_tui.sim.client import IN_PROCESS_BASE_URL, simulator_http_client
from oaib_tui.state.batches import Part, read_parts
from oaib_tui.state.reader import StateReader

__all__ = ["Recorder", "batch_sim", "parts_of", "read_jsonl", "run_batch", "wait_for", "write_batch_project"]

batch_sim = sim_on_loop_clock  # under looptime a 24 h batch takes no real time


async def run_batch(path: Path, app: SimulatorApp, *, fresh: bool = False, retry_failed: bool = False,
                    during=None, transport: httpx2.AsyncBaseTransport | None = None,
                    ) -> tuple[ev.RunFinished, Recorder, JobRun]:
    """Run a project once against `app` (through `transport` if given); `during(job, recorder)` runs beside it.

    The store is closed after.
    """
    recorder = Recorder()
    http = (simulator_http_client(app) if transport is None
            else httpx2.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL))
    job = JobRun(load_project(path), fresh=fresh, http_client=http, consumers=[recorder], retry_failed=retry_failed)
    try:
        run = asyncio.ensure_future(job.run())
        if during is not None:
            await during(job, recorder)
        finished = await run
        job.write_outputs()
    finally:
        job.close()
    return finished, recorder, job


async def wait_for(rec: Recorder, predicate, timeout: float = 3600) -> None:
    """Until an event recorded so far satisfies `predicate` (virtual seconds under looptime)."""
    async with asyncio.timeout(timeout):
        while not any(predicate(e) for e in rec.events):
            await asyncio.sleep(1)


def parts_of(path: Path) -> list[Part]:
    project = load_project(path)
    with StateReader.open_readonly(project.state_path) as reader:
        return read_parts(reader)
