"""What the tests that run jobs share: small project files (the one writer, with a spec for each kind of
job), a simulator on the loop's clock, an event recorder."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
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


def realtime_chat(n: int) -> dict[str, Any]:
    """A realtime chat project over `n` inline records `item-<n>`, keeping `word` (the engine tests')."""
    return {
        "name": "t",
        "model": "gpt-4o-mini",
        "mode": "auto",
        "provider": {"kind": "simulator"},
        "limits": {"concurrency": 8, "max_retries": 3, "timeout_s": 10},
        "sources": inline_items(n),
        "request": {"max_tokens": 20, "messages": [{"role": "user", "content": "Say {word}"}]},
        "output": {"keep": ["word"]},
    }


def batch_chat(n: int) -> dict[str, Any]:
    """The same records in batch mode (the batch tests')."""
    return {
        "name": "b",
        "model": "gpt-4o-mini",
        "mode": "batch",
        "provider": {"kind": "simulator"},
        "limits": {"max_retries": 2},
        "batch": {"poll_s": 30},
        "sources": inline_items(n),
        "request": {"max_tokens": 12, "messages": [{"role": "user", "content": "Say {word}"}]},
        "output": {"keep": ["word"]},
    }


def plain_chat(n: int) -> dict[str, Any]:
    """The same records with nothing but what a project must say (mode and limits at their defaults)."""
    return {
        "name": "p", "model": "gpt-4o-mini", "provider": {"kind": "simulator"},
        "sources": inline_items(n),
        "request": {"max_tokens": 12, "messages": [{"role": "user", "content": "Say {word}"}]},
        "output": {"keep": ["word"]},
    }


def write_project(folder: Path, n: int = 10, *, spec: Callable[[int], dict[str, Any]] = realtime_chat,
                  **overrides: Any) -> Path:
    """The project `spec(n)` over `n` records, keyword arguments overriding its top-level keys (one level
    deep for mappings), written as folder/project.yaml."""
    return write_project_file(folder, spec(n), overrides)


write_batch_project = functools.partial(write_project, spec=batch_chat)
"""A batch-mode chat project over `n` inline records; keyword arguments override top-level keys."""


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
