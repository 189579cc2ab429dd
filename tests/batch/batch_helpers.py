"""Batch-mode projects, run in-process against the simulator on the loop's clock (virtual time with looptime)."""

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
from oaib_tui.sim.app import SimulatorApp, create_app
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.state.batches import Part, read_parts
from oaib_tui.state.reader import StateReader


def write_batch_project(tmp_path: Path, n: int = 10, **overrides: Any) -> Path:
    """A chat project in batch mode over `n` inline records; keyword arguments override top-level keys."""
    spec: dict[str, Any] = {
        "name": "b",
        "model": "gpt-4o-mini",
        "mode": "batch",
        "provider": {"kind": "simulator"},
        "limits": {"max_retries": 2},
        "batch": {"poll_s": 30},
        "sources": [{"items": [{"n": i, "word": f"w{i}"} for i in range(n)], "id": "item-{n}"}],
        "request": {"max_tokens": 12, "messages": [{"role": "user", "content": "Say {word}"}]},
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


def batch_sim(**settings: Any) -> SimulatorApp:
    """A simulator on the running loop's clock: under looptime a 24 h batch takes no real time."""
    base = {"latency_ms": 0, "seed": 1}
    return create_app(SimulatorSettings(**{**base, **settings}), clock=asyncio.get_running_loop().time)


@dataclass
class Recorder:
    events: list[ev.Event] = field(default_factory=list)

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


async def run_batch(path: Path, app: SimulatorApp, *, fresh: bool = False, retry_failed: bool = False,
                    during=None) -> tuple[ev.RunFinished, Recorder, JobRun]:
    """Run a project once against `app`; `during(job, recorder)` runs beside it. The store is closed after."""
    recorder = Recorder()
    job = JobRun(load_project(path), fresh=fresh, http_client=simulator_http_client(app), consumers=[recorder],
                 retry_failed=retry_failed)
    try:
        run = asyncio.ensure_future(job.run())
        if during is not None:
            await during(job, recorder)
        finished = await run
        job.write_outputs()
    finally:
        job.close()
    return finished, recorder, job


def parts_of(path: Path) -> list[Part]:
    project = load_project(path)
    with StateReader.open_readonly(project.state_path) as reader:
        return read_parts(reader)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
