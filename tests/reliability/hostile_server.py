"""A loopback server that misbehaves on demand, for the ledger and redaction tests.

Each request is answered by a script: a function of the request's JSON body and
its number (1-based) that returns an :class:`Answer` — any status, any body
bytes or JSON, any headers, a delay, a hang, the caller's key echoed back.
The server runs on the test's own event loop, so tests stay bounded: a hang
lasts until the client's timeout, and the server stops with the test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

KEY = "sk-proj-HOSTILEtestkey-abcdefghijklmnop0123456789"
KEY_ENV = "OAIB_HOSTILE_KEY"


def chat_answer(text: str = "ok", usage: Any = None, model: str = "gpt-4o-mini") -> dict[str, Any]:
    body: dict[str, Any] = {"id": "chatcmpl-h", "object": "chat.completion", "model": model,
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}]}
    body["usage"] = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7} if usage is None else usage
    return body


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    """A dict or list is sent as JSON, bytes as they are; None: a normal chat answer."""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False
    """Never answer (the client's timeout ends it)."""
    echo_key: bool = False
    """Put the caller's Authorization header into the error message, as some proxies do."""


Script = Callable[[dict[str, Any], int], Answer]


def well_behaved(body: dict[str, Any], number: int) -> Answer:
    return Answer()


@dataclass
class HostileServer:
    script: Script = well_behaved
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    on_request: Callable[[int], None] | None = None
    """Called with the request's number before it is answered: lets a test act in the middle of a run."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unreadable": raw[:200].decode(errors="replace")}
        self.requests.append(body)
        number = len(self.requests)
        if self.on_request is not None:
            self.on_request(number)
        answer = self.script(body, number)
        if answer.hang:
            await asyncio.Event().wait()
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        return web.Response(status=answer.status, body=self._bytes(answer, request),
                            headers={"content-type": "application/json", **answer.headers})

    @staticmethod
    def _bytes(answer: Answer, request: web.Request) -> bytes:
        if answer.echo_key:
            message = f"Incorrect API key provided: {request.headers.get('Authorization', '')}"
            return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
        if isinstance(answer.body, bytes):
            return answer.body
        return json.dumps(chat_answer() if answer.body is None else answer.body).encode()


@asynccontextmanager
async def hostile_server(script: Script = well_behaved) -> AsyncIterator[HostileServer]:
    server = HostileServer(script)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


def write_records(folder: Path, records: list[dict[str, Any]]) -> Path:
    path = folder / "records.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def hostile_project(folder: Path, base_url: str, records: list[dict[str, Any]], **overrides: Any) -> Path:
    """A chat project over `records` (each with an `id`) sent to `base_url` as a compatible provider."""
    write_records(folder, records)
    spec: dict[str, Any] = {
        "name": "hostile", "model": "gpt-4o-mini", "mode": "realtime",
        "provider": {"kind": "compatible", "base_url": base_url, "api_key_env": KEY_ENV},
        "limits": {"rpm": 1_000_000, "tpm": 100_000_000, "concurrency": 4, "max_retries": 2, "timeout_s": 5},
        "sources": [{"path": "records.jsonl", "id": "{id}"}],
        "request": {"max_tokens": 8, "messages": [{"role": "user", "content": "{id}"}]},
    }
    for key, value in overrides.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def prompt_id(body: dict[str, Any]) -> str:
    """The record id a request is for (the project sends it as the prompt)."""
    return str(body["messages"][0]["content"])
