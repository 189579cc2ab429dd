"""One run per state file: a second run is refused while the first holds it, and a killed run frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from factories import open_store

from oaib_tui.errors import UserError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def start_child(mode: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    child = subprocess.Popen([sys.executable, str(HERE / "child_store.py"), mode, str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)


def test_a_second_open_in_the_same_process_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = open_store(path)
    with pytest.raises(UserError) as caught:
        open_store(path)
    assert f"{path} is in use by another oaib-tui run (pid {os.getpid()})" in str(caught.value)
    first.close()
    open_store(path).close()


def test_a_refused_open_leaves_the_holder_working(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = open_store(path)
    with pytest.raises(UserError):
        open_store(path, fresh=True)
    assert path.exists() and not list(tmp_path.glob("*backup*"))
    assert first.counts()["done"] == 0
    first.close()


def test_an_open_that_fails_releases_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path).close()
    with pytest.raises(UserError, match="another project"):
        open_store(path, project_name="other")
    open_store(path).close()


@pytest.mark.slow
def test_another_process_is_refused_and_a_killed_holder_frees_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    child = start_child("hold", path)
    try:
        with pytest.raises(UserError) as caught:
            open_store(path)
        assert f"in use by another oaib-tui run (pid {child.pid})" in str(caught.value)
    finally:
        kill(child)
    open_store(path).close()


@pytest.mark.slow
def test_a_lock_taken_here_is_seen_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    probe = subprocess.run(
        [sys.executable, str(HERE / "child_store.py"), "hold", str(path)],
        input="", capture_output=True, text=True, env=env, timeout=30,
    )
    store.close()
    assert probe.returncode != 0
    assert f"pid {os.getpid()}" in probe.stderr
