"""A rehearsal against the simulator fails what the real API would: a misspelt parameter or model fails every
item at once, with OpenAI's own message, instead of passing and failing later for real."""

from __future__ import annotations

import pytest
from engine_helpers import read_jsonl, run_job, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_SOME_FAILED

pytestmark = pytest.mark.looptime


async def test_a_misspelt_parameter_fails_each_item_with_openais_400(tmp_path):
    path = write_project(tmp_path, n=3, request={"max_token": 120})
    finished, rec, job = await run_job(path, sim_app())
    assert (finished.done, finished.failed, finished.exit_code) == (0, 3, EXIT_SOME_FAILED)
    assert {(f.status_code, f.attempt) for f in rec.of(ev.RequestFailed)} == {(400, 1)}
    assert not rec.of(ev.RetryScheduled)
    assert all("Unrecognized request argument supplied: max_token" in str(e) for e in read_jsonl(job.project.errors_path))


async def test_a_misspelt_model_fails_each_item_with_openais_404(tmp_path):
    path = write_project(tmp_path, n=2, model="gpt-4o-mni")
    finished, rec, _ = await run_job(path, sim_app())
    assert (finished.done, finished.failed) == (0, 2)
    assert {f.status_code for f in rec.of(ev.RequestFailed)} == {404}
    assert all("The model `gpt-4o-mni` does not exist" in f.message for f in rec.of(ev.RequestFailed))
