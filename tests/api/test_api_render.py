"""`oaib-tui render`: batch-input files the Batch API takes as they are, split as batch mode splits."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml
from api_helpers import sim

from oaib_tui.cli import main
from oaib_tui.errors import UserError
from oaib_tui.project import load_project
from oaib_tui.render import render_batch_input
from oaib_tui.sim.client import simulator_openai_client

pytestmark = pytest.mark.looptime


def project_file(tmp_path, n=10, items=None, **overrides):
    spec = {
        "name": "r", "model": "gpt-4o-mini", "mode": "batch",
        "sources": [{"items": items or [{"n": i} for i in range(n)], "id": "item-{n}"}],
        "request": {"max_tokens": 12, "messages": [{"role": "user", "content": "Say {n}"}]},
        **overrides,
    }
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


async def submit_and_wait(client, path, url):
    uploaded = await client.files.create(file=(path.name, path.read_bytes()), purpose="batch")
    batch = await client.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h")
    for _ in range(100):
        await asyncio.sleep(60)
        batch = await client.batches.retrieve(batch.id)
        if batch.status in ("completed", "failed", "expired"):
            return batch
    raise AssertionError(f"batch still {batch.status}")


async def test_rendered_files_are_accepted_by_the_batch_api_as_they_are(tmp_path):
    path = project_file(tmp_path, n=10, batch={"max_requests": 4})
    files = render_batch_input(load_project(path), tmp_path / "in.jsonl")
    assert [f.path.name for f in files] == ["in-001.jsonl", "in-002.jsonl", "in-003.jsonl"]
    assert [f.requests for f in files] == [4, 4, 2]
    client = simulator_openai_client(sim(batch_validation_s=1, batch_finalizing_s=1))
    answered = []
    for rendered in files:
        batch = await submit_and_wait(client, rendered.path, rendered.url)
        assert batch.status == "completed" and batch.errors is None
        assert (batch.request_counts.total, batch.request_counts.failed) == (rendered.requests, 0)
        content = await client.files.content(batch.output_file_id)
        answered += [json.loads(line)["custom_id"] for line in content.text.splitlines()]
    assert sorted(answered) == sorted(f"item-{i}" for i in range(10))


def test_each_line_is_the_request_the_project_sends(tmp_path):
    path = project_file(tmp_path, n=2)
    [rendered] = render_batch_input(load_project(path), tmp_path / "in.jsonl")
    lines = [json.loads(line) for line in rendered.path.read_text().splitlines()]
    assert lines[1] == {"custom_id": "item-1", "method": "POST", "url": "/v1/chat/completions",
                        "body": {"model": "gpt-4o-mini", "max_tokens": 12,
                                 "messages": [{"role": "user", "content": "Say 1"}]}}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".in.jsonl")], "no staging folder left"


def test_files_split_by_model_and_by_size(tmp_path):
    items = [{"n": i, "m": "gpt-4o" if i % 2 else "gpt-4o-mini"} for i in range(6)]
    path = project_file(tmp_path, items=items, request={"model": "{m}", "messages": [{"role": "user", "content": "{n}"}]})
    files = render_batch_input(load_project(path), tmp_path / "in.jsonl")
    assert sorted((f.model, f.requests) for f in files) == [("gpt-4o", 3), ("gpt-4o-mini", 3)]
    small = project_file(tmp_path, n=6, batch={"max_bytes": 400})
    files = render_batch_input(load_project(small), tmp_path / "small.jsonl")
    assert len(files) > 1 and all(f.bytes <= 400 for f in files) and sum(f.requests for f in files) == 6


def test_a_request_too_big_for_any_file_is_an_error_naming_it(tmp_path):
    items = [{"n": 1, "t": "short"}, {"n": 2, "t": "x" * 500}]
    path = project_file(tmp_path, items=items, batch={"max_bytes": 300},
                        request={"messages": [{"role": "user", "content": "{t}"}]})
    with pytest.raises(UserError, match="1 request cannot go in any batch file") as caught:
        render_batch_input(load_project(path), tmp_path / "in.jsonl")
    assert "item-2" in str(caught.value)
    assert not (tmp_path / "in.jsonl").exists()


def test_the_render_command_prints_what_it_wrote(tmp_path, capsys):
    path = project_file(tmp_path, n=3)
    main(["render", str(path), "-o", str(tmp_path / "out" / "in.jsonl")])
    text = capsys.readouterr().out
    assert "wrote 3 requests in 1 batch-input file" in text and "/v1/chat/completions  gpt-4o-mini" in text
    assert (tmp_path / "out" / "in.jsonl").read_text().count("\n") == 3
