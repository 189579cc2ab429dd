"""A disk that really fills up: the state file and outputs on a 256 KiB tmpfs.

The fault matrix simulates a full disk in-process (SQLite's page cap, an
ENOSPC from fsync) so that it runs anywhere. This test does it for real where
the sandbox allows mounting a tmpfs (root, or a container with CAP_SYS_ADMIN),
and says so when it cannot.
"""

from __future__ import annotations

import gc
import subprocess
from pathlib import Path

import pytest
from reliability_helpers import assert_each_item_once, state_counts, write_ledger_project

from oaib_tui import cli
from oaib_tui.errors import EXIT_BAD_INPUT, EXIT_OK
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow

N = 300


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not permitted'})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def run(project: Path, capsys) -> tuple[int, str]:
    try:
        cli.main(["run", str(project), "--no-ui"])
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    gc.collect()
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_disk_that_fills_mid_run_gives_a_clear_error_a_sound_state_file_and_a_full_resume(tmp_path, small_disk,
                                                                                            capsys):
    with running_server(SimulatorSettings(latency_ms=0)) as url:
        project = write_ledger_project(tmp_path, url, N, state="disk/rel.state.db",
                                output={"results": "disk/rel.results.jsonl", "errors": "disk/rel.errors.jsonl"})
        code, printed = run(project, capsys)
        assert code == EXIT_BAD_INPUT, printed
        assert "No space left on device" in printed or "database or disk is full" in printed, printed
        assert "Traceback" not in printed and "never retrieved" not in printed, printed
        counts = state_counts(small_disk / "rel.state.db")  # opens, and passes the integrity check
        assert 0 < counts.get("done", 0) < N

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        code, printed = run(project, capsys)
    assert code == EXIT_OK, printed
    assert_each_item_once(project, N)
