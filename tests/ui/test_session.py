"""The session that runs a job in its own thread: errors reach the caller, steering reaches the engine."""

from __future__ import annotations

import pytest
from engine_helpers import write_project

from oaib_tui.errors import UserError
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.ui.session import RunSession


class FakeEngine:
    paused = stopping = False

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def stop(self, *args) -> None:
        self.calls.append(("stop", *args))

    def pause(self) -> None:
        self.calls.append(("pause",))


class FakeBatchEngine(FakeEngine):
    def cancel(self) -> None:
        self.calls.append(("cancel",))


def session_with(tmp_path, engine) -> RunSession:
    project = load_project(write_project(tmp_path, n=2))
    session = RunSession(lambda: JobRun(project))
    session.job.engine = engine
    return session


@pytest.mark.parametrize("engine, expected", [
    (FakeEngine(), "stop"),
    (FakeBatchEngine(), "cancel"),
])
def test_cancel_uses_the_engines_own_cancel_when_it_has_one(tmp_path, engine, expected):
    session = session_with(tmp_path, engine)
    try:
        session.cancel()
        session.call(lambda: None)  # the call above ran in the job's thread before this one
        assert [call[0] for call in engine.calls] == [expected]
        if expected == "stop":
            assert engine.calls[0][1] == "cancelled"
    finally:
        session.close()


def test_steering_runs_in_the_jobs_thread(tmp_path):
    import threading

    seen: list[str] = []

    class ThreadEngine(FakeEngine):
        def pause(self) -> None:
            seen.append(threading.current_thread().name)

    session = session_with(tmp_path, ThreadEngine())
    try:
        session.pause()
        session.call(lambda: None)
        assert seen == ["oaib-engine"]
    finally:
        session.close()


def test_a_project_that_cannot_open_raises_in_the_caller(tmp_path):
    project = load_project(write_project(tmp_path, n=2))
    holder = JobRun(project)
    try:
        with pytest.raises(UserError):
            RunSession(lambda: JobRun(project))
    finally:
        holder.close()
