"""The simulator's Files and Batches API through the official SDK, on a fake clock."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types import Batch, FileDeleted, FileObject
from sim_helpers import chat_body

from oaib_tui.sim.batch_files import MultipartError, parse_multipart
from oaib_tui.sim.batch_lines import parse_input

URL = "/v1/chat/completions"


def batch_input(n: int, *, start: int = 0, **body) -> bytes:
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": URL, "body": chat_body(f"Say {i}", max_tokens=12, **body)}
             for i in range(start, start + n)]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def strictly(model_type, raw):
    return model_type.model_validate(json.loads(raw.http_response.content))


async def submit(client: openai.AsyncOpenAI, content: bytes, **metadata: str) -> Batch:
    uploaded = await client.files.create(file=("in.jsonl", content), purpose="batch")
    return await client.batches.create(input_file_id=uploaded.id, endpoint=URL, completion_window="24h",
                                       metadata=metadata or None)


async def lines_of(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict]:
    if file_id is None:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.text.splitlines()]


async def test_upload_retrieve_content_list_and_delete_a_file(make_app, client_for):
    client = client_for(make_app())
    raw = await client.files.with_raw_response.create(file=("in.jsonl", batch_input(3)), purpose="batch")
    uploaded = strictly(FileObject, raw)
    assert (uploaded.purpose, uploaded.filename, uploaded.bytes) == ("batch", "in.jsonl", len(batch_input(3)))
    assert (await client.files.retrieve(uploaded.id)).id == uploaded.id
    assert (await client.files.content(uploaded.id)).content == batch_input(3)
    listed = [f.id async for f in client.files.list(purpose="batch")]
    assert listed == [uploaded.id]
    deleted = await client.files.with_raw_response.delete(uploaded.id)
    assert strictly(FileDeleted, deleted).deleted
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(uploaded.id)


async def test_a_batch_goes_through_its_whole_lifecycle(make_app, client_for, clock):
    app = make_app(batch_validation_s=10, batch_lines_per_s=1, batch_finalizing_s=5)
    client = client_for(app)
    batch = await submit(client, batch_input(4), project="p", part="1")
    seen = [batch.status]
    for _ in range(30):
        clock.advance(1)
        raw = await client.batches.with_raw_response.retrieve(batch.id)
        now = strictly(Batch, raw)
        if now.status != seen[-1]:
            seen.append(now.status)
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert now.request_counts.model_dump() == {"total": 4, "completed": 4, "failed": 0}
    assert now.metadata == {"project": "p", "part": "1"} and now.model == "gpt-4o-mini"
    assert now.error_file_id is None and now.usage.output_tokens > 0
    output = await lines_of(client, now.output_file_id)
    assert sorted(line["custom_id"] for line in output) == ["r0", "r1", "r2", "r3"]
    assert all(line["response"]["status_code"] == 200 and line["response"]["body"]["choices"] for line in output)


async def test_output_lines_are_shuffled_as_the_real_api_returns_them(make_app, client_for, clock):
    client = client_for(make_app(batch_lines_per_s=1000))
    batch = await submit(client, batch_input(40))
    clock.advance(120)
    done = await client.batches.retrieve(batch.id)
    ids = [line["custom_id"] for line in await lines_of(client, done.output_file_id)]
    assert sorted(ids) == sorted(f"r{i}" for i in range(40)) and ids != [f"r{i}" for i in range(40)]


async def test_the_time_scale_speeds_the_lifecycle_up(make_app, client_for, clock):
    client = client_for(make_app(time_scale=3600, batch_lines_per_s=0.001))
    batch = await submit(client, batch_input(5))
    clock.advance(1)  # one real second is an hour: validated after 30 s, then 3,570 of the 5,000 s of work
    assert (await client.batches.retrieve(batch.id)).status == "in_progress"
    clock.advance(1)
    assert (await client.batches.retrieve(batch.id)).status == "completed"


async def test_line_failures_go_to_the_error_file(make_app, client_for, clock):
    client = client_for(make_app(batch_line_fail_rate=0.5, batch_lines_per_s=100))
    content = batch_input(20) + json.dumps({"custom_id": "bad", "method": "POST", "url": URL,
                                            "body": {"model": "gpt-4o-mini"}}).encode() + b"\n"
    batch = await submit(client, content)
    clock.advance(200)
    done = await client.batches.retrieve(batch.id)
    errors = await lines_of(client, done.error_file_id)
    output = await lines_of(client, done.output_file_id)
    assert done.status == "completed" and done.request_counts.failed == len(errors) and len(output) + len(errors) == 21
    statuses = {line["custom_id"]: line["response"]["status_code"] for line in errors}
    assert statuses.pop("bad") == 400 and statuses and set(statuses.values()) == {500}


async def test_invalid_lines_fail_validation_with_line_numbers(make_app, client_for, clock):
    client = client_for(make_app())
    lines = batch_input(2).splitlines()
    content = b"\n".join([lines[0], b"{not json", lines[0], lines[1].replace(URL.encode(), b"/v1/embeddings")]) + b"\n"
    batch = await submit(client, content)
    clock.advance(60)
    failed = await client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.output_file_id is None
    assert [(e.line, e.code) for e in failed.errors.data] == [
        (2, "invalid_json_line"), (3, "duplicate_custom_id"), (4, "mismatched_endpoint")]


async def test_a_batch_mixing_models_fails_validation(make_app, client_for, clock):
    client = client_for(make_app())
    content = batch_input(1) + batch_input(1, start=1).replace(b"gpt-4o-mini", b"gpt-4o")
    batch = await submit(client, content)
    clock.advance(60)
    [error] = (await client.batches.retrieve(batch.id)).errors.data
    assert (error.code, error.line) == ("mismatched_model", 2)


async def test_a_line_the_endpoint_would_refuse_gets_its_400_in_the_error_file(make_app, client_for, clock):
    client = client_for(make_app(batch_lines_per_s=100))
    content = batch_input(2) + batch_input(1, start=2, max_token=120) + batch_input(1, start=3, temperature="hot")
    batch = await submit(client, content)
    clock.advance(120)
    done = await client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.model_dump() == {"total": 4, "completed": 2, "failed": 2}
    errors = {line["custom_id"]: line["response"] for line in await lines_of(client, done.error_file_id)}
    assert errors["r2"]["status_code"] == 400 and errors["r2"]["body"] == {"error": {
        "message": "Unrecognized request argument supplied: max_token", "type": "invalid_request_error",
        "param": None, "code": None}}
    assert errors["r3"]["body"]["error"]["code"] == "invalid_type" and errors["r3"]["body"]["error"]["param"] == "temperature"
    assert sorted(line["custom_id"] for line in await lines_of(client, done.output_file_id)) == ["r0", "r1"]


async def test_a_batch_of_an_unknown_model_fails_validation_with_model_not_found(make_app, client_for, clock):
    client = client_for(make_app())
    batch = await submit(client, batch_input(2).replace(b"gpt-4o-mini", b"gpt-4o-mni"))
    clock.advance(60)
    failed = await client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.output_file_id is None
    assert [(e.line, e.code, e.param, e.message) for e in failed.errors.data] == [
        (n, "model_not_found", "body.model", "The provided model 'gpt-4o-mni' is not supported by the Batch API.")
        for n in (1, 2)]


async def test_a_batch_of_a_model_the_simulator_adds_completes(make_app, client_for, clock):
    client = client_for(make_app(models=["acme-large"]))
    batch = await submit(client, batch_input(2).replace(b"gpt-4o-mini", b"acme-large"))
    clock.advance(200)
    assert (await client.batches.retrieve(batch.id)).status == "completed"


async def test_the_invalid_line_rate_scripts_a_validation_failure(make_app, client_for, clock):
    client = client_for(make_app(batch_invalid_line_rate=1.0))
    batch = await submit(client, batch_input(3))
    clock.advance(60)
    failed = await client.batches.retrieve(batch.id)
    assert failed.status == "failed" and [e.line for e in failed.errors.data] == [1, 2, 3]


async def test_expiry_keeps_partial_output_and_lists_the_rest_as_batch_expired(make_app, client_for, clock):
    client = client_for(make_app(batch_validation_s=0, batch_lines_per_s=1, batch_expire_after_s=3.5))
    batch = await submit(client, batch_input(6))
    clock.advance(10)
    expired = await client.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.expired_at is not None
    output = await lines_of(client, expired.output_file_id)
    errors = await lines_of(client, expired.error_file_id)
    assert sorted(line["custom_id"] for line in output) == ["r0", "r1", "r2"]
    assert [(e["custom_id"], e["error"]["code"], e["response"]) for e in errors] == [
        ("r3", "batch_expired", None), ("r4", "batch_expired", None), ("r5", "batch_expired", None)]


async def test_cancel_keeps_what_was_done(make_app, client_for, clock):
    client = client_for(make_app(batch_validation_s=0, batch_lines_per_s=1, batch_finalizing_s=5))
    batch = await submit(client, batch_input(10))
    clock.advance(4)
    cancelling = await client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    clock.advance(6)
    cancelled = await client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.request_counts.completed == 4
    assert len(await lines_of(client, cancelled.output_file_id)) == 4
    with pytest.raises(openai.ConflictError):
        await client.batches.cancel(batch.id)


async def test_the_enqueued_token_limit_refuses_a_batch_while_others_hold_it(make_app, client_for, clock):
    app = make_app(batch_validation_s=1, batch_lines_per_s=1)
    client = client_for(app)
    one_batch = parse_input(batch_input(3), URL, app.settings, "b").tokens
    app.update(batch_enqueued_tokens=one_batch + 1)
    first = await submit(client, batch_input(3))
    clock.advance(2)
    second = await submit(client, batch_input(3, start=3))
    clock.advance(2)
    refused = await client.batches.retrieve(second.id)
    assert refused.status == "failed" and refused.errors.data[0].code == "token_limit_exceeded"
    assert "Limit: " in refused.errors.data[0].message
    clock.advance(100)
    assert (await client.batches.retrieve(first.id)).status == "completed"
    third = await submit(client, batch_input(3, start=3))
    clock.advance(100)
    assert (await client.batches.retrieve(third.id)).status == "completed"


async def test_batches_list_newest_first_with_pagination(make_app, client_for):
    client = client_for(make_app())
    ids = [(await submit(client, batch_input(1, start=i))).id for i in range(5)]
    first = await client.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
    everything = [b.id async for b in client.batches.list(limit=2)]
    assert everything == ids[::-1]
    raw = await client.batches.with_raw_response.list(limit=2)
    page = json.loads(raw.http_response.content)
    assert [Batch.model_validate(b).id for b in page["data"]] == ids[::-1][:2] and page["last_id"] == ids[3]


async def test_create_refuses_a_missing_file_a_wrong_purpose_and_a_bad_window(make_app, client_for):
    client = client_for(make_app())
    with pytest.raises(openai.BadRequestError):
        await client.batches.create(input_file_id="file-nope", endpoint=URL, completion_window="24h")
    other = await client.files.create(file=("x.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError):
        await client.batches.create(input_file_id=other.id, endpoint=URL, completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        await client.batches.retrieve("batch_nope")


async def test_batch_routes_need_the_key_when_one_is_required(make_app, client_for):
    client = client_for(make_app(require_key="sk-right-key-123456"), api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError):
        await client.files.create(file=("in.jsonl", batch_input(1)), purpose="batch")


def test_multipart_parsing_finds_fields_and_refuses_garbage():
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
            b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\nline one\r\nline two\r\n--XX--\r\n")
    assert parse_multipart("multipart/form-data; boundary=XX", body) == {
        "purpose": (None, b"batch"), "file": ("a.jsonl", b"line one\r\nline two")}
    with pytest.raises(MultipartError):
        parse_multipart("multipart/form-data; boundary=XX", body.replace(b"--XX--", b"--YY--"))
    with pytest.raises(MultipartError):
        parse_multipart("application/json", body)


async def test_output_files_expire_as_output_expires_after_says(make_app, client_for, clock):
    client = client_for(make_app(batch_validation_s=0, batch_lines_per_s=10, batch_finalizing_s=0))
    uploaded = await client.files.create(file=("in.jsonl", batch_input(3)), purpose="batch")
    batch = await client.batches.create(input_file_id=uploaded.id, endpoint=URL, completion_window="24h",
                                        output_expires_after={"anchor": "created_at", "seconds": 3600})
    clock.advance(5)
    done = await client.batches.retrieve(batch.id)
    output = await client.files.retrieve(done.output_file_id)
    assert output.expires_at == output.created_at + 3600
    assert len(await lines_of(client, done.output_file_id)) == 3
    clock.advance(3600)
    with pytest.raises(openai.NotFoundError):
        await client.files.content(done.output_file_id)


async def test_create_refuses_an_output_expiry_outside_an_hour_to_30_days(make_app, client_for):
    client = client_for(make_app())
    uploaded = await client.files.create(file=("in.jsonl", batch_input(1)), purpose="batch")
    for expiry in ({"anchor": "created_at", "seconds": 60}, {"anchor": "completed_at", "seconds": 7200},
                   {"anchor": "created_at", "seconds": 31 * 86_400}):
        with pytest.raises(openai.BadRequestError, match="output_expires_after"):
            await client.batches.create(input_file_id=uploaded.id, endpoint=URL, completion_window="24h",
                                        output_expires_after=expiry)  # type: ignore[arg-type]


async def test_a_queue_delay_holds_an_in_progress_batch_before_its_first_line(make_app, client_for, clock):
    client = client_for(make_app(batch_validation_s=0, batch_queue_s=100, batch_lines_per_s=1, batch_finalizing_s=0))
    batch = await submit(client, batch_input(5))
    clock.advance(99)
    waiting = await client.batches.retrieve(batch.id)
    assert (waiting.status, waiting.request_counts.completed) == ("in_progress", 0)
    clock.advance(3)
    assert (await client.batches.retrieve(batch.id)).request_counts.completed == 2
    clock.advance(10)
    assert (await client.batches.retrieve(batch.id)).status == "completed"
