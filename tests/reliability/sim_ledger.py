"""A ledger in front of the simulator: what each API request was for, what got answered, and a kill switch."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from typing import Any

from oaib_tui.sim.app import SimulatorApp
from oaib_tui.sim.batch_files import MultipartError, parse_multipart

MODEL_PATHS = ("/chat/completions", "/responses", "/embeddings", "/completions", "/moderations")


class Ledger:
    """ASGI middleware in front of the simulator (pass it to `running_server(app=…)`).

    It counts, per item, the model requests sent (`requests`) and answered with a
    200 (`answered`), and the lines of uploaded batch-input files (`uploaded`),
    per file name (`upload_names`). `arm(pid, at=K)` kills process `pid` with
    SIGKILL when the K-th API request (counted from the arming) arrives;
    `arm_hook(pid, name)` kills it at a Batch API step (`file_stored`,
    `batch_created`, `content`: see `BatchApi.hooks`), before the answer is sent.
    """

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.requests: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.uploaded: Counter[str] = Counter()
        self.upload_names: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._victim: int | None = None
        self._kill_at = 0
        self._seen = 0
        self._busy = 0
        self.upload_faults: list[int] = []
        """HTTP statuses to answer the next uploads with (500: retried; 400: the upload is refused), one each."""

    # -- kill switch ----------------------------------------------------------------------

    def arm(self, pid: int, at: int) -> None:
        with self._lock:
            self._victim, self._kill_at, self._seen = pid, at, 0

    def arm_hook(self, pid: int, name: str) -> None:
        async def kill() -> None:
            if self.app.batch_api.hooks.pop(name, None) is not None:
                os.kill(pid, signal.SIGKILL)

        self.app.batch_api.hooks[name] = kill

    def disarm(self) -> None:
        with self._lock:
            self._victim = None
        self.app.batch_api.hooks.clear()

    def _count_and_maybe_kill(self) -> None:
        if self._victim is None:
            return
        self._seen += 1
        if self._seen == self._kill_at:
            os.kill(self._victim, signal.SIGKILL)
            self._victim = None

    # -- what was asked -------------------------------------------------------------------

    def snapshot(self) -> tuple[Counter, Counter]:
        """(requests, answered) per item, so far."""
        with self._lock:
            return Counter(self.requests), Counter(self.answered)

    def settle(self, timeout: float = 10) -> None:
        """Wait until the server has finished every request it received (e.g. those of a killed client)."""
        deadline = time.monotonic() + timeout
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self._busy, "the simulator is still busy"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "/sim/" in scope["path"]:
            await self.app(scope, receive, send)
            return
        body = await _read_all(receive)
        if self.upload_faults and scope["method"] == "POST" and scope["path"].endswith("/files"):
            await _answer_error(send, self.upload_faults.pop(0))
            return
        item = self._record(scope, body)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message):
            if item and message["type"] == "http.response.start" and message["status"] == 200:
                with self._lock:
                    self.answered[item] += 1
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            with self._lock:
                self._busy -= 1

    def _record(self, scope, body: bytes) -> str | None:
        """Count the request; the item it is for, if it is a model request."""
        path = scope["path"]
        item = _item_of(body) if path.endswith(MODEL_PATHS) else None
        upload = _upload_of(scope, body) if scope["method"] == "POST" and path.endswith("/files") else None
        with self._lock:
            self._busy += 1
            if item:
                self.requests[item] += 1
            if upload:
                name, ids = upload
                self.upload_names[name] += 1
                self.uploaded.update(ids)
            self._count_and_maybe_kill()
        return item

    def __getattr__(self, name: str) -> Any:  # stats, inject, update, batch_api … of the wrapped app
        return getattr(self.app, name)


async def _answer_error(send, status: int) -> None:
    body = json.dumps({"error": {"message": f"scripted upload error {status}", "type": "server_error"
                                 if status >= 500 else "invalid_request_error", "param": None, "code": None}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_all(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _item_of(body: bytes) -> str:
    try:
        return str(json.loads(body)["messages"][0]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "?"


def _upload_of(scope, body: bytes) -> tuple[str, list[str]] | None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
    try:
        fields = parse_multipart(headers.get("content-type", ""), body)
    except MultipartError:
        return None
    name, content = fields.get("file", (None, b""))
    ids = [json.loads(line)["custom_id"] for line in content.splitlines() if line.strip()]
    return name or "?", ids
