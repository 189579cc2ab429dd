"""Building small projects and running them against the in-process simulator."""

from __future__ import annotations

from pathlib import Path

from job_helpers import Recorder, read_jsonl, sim_on_loop_clock, write_project

from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

__all__ = ["Recorder", "read_jsonl", "run_job", "sim_app", "write_project"]


sim_app = sim_on_loop_clock


async def run_job(path: Path, app, *, fresh: bool = False, on_event=None, retry_failed: bool = False):
    """Run a project file once against `app`; returns (RunFinished, Recorder, JobRun) with the store closed."""
    recorder = Recorder()
    consumers = [recorder] + ([on_event] if on_event else [])
    job = JobRun(load_project(path), fresh=fresh, http_client=simulator_http_client(app),
                 consumers=consumers, retry_failed=retry_failed)
    try:
        finished = await job.run()
        job.write_outputs()
    finally:
        job.close()
    return finished, recorder, job
