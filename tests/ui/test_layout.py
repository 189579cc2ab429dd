"""Which layout, panels, columns and keys the dashboard shows at which terminal size (on recorded runs)."""

from __future__ import annotations

import pytest
from scenes import SIZES, app_for, batch_mode, finished, hybrid_flex, in_progress
from textual.widgets._footer import FooterKey

from oaib_tui.ui.fit import fit_columns
from oaib_tui.ui.widgets import run_header
from oaib_tui.ui.widgets.batch_panel import BatchPanel
from oaib_tui.ui.widgets.cost_panel import CostPanel
from oaib_tui.ui.widgets.key_footer import KeyFooter
from oaib_tui.ui.widgets.limits_panel import LimitsPanel
from oaib_tui.ui.widgets.panel import Panel
from oaib_tui.ui.widgets.problem_log import ProblemLog
from oaib_tui.ui.widgets.request_list import ANSWER_MIN, RequestList, layout
from oaib_tui.ui.widgets.throughput_panel import ThroughputPanel

LIST_CHROME = 3
"""Cells of a full-width list that are not its lines: two borders and the scrollbar."""


def titles(width: int, longest_id: int = 12) -> list[str]:
    return [column.title for column in layout(width, longest_id)]


class TestColumnsByPriority:
    def test_80_columns_give_up_the_sequence_number_and_the_cost_for_a_readable_answer(self):
        columns = layout(80 - LIST_CHROME, 12)
        assert [c.title for c in columns] == ["custom_id", "status", "try", "latency", "tokens", "answer"]
        widths = {c.title: c.width for c in columns}
        assert widths["custom_id"] == 12 and widths["answer"] >= ANSWER_MIN

    def test_a_wide_list_shows_every_column(self):
        assert titles(160 - 46 - LIST_CHROME) == ["#", "custom_id", "status", "try", "latency", "tokens", "cost",
                                                 "answer"]

    def test_the_lines_are_as_wide_as_the_list(self):
        for width in (40, 77, 71, 111, 200):
            assert 1 + sum(column.width + 1 for column in layout(width, 12)) == width

    def test_long_ids_stay_whole_while_less_important_columns_go(self):
        columns = layout(77, 30)
        assert columns[0].title == "custom_id" and columns[0].width == 30
        assert "answer" in titles(77, 30) and "latency" not in titles(77, 30)

    def test_a_very_narrow_list_keeps_custom_id_and_status(self):
        assert titles(30) == ["custom_id", "status"]

    def test_fit_columns_drops_in_the_order_given_and_never_an_unnamed_column(self):
        widths = {"a": 5, "b": 5, "c": 5}
        assert fit_columns(widths, 18, ("b", "a")) == ("a", "b", "c")
        assert fit_columns(widths, 17, ("b", "a")) == ("a", "c")
        assert fit_columns(widths, 3, ("b", "a")) == ("c",)


def visible_panels(app) -> list:
    return [widget for widget in [*app.query(Panel), app.query_one(RequestList)] if widget.display]


@pytest.mark.parametrize("make_scene", [in_progress, batch_mode, finished])
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES)
async def test_no_panel_is_squeezed_to_nothing(make_scene, size):
    app = app_for(make_scene())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for widget in visible_panels(app):
            region = widget.content_region
            assert region.width >= 20 and region.height >= 1, widget.id
        assert app.query_one(RequestList).page_height >= 2


async def test_80x24_puts_cost_and_problems_on_a_line_each_and_the_list_full_width():
    app = app_for(in_progress())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-narrow") and app.screen.has_class("-short")
        assert app.query_one(CostPanel).size.height == 1 and app.query_one(ProblemLog).size.height == 1
        assert app.query_one(RequestList).region.width == 80
        assert app.query_one(LimitsPanel).content_region.width >= 40


async def test_120_columns_put_three_panels_abreast_and_the_problem_log_beside_the_list():
    app = app_for(in_progress())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-wide")
        top = {panel.id: panel.region for panel in (app.query_one(p) for p in (LimitsPanel, CostPanel))}
        assert top["limits"].y == top["costs"].y and top["costs"].height == 10
        problems, requests = app.query_one(ProblemLog).region, app.query_one(RequestList).region
        assert problems.y == requests.y and problems.x > requests.x


async def test_narrowing_the_terminal_switches_the_layout():
    app = app_for(in_progress())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("-narrow") and not app.screen.has_class("-wide")
        assert app.query_one(CostPanel).size.height == 1


async def test_a_narrow_tall_terminal_shows_the_problem_log_under_the_list():
    app = app_for(in_progress())
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        problems, requests = app.query_one(ProblemLog).region, app.query_one(RequestList).region
        assert problems.y > requests.y and problems.height > 3


async def test_batch_mode_when_narrow_shows_the_cost_table_in_place_of_the_limits_and_every_live_batch():
    app = app_for(batch_mode())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.query_one(LimitsPanel).display
        assert app.query_one(CostPanel).size.height > 1
        batches = app.query_one(BatchPanel)
        live = [batch for batch in batches.model.progress.batches.values() if not batch.is_final]
        assert batches.content_region.height >= 1 + len(live)


def footer_keys(app) -> list[FooterKey]:
    return list(app.query_one(KeyFooter).query(FooterKey))


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
async def test_the_footer_fits_and_always_offers_quit_and_help(width):
    app = app_for(in_progress())
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause()
        keys = footer_keys(app)
        assert sum(key.size.width + key.styles.margin.right for key in keys) <= width
        assert {"quit_run", "help"} <= {key.action for key in keys}


async def test_a_narrow_footer_says_it_short_and_a_wide_one_in_full():
    app = app_for(finished())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        narrow = {key.action: key.description for key in footer_keys(app)}
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        await pilot.pause()
        wide = {key.action: key.description for key in footer_keys(app)}
    assert narrow["retry_failed"] == "Retry" and wide["retry_failed"] == "Retry failed"
    assert set(narrow) == set(wide)


async def test_a_tall_screen_charts_throughput_and_a_short_one_leaves_the_rows_to_the_list():
    app = app_for(in_progress())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(ThroughputPanel)
        assert chart.display and chart.content_region.height == 5 and chart.content_region.width >= 100
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not chart.display


async def test_batch_mode_without_realtime_requests_has_no_throughput_chart():
    app = app_for(batch_mode())
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert not app.query_one(ThroughputPanel).display


async def test_the_throughput_chart_says_its_time_span_and_a_scale_above_its_peak():
    app = app_for(in_progress())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(ThroughputPanel)
        lines = [text.plain for text in chart.render().renderables]
        assert "last 38s" in str(chart.border_title)
        requests_top, requests_peak = lines[0].split("▕")[0].split(), lines[1].split("▕")[0].split()
        assert requests_top[0] == "requests/s" and requests_peak[0] == "peak"
        assert float(requests_top[1].replace(",", "")) >= float(requests_peak[1].replace(",", "")) > 0
        assert lines[-1].split()[0] == "−38s" and lines[-1].split()[-1] == "now"


LONG_LIMIT = "token bucket: 2,567 of 25,000 left, refilling 2,500/s"


@pytest.mark.parametrize(("width", "shown"), [(80, "token bucket"), (160, LONG_LIMIT)])
async def test_the_header_keeps_elapsed_and_eta_and_shortens_what_limits_the_run(monkeypatch, width, shown):
    monkeypatch.setattr(run_header, "what_limits", lambda progress: LONG_LIMIT)
    app = app_for(in_progress())
    async with app.run_test(size=(width, 24 if width == 80 else 48)) as pilot:
        await pilot.pause()
        line = app.query_one(run_header.RunHeader).render().plain
    assert "elapsed" in line and "ETA" in line and len(line) <= width
    assert shown in line and (shown == LONG_LIMIT or "2,567" not in line)


@pytest.mark.parametrize("width", [80, 160])
async def test_the_header_names_the_lane_a_hybrid_run_sends_through(width):
    app = app_for(hybrid_flex())
    async with app.run_test(size=(width, 24 if width == 80 else 48)) as pilot:
        await pilot.pause()
        line = app.query_one(run_header.RunHeader).render().plain
    assert ("hybrid: flex lane" if width > 80 else "flex lane") in line
    assert "elapsed" in line and "ETA" in line and len(line) <= width


@pytest.mark.parametrize(("scene", "width", "shown"), [(hybrid_flex, 160, True), (hybrid_flex, 120, False),
                                                       (in_progress, 160, False)])
async def test_the_list_shows_each_answers_tier_when_wide_and_some_tier_is_not_standard(scene, width, shown):
    app = app_for(scene())
    async with app.run_test(size=(width, 48 if width == 160 else 36)) as pilot:
        await pilot.pause()
        listing = app.query_one(RequestList)
        lines = [listing.render_line(y).text for y in range(listing.size.height)]
    assert ("tier" in lines[0].split()) == shown
    assert any(" flex " in line for line in lines[1:]) == shown
