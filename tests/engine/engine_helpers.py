"""Building small projects and running them against the in-process simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from job_helpers import (
    Recorder,
    inline_items,
    read_jsonl,
    sim_on_loop_clock,
    write_project_file,
)

from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

__all__ = ["Recorder", "read_jsonl", "run_job", "sim_app", "write_project"]


def write_project(tmp_path: Path, n: int = 10, **overrides: Any) -> Path:
    """A chat project over `n` inline records; keyword arguments override top-level keys."""
    spec: dict[str, Any] = {
        "name": "t",
        "model": "gpt-4o-mini",
        "mode": "auto",
        "provider": {"kind": "simulator"},
        "limits": {"concurrency": 8, "max_retries": 3, "timeout_s": 10},
        "sources": inline_items(n),
        "request": {"max_tokens": 20, "messages": [{"role": "user", "content": "Say {word}"}]},
        "output": {"keep": ["word"]},
    }
    return write_project_file(tmp_path, spec, overrides)


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
