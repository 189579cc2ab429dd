"""Running the real dashboard on a real job against the in-process simulator, and waiting (bounded) for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from engine_helpers import Recorder

from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.ui.app import DashboardApp
from oaib_tui.ui.model import CostSettings, DashboardModel
from oaib_tui.ui.session import RunSession

SIZE = (120, 36)
WAIT_S = 15.0


def dashboard(path: Path, sim, recorder: Recorder | None = None) -> tuple[DashboardApp, Recorder]:
    """A dashboard running the project at `path` against `sim`, recording every event it sees."""
    recorder = recorder or Recorder()
    project = load_project(path)

    def open_job(retry_failed: bool = False) -> JobRun:
        return JobRun(project, http_client=simulator_http_client(sim), consumers=[recorder], retry_failed=retry_failed)

    session = RunSession(open_job, reopen=lambda: open_job(retry_failed=True))
    spec = project.spec
    model = DashboardModel(CostSettings.for_project(project), about=(project.name, spec.model, spec.endpoint, spec.mode))
    app = DashboardApp(model, session, tick_s=0.05)
    return app, recorder


async def until(pilot, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Let the app and the run go on until `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def run_ended(app: DashboardApp) -> Callable[[], bool]:
    """The run has ended and the app has taken note (its exit code is the run's)."""
    return lambda: app.finished is not None
