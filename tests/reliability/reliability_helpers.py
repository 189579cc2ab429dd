"""What the reliability tests share: projects on a loopback simulator, a request ledger, runs as
subprocesses, and the checks every run must pass (each item once, whole output lines, a sound state file)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from oaib_tui.project import load_project
from oaib_tui.sim.app import SimulatorApp

ROOT = Path(__file__).resolve().parents[2]
MODEL_PATHS = ("/chat/completions", "/responses", "/embeddings", "/completions", "/moderations")


# -- projects -------------------------------------------------------------------------------


def item_ids(n: int) -> list[str]:
    return [f"r{i:05d}" for i in range(n)]


def write_records(folder: Path, n: int, *, bad_every: int = 0) -> Path:
    """`records.jsonl`: n records; with `bad_every`, every such record asks for 0 output tokens (a 400 that fails it)."""
    path = folder / "records.jsonl"
    with path.open("w") as out:
        for i, cid in enumerate(item_ids(n)):
            bad = bad_every and i % bad_every == bad_every - 1
            out.write(json.dumps({"id": cid, "mt": 0 if bad else 8}) + "\n")
    return path


def write_project(folder: Path, url: str | None, n: int, *, bad_every: int = 0, **overrides: Any) -> Path:
    """A chat project over `records.jsonl`, sending to the simulator at `url` (None: in-process)."""
    write_records(folder, n, bad_every=bad_every)
    provider: dict[str, Any] = {"kind": "simulator"}
    if url:
        provider["base_url"] = url
    spec: dict[str, Any] = {
        "name": "rel",
        "model": "gpt-4o-mini",
        "mode": "realtime",
        "provider": provider,
        "limits": {"rpm": 1_000_000, "tpm": 100_000_000, "concurrency": 8, "max_retries": 4, "timeout_s": 10},
        "sources": [{"path": "records.jsonl", "id": "{id}"}],
        # The prompt is the item's id, so that the ledger knows which item each request is for.
        "request": {"max_tokens": "{mt}", "messages": [{"role": "user", "content": "{id}"}]},
        "output": {"keep": ["mt"]},
    }
    for key, value in overrides.items():
        spec[key] = {**spec[key], **value} if isinstance(value, dict) and isinstance(spec.get(key), dict) else value
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def outputs_of(project: Path) -> tuple[Path, Path, Path]:
    """The results, errors and state file of a project file."""
    loaded = load_project(project)
    return loaded.results_path, loaded.errors_path, loaded.state_path


# -- the ledger: what the simulator was asked and what it answered --------------------------


@dataclass
class Ledger:
    """ASGI middleware in front of the simulator: which item each model request was for, which got a 200.

    `arm(pid, at=K)` kills process `pid` with SIGKILL when the K-th model request (counted from
    the arming) arrives: a kill at a reproducible moment, with requests in flight.
    """

    app: SimulatorApp
    requests: Counter = field(default_factory=Counter)
    answered: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _victim: int | None = None
    _kill_at: int = 0
    _seen_since_armed: int = 0
    _busy: int = 0

    def arm(self, pid: int, at: int) -> None:
        with self._lock:
            self._victim, self._kill_at, self._seen_since_armed = pid, at, 0

    def disarm(self) -> None:
        with self._lock:
            self._victim = None

    def snapshot(self) -> tuple[Counter, Counter]:
        with self._lock:
            return Counter(self.requests), Counter(self.answered)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(MODEL_PATHS):
            await self.app(scope, receive, send)
            return
        body = await _read_all(receive)
        item = _item_of(body)
        with self._lock:
            self.requests[item] += 1
            self._busy += 1
            self._maybe_kill()

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                with self._lock:
                    self.answered[item] += 1
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            with self._lock:
                self._busy -= 1

    def settle(self, timeout: float = 10) -> None:
        """Wait until the server has finished every request it received (e.g. those of a killed client)."""
        deadline = time.monotonic() + timeout
        while self._busy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self._busy, "the simulator is still busy"

    def _maybe_kill(self) -> None:
        if self._victim is None:
            return
        self._seen_since_armed += 1
        if self._seen_since_armed == self._kill_at:
            os.kill(self._victim, signal.SIGKILL)
            self._victim = None

    def __getattr__(self, name: str) -> Any:  # stats, inject, update … of the wrapped app
        return getattr(self.app, name)


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


# -- runs as a user starts them ---------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment for a child run, without a pause point unless `extra` sets one."""
    env = {name: value for name, value in os.environ.items() if name != "OAIB_TUI_PAUSE_AT"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def start_run(project: Path, **env: str) -> subprocess.Popen:
    """`oaib-tui run PROJECT --no-ui` in a subprocess, stdout and stderr piped."""
    return subprocess.Popen([sys.executable, "-m", "oaib_tui.cli", "run", str(project), "--no-ui"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(**env), cwd=project.parent)


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oaib_tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=cli_env(**env), cwd=cwd)


def wait_for_line(proc: subprocess.Popen, marker: str, timeout: float = 60) -> str:
    """Read the process's stderr until a line holds `marker`; returns everything read."""
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while marker.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError(f"no {marker!r} on stderr within {timeout}s; got: {seen.decode(errors='replace')}")
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"stderr closed before {marker!r}; got: {seen.decode(errors='replace')}")
            seen += chunk
    finally:
        selector.close()
    return seen.decode(errors="replace")


def kill_and_reap(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


# -- what every run must leave behind ----------------------------------------------------------


def read_lines(path: Path) -> list[dict]:
    """Every line of a JSONL output, each checked whole: ends in a newline and parses."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), f"{path} ends in a partial line"
    return [json.loads(line) for line in text.splitlines()]


def state_counts(state: Path) -> dict[str, int]:
    """Items by status, after checking that the state file opens read-only and passes SQLite's integrity check."""
    conn = sqlite3.connect(state.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT status, count(*) FROM items GROUP BY status").fetchall())
    finally:
        conn.close()


def finished_ids(state: Path) -> set[str]:
    """custom_ids the state file holds as done or failed."""
    conn = sqlite3.connect(state.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return {cid for (cid,) in conn.execute("SELECT custom_id FROM items WHERE status IN ('done', 'failed')")}
    finally:
        conn.close()


def assert_each_item_once(project: Path, n: int) -> tuple[list[dict], list[dict]]:
    """Every input item is in the results or the errors of `project`, exactly once; returns both."""
    results_path, errors_path, _ = outputs_of(project)
    results, errors = read_lines(results_path), read_lines(errors_path)
    ids = [line["custom_id"] for line in results + errors]
    assert len(ids) == len(set(ids)), f"items written twice: {[i for i, c in Counter(ids).items() if c > 1]}"
    assert sorted(ids) == item_ids(n)
    return results, errors
