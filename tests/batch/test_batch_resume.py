"""Stopping and resuming batch mode: re-attaching to live batches, and crashes between a remote step and its record."""

from __future__ import annotations

import pytest
from batch_helpers import (
    batch_sim,
    parts_of,
    read_jsonl,
    run_batch,
    wait_for,
    write_batch_project,
)

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_INTERRUPTED
from oaib_tui.project import load_project
from oaib_tui.report import cancel_hint
from oaib_tui.state.batches import BatchLedger

pytestmark = pytest.mark.looptime


class Crash(Exception):
    """Stands for the process dying at that very point."""


def crash_before_recording(monkeypatch, **change) -> list[int]:
    """Make the first ledger update that records `change` fail, as if the run died just before it."""
    real, fired = BatchLedger.update, []

    def update(self, part, **changes):
        if not fired and all(changes.get(key) == value for key, value in change.items()):
            fired.append(part.part)
            raise Crash(f"died before recording {change}")
        return real(self, part, **changes)

    monkeypatch.setattr(BatchLedger, "update", update)
    return fired


async def crashed_run(path, app):
    with pytest.raises(Crash):
        await run_batch(path, app)


def stop_once_created(batches: int):
    """A `during` for run_batch: stop the run once it has created `batches` batches."""
    async def stop(job, rec):
        await wait_for(rec, lambda _: len(rec.of(ev.BatchCreated)) >= batches, timeout=600)
        job.engine.stop()

    return stop


def assert_each_item_once(path, n: int) -> None:
    ids = [r["custom_id"] for r in read_jsonl(path.parent / "out" / "b.results.jsonl")]
    assert ids == [f"item-{i}" for i in range(n)]


async def test_a_stopped_run_leaves_batches_running_and_the_next_one_re_attaches(tmp_path):
    path = write_batch_project(tmp_path, n=12, batch={"max_requests": 4, "poll_s": 5})
    app = batch_sim(batch_lines_per_s=0.5)

    finished, first, _ = await run_batch(path, app, during=stop_once_created(3))
    assert (finished.state, finished.exit_code, finished.done) == ("stopped", EXIT_INTERRUPTED, 0)
    assert "3 batches still running at the provider" in finished.message
    assert "within 7 days of their end" in cancel_hint(load_project(path), 3, "cli")  # then their output expires
    live = [e.batch_id for e in first.of(ev.BatchCreated)]
    assert {p.phase for p in parts_of(path)} == {"submitted"}

    finished, rec, _ = await run_batch(path, app)
    assert finished.state == "finished" and finished.done == 12
    assert [e.batch_id for e in rec.of(ev.BatchCreated)] == live  # re-attached, none created anew
    assert app.batch_api.stats.batches_created == 3 and app.batch_api.stats.uploads == 3
    assert not rec.of(ev.RequestQueued)
    sent = sorted(e.custom_id for e in first.of(ev.RequestSent) + rec.of(ev.RequestSent))
    assert sent == sorted(f"item-{i}" for i in range(12))  # in flight once, whichever run saw it start
    assert_each_item_once(path, 12)


async def test_a_crash_after_the_upload_arrived_finds_the_file_instead_of_uploading_again(tmp_path, monkeypatch):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    crash_before_recording(monkeypatch, phase="uploaded")
    await crashed_run(path, app)
    [part] = parts_of(path)
    assert part.phase == "uploading" and app.batch_api.stats.uploads == 1
    monkeypatch.undo()
    finished, _, _ = await run_batch(path, app)
    assert finished.done == 6 and app.batch_api.stats.uploads == 1 and app.batch_api.stats.batches_created == 1
    assert_each_item_once(path, 6)


async def test_a_crash_after_the_batch_was_created_finds_it_instead_of_creating_another(tmp_path, monkeypatch):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    crash_before_recording(monkeypatch, phase="submitted")
    await crashed_run(path, app)
    [part] = parts_of(path)
    assert part.phase == "creating" and app.batch_api.stats.batches_created == 1
    monkeypatch.undo()
    finished, _rec, _ = await run_batch(path, app)
    assert finished.done == 6 and app.batch_api.stats.batches_created == 1
    assert app.batch_api.input_files_used() == {part.input_file_id: 1}
    assert_each_item_once(path, 6)


async def test_a_crash_after_the_results_were_saved_reads_them_again_without_doubling(tmp_path, monkeypatch):
    path = write_batch_project(tmp_path, n=6)
    app = batch_sim()
    crash_before_recording(monkeypatch, phase="downloaded")
    await crashed_run(path, app)
    assert parts_of(path)[0].phase == "ended"
    monkeypatch.undo()
    finished, rec, _ = await run_batch(path, app)
    assert finished.done == 6 and not rec.of(ev.RequestSucceeded)  # all were saved before the crash
    assert app.batch_api.stats.contents_served == 2 and app.batch_api.stats.batches_created == 1
    assert_each_item_once(path, 6)


async def test_items_of_a_part_never_recorded_are_written_again(tmp_path, monkeypatch):
    path = write_batch_project(tmp_path, n=7, batch={"max_requests": 3})
    app = batch_sim()
    real_add = BatchLedger.add

    def add(self, part, move=()):
        if part.part == 2:
            raise Crash("died with part 2 written but not recorded")
        return real_add(self, part, move)

    monkeypatch.setattr(BatchLedger, "add", add)
    await crashed_run(path, app)
    monkeypatch.undo()
    finished, _rec, _ = await run_batch(path, app)
    assert finished.done == 7 and sorted(p.requests for p in parts_of(path)) == [1, 3, 3]
    assert app.batch_api.stats.batches_created == 3
    assert_each_item_once(path, 7)


async def test_retry_failed_sends_failed_items_in_a_new_batch(tmp_path):
    path = write_batch_project(tmp_path, n=5, limits={"max_retries": 0})
    app = batch_sim(batch_line_fail_rate=1.0)
    finished, _, _ = await run_batch(path, app)
    assert finished.failed == 5
    app.update(batch_line_fail_rate=0.0)
    finished, rec, _ = await run_batch(path, app, retry_failed=True)
    assert (finished.done, finished.failed) == (5, 0) and rec.of(ev.BatchResubmitted)[0].items == 5
    assert_each_item_once(path, 5)


async def test_batches_the_provider_forgot_are_sent_again(tmp_path):
    path = write_batch_project(tmp_path, n=8, batch={"max_requests": 4, "poll_s": 5}, limits={"max_retries": 0})

    await run_batch(path, batch_sim(batch_lines_per_s=0.5), during=stop_once_created(2))
    fresh_simulator = batch_sim()  # the in-process simulator of a new run knows nothing of the old batches
    finished, rec, _ = await run_batch(path, fresh_simulator)
    assert finished.done == 8 and finished.failed == 0
    assert sum("is unknown to the provider" in e.message for e in rec.of(ev.Notice)) == 2
    assert {e.reason for e in rec.of(ev.RetryScheduled)} == {"batch_not_found"}
    assert_each_item_once(path, 8)


async def test_an_uploaded_file_the_provider_forgot_is_uploaded_again(tmp_path, monkeypatch):
    path = write_batch_project(tmp_path, n=6, limits={"max_retries": 0})
    crash_before_recording(monkeypatch, phase="creating")
    await crashed_run(path, batch_sim())
    assert parts_of(path)[0].phase == "uploaded"
    monkeypatch.undo()
    app = batch_sim()  # a new in-process simulator: the uploaded file is not there
    finished, rec, _ = await run_batch(path, app)
    assert finished.done == 6 and app.batch_api.stats.uploads == 1 and app.batch_api.stats.batches_created == 1
    assert not rec.of(ev.RetryScheduled)
    assert_each_item_once(path, 6)


async def test_fresh_cancels_the_batches_the_old_state_file_left_running(tmp_path):
    path = write_batch_project(tmp_path, n=8, batch={"max_requests": 4, "poll_s": 5})
    app = batch_sim(batch_lines_per_s=0.5)

    await run_batch(path, app, during=stop_once_created(2))
    old = {p.batch_id for p in parts_of(path)}
    assert {app.batch_api.book.get(b).status for b in old} <= {"validating", "in_progress"}

    finished, rec, job = await run_batch(path, app, fresh=True)
    assert finished.state == "finished" and finished.done == 8
    assert {app.batch_api.book.get(b).status for b in old} <= {"cancelling", "cancelled"}
    [notice] = [n for n in rec.of(ev.Notice) if "starting over" in n.message]
    assert "cancelled 2 batches" in notice.message and str(job.store.backup_path) in notice.message
    assert all(b in notice.message for b in old)
    assert not {p.batch_id for p in parts_of(path)} & old
    assert_each_item_once(path, 8)


async def test_fresh_over_a_damaged_state_file_has_nothing_to_cancel_and_runs(tmp_path):
    from oaib_tui.project import load_project

    path = write_batch_project(tmp_path, n=3)
    state = load_project(path).state_path
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_bytes(b"not a database at all")
    finished, rec, job = await run_batch(path, batch_sim(), fresh=True)
    assert finished.state == "finished" and finished.done == 3
    assert job.store.backup_path.read_bytes() == b"not a database at all"
    assert not [n for n in rec.of(ev.Notice) if "starting over" in n.message]


async def test_retry_rounds_carry_over_a_stop_and_resume(tmp_path):
    # max_retries counts batches per item across runs: a resumed round 2 is still round 2.
    path = write_batch_project(tmp_path, n=4, limits={"max_retries": 1}, batch={"poll_s": 5})
    app = batch_sim(batch_line_fail_rate=1.0, batch_lines_per_s=0.5)
    await run_batch(path, app, during=stop_once_created(2))
    assert [p.round for p in parts_of(path)] == [1, 2]
    finished, rec, _ = await run_batch(path, app)
    assert finished.failed == 4 and all("gave up after 2 batches" in e.reason for e in rec.of(ev.RequestFailed))
    assert app.batch_api.stats.batches_created == 2
