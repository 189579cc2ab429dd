"""Every key binding, on the real dashboard running a real job against the in-process simulator."""

from __future__ import annotations

from batch_helpers import batch_sim, write_batch_project
from engine_helpers import sim_app, write_project
from ui_helpers import SIZE, dashboard, run_ended, until

from oaib_tui import events as ev
from oaib_tui.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED
from oaib_tui.state import StateReader
from oaib_tui.ui.rows import DONE, FAILED
from oaib_tui.ui.screens.confirm import ConfirmScreen
from oaib_tui.ui.screens.detail import DetailScreen
from oaib_tui.ui.screens.error import ErrorScreen
from oaib_tui.ui.screens.help import HelpScreen
from oaib_tui.ui.widgets.request_list import RequestList


def slow_project(tmp_path, n=300, concurrency=4):
    return write_project(tmp_path, n=n, limits={"concurrency": concurrency, "max_retries": 0})


def sent(recorder) -> int:
    return len(recorder.of(ev.RequestSent))


async def test_p_pauses_sending_and_p_again_resumes_it(tmp_path):
    app, rec = dashboard(slow_project(tmp_path, n=150), sim_app(latency_ms=50))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: sent(rec) >= 8, "the first requests")
            await pilot.press("p")
            assert app.session.paused
            await until(pilot, lambda: app.model.progress.state == "paused" and app.model.progress.in_flight == 0,
                        "requests in flight to finish")
            while_paused = sent(rec)
            await pilot.pause(0.3)
            assert sent(rec) == while_paused
            assert app.check_action("resume", ()) and not app.check_action("pause", ())
            await pilot.press("p")
            await until(pilot, run_ended(app), "the end of the run")
    finally:
        app.session.close()
    kinds = [type(e) for e in rec.events]
    paused_at, resumed_at = kinds.index(ev.RunPaused), kinds.index(ev.RunResumed)
    assert ev.RequestSent not in kinds[paused_at:resumed_at]
    assert app.finished.done == 150 and app.exit_code == EXIT_OK


async def test_c_asks_first_and_cancels_only_when_confirmed(tmp_path):
    app, rec = dashboard(slow_project(tmp_path, n=2_000), sim_app(latency_ms=50))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: sent(rec) >= 8, "the first requests")
            await pilot.press("c")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            assert not isinstance(app.screen, ConfirmScreen) and not rec.of(ev.RunStopping)
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, run_ended(app), "the run to stop")
            await pilot.press("q")
    finally:
        app.session.close()
    assert [e.reason for e in rec.of(ev.RunStopping)] == ["cancelled"]
    finished = app.finished
    assert finished.state == "stopped" and finished.done < 2_000
    assert app.return_value == EXIT_INTERRUPTED


async def test_r_sends_the_failed_requests_again_once_the_run_has_ended(tmp_path):
    path = write_project(tmp_path, n=6, limits={"concurrency": 1, "max_retries": 0})
    sim = sim_app()
    sim.inject("400", "400")
    app, rec = dashboard(path, sim)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the first run")
            assert app.exit_code == EXIT_SOME_FAILED
            await pilot.pause(0.1)
            assert app.model.rows.count(FAILED) == 2 and app.check_action("retry_failed", ())
            first = app.finished
            await pilot.press("r")
            await until(pilot, lambda: len(rec.of(ev.RunFinished)) == 2, "the second run")
            # The app, not only the recorder, must have taken the second end in before the test leaves it.
            await until(pilot, lambda: app.finished not in (None, first), "the app to take note of the retry's end")
            await until(pilot, lambda: app.model.rows.count(DONE) == 6, "the list to catch up")
    finally:
        app.session.close()
    retried = [e.custom_id for e in rec.events[rec.events.index(rec.of(ev.RunStarted)[1]):]
               if isinstance(e, ev.RequestSent)]
    assert retried == ["item-0", "item-1"]
    assert app.exit_code == EXIT_OK
    with StateReader.open_readonly(app.session.job.project.state_path) as reader:
        assert (reader.counts()["done"], reader.counts()["failed"]) == (6, 0)


async def test_r_after_a_cancel_says_what_it_sends_and_sends_only_the_failed_requests(tmp_path):
    path = write_project(tmp_path, n=300, limits={"concurrency": 1, "max_retries": 0})
    sim = sim_app(latency_ms=20)
    sim.inject("400")
    app, rec = dashboard(path, sim)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(rec.of(ev.RequestSucceeded)) >= 3, "some answers")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, run_ended(app), "the run to stop")
            first = app.finished
            assert first.state == "stopped" and first.failed == 1 and first.done + first.failed < 300
            await pilot.press("r")
            await until(pilot, lambda: app.finished not in (None, first), "the app to take note of the retry's end")
    finally:
        app.session.close()
    second_run = rec.events[rec.events.index(rec.of(ev.RunFinished)[0]) + 1:]
    left = 300 - first.done - first.failed
    said = [e.message for e in second_run if isinstance(e, ev.Notice)]
    assert f"retrying exactly the 1 failed request; {left} requests left to do stay for the next run" in said
    assert [e.custom_id for e in second_run if isinstance(e, ev.RequestSent)] == ["item-0"]
    assert app.exit_code == EXIT_SOME_FAILED  # what the cancel left is still to do


async def test_f_filters_the_list_by_status(tmp_path):
    path = write_project(tmp_path, n=8, limits={"concurrency": 1, "max_retries": 0})
    sim = sim_app()
    sim.inject("ok", "400", "ok", "400")
    app, _ = dashboard(path, sim)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the run")
            requests = app.query_one(RequestList)
            await pilot.press("f", "f", "f")
            assert requests.filter == FAILED and requests.visible_count == 2
            shown = requests.rows.rows_from(requests.filter, 0, 10)
            assert [requests.rows.custom_id(row) for row in shown] == ["item-1", "item-3"]
            await pilot.press("f", "f", "f")
            assert requests.filter is None and requests.visible_count == 8
    finally:
        app.session.close()


async def test_t_toggles_follow_and_moving_the_cursor_stops_it(tmp_path):
    app, _rec = dashboard(slow_project(tmp_path, n=60), sim_app(latency_ms=10))
    try:
        async with app.run_test(size=SIZE) as pilot:
            requests = app.query_one(RequestList)
            assert requests.follow
            await pilot.press("t")
            assert not requests.follow
            await pilot.press("t")
            assert requests.follow
            await pilot.press("up")
            assert not requests.follow
            await until(pilot, run_ended(app), "the run")
    finally:
        app.session.close()


async def test_enter_shows_the_request_under_the_cursor_from_the_state_file(tmp_path):
    app, _ = dashboard(write_project(tmp_path, n=5), sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the run")
            await pilot.pause(0.1)
            await pilot.press("home", "down", "enter")
            assert isinstance(app.screen, DetailScreen)
            item = app.screen.item
            assert item["custom_id"] == "item-1" and item["status"] == "done"
            assert item["request"]["messages"][0]["content"] == "Say w1"
            await pilot.press("escape")
            assert not isinstance(app.screen, DetailScreen)
    finally:
        app.session.close()


async def test_question_mark_opens_the_help_and_escape_closes_it(tmp_path):
    app, _ = dashboard(write_project(tmp_path, n=3), sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await until(pilot, run_ended(app), "the run")
    finally:
        app.session.close()


async def test_q_while_running_stops_lets_requests_finish_and_exits(tmp_path):
    path = slow_project(tmp_path)
    app, rec = dashboard(path, sim_app(latency_ms=50))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: sent(rec) >= 8, "the first requests")
            await pilot.press("q")
            await until(pilot, lambda: app.return_value is not None, "the app to exit")
    finally:
        app.session.close()
    assert [e.reason for e in rec.of(ev.RunStopping)] == ["interrupted"]
    assert app.return_value == EXIT_INTERRUPTED
    answered = {e.custom_id for e in rec.of(ev.RequestSucceeded)}
    assert answered and len(answered) == len(rec.of(ev.RequestSent))  # nothing in flight was dropped

    again, rec2 = dashboard(path, sim_app())
    try:
        async with again.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(again), "the resumed run")
            assert again.model.progress.resumed_done == len(answered)
    finally:
        again.session.close()
    assert {e.custom_id for e in rec2.of(ev.RequestSent)}.isdisjoint(answered)
    assert again.finished.done == 300


async def test_q_after_the_end_exits_with_the_run_exit_code(tmp_path):
    app, _ = dashboard(write_project(tmp_path, n=3), sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the run")
            await pilot.press("q")
    finally:
        app.session.close()
    assert app.return_value == EXIT_OK


async def test_a_run_that_cannot_start_shows_why_and_exits_with_its_code(tmp_path, monkeypatch):
    monkeypatch.delenv("OAIB_TEST_MISSING_KEY", raising=False)
    path = write_project(tmp_path, n=3, provider={"kind": "openai", "api_key_env": "OAIB_TEST_MISSING_KEY"})
    app, _ = dashboard(path, sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error")
            assert "OAIB_TEST_MISSING_KEY" in str(app.error) and app.exit_code == EXIT_BAD_INPUT
            assert app.model.shown_state() == "error"
            await pilot.press("q")
    finally:
        app.session.close()
    assert app.return_value == EXIT_BAD_INPUT


async def test_c_in_batch_mode_cancels_the_remote_batches(tmp_path):
    path = write_batch_project(tmp_path, n=20, batch={"poll_s": 0.2})
    sim = batch_sim(batch_validation_s=0, batch_lines_per_s=4, batch_finalizing_s=0)
    app, rec = dashboard(path, sim)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: any(e.completed >= 2 for e in rec.of(ev.BatchCountsChanged)), "a batch at work")
            await until(pilot, lambda: app.screen.has_class("-batch"), "the batch panel")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await until(pilot, run_ended(app), "the run to stop")
    finally:
        app.session.close()
    assert (app.finished.state, app.finished.reason) == ("stopped", "cancelled")
    assert "cancelled" in [e.status for e in rec.of(ev.BatchStatusChanged)]
    assert all(batch.status == "cancelled" for batch in sim.batch_api.book.all())


async def test_a_tick_while_the_app_closes_draws_nothing_and_raises_nothing(tmp_path):
    """Textual takes the widgets down before the app's timer: a last tick found no request list and raised
    (a flaky red in the test above, when its second run ended between two ticks)."""
    path = write_project(tmp_path, n=3)
    app, _ = dashboard(path, sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.finished is not None, "the run to end")
            for widget in list(app.screen.children):
                await widget.remove()  # as the app's shutdown does
            app.model.version += 1  # something new to draw
            app.tick()
    finally:
        app.session.close()
