"""Batch mode on Azure: its line form (endpoint without /v1, the Global Batch deployment as the model)."""

from __future__ import annotations

import json

import pytest
from batch_helpers import (
    batch_sim,
    parts_of,
    read_jsonl,
    run_batch,
    write_batch_project,
)

from oaib_tui.batch.writer import LineForm
from oaib_tui.job import JobRun
from oaib_tui.project import load_project
from oaib_tui.render import render_batch_input
from oaib_tui.state.batches import BatchLedger

pytestmark = pytest.mark.looptime

AZURE = {"kind": "azure", "base_url": "http://simulator.local", "api_version": "2024-10-21",
         "deployment": "batch-4o-mini"}


def azure_project(tmp_path, monkeypatch, n: int = 5):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-azure-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-azure-test")
    return write_batch_project(tmp_path, n=n, provider=AZURE, batch={"poll_s": 30, "clean_up": False})


async def test_azure_batches_name_the_endpoint_and_the_deployment_as_azure_wants(tmp_path, monkeypatch):
    path = azure_project(tmp_path, monkeypatch)
    app = batch_sim()
    finished, _, _ = await run_batch(path, app)
    assert finished.state == "finished" and finished.done == 5 and finished.cost_usd > 0  # priced as gpt-4o-mini
    [part] = parts_of(path)
    [batch] = app.batch_api.book.all()
    assert batch.endpoint == "/chat/completions" and part.url == "/chat/completions"
    lines = [json.loads(line) for line in app.batch_api.files.get(part.input_file_id).content.splitlines()]
    assert {(line["url"], line["body"]["model"]) for line in lines} == {("/chat/completions", "batch-4o-mini")}
    results = read_jsonl(path.parent / "out" / "b.results.jsonl")
    assert [r["custom_id"] for r in results] == [f"item-{i}" for i in range(5)]


async def test_a_part_file_rebuilt_from_the_state_file_is_the_file_uploaded(tmp_path, monkeypatch):
    # A part file lost before its upload is rebuilt from the requests the state file keeps (OpenAI's form).
    path = azure_project(tmp_path, monkeypatch)
    app = batch_sim()
    await run_batch(path, app)
    [part] = parts_of(path)
    uploaded = app.batch_api.files.get(part.input_file_id).content
    job = JobRun(load_project(path))
    try:
        form = LineForm.of(job.project)
        stored = BatchLedger(job.store).request_lines(part.part, unfinished_only=False)
        rebuilt = b"".join(form.line(custom_id, part.url, request) for custom_id, request in stored)
    finally:
        job.close()
    assert rebuilt == uploaded


def test_render_writes_the_azure_form(tmp_path, monkeypatch):
    path = azure_project(tmp_path, monkeypatch, n=3)
    render_batch_input(load_project(path), tmp_path / "in.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "in.jsonl").read_text().splitlines()]
    assert [(line["url"], line["body"]["model"]) for line in lines] == [("/chat/completions", "batch-4o-mini")] * 3
