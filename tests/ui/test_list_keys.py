"""Moving in the request list, and keys in dialogs (on a recorded run: no job behind it)."""

from __future__ import annotations

from scenes import TERMINAL_SIZE, app_for, in_progress

from oaib_tui.ui.rows import IN_FLIGHT
from oaib_tui.ui.screens.help import HelpScreen
from oaib_tui.ui.widgets.request_list import RequestList


async def test_the_arrows_pages_home_and_end_move_the_cursor_and_keep_it_in_view():
    app = app_for(in_progress())
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        requests = app.query_one(RequestList)
        last = requests.visible_count - 1
        await pilot.press("home")
        assert (requests.cursor, requests.scroll_offset.y, requests.follow) == (0, 0, False)
        await pilot.press("down", "down", "up")
        assert requests.cursor == 1
        page = requests.page_height
        await pilot.press("pagedown")
        assert requests.cursor == 1 + page and requests.scroll_offset.y == page
        await pilot.press("pageup")
        assert requests.cursor == 1 and requests.scroll_offset.y == 0
        await pilot.press("end")
        assert requests.cursor == last and requests.scroll_offset.y == last - page + 1
        await pilot.press("down")
        assert requests.cursor == last


async def test_following_keeps_the_newest_request_in_flight_on_screen():
    app = app_for(in_progress())
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        await pilot.pause()
        requests = app.query_one(RequestList)
        newest = requests.rows.last_with(IN_FLIGHT)
        top = int(requests.scroll_offset.y)
        assert requests.follow and requests.cursor == newest
        assert top <= newest < top + requests.page_height


async def test_in_a_dialog_the_dashboards_keys_belong_to_the_dialog():
    app = app_for(in_progress())
    async with app.run_test(size=TERMINAL_SIZE) as pilot:
        requests = app.query_one(RequestList)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f")
        assert requests.filter is None
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen) and app.return_value is None
        await pilot.press("f")
        assert requests.filter is not None
