"""Batch mode ends checked against the state file too: no "all answered" the file does not record."""

from __future__ import annotations

import pytest
from batch_helpers import batch_sim, run_batch, write_batch_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_OK

pytestmark = pytest.mark.looptime


async def test_a_batch_run_is_checked_against_the_state_file(tmp_path):
    finished, rec, job = await run_batch(write_batch_project(tmp_path, n=6), batch_sim())
    assert finished.exit_code == EXIT_OK and job.accounting is not None
    assert (job.accounting.done, job.accounting.to_do) == (6, 0)
    assert rec.of(ev.RunFinished) == [finished]

