"""Batch mode sets `output_expires_after` on each batch; `/v1/responses` jobs run end to end."""

from __future__ import annotations

import pytest
from batch_helpers import batch_sim, parts_of, read_jsonl, run_batch, write_batch_project

from oaib_tui.errors import EXIT_OK

pytestmark = pytest.mark.looptime


async def test_each_batch_asks_for_its_output_to_be_kept_as_long_as_the_setting_says(tmp_path):
    path = write_batch_project(tmp_path, n=3, batch={"output_expires_after": "2d", "clean_up": False})
    app = batch_sim()
    finished, _, _ = await run_batch(path, app)
    assert finished.exit_code == EXIT_OK
    [batch] = app.batch_api.book.all()
    assert batch.output_expires_after_s == 2 * 86_400
    output = app.batch_api.files.get(batch.output_file_id)
    assert output.expires_at == output.created_at + 2 * 86_400


async def test_the_default_keeps_output_a_week(tmp_path):
    app = batch_sim()
    await run_batch(write_batch_project(tmp_path, n=2), app)
    assert [b.output_expires_after_s for b in app.batch_api.book.all()] == [7 * 86_400]


async def test_a_responses_job_goes_through_the_batch_api_into_priced_results(tmp_path):
    path = write_batch_project(tmp_path, n=6, endpoint="/v1/responses")
    text = path.read_text().replace("max_tokens: 12", "max_output_tokens: 16")
    path.write_text(text.replace("messages:", "input:"))
    app = batch_sim()
    finished, _, job = await run_batch(path, app)
    assert (finished.state, finished.done, finished.failed) == ("finished", 6, 0)
    results = read_jsonl(job.project.results_path)
    assert [r["custom_id"] for r in results] == [f"item-{i}" for i in range(6)]
    assert all(r["response"]["output"] for r in results)
    assert finished.cost_usd > 0
    [part] = parts_of(path)
    assert part.url == "/v1/responses"
