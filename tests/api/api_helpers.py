"""Jobs built from Python against the in-process simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from oaib_tui import Job
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import SimulatorApp, create_app
from oaib_tui.sim.client import simulator_openai_client

FAST = {"latency_ms": 0, "seed": 1, "rpm": 100_000, "tpm": 10_000_000}


def sim(**settings: Any) -> SimulatorApp:
    """A simulator on the running loop's clock (virtual time under looptime); generous limits by default."""
    return create_app(SimulatorSettings(**{**FAST, **settings}), clock=asyncio.get_running_loop().time)


def chat_job(tmp_path: Path, app: SimulatorApp, n: int = 10, **options: Any) -> Job:
    """A quiet chat job of `n` requests, `row-<i>` with metadata {"i": i, "word": "w<i>"}, sent to `app`."""
    settings = {"state": tmp_path / "out" / "t.state.db", "quiet": True, "limits": {"concurrency": 4}, **options}
    job = Job("gpt-4o-mini", client=simulator_openai_client(app), **settings)
    for i in range(n):
        job.add(messages=[{"role": "user", "content": f"Say w{i}"}], max_tokens=12,
                custom_id=f"row-{i}", metadata={"i": i, "word": f"w{i}"})
    return job


def ids(results) -> list[str]:
    return [result.custom_id for result in results]
