"""What engine and batch tests share: small project files, a simulator on the loop's clock, an event recorder."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml

from oaib_tui import events as ev
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import SimulatorApp, create_app


def write_project_file(tmp_path: Path, spec: dict[str, Any], overrides: dict[str, Any]) -> Path:
    """`spec` with `overrides` merged in (one level deep for mappings), written as tmp_path/project.yaml."""
    merged = dict(spec)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return path


def inline_items(n: int) -> list[dict[str, Any]]:
    return [{"items": [{"n": i, "word": f"w{i}"} for i in range(n)], "id": "item-{n}"}]


def sim_on_loop_clock(**settings: Any) -> SimulatorApp:
    """A simulator on the running loop's clock, so that virtual time (looptime) moves it too."""
    base = {"latency_ms": 0, "seed": 1}
    return create_app(SimulatorSettings(**{**base, **settings}), clock=asyncio.get_running_loop().time)


@dataclass
class Recorder:
    events: list[ev.Event] = field(default_factory=list)

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Outage(httpx2.AsyncBaseTransport):
    """The in-process simulator, until the network goes: then every connection is refused."""

    def __init__(self, app: SimulatorApp, up_for: int) -> None:
        self.inner = httpx2.ASGITransport(app=app)
        self.up_for = up_for
        self.requests = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        if self.requests > self.up_for:
            raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)
