"""Whole runs as a user starts them: `oaib-tui PROJECT --no-ui` in a subprocess, against a loopback simulator."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from job_helpers import read_jsonl, write_project

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow


def oaib(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oaib_tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oaib_tui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_items(state: Path, statuses: tuple[str, ...], at_least: int = 1, timeout: float = 60) -> None:
    """Until the run's state file holds `at_least` items in `statuses`: the run is really under way."""
    marks = ", ".join("?" * len(statuses))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.exists():
            try:
                with sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True) as conn:
                    found = conn.execute(f"SELECT count(*) FROM items WHERE status IN ({marks})", statuses).fetchone()
                if found[0] >= at_least:
                    return
            except sqlite3.OperationalError:
                pass  # created but not yet initialised
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} items {statuses} in {state} within {timeout}s")


def stderr_until(proc: subprocess.Popen, marker: str) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if marker in line:
            return
    raise AssertionError(f"the run ended without printing {marker!r}")


def loopback_project(tmp_path: Path, url: str, n: int, **overrides) -> Path:
    return write_project(tmp_path, n=n, provider={"kind": "simulator", "base_url": url}, **overrides)


def test_exit_0_when_all_succeed_and_the_summary_names_the_outputs(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0)) as url:
        path = loopback_project(tmp_path, url, n=20)
        done = oaib("run", str(path), "--no-ui")
    assert done.returncode == 0, done.stderr
    assert "Finished: all requests answered" in done.stdout and "Traceback" not in done.stderr
    assert "RPM" not in done.stdout and "note:" not in done.stdout  # `--no-ui > summary.txt`: the summary alone
    assert len(read_jsonl(tmp_path / "out" / "t.results.jsonl")) == 20


def test_exit_1_when_some_fail(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0, fail_rate=1.0)) as url:
        path = loopback_project(tmp_path, url, n=3, limits={"max_retries": 0})
        done = oaib(str(path), "--no-ui")
    assert done.returncode == 1, done.stderr
    assert len(read_jsonl(tmp_path / "out" / "t.errors.jsonl")) == 3


def test_exit_2_for_a_bad_project_without_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("modle: gpt-4o\nsources: [{items: [{a: 1}]}]\nrequest: {input: '{a}'}\n")
    done = oaib(str(path), "--no-ui")
    assert done.returncode == 2
    assert "did you mean `model`" in done.stderr and "Traceback" not in done.stderr


def test_exit_3_when_the_quota_runs_out_and_the_resume_command_is_printed(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0, quota_after=4)) as url:
        path = loopback_project(tmp_path, url, n=10, limits={"concurrency": 1})
        done = oaib(str(path), "--no-ui")
    assert done.returncode == 3, done.stderr
    assert "out of quota" in done.stderr and f"Resume with: oaib-tui {path}" in done.stdout


def test_ctrl_c_lets_requests_in_flight_finish_and_exits_130(tmp_path):
    with running_server(SimulatorSettings(latency_ms=300)) as url:
        path = loopback_project(tmp_path, url, n=80, limits={"concurrency": 8})
        proc = start(str(path), "--no-ui")
        wait_for_items(tmp_path / "out" / "t.state.db", ("done",), at_least=8)  # under way, far from the end
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "Resume with" in out
        status = oaib("status", str(path))
        assert status.returncode == 0 and "to do" in status.stdout
        done = oaib(str(path), "--no-ui")
    assert done.returncode == 0, done.stderr
    ids = [r["custom_id"] for r in read_jsonl(tmp_path / "out" / "t.results.jsonl")]
    assert ids == [f"item-{i}" for i in range(80)]


def paused_at(proc: subprocess.Popen, marker: str) -> None:
    """Read the child's stderr until its pause point says it stopped there (a run that ends first fails)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if marker in line:
            return
    raise AssertionError(f"the run ended without reaching {marker}")


def done_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0]


def test_kill_9_loses_nothing_answered_and_resends_at_most_what_was_in_flight(tmp_path):
    concurrency, n = 4, 120
    app = create_app(SimulatorSettings(latency_ms=100))
    with running_server(app=app) as url:
        path = loopback_project(tmp_path, url, n=n, limits={"concurrency": concurrency})
        done_before_kills = []
        for _ in range(3):
            # Each kill lands half-way through the run's 15th commit, with requests in flight: never
            # before the first request (a sleep could), never after the last.
            proc = subprocess.Popen([sys.executable, "-m", "oaib_tui.cli", str(path), "--no-ui"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env={**os.environ, "OAIB_TUI_PAUSE_AT": "state-commit:15"})
            paused_at(proc, "oaib-tui paused at state-commit:15")
            proc.kill()
            proc.wait(timeout=10)
            done_before_kills.append(done_in(tmp_path / "out" / "t.state.db"))
        done = oaib(str(path), "--no-ui")
        answered = app.stats.as_dict()["answered"]
    assert done.returncode == 0, done.stderr
    ids = [r["custom_id"] for r in read_jsonl(tmp_path / "out" / "t.results.jsonl")]
    assert sorted(ids) == sorted(f"item-{i}" for i in range(n)) and len(ids) == len(set(ids))
    # Only requests in flight at a kill may be paid twice: at most `concurrency` per kill.
    assert n <= answered <= n + 3 * concurrency
    assert 0 < done_before_kills[0] < done_before_kills[1] < done_before_kills[2] < n  # each run got further


def test_a_second_run_on_the_same_state_file_is_refused(tmp_path):
    with running_server(SimulatorSettings(latency_ms=300)) as url:
        path = loopback_project(tmp_path, url, n=100, limits={"concurrency": 2})
        first = start(str(path), "--no-ui")
        wait_for_items(tmp_path / "out" / "t.state.db", ("sent", "done"))
        second = oaib(str(path), "--no-ui")
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert "in use by another oaib-tui run" in second.stderr and "Traceback" not in second.stderr


def test_export_writes_csv_while_nothing_runs(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0)) as url:
        path = loopback_project(tmp_path, url, n=5)
        assert oaib(str(path), "--no-ui").returncode == 0
    done = oaib("export", str(path), "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "out" / "t.results.csv").read_text().splitlines()
    assert len(lines) == 6 and lines[0].startswith("custom_id")


def test_a_second_ctrl_c_abandons_requests_in_flight(tmp_path):
    app = create_app(SimulatorSettings(latency_ms=20_000))
    with running_server(app=app) as url:
        path = loopback_project(tmp_path, url, n=10, limits={"concurrency": 3})
        proc = start(str(path), "--no-ui")
        deadline = time.monotonic() + 60
        while app.stats.received < 3:  # three in flight, for 20 s each
            assert time.monotonic() < deadline, "the run sent nothing within 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stderr_until(proc, "stopping:")  # the first Ctrl-C was heard
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert time.monotonic() - started < 5  # did not wait 20 s for the answers
        assert proc.returncode == 130, err
        assert "Resume with" in out and "Traceback" not in err
        status = oaib("status", str(path))
    assert "to do    10   (of 10 records" in status.stdout


def test_fresh_starts_over_and_keeps_the_old_state_file(tmp_path):
    with running_server(SimulatorSettings(latency_ms=0)) as url:
        path = loopback_project(tmp_path, url, n=4)
        assert oaib(str(path), "--no-ui").returncode == 0
        again = oaib(str(path), "--no-ui", "--fresh")
    assert again.returncode == 0, again.stderr
    assert "Starting over: the old state file is kept as" in again.stderr
    backups = [p for p in (tmp_path / "out").iterdir() if p.name.startswith("t.state") and "backup" in p.name]
    assert backups, list((tmp_path / "out").iterdir())
