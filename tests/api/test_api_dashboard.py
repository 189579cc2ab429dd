"""`run_sync(ui=True)`: the job goes to the dashboard's entry point, or the reason it cannot is said."""

from __future__ import annotations

import io
import sys

import pytest

import oaib_tui.ui
from oaib_tui import Job, simulator_client
from oaib_tui.headless import run_headless


class Terminal:
    def isatty(self) -> bool:
        return True


def job_of(tmp_path, **options) -> Job:
    job = Job("gpt-4o-mini", provider="simulator", state=tmp_path / "u.state.db", quiet=True, **options)
    for i in range(3):
        job.add(messages=[{"role": "user", "content": f"hi {i}"}], max_tokens=5, metadata={"i": i})
    return job


def test_the_dashboard_runs_the_jobs_project_and_results_come_from_the_state_file(tmp_path, monkeypatch):
    calls = []

    def dashboard(project, *, fresh, retry_failed):
        calls.append((project.name, fresh, retry_failed))
        return run_headless(project, out=open(tmp_path / "log.txt", "w"))  # the dashboard's job, done headless here

    monkeypatch.setattr(oaib_tui.ui, "run_dashboard", dashboard)
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(sys, "stdout", Terminal())
    results = job_of(tmp_path).run_sync(ui=True, fresh=True)
    assert calls == [("u", True, False)]
    assert [r.metadata for r in results] == [{"i": 0}, {"i": 1}, {"i": 2}] and not results.errors
    assert results.message == "the dashboard ended with exit code 0"


def test_without_a_terminal_ui_true_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    with pytest.raises(RuntimeError, match="needs a terminal"):
        job_of(tmp_path).run_sync(ui=True)


def test_an_injected_client_cannot_go_to_the_dashboard(tmp_path):
    with pytest.raises(ValueError, match="provider="):
        job_of(tmp_path, client=simulator_client()).run_sync(ui=True)
