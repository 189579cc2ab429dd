"""Batch-mode runs killed with SIGKILL at seeded moments, then resumed to the end.

Kills land on the K-th API call of a run, between a Batch API step taking
effect at the provider and its answer reaching the client (a file stored, a
batch created, an output file being sent: the simulator's hooks), half-way
through a state-file transaction and half-way through writing the outputs.
After every kill the state file passes SQLite's integrity check and no file
was uploaded twice, no batch created twice from one file, no item put in two
batches. At the end every item is in the results or the errors exactly once.
"""

from __future__ import annotations

import random

import pytest
from reliability_helpers import (
    KillPoint,
    assert_each_item_once,
    item_ids,
    killed_run,
    outputs_of,
    read_lines,
    run_cli,
    state_counts,
    write_ledger_project,
)
from sim_ledger import Ledger

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow

SEED = 20240807
N = 400  # 20 parts: enough left to create at every hook kill, however the earlier kills fell
BAD_EVERY = 23
FAST_BATCHES = {"time_scale": 500, "batch_validation_s": 2, "batch_lines_per_s": 5000, "batch_finalizing_s": 2}


def kill_plan(rng: random.Random) -> list[KillPoint]:
    """8 kills, each at a step the job has not yet passed for good (20 parts of 20 requests)."""
    return [
        KillPoint("request", rng.randint(2, 8)),
        KillPoint("hook:file_stored"),
        KillPoint("hook:batch_created"),
        KillPoint("state-commit", rng.randint(2, 12)),
        KillPoint("request", rng.randint(2, 8)),
        KillPoint("hook:batch_created"),
        KillPoint("hook:content"),
        KillPoint("output-line", rng.randint(1, N - 20)),
    ]


def assert_nothing_done_twice(ledger: Ledger) -> None:
    """No file uploaded twice, no batch made twice from one file, no item in two uploaded files."""
    assert max(ledger.upload_names.values(), default=1) == 1, ledger.upload_names
    assert max(ledger.batch_api.input_files_used().values(), default=1) == 1
    assert max(ledger.uploaded.values(), default=1) == 1, [i for i, c in ledger.uploaded.items() if c > 1]


def test_batch_runs_killed_at_8_seeded_moments_lose_nothing_and_never_upload_or_create_twice(tmp_path):
    ledger = Ledger(create_app(SimulatorSettings(latency_ms=0, seed=SEED, **FAST_BATCHES)))
    with running_server(app=ledger) as url:
        project = write_ledger_project(tmp_path, url, N, bad_every=BAD_EVERY, mode="batch",
                                batch={"max_requests": 20, "poll_s": 0.05})
        results_path, errors_path, state = outputs_of(project)
        for point in kill_plan(random.Random(SEED)):
            killed_run(project, ledger, point)
            assert sum(state_counts(state).values()) > 0
            assert_nothing_done_twice(ledger)
            read_lines(results_path), read_lines(errors_path)  # never a partial line, even mid-write
        final = run_cli("run", str(project), "--no-ui")
        assert_nothing_done_twice(ledger)

    assert final.returncode == 1, final.stderr  # the 0-token records failed, as they must
    assert "Traceback" not in final.stderr
    results, errors = assert_each_item_once(project, N)
    assert {e["custom_id"] for e in errors} == set(item_ids(N)[BAD_EVERY - 1 :: BAD_EVERY])
    assert sorted(ledger.uploaded) == item_ids(N)  # every item went out, in exactly one file
    assert state_counts(state) == {"done": len(results), "failed": len(errors)}
