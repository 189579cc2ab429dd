"""Batch mode end to end against the in-process simulator, on virtual time."""

from __future__ import annotations

import pytest
from batch_helpers import (
    batch_sim,
    parts_of,
    read_jsonl,
    run_batch,
    write_batch_project,
)

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_OK

pytestmark = pytest.mark.looptime


async def test_a_job_goes_through_the_whole_lifecycle_into_results_in_source_order(tmp_path):
    path = write_batch_project(tmp_path, n=25)
    app = batch_sim()
    finished, rec, job = await run_batch(path, app)
    assert (finished.state, finished.done, finished.failed, finished.exit_code) == ("finished", 25, 0, EXIT_OK)
    results = read_jsonl(job.project.results_path)
    assert [r["custom_id"] for r in results] == [f"item-{i}" for i in range(25)]
    assert all(r["word"] == f"w{i}" and r["response"]["choices"] for i, r in enumerate(results))
    [created] = rec.of(ev.BatchCreated)
    statuses = [e.status for e in rec.of(ev.BatchStatusChanged)]
    assert statuses[-1] == "completed" and "in_progress" in statuses
    [downloaded] = rec.of(ev.BatchDownloaded)
    assert (downloaded.batch_id, downloaded.succeeded, downloaded.unfinished) == (created.batch_id, 25, 0)
    assert len(rec.of(ev.RequestQueued)) == 25 and len(rec.of(ev.RequestSent)) == 25
    [part] = parts_of(path)
    assert (part.phase, part.status, part.requests, part.cleaned) == ("downloaded", "completed", 25, True)
    assert len(app.batch_api.files) == 0


async def test_without_clean_up_the_files_stay_at_the_provider(tmp_path):
    path = write_batch_project(tmp_path, n=5, batch={"clean_up": False})
    app = batch_sim()
    await run_batch(path, app)
    purposes = sorted(f["purpose"] for f in (stored.as_object() for stored in app.batch_api.files._files.values()))
    assert purposes == ["batch", "batch_output"]


async def test_parts_split_by_max_requests_each_become_a_batch(tmp_path):
    path = write_batch_project(tmp_path, n=23, batch={"max_requests": 10})
    app = batch_sim()
    finished, rec, job = await run_batch(path, app)
    assert finished.done == 23
    assert [e.requests for e in rec.of(ev.BatchCreated)] == [10, 10, 3]
    assert [p.requests for p in parts_of(path)] == [10, 10, 3]
    assert [r["custom_id"] for r in read_jsonl(job.project.results_path)] == [f"item-{i}" for i in range(23)]


async def test_retryable_line_failures_go_into_a_new_batch_and_client_errors_are_reported(tmp_path):
    items = [{"n": i, "word": f"w{i}", "mt": 0 if i == 3 else 12} for i in range(30)]
    path = write_batch_project(tmp_path, limits={"max_retries": 4},
                               sources=[{"items": items, "id": "item-{n}"}],
                               request={"max_tokens": "{mt}", "messages": [{"role": "user", "content": "Say {word}"}]})
    app = batch_sim(batch_line_fail_rate=0.3)
    finished, rec, job = await run_batch(path, app)
    [failed] = rec.of(ev.RequestFailed)
    assert (failed.custom_id, failed.status_code, failed.reason) == ("item-3", 400, "400")
    retried = {e.custom_id for e in rec.of(ev.RetryScheduled)}
    assert retried and "item-3" not in retried and all(e.reason == "500" for e in rec.of(ev.RetryScheduled))
    assert (finished.done, finished.failed) == (29, 1)
    assert len(rec.of(ev.BatchCreated)) >= 2
    first_round = rec.of(ev.BatchDownloaded)[0]
    resubmitted = rec.of(ev.BatchResubmitted)[0]
    assert resubmitted.items == first_round.unfinished and resubmitted.to == "batch"
    results = read_jsonl(job.project.results_path)
    assert sorted(r["custom_id"] for r in results) == sorted(f"item-{i}" for i in range(30) if i != 3)
    assert [e["custom_id"] for e in read_jsonl(job.project.errors_path)] == ["item-3"]


async def test_retries_stop_after_max_retries_new_batches(tmp_path):
    path = write_batch_project(tmp_path, n=4, limits={"max_retries": 1})
    app = batch_sim(batch_line_fail_rate=1.0)
    finished, rec, _ = await run_batch(path, app)
    assert len(rec.of(ev.BatchCreated)) == 2
    assert finished.failed == 4 and all("gave up after 2 batches" in e.reason for e in rec.of(ev.RequestFailed))


async def test_expiry_resubmits_exactly_the_missing_items(tmp_path):
    path = write_batch_project(tmp_path, n=30)
    app = batch_sim(batch_validation_s=0, batch_lines_per_s=1, batch_expire_after_s=20)
    finished, rec, job = await run_batch(path, app)
    first, _second = rec.of(ev.BatchDownloaded)[:2]
    assert 0 < first.succeeded < 30 and first.succeeded + first.unfinished == 30
    assert [e.items for e in rec.of(ev.BatchResubmitted)][0] == first.unfinished
    assert rec.of(ev.BatchCreated)[1].requests == first.unfinished
    expired = {e.custom_id for e in rec.of(ev.RetryScheduled) if e.reason == "batch_expired"}
    answered_first = {e.custom_id for e in rec.of(ev.RequestSucceeded)[:first.succeeded]}
    assert expired | answered_first == {f"item-{i}" for i in range(30)} and not expired & answered_first
    assert finished.done == 30 and finished.exit_code == EXIT_OK
    ids = [r["custom_id"] for r in read_jsonl(job.project.results_path)]
    assert ids == [f"item-{i}" for i in range(30)]


async def test_on_expired_realtime_sends_the_rest_through_the_realtime_engine(tmp_path):
    path = write_batch_project(tmp_path, n=30, batch={"on_expired": "realtime"})
    app = batch_sim(batch_validation_s=0, batch_lines_per_s=1, batch_expire_after_s=20)
    finished, rec, job = await run_batch(path, app)
    [downloaded] = rec.of(ev.BatchDownloaded)
    [resubmitted] = rec.of(ev.BatchResubmitted)
    assert (resubmitted.to, resubmitted.items, resubmitted.reason) == ("realtime", downloaded.unfinished, "batch_expired")
    assert len(rec.of(ev.BatchCreated)) == 1 and app.stats.answered == downloaded.unfinished
    assert len(rec.of(ev.RunStarted)) == 1 and len(rec.of(ev.RunFinished)) == 1
    assert finished.done == 30 and finished.state == "finished"
    ids = [r["custom_id"] for r in read_jsonl(job.project.results_path)]
    assert ids == [f"item-{i}" for i in range(30)]
    batch_cost = [e.cost_usd for e in rec.of(ev.RequestSucceeded)[:downloaded.succeeded]]
    realtime_cost = [e.cost_usd for e in rec.of(ev.RequestSucceeded)[downloaded.succeeded:]]
    assert max(batch_cost) < min(realtime_cost)


async def test_a_batch_that_fails_validation_reports_its_lines_and_fails_them(tmp_path):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim(batch_invalid_line_rate=1.0)
    finished, rec, job = await run_batch(path, app)
    assert len(rec.of(ev.BatchCreated)) == 1
    assert {e.reason for e in rec.of(ev.RequestFailed)} == {"invalid batch line"}
    assert finished.failed == 6 and not rec.of(ev.RetryScheduled)
    notice = next(e.message for e in rec.of(ev.Notice) if "failed validation" in e.message)
    assert "line 1: invalid_request" in notice
    errors = read_jsonl(job.project.errors_path)
    assert errors[0]["error"]["message"].startswith("invalid_request:")


async def test_validation_failures_fail_only_the_named_lines_and_resubmit_the_others(tmp_path):
    path = write_batch_project(tmp_path, n=20, limits={"max_retries": 5})
    app = batch_sim(batch_invalid_line_rate=0.2)
    finished, rec, _ = await run_batch(path, app)
    named = sum(len(b.errors or []) for b in app.batch_api.book.all())
    assert finished.failed == named and finished.done == 20 - named and finished.done > 0
    assert len(rec.of(ev.BatchCreated)) >= 2


async def test_unreadable_duplicate_and_foreign_lines_are_skipped_and_the_item_goes_round_again(tmp_path):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    tampered = []

    async def tamper() -> None:  # the first batch's output only
        for stored in list(app.batch_api.files._files.values()):
            if stored.purpose == "batch_output" and not tampered:
                lines = stored.content.splitlines()
                broken = next(i for i, line in enumerate(lines) if b'"item-3"' in line)
                lines[broken] = lines[broken][:120]  # the line breaks off in its body
                lines += [next(line for line in lines if b'"item-1"' in line),  # twice
                          b'{"id":"x","custom_id":"not \\"ours\\"","response":{"status_code":200,"body":{}},"error":null}']
                stored.content = b"\n".join(lines) + b"\n"
                tampered.append(stored.id)

    app.batch_api.hooks["content"] = tamper
    finished, rec, job = await run_batch(path, app)
    first = rec.of(ev.BatchDownloaded)[0]
    assert (first.succeeded, first.unfinished) == (5, 1)
    assert [e.custom_id for e in rec.of(ev.RetryScheduled)] == ["item-3"]
    assert finished.done == 6 and len(rec.of(ev.BatchCreated)) == 2
    assert [r["custom_id"] for r in read_jsonl(job.project.results_path)] == [f"item-{i}" for i in range(6)]
