"""kill -9 during upload, batch creation, polling and download, then resume: every item exactly once, no batch twice.

The runs are `oaib-tui PROJECT --no-ui` subprocesses against a loopback simulator whose batch clock runs 60 times
faster than real time. The simulator holds a step open (`hooks`) so the kill lands inside it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from batch_helpers import parts_of, read_jsonl, write_batch_project

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import SimulatorApp, create_app
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow

N, PER_PART = 30, 10
HOLD_S = 3.0


def oaib(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oaib_tui.cli", *args], capture_output=True, text=True, timeout=timeout)


def start(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oaib_tui.cli", str(path), "--no-ui"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def hold(app: SimulatorApp, step: str, nth: int = 1) -> threading.Event:
    """Hold the `nth` request of `step` open for a while (after the simulator acted on it); set the event then."""
    reached, calls = threading.Event(), [0]

    async def hook() -> None:
        calls[0] += 1
        if calls[0] == nth:
            reached.set()
            await asyncio.sleep(HOLD_S)

    app.batch_api.hooks[step] = hook
    return reached


def kill_when(proc: subprocess.Popen, reached: threading.Event, app: SimulatorApp) -> None:
    assert reached.wait(30), proc.stderr.read() if proc.poll() is not None else "the step was never reached"
    proc.kill()
    proc.wait(10)
    app.batch_api.hooks.clear()


def project(tmp_path: Path, url: str, **batch) -> Path:
    return write_batch_project(tmp_path, n=N, provider={"kind": "simulator", "base_url": url},
                               batch={"poll_s": 0.2, "max_requests": PER_PART, **batch})


def assert_exactly_once(tmp_path: Path, app: SimulatorApp) -> None:
    ids = [r["custom_id"] for r in read_jsonl(tmp_path / "out" / "b.results.jsonl")]
    assert ids == [f"item-{i}" for i in range(N)]
    stats = app.batch_api.stats
    assert (stats.uploads, stats.batches_created) == (N // PER_PART, N // PER_PART)
    assert set(app.batch_api.input_files_used().values()) == {1}


def test_kill_9_in_every_phase_then_resume_loses_nothing_and_doubles_nothing(tmp_path):
    app = create_app(SimulatorSettings(latency_ms=0, time_scale=60, batch_lines_per_s=0.5))
    with running_server(app=app) as url:
        path = project(tmp_path, url)
        kill_when(start(path), hold(app, "file_stored", nth=2), app)  # the 2nd upload arrived, unrecorded
        assert "uploading" in {p.phase for p in parts_of(path)}
        kill_when(start(path), hold(app, "batch_created", nth=1), app)  # a batch made, unrecorded
        assert "creating" in {p.phase for p in parts_of(path)}
        polling = start(path)
        deadline = time.monotonic() + 30
        # Until every batch is created and the state file records one as submitted (polled, not slept).
        while (app.batch_api.stats.batches_created < N // PER_PART
               or "submitted" not in {p.phase for p in parts_of(path)}):
            assert time.monotonic() < deadline, "the batches were not all created and recorded within 30 s"
            time.sleep(0.05)
        polling.kill()
        polling.wait(10)
        assert "submitted" in {p.phase for p in parts_of(path)}
        kill_when(start(path), hold(app, "content"), app)  # a batch's results being read back
        assert "ended" in {p.phase for p in parts_of(path)}
        done = oaib(str(path), "--no-ui")
        assert done.returncode == 0, done.stderr
        assert_exactly_once(tmp_path, app)


def test_cancel_from_the_command_line_stops_a_run_and_status_shows_the_batches(tmp_path):
    app = create_app(SimulatorSettings(latency_ms=0, time_scale=60, batch_lines_per_s=0.05))
    with running_server(app=app) as url:
        path = project(tmp_path, url)
        run = start(path)
        deadline = time.monotonic() + 30
        while app.batch_api.stats.batches_created < N // PER_PART and time.monotonic() < deadline:
            time.sleep(0.05)
        status = oaib("status", str(path))
        assert status.returncode == 0 and "batches  3 parts" in status.stdout and "batch_sim" in status.stdout
        cancelled = oaib("cancel", str(path))
        assert cancelled.returncode == 0, cancelled.stderr
        assert cancelled.stdout.count("cancelling") == 3
        _, err = run.communicate(timeout=30)
        assert run.returncode == 130 and "cancelled" in err, err
        assert oaib("cancel", str(path)).stdout.endswith("no live batches in the state file\n")
        app.update(batch_lines_per_s=10)
        done = oaib(str(path), "--no-ui")
        assert done.returncode == 0, done.stderr
    ids = [r["custom_id"] for r in read_jsonl(tmp_path / "out" / "b.results.jsonl")]
    assert ids == [f"item-{i}" for i in range(N)]
