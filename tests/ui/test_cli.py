"""`oaib-tui PROJECT`: the dashboard when there is a terminal, headless (and saying so) when there is none,
and a clear error, before the screen changes, when the run cannot start."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from engine_helpers import write_project

from oaib_tui.cli import cli
from oaib_tui.errors import UserError
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.ui import run_dashboard


def test_without_a_terminal_the_run_is_headless_and_says_so(tmp_path):
    path = write_project(tmp_path, n=3, provider={"kind": "simulator", "simulator": {"latency_ms": 0}})
    result = CliRunner().invoke(cli, [str(path)])
    assert result.exit_code == 0, result.output
    assert "not a terminal" in result.output and "Finished" in result.output


def test_a_state_file_held_by_another_run_is_refused_before_the_dashboard_opens(tmp_path):
    project = load_project(write_project(tmp_path, n=3))
    holder = JobRun(project)
    try:
        with pytest.raises(UserError, match="another|in use|held|locked"):
            run_dashboard(project)
    finally:
        holder.close()
