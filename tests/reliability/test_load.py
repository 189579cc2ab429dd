"""Load, small: 3,000 requests through 2% 5xx and 1% dropped connections, every item accounted for.

The full 100,000-request run is `python bench/bench_load.py` (figures in docs/reliability.md).
"""

from __future__ import annotations

import sqlite3

import pytest
from reliability_helpers import (
    assert_each_item_once,
    outputs_of,
    run_cli,
    state_counts,
    write_ledger_project,
)

from oaib_tui.errors import EXIT_OK
from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim.app import create_app
from oaib_tui.sim.server import running_server

pytestmark = pytest.mark.slow

N = 3000


def test_3000_requests_through_5xx_and_dropped_connections_all_answered_once(tmp_path):
    app = create_app(SimulatorSettings(latency_ms=0, rpm=10**8, tpm=10**10, fail_rate=0.02, drop_rate=0.01, seed=11))
    with running_server(app=app) as url:
        project = write_ledger_project(tmp_path, url, N, limits={"concurrency": 50})
        done = run_cli("run", str(project), "--no-ui", timeout=300)
    assert done.returncode == EXIT_OK, done.stderr
    results, errors = assert_each_item_once(project, N)
    assert len(results) == N and not errors
    state = outputs_of(project)[2]
    assert state_counts(state) == {"done": N}
    faults = app.stats.faults
    assert faults["drop"] > 0 and sum(faults[code] for code in ("500", "502", "503")) > 0
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        retries = dict(conn.execute("SELECT reason, count(*) FROM retries GROUP BY reason").fetchall())
    assert retries["connection dropped"] == faults["drop"]  # each fault retried once, none lost or doubled
    assert sum(retries.values()) == sum(faults.values())
    assert app.stats.answered == N  # nothing paid for twice
