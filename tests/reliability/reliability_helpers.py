"""What the reliability tests share: projects for a loopback simulator, runs as subprocesses, and the
checks every run must pass (each item once, whole output lines, a sound state file)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from job_helpers import write_project_file

from oaib_tui.project import load_project

ROOT = Path(__file__).resolve().parents[2]


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


LEDGER_SPEC: dict[str, Any] = {
    "name": "rel",
    "model": "gpt-4o-mini",
    "mode": "realtime",
    "provider": {"kind": "simulator"},
    "limits": {"rpm": 1_000_000, "tpm": 100_000_000, "concurrency": 8, "max_retries": 4, "timeout_s": 10},
    "sources": [{"path": "records.jsonl", "id": "{id}"}],
    # The prompt is the item's id, so that the ledger knows which item each request is for.
    "request": {"max_tokens": "{mt}", "messages": [{"role": "user", "content": "{id}"}]},
    "output": {"keep": ["mt"]},
}


def write_ledger_project(folder: Path, url: str | None, n: int, *, bad_every: int = 0, **overrides: Any) -> Path:
    """A chat project over `records.jsonl` (n records), sending to the simulator at `url` (None: in-process);
    keyword arguments override top-level keys, one level deep for mappings."""
    write_records(folder, n, bad_every=bad_every)
    provider = {"kind": "simulator", **({"base_url": url} if url else {})}
    return write_project_file(folder, {**LEDGER_SPEC, "provider": provider}, overrides)


def outputs_of(project: Path) -> tuple[Path, Path, Path]:
    """The results, errors and state file of a project file."""
    loaded = load_project(project)
    return loaded.results_path, loaded.errors_path, loaded.state_path


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


@dataclass(frozen=True)
class KillPoint:
    where: str
    """`request` (the K-th API request of the run reaches the simulator), `hook:NAME` (a Batch API
    step of the simulator, see `BatchApi.hooks`), or a point of OAIB_TUI_PAUSE_AT (`state-commit`, `output-line`)."""
    at: int = 1


def killed_run(project: Path, ledger, point: KillPoint) -> None:
    """Start a run and SIGKILL it at `point`; fails if the run ends first."""
    if point.where == "request" or point.where.startswith("hook:"):
        proc = start_run(project)
        if point.where == "request":
            ledger.arm(proc.pid, at=point.at)
        else:
            ledger.arm_hook(proc.pid, point.where.removeprefix("hook:"))
        proc.wait(timeout=120)  # the ledger kills it
    else:
        proc = start_run(project, OAIB_TUI_PAUSE_AT=f"{point.where}:{point.at}")
        wait_for_line(proc, f"paused at {point.where}:{point.at}")
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    ledger.disarm()
    ledger.settle()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before {point}: {err[-2000:]!r}"


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
