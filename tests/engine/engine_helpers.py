"""Building small projects and running them against the in-process simulator."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from oaib_tui.engine import events as ev
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.client import simulator_http_client


def write_project(tmp_path: Path, n: int = 10, **overrides: Any) -> Path:
    """A chat project over `n` inline records; keyword arguments override top-level keys."""
    spec: dict[str, Any] = {
        "name": "t",
        "model": "gpt-4o-mini",
        "mode": "auto",
        "provider": {"kind": "simulator"},
        "limits": {"concurrency": 8, "max_retries": 3, "timeout_s": 10},
        "sources": [{"items": [{"n": i, "word": f"w{i}"} for i in range(n)], "id": "item-{n}"}],
        "request": {"max_tokens": 20, "messages": [{"role": "user", "content": "Say {word}"}]},
        "output": {"keep": ["word"]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@dataclass
class Recorder:
    events: list[ev.Event] = field(default_factory=list)

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def sim_app(**settings: Any):
    """A simulator on the running loop's clock, so that virtual time (looptime) moves it too."""
    base = {"latency_ms": 0, "seed": 1}
    return create_app(SimulatorSettings(**{**base, **settings}), clock=asyncio.get_running_loop().time)


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


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
