"""Realtime runs killed with SIGKILL at seeded moments, then resumed to the end.

A run is killed when the simulator receives its K-th request (requests in
flight), half-way through a state-file transaction, or half-way through
writing the output files (the last two through `OAIB_TUI_PAUSE_AT`). After
every kill the state file must open and pass SQLite's integrity check, and
the next run must not send any item the state file holds as finished. At the
end every item is in the results or the errors exactly once, and every item
the simulator answered twice is one that was in flight at a kill.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from reliability_helpers import (
    KillPoint,
    assert_each_item_once,
    finished_ids,
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

SEED = 20240806
N = 400
CONCURRENCY = 8
BAD_EVERY = 23
"""Every 23rd record asks for 0 output tokens: the simulator answers 400 and the item fails."""


def kill_plan(rng: random.Random) -> list[KillPoint]:
    """13 kills: mid-stream and mid-transaction while items remain, then twice while writing outputs."""
    mid_run = [KillPoint("request", rng.randint(3, 30)) for _ in range(8)]
    mid_run += [KillPoint("state-commit", rng.randint(2, 25)) for _ in range(3)]
    rng.shuffle(mid_run)
    return mid_run + [KillPoint("output-line", rng.randint(1, N - 20)) for _ in range(2)]


def test_realtime_runs_killed_at_13_seeded_moments_lose_nothing_and_resend_only_what_was_in_flight(tmp_path):
    ledger = Ledger(create_app(SimulatorSettings(latency_ms=20, fail_rate=0.03, seed=SEED)))
    with running_server(app=ledger) as url:
        project = write_ledger_project(tmp_path, url, N, bad_every=BAD_EVERY, limits={"concurrency": CONCURRENCY})
        results_path, errors_path, state = outputs_of(project)
        paid_twice_allowance = 0
        for point in kill_plan(random.Random(SEED)):
            finished_before = finished_ids(state) if state.exists() else set()
            requests_before, answered_before = ledger.snapshot()
            killed_run(project, ledger, point)
            requests, answered = ledger.snapshot()
            sent_this_run = set(requests - requests_before)
            assert not sent_this_run & finished_before, f"finished items sent again after {point}"
            assert sum(state_counts(state).values()) > 0
            recorded = finished_ids(state)
            unrecorded = set(answered - answered_before) - recorded
            assert len(unrecorded) <= CONCURRENCY, f"{point}: answers lost beyond those in flight: {unrecorded}"
            paid_twice_allowance += len(unrecorded)
            read_lines(results_path), read_lines(errors_path)  # never a partial line, even mid-write

        finished_before = finished_ids(state)
        requests_before, _ = ledger.snapshot()
        final = run_cli("run", str(project), "--no-ui")
        requests, answered = ledger.snapshot()

    assert final.returncode == 1, final.stderr  # the 0-token records failed, as they must
    assert "Traceback" not in final.stderr
    assert not set(requests - requests_before) & finished_before
    results, errors = assert_each_item_once(project, N)
    assert {e["custom_id"] for e in errors} == set(item_ids(N)[BAD_EVERY - 1 :: BAD_EVERY])
    paid_twice = sum(count - 1 for count in answered.values() if count > 1)
    assert paid_twice <= paid_twice_allowance
    assert Counter(r["custom_id"] for r in results).keys() <= answered.keys()
    assert state_counts(state) == {"done": len(results), "failed": len(errors)}
