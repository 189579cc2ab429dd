"""The fault matrix: each fault the provider, the network or the disk can throw at a run, and what must follow.

Every row runs `oaib-tui run PROJECT --no-ui` (in-process, through `cli.main`)
against the simulator on 127.0.0.1, then checks the exit code, a phrase of the
output, the state file's counts, and that no traceback was printed. A row
that stops the run says how the user fixes the cause (`then`); the run after
the fix must finish every item. Whatever the fault, at the end every item is
in the results or the errors exactly once.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import (
    assert_each_item_once,
    outputs_of,
    state_counts,
    write_ledger_project,
)
from sim_ledger import Ledger

from oaib_tui import cli
from oaib_tui.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SOME_FAILED, EXIT_STOPPED
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.server import running_server
from oaib_tui.state.store import StateStore

pytestmark = pytest.mark.slow

N = 12
RIGHT_KEY = "sk-reliability-right-key-0123456789"


@dataclass
class Scene:
    """What a row's set-up and fix may touch."""

    folder: Path
    url: str
    app: Ledger
    monkeypatch: pytest.MonkeyPatch
    project: Path
    holders: list[JobRun] = field(default_factory=list)

    def rewrite(self, url: str | None = None, **overrides: Any) -> None:
        self.project = write_ledger_project(self.folder, url or self.url, N, **overrides)


@dataclass(frozen=True)
class Case:
    fault: str
    exit: int
    says: str
    """A phrase the run must print."""
    sim: dict = field(default_factory=dict)
    inject: tuple[str, ...] = ()
    project: dict = field(default_factory=dict)
    arrange: Callable[[Scene], None] | None = None
    done: int | None = N
    """Items the state file holds as done after the (first) run; None: not checked."""
    failed: int | None = 0
    """Items failed after the (first) run, and in the end; None: some (more than none), not checked exactly."""
    then: Callable[[Scene], None] | None = None
    """The user's fix; the run after it must finish every item (exit 0)."""
    check: Callable[[Scene], None] | None = None
    """What else must hold after the (first) run."""

    def __str__(self) -> str:
        return self.fault


BATCH = {"mode": "batch", "batch": {"max_requests": 6, "poll_s": 0.02}}
FAST_BATCHES = {"time_scale": 100, "batch_validation_s": 1, "batch_lines_per_s": 1000, "batch_finalizing_s": 1}


# -- set-ups and fixes ------------------------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def provider_unreachable(scene: Scene) -> None:
    scene.rewrite(url=closed_port_url())


def provider_back(scene: Scene) -> None:
    scene.rewrite()


def quota_restored(scene: Scene) -> None:
    scene.app.update(quota_after=None)


def right_key(scene: Scene) -> None:
    scene.monkeypatch.setenv("OPENAI_API_KEY", RIGHT_KEY)


def state_disk_fills(scene: Scene) -> None:
    """SQLite itself reports a full disk ("database or disk is full") once the file has grown by a few pages."""
    original = StateStore.open.__func__

    def open_on_a_small_disk(cls, *args, **kwargs):
        store = original(cls, *args, **kwargs)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        return store

    scene.monkeypatch.setattr(StateStore, "open", classmethod(open_on_a_small_disk))


def output_disk_fills(scene: Scene) -> None:
    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    scene.monkeypatch.setattr("oaib_tui.state.outputs.os.fsync", no_space)


def disk_freed(scene: Scene) -> None:
    scene.monkeypatch.undo()


def output_folder_is_a_file(scene: Scene) -> None:
    (scene.folder / "blocked").write_text("a file where the output folder should be\n")
    scene.rewrite(output={"results": "blocked/rel.results.jsonl", "errors": "blocked/rel.errors.jsonl"})


def state_folder_is_a_file(scene: Scene) -> None:
    (scene.folder / "blocked").write_text("a file where the state folder should be\n")
    scene.rewrite(state="blocked/rel.state.db")


def output_folder_freed(scene: Scene) -> None:
    (scene.folder / "blocked").unlink()


def another_run_holds_the_state_file(scene: Scene) -> None:
    scene.holders.append(JobRun(load_project(scene.project)))


def other_run_ends(scene: Scene) -> None:
    scene.holders.pop().close()


def uploads_fail(*statuses: int) -> Callable[[Scene], None]:
    def arrange(scene: Scene) -> None:
        scene.app.upload_faults.extend(statuses)

    return arrange


def run_again(scene: Scene) -> None:
    """Nothing to fix: the cause has passed."""


def some_sent_in_realtime(scene: Scene) -> None:
    assert sum(scene.app.requests.values()) > 0


def none_sent_in_realtime(scene: Scene) -> None:
    assert not scene.app.requests


def finished_before(scene: Scene) -> None:
    assert run_cli_in_process(scene.project)[0] == EXIT_OK
    scene.app.update(quota_after=scene.app.stats.received)  # any request sent again gets a quota error


# -- the matrix -------------------------------------------------------------------------------

MATRIX = [
    Case("429 storm, requests bucket", EXIT_OK, "429 requests", inject=("429-requests",) * 6),
    Case("429 storm, tokens bucket", EXIT_OK, "429 tokens", inject=("429-tokens",) * 6),
    Case("flex capacity refusals", EXIT_OK, "429 resource unavailable", inject=("unavailable",) * 4,
         sim={"flex_latency_ms": 5},
         project={"request": {"service_tier": "flex"}}),
    Case("5xx burst", EXIT_OK, "503", inject=("500", "502", "503", "503", "500", "502", "503")),
    Case("dropped connections", EXIT_OK, "connection dropped", inject=("drop",) * 5),
    Case("timeouts", EXIT_OK, "timeout", inject=("timeout",) * 3, project={"limits": {"timeout_s": 0.5}}),
    Case("slow answers", EXIT_OK, "all requests answered", sim={"slow_rate": 0.5, "slow_ms": 300}),
    Case("malformed JSON bodies", EXIT_OK, "malformed response", inject=("malformed",) * 4),
    Case("a request the API refuses (400)", EXIT_SOME_FAILED, "1 request failed", inject=("400",), done=N - 1, failed=1),
    Case("insufficient_quota mid-run", EXIT_STOPPED, "out of quota", sim={"quota_after": 5}, done=5,
         then=quota_restored),
    Case("401, a wrong key", EXIT_STOPPED, "refused the key", sim={"require_key": RIGHT_KEY}, done=0,
         then=right_key),
    Case("provider unreachable at start", EXIT_STOPPED, "cannot connect to the API at", arrange=provider_unreachable,
         done=0, then=provider_back),
    Case("full disk under the state file", EXIT_BAD_INPUT, "cannot write the state file", arrange=state_disk_fills,
         done=None, then=disk_freed),
    Case("full disk under the outputs", EXIT_BAD_INPUT, "No space left on device", arrange=output_disk_fills,
         then=disk_freed),
    Case("output folder cannot be created", EXIT_BAD_INPUT, "blocked is a file, not a folder",
         arrange=output_folder_is_a_file, done=0, then=output_folder_freed),
    Case("state folder cannot be created", EXIT_BAD_INPUT, "cannot create the state file",
         arrange=state_folder_is_a_file, done=0, then=output_folder_freed),
    Case("a second run while the first holds the state file", EXIT_BAD_INPUT, "in use by another oaib-tui run",
         arrange=another_run_holds_the_state_file, done=0, then=other_run_ends),
    Case("a second run after the first finished", EXIT_OK, "all requests answered", arrange=finished_before),
    # Batch mode: 12 items in parts of 6, on a simulator whose batches run 100 times faster than real time.
    Case("batch: a clean run", EXIT_OK, "batches  2: 2 completed", sim=FAST_BATCHES, project=BATCH,
         check=none_sent_in_realtime),
    Case("batch: a batch fails validation", EXIT_SOME_FAILED, "failed validation", project=BATCH,
         sim={**FAST_BATCHES, "batch_invalid_line_rate": 0.2}, done=None, failed=None),
    Case("batch: a batch expires, the rest goes in a new batch", EXIT_OK, "2 expired, 2 completed", project=BATCH,
         sim={**FAST_BATCHES, "batch_lines_per_s": 10, "batch_expire_after_s": 1.45}, check=none_sent_in_realtime),
    Case("batch: a batch expires, the rest goes to realtime", EXIT_OK, "batches  2: 2 expired",
         project={**BATCH, "batch": {**BATCH["batch"], "on_expired": "realtime"}},
         sim={**FAST_BATCHES, "batch_lines_per_s": 10, "batch_expire_after_s": 1.45}, check=some_sent_in_realtime),
    Case("batch: uploads fail with 5xx", EXIT_OK, "all requests answered", sim=FAST_BATCHES, project=BATCH,
         arrange=uploads_fail(500, 503)),
    Case("batch: an upload is refused (400)", EXIT_STOPPED, "upload: scripted upload error 400", sim=FAST_BATCHES,
         project=BATCH, arrange=uploads_fail(400), done=0, then=run_again),
    Case("batch: a second run on the same state file", EXIT_BAD_INPUT, "in use by another oaib-tui run",
         sim=FAST_BATCHES, project=BATCH, arrange=another_run_holds_the_state_file, done=0, then=other_run_ends),
]


def run_cli_in_process(project: Path, capsys: pytest.CaptureFixture | None = None) -> tuple[int, str]:
    """`oaib-tui run PROJECT --no-ui` in this process: (exit code, everything printed)."""
    try:
        cli.main(["run", str(project), "--no-ui"])
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    gc.collect()  # "Task exception was never retrieved" is printed when the task is collected
    printed = ""
    if capsys is not None:
        captured = capsys.readouterr()
        printed = captured.out + captured.err
    return code, printed


@pytest.mark.parametrize("case", MATRIX, ids=str)
def test_fault(case: Case, tmp_path, capsys, monkeypatch):
    app = Ledger(create_app(SimulatorSettings(**{"latency_ms": 5, "seed": 3, **case.sim})))
    with running_server(app=app) as url:
        scene = Scene(tmp_path, url, app, monkeypatch, write_ledger_project(tmp_path, url, N, **case.project))
        if case.arrange:
            case.arrange(scene)
        app.inject(*case.inject)
        capsys.readouterr()
        code, printed = run_cli_in_process(scene.project, capsys)
        assert "Traceback" not in printed and "never retrieved" not in printed, printed
        assert code == case.exit, printed
        assert case.says in printed, printed
        check_state(scene.project, case)
        if case.check:
            case.check(scene)
        if case.then:
            case.then(scene)
            code, printed = run_cli_in_process(scene.project, capsys)
            assert code == EXIT_OK and "Traceback" not in printed, printed
        _results, errors = assert_each_item_once(scene.project, N)
    assert len(errors) == case.failed if case.failed is not None else errors


def check_state(project: Path, case: Case) -> None:
    state = outputs_of(project)[2]
    if not state.exists():
        assert not case.done and not case.failed
        return
    counts = state_counts(state)  # opens cleanly and passes the integrity check, whatever happened
    if case.done is not None:
        assert counts.get("done", 0) == case.done, counts
    if case.failed is not None:
        assert counts.get("failed", 0) == case.failed, counts
