"""Reopening a project lists the requests that earlier runs finished, once each, beside the new run's."""

from __future__ import annotations

from engine_helpers import sim_app, write_project
from ui_helpers import SIZE, dashboard, run_ended, until

from oaib_tui import events as ev
from oaib_tui.ui.rows import (
    DONE,
    FAILED,
    QUEUED,
    STATUS_NAMES,
    EarlierRows,
    RequestRows,
)
from oaib_tui.ui.widgets.request_list import RequestList


def listed(rows: RequestRows) -> list[tuple[str, str, int, str]]:
    """Every row as (custom_id, status, attempts, error reason), in list order."""
    return [(rows.custom_id(row), STATUS_NAMES[rows.status[row]], rows.attempts[row], rows.reason_text(row))
            for row in range(len(rows))]


async def first_run(path, sim) -> list[tuple[str, str, int, str]]:
    app, _ = dashboard(path, sim)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the first run")
            await pilot.pause(0.1)
            return listed(app.model.rows)
    finally:
        app.session.close()


async def test_reopening_lists_every_request_of_the_earlier_run(tmp_path):
    path = write_project(tmp_path, n=8, limits={"concurrency": 1, "max_retries": 0})
    sim = sim_app()
    sim.inject("ok", "400")
    before = await first_run(path, sim)
    assert [status for _, status, _, _ in before].count("failed") == 1

    again, rec = dashboard(path, sim_app())
    try:
        async with again.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(again), "the resumed run")
            await until(pilot, lambda: not again.model.rows.loading_earlier, "the earlier rows")
            await pilot.pause(0.1)
            after = listed(again.model.rows)
            requests = again.query_one(RequestList)
            assert "earlier" not in str(requests.border_title)
            assert requests.visible_count == 8
    finally:
        again.session.close()
    assert not rec.of(ev.RequestSent)
    assert after == before
    assert after[1][:2] == ("item-1", "failed") and after[1][3]
    rows = again.model.rows
    assert rows.latency[0] > 0 and rows.output_tokens[0] > 0 and rows.cost[0] > 0


async def test_a_failed_request_sent_again_keeps_one_row_with_its_new_status(tmp_path):
    path = write_project(tmp_path, n=6, limits={"concurrency": 1, "max_retries": 0})
    sim = sim_app()
    sim.inject("400", "ok", "400")
    await first_run(path, sim)

    again, rec = dashboard(path, sim_app())
    try:
        async with again.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(again), "the resumed run")
            await pilot.pause(0.1)
            assert again.model.rows.count(FAILED) == 2
            await pilot.press("r")
            await until(pilot, lambda: len(rec.of(ev.RunFinished)) == 2, "the retry")
            await until(pilot, lambda: again.model.rows.count(DONE) == 6, "the list to catch up")
            after = listed(again.model.rows)
    finally:
        again.session.close()
    assert [custom_id for custom_id, *_ in after] == [f"item-{n}" for n in range(6)]
    assert {status for _, status, _, _ in after} == {"done"} and not any(reason for *_, reason in after)


def chunk(*rows: tuple, more: bool = False) -> EarlierRows:
    return EarlierRows.from_rows([(seq, f"item-{seq}", status, 1, 0.5, 10, 5, 0.01, reason, "standard")
                                  for seq, status, reason in rows], more=more)


def queued(seq: int) -> ev.RequestQueued:
    return ev.RequestQueued(custom_id=f"item-{seq}", seq=seq, source="s", line=seq, body_hash="h", input_key=seq,
                            prompt_tokens=7, max_output_tokens=20, body={}, keep={}, at=0.0)


def test_items_the_run_queues_between_earlier_rows_are_found_again_by_seq():
    rows = RequestRows()
    rows.handle(chunk((0, "done", None), (2, "failed", "400"), (4, "done", None), more=True))
    assert rows.loading_earlier
    rows.handle(chunk())
    assert not rows.loading_earlier
    for seq in (1, 3, 2):
        rows.handle(queued(seq))
    assert len(rows) == 5
    assert [rows.status[rows.row_of(seq)] for seq in range(5)] == [DONE, QUEUED, QUEUED, QUEUED, DONE]
    assert rows.count(DONE) == 2 and rows.count(FAILED) == 0 and rows.count(QUEUED) == 3
    assert rows.reason_text(rows.row_of(2)) == ""


def test_earlier_rows_after_the_runs_own_rows_skip_the_ones_it_has():
    rows = RequestRows()
    rows.handle(queued(3))
    rows.handle(chunk((1, "done", None), (3, "failed", "400"), (5, "failed", "timeout")))
    assert [rows.custom_id(row) for row in range(len(rows))] == ["item-3", "item-1", "item-5"]
    assert rows.status[rows.row_of(3)] == QUEUED and rows.reason_text(rows.row_of(5)) == "timeout"
    assert rows.count(FAILED) == 1 and rows.count(DONE) == 1


def test_block_counts_hold_across_chunks_that_straddle_blocks():
    rows = RequestRows()
    statuses = ["failed" if seq % 7 == 0 else "done" for seq in range(3000)]
    rows.handle(EarlierRows.from_rows([(s, f"i{s}", st, 1, None, None, None, None, "x", None) for s, st in
                                       enumerate(statuses[:1500])], more=True))
    rows.handle(EarlierRows.from_rows([(s, f"i{s}", st, 1, None, None, None, None, "x", None) for s, st in
                                       enumerate(statuses[1500:], 1500)], more=False))
    failed_seqs = [s for s, st in enumerate(statuses) if st == "failed"]
    assert rows.count(FAILED) == len(failed_seqs)
    assert rows.nth(FAILED, 300) == failed_seqs[300] and rows.custom_id(2999) == "i2999"
    assert rows.rows_from(DONE, 0, len(statuses)) == [s for s, st in enumerate(statuses) if st == "done"]


def test_a_stop_asked_for_before_the_engine_exists_is_applied_when_it_does():
    from oaib_tui.ui.session import RunSession

    calls = []

    class FakeEngine:
        def stop(self, *args):
            calls.append(("stop", args))

    class FakeJob:
        engine = None

    session = RunSession.__new__(RunSession)
    session.job = FakeJob()
    session._early_calls = [("stop", ("interrupted", "quit"))]
    session.job.engine = FakeEngine()
    session._apply_early_calls()
    assert calls == [("stop", ("interrupted", "quit"))] and session._early_calls == []


def test_an_earlier_answer_charged_at_flex_keeps_its_tier_and_asks_for_the_tier_column():
    from oaib_tui.ui.rows import TIERS

    rows = RequestRows()
    rows.handle(chunk((0, "done", None)))
    assert not rows.tiered
    rows.handle(EarlierRows.from_rows([(1, "item-1", "done", 1, 0.5, 10, 5, 0.01, None, "flex"),
                                       (2, "item-2", "failed", 1, None, None, None, None, "400", "flex")], more=False))
    assert rows.tiered and [TIERS[code] for code in rows.tier] == ["standard", "flex", ""]
