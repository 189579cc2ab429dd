"""Batch-input lines and the split rules: both limits, one endpoint and model per part, and the forecast agrees."""

from __future__ import annotations

import json

import pytest
from batch_helpers import batch_sim, read_jsonl, run_batch, write_batch_project

from oaib_tui import events as ev
from oaib_tui.batch.writer import (
    PartCounter,
    PartLimits,
    PartWriter,
    batch_line,
    body_json,
)
from oaib_tui.forecast import forecast
from oaib_tui.project import RequestPlan, load_project

URL = "/v1/chat/completions"


def line(i: int, size: int = 0, model: str = "gpt-4o-mini") -> bytes:
    return batch_line(f"id-{i}", URL, body_json({"model": model, "messages": [{"role": "user", "content": "x" * size}]}))


def writer(tmp_path, **limits) -> PartWriter:
    numbers = iter(range(1, 1000))
    return PartWriter(tmp_path, PartLimits(**{"max_requests": 50_000, "max_bytes": 10**9, **limits}), lambda: next(numbers))


def test_a_line_is_the_batch_input_shape_and_stays_valid_utf8_json():
    raw = batch_line("a", URL, body_json({"model": "m", "messages": [{"role": "user", "content": "é \ud800"}]}))
    parsed = json.loads(raw.decode("utf-8"))
    assert list(parsed) == ["custom_id", "method", "url", "body"] and raw.endswith(b"\n")
    assert parsed["method"] == "POST" and parsed["body"]["messages"][0]["content"] == "é \ud800"


def test_parts_are_split_at_max_requests(tmp_path):
    w = writer(tmp_path, max_requests=3)
    closed = [c for i in range(7) if (c := w.add(URL, "m", line(i), 1, 0.0)[1])]
    closed += w.close_all()
    assert [p.requests for p in closed] == [3, 3, 1] and [p.number for p in closed] == [1, 2, 3]
    assert [len(p.path.read_bytes().splitlines()) for p in closed] == [3, 3, 1]


def test_parts_are_split_at_max_bytes_and_no_file_exceeds_it(tmp_path):
    size = len(line(0, 100))
    w = writer(tmp_path, max_bytes=size * 2 + 10)
    closed = [c for i in range(5) if (c := w.add(URL, "m", line(i, 100), 1, 0.0)[1])] + w.close_all()
    assert [p.requests for p in closed] == [2, 2, 1]
    assert all(p.path.stat().st_size == p.bytes <= size * 2 + 10 for p in closed)
    assert w.too_big(line(9, 1000))


def test_each_model_gets_its_own_parts(tmp_path):
    w = writer(tmp_path, max_requests=2)
    for i in range(6):
        w.add(URL, "a" if i % 2 else "b", line(i, model="a" if i % 2 else "b"), 1, 0.0)
    parts = w.close_all()
    assert [(p.model, p.requests) for p in parts] == [("b", 1), ("a", 1)]
    models = {json.loads(raw)["body"]["model"] for p in parts for raw in p.path.read_bytes().splitlines()}
    assert models == {"a", "b"}


def test_a_known_token_limit_caps_each_part(tmp_path):
    w = writer(tmp_path, max_tokens=25)
    closed = [c for i in range(5) if (c := w.add(URL, "m", line(i), 10, 0.0)[1])] + w.close_all()
    assert [p.tokens for p in closed] == [20, 20, 10]


@pytest.mark.parametrize("limits", [{"max_requests": 4}, {"max_bytes": 700}, {"max_requests": 3, "max_bytes": 500}])
def test_the_counter_agrees_with_the_writer(tmp_path, limits):
    lines = [(line(i, 60 * (i % 3)), "m" if i % 4 else "n") for i in range(17)]
    w, counter = writer(tmp_path, **limits), PartCounter(PartLimits(**{"max_requests": 50_000, "max_bytes": 10**9, **limits}))
    for raw, model in lines:
        w.add(URL, model, raw, 1, 0.0)
        counter.add(URL, model, len(raw), 1)
    assert counter.parts == w.close_all()[-1].number


@pytest.mark.looptime
async def test_a_job_split_by_max_bytes_uploads_files_within_the_limit(tmp_path):
    path = write_batch_project(tmp_path, n=12, batch={"max_bytes": 600, "clean_up": False})
    app = batch_sim()
    finished, rec, job = await run_batch(path, app)
    inputs = [f for f in app.batch_api.files._files.values() if f.purpose == "batch"]
    assert len(inputs) == len(rec.of(ev.BatchCreated)) > 1
    assert all(len(f.content) <= 600 for f in inputs) and sum(len(f.content.splitlines()) for f in inputs) == 12
    assert finished.done == 12 and len(read_jsonl(job.project.results_path)) == 12
    expected = forecast(job.project, RequestPlan(job.project)).batches
    assert expected == len(inputs)


def test_the_forecast_counts_the_parts_of_a_batch_project(tmp_path):
    path = write_batch_project(tmp_path, n=25, batch={"max_requests": 10})
    project = load_project(path)
    assert forecast(project, RequestPlan(project)).batches == 3
