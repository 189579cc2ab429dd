"""The run lifecycle every front end shares: start, drive with the front end's company, write, report."""

from __future__ import annotations

import contextlib

import pytest
from engine_helpers import sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.errors import UserError
from oaib_tui.lifecycle import Outputs, RunOptions, run_to_end
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client

pytestmark = pytest.mark.looptime


class RecordingFront:
    """A front end that notes what the lifecycle asks of it, in order."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.events: list[ev.Event] = []
        self.outputs: Outputs | None = None

    def handle(self, event: ev.Event) -> None:
        self.events.append(event)

    def alongside(self, job):
        @contextlib.contextmanager
        def company(name: str):
            self.steps.append(f"enter {name}")
            yield
            self.steps.append(f"leave {name}")

        yield company("ticker")
        yield company("watcher")

    def report(self, job, finished: ev.RunFinished, outputs: Outputs | None) -> str:
        self.steps.append("report")
        self.outputs = outputs
        return f"{finished.state} {finished.done}"


def options(app) -> RunOptions:
    return RunOptions(http_client=simulator_http_client(app))


async def test_a_run_is_driven_with_the_front_ends_company_then_written_then_reported(tmp_path):
    project = load_project(write_project(tmp_path, n=6))
    front = RecordingFront()
    extra: list[ev.Event] = []
    said = await run_to_end(project, front, options(sim_app()), extra_consumers=[extra.append])
    assert said == "finished 6"
    assert front.steps == ["enter ticker", "enter watcher", "leave watcher", "leave ticker", "report"]
    assert isinstance(front.events[0], ev.RunStarted) and isinstance(front.events[-1], ev.RunFinished)
    assert extra == front.events
    assert front.outputs is not None and front.outputs.results.exists() and front.outputs.errors.exists()


async def test_a_front_end_that_keeps_no_files_gets_none_written(tmp_path):
    project = load_project(write_project(tmp_path, n=3))
    front = RecordingFront()
    await run_to_end(project, front, options(sim_app()), writes_outputs=False)
    assert front.outputs is None and not project.results_path.exists()


async def test_the_state_file_is_closed_even_when_the_report_fails(tmp_path):
    project = load_project(write_project(tmp_path, n=2))

    class FailingFront(RecordingFront):
        def report(self, job, finished, outputs):
            raise RuntimeError("the report broke")

    with pytest.raises(RuntimeError, match="the report broke"):
        await run_to_end(project, FailingFront(), options(sim_app()))
    again = await run_to_end(project, RecordingFront(), options(sim_app()))  # the lock was let go
    assert again == "finished 2"


async def test_a_state_file_that_cannot_open_is_refused_before_anything_runs(tmp_path):
    project = load_project(write_project(tmp_path, n=2))
    holder = RunOptions().open(project)
    front = RecordingFront()
    try:
        with pytest.raises(UserError):
            await run_to_end(project, front, options(sim_app()))
    finally:
        holder.close()
    assert front.steps == [] and front.events == []
