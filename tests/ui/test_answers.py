"""Answers in the dashboard: previews in the list (kept or read back from the state file), and the
detail view, which shows the answer first and follows a request in flight."""

from __future__ import annotations

from engine_helpers import sim_app, write_project
from scenes import T0, app_for, chat_answer, in_progress
from textual.widgets import Static
from ui_helpers import SIZE, dashboard, run_ended, until

from oaib_tui import events as ev
from oaib_tui.state import StateReader
from oaib_tui.ui.answers import PREVIEW_CHARS, AnswerPreviews, item_preview, preview
from oaib_tui.ui.rows import DONE, IN_FLIGHT, RequestRows
from oaib_tui.ui.screens.detail import DetailScreen
from oaib_tui.ui.widgets.request_list import RequestList


class TestPreview:
    def test_a_chat_answer_is_one_line_of_its_text(self):
        assert preview(chat_answer("Mixed.\n\n  Good  sound,\tpoor battery.", 0, 1, 1)) == \
            "Mixed. Good sound, poor battery."

    def test_a_long_answer_is_cut(self):
        assert len(preview(chat_answer("word " * 500, 0, 1, 1))) == PREVIEW_CHARS

    def test_a_responses_api_answer(self):
        response = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "hello"}]}]}
        assert preview(response) == "hello"

    def test_bodies_without_text_are_described(self):
        assert preview({"object": "list", "data": [{"embedding": [0.1] * 1536}]}) == "embedding, 1,536 dimensions"
        assert preview({"data": [{"embedding": "AAAA"}, {"embedding": "AAAA"}]}) == "2 embeddings, base64"
        assert preview({"results": [{"categories": {"hate": False, "violence": True}}]}) == "flagged: violence"
        assert preview({"results": [{"categories": {"hate": False}}]}) == "not flagged"
        assert preview({}) == preview(None) == ""


def test_previews_keep_the_most_recently_used_rows():
    previews = AnswerPreviews(keep=2)
    previews.put(1, "one")
    previews.put(2, "two")
    assert previews.get(1) == "one"
    previews.put(3, "three")
    assert (previews.get(1), previews.get(2), previews.get(3)) == ("one", None, "three")


def test_a_row_keeps_its_answer_until_it_is_sent_again():
    rows = RequestRows()
    queued = ev.RequestQueued("a", 0, "s", 1, "h", 0, 10, 5, {}, {}, 0.0)
    rows.handle(queued)
    rows.handle(ev.RequestSucceeded("a", 0, 1, 200, 0.5, ev.Usage(10, 0, 3), 0.1, chat_answer("yes", 0, 10, 3), 0.0))
    assert rows.answers.get(0) == "yes"
    rows.handle(queued)
    assert rows.answers.get(0) is None


def test_a_failed_row_keeps_one_line_of_its_error():
    rows = RequestRows()
    rows.handle(ev.RequestQueued("a", 0, "s", 1, "h", 0, 10, 5, {}, {}, 0.0))
    rows.handle(ev.RequestFailed("a", 0, 1, "400", 400, "Invalid 'messages':\n too long", None, 0.0))
    assert rows.answers.get(0) == "400: Invalid 'messages': too long"


def test_the_state_files_item_previews_as_its_answer_or_its_error():
    error = {"reason": "400", "status_code": 400, "message": "bad request", "body": None}
    assert item_preview({"status": "failed", "error": error}) == "400: bad request"
    assert item_preview({"status": "done", "response": chat_answer("fine", 0, 1, 1)}) == "fine"
    assert item_preview(None) == ""


async def test_the_list_reads_answers_it_no_longer_keeps_from_the_state_file(tmp_path):
    app, _ = dashboard(write_project(tmp_path, n=30), sim_app())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, run_ended(app), "the run")
            rows = app.model.rows
            rows.answers = AnswerPreviews()
            requests = app.query_one(RequestList)
            requests.refresh()
            await until(pilot, lambda: len(rows.answers) >= requests.page_height, "the previews")
            on_screen = range(int(requests.scroll_offset.y), int(requests.scroll_offset.y) + requests.page_height)
    finally:
        app.session.close()
    with StateReader.open_readonly(app.session.job.project.state_path) as reader:
        for row in on_screen:
            stored = reader.item(rows.custom_id(row))
            assert rows.answers.get(row) == item_preview(stored) == preview(stored["response"]) != ""


async def test_answered_rows_show_their_answer_where_the_error_column_was():
    app = app_for(in_progress())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        requests = app.query_one(RequestList)
        rows = requests.rows
        top = int(requests.scroll_offset.y)
        line = requests.render_line(1).text
        assert rows.status[top] == DONE and rows.answers.get(top)[:10] in line


def sent_item(custom_id: str) -> dict:
    return {"custom_id": custom_id, "status": "sent", "attempts": 3, "source": "data/reviews.csv", "line": 438,
            "usage": {}, "error": None, "response": None, "retries": [], "request": {"model": "gpt-4o-mini"}}


async def test_the_detail_view_follows_a_request_in_flight_until_its_answer_comes():
    app = app_for(in_progress())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        requests = app.query_one(RequestList)
        row = requests.cursor
        custom_id = requests.rows.custom_id(row)
        assert requests.rows.status[row] == IN_FLIGHT
        app.session.details[custom_id] = sent_item(custom_id)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen) and "in flight" in str(screen.query_one("#answer", Static).content)
        answer = chat_answer("Positive. Quick, quiet, and it looks good.", row, 40, 12)
        app.session.details[custom_id] = {**sent_item(custom_id), "status": "done", "response": answer}
        app.model.handle(ev.RequestSucceeded(custom_id, row, 3, 200, 0.9, ev.Usage(40, 0, 12), 0.0001, answer, T0 + 40))
        await until(pilot, lambda: screen.item["status"] == "done", "the detail view to read the answer")
        assert str(screen.query_one("#answer", Static).content) == "Positive. Quick, quiet, and it looks good."


async def test_a_long_answer_is_wrapped_to_the_view_first_with_the_json_below_and_scrolls():
    app = app_for(in_progress())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        requests = app.query_one(RequestList)
        row = requests.cursor
        custom_id = requests.rows.custom_id(row)
        text = " ".join(f"word{i}" for i in range(400))
        app.session.details[custom_id] = {**sent_item(custom_id), "status": "done",
                                          "response": chat_answer(text, row, 40, 400)}
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        answer, response = screen.query_one("#answer", Static), screen.query_one("#response", Static)
        assert str(answer.content) == text  # the message text itself, not its JSON
        assert answer.region.right <= 80 and answer.size.height > 10  # wrapped, not cut
        assert response.virtual_region.y >= answer.virtual_region.bottom  # the JSON below it
        box = screen.query_one("#detail-box")
        assert box.max_scroll_y > 0
        box.scroll_end(animate=False)
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y > 0
