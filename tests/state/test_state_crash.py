"""A run killed with SIGKILL mid-stream loses no answer it had recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from factories import open_store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ANSWERS_BEFORE_KILL = 300


@pytest.mark.slow
def test_every_answer_handled_before_a_kill_is_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    child = subprocess.Popen([sys.executable, str(HERE / "child_store.py"), "write", str(path)],
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        handled = [child.stdout.readline().strip() for _ in range(ANSWERS_BEFORE_KILL)]
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
    handled += rest.split()  # printed before the kill landed
    assert child.returncode == -signal.SIGKILL
    assert all(handled[:ANSWERS_BEFORE_KILL])  # an empty line would be end of file: the child died early

    store = open_store(path)  # the lock died with the child
    try:
        done = {result["custom_id"] for result in store.iter_results("done")}
        assert set(handled) <= done
        assert store.item(handled[-1])["response"]["choices"][0]["message"]["content"] == "y" * 1000
    finally:
        store.close()
