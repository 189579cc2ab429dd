"""Cost per tier: the progress tally, the dashboard's cost sheet, the --no-ui summary and the Python display."""

from __future__ import annotations

import pytest
from rich.console import Console

from oaib_tui import events as ev
from oaib_tui.api.display import final_line
from oaib_tui.pricing import PriceBook
from oaib_tui.progress import Progress
from oaib_tui.report import tier_cost_rows
from oaib_tui.ui.cost_sheet import cost_sheet
from oaib_tui.ui.model import CostSettings, DashboardModel
from oaib_tui.ui.replay import FakeClock, replay
from oaib_tui.ui.screens.detail import sections

STARTED = ev.RunStarted("p", "gpt-4o-mini", "/v1/chat/completions", "auto", 0, 0, 4, 0.0)


def answer(i: int, tier: str, cost: float | None) -> list[ev.Event]:
    return [ev.RequestSent(f"id-{i}", i, 1, 1, 1.0),
            ev.RequestSucceeded(f"id-{i}", i, 1, 200, 0.1, ev.Usage(100, 0, 50), cost, {}, 2.0, tier=tier)]


ANSWERS = [*answer(0, "flex", 0.001), *answer(1, "flex", 0.002), *answer(2, "standard", 0.004),
           *answer(3, "priority", 0.008)]


def progress_after(events: list[ev.Event]) -> Progress:
    progress = Progress(clock=lambda: 3.0)
    for event in (STARTED, *events):
        progress.handle(event)
    return progress


def test_progress_tallies_each_tiers_answers_and_cost_cheapest_tier_first() -> None:
    progress = progress_after(ANSWERS)
    assert [(tier, t.requests, t.cost) for tier, t in progress.tier_costs()] == [
        ("standard", 1, 0.004), ("flex", 2, pytest.approx(0.003)), ("priority", 1, 0.008)]
    assert progress.shows_tiers


def test_a_run_charged_only_at_standard_or_batch_shows_no_tier_table() -> None:
    assert not progress_after(answer(0, "standard", 0.004)).shows_tiers
    assert not progress_after(answer(0, "batch", 0.002)).shows_tiers
    assert tier_cost_rows(progress_after(answer(0, "standard", 0.004))) == []


def test_an_unknown_cost_at_one_tier_leaves_that_tier_unknown() -> None:
    progress = progress_after([*answer(0, "flex", None), *answer(1, "standard", 0.004)])
    assert dict((tier, t.cost) for tier, t in progress.tier_costs()) == {"standard": 0.004, "flex": None}


def test_the_cost_panel_adds_a_line_per_tier() -> None:
    clock = FakeClock()
    model = DashboardModel(CostSettings(PriceBook().price("gpt-4o-mini")), clock=clock)
    replay(model, clock, [STARTED, *ANSWERS])
    tier_lines = [(line.label, line.usd) for line in cost_sheet(model).lines if "tier" in line.label]
    assert tier_lines == [("standard tier (1)", 0.004), ("flex tier (2)", pytest.approx(0.003)),
                          ("priority tier (1)", 0.008)]


def test_the_headless_summary_and_the_python_display_show_cost_per_tier() -> None:
    progress = progress_after(ANSWERS)
    rows = [value for _, value in tier_cost_rows(progress)]
    assert [row.split()[0] for row in rows] == ["standard", "flex", "priority"]
    assert "2 answers" in rows[1] and "$0.0030" in rows[1]
    progress.handle(ev.RunFinished("finished", None, "all requests answered", 4, 0, 0, 0.015, 0, 3.0))
    assert final_line(progress).endswith("standard $0.0040 (1), flex $0.0030 (2), priority $0.0080 (1)")


def figures_text(item: dict) -> str:
    console = Console(width=80, record=True)
    console.print(sections(item)["summary"][1])
    return console.export_text()


@pytest.mark.parametrize(("tier", "shown"), [("flex", True), ("priority", True), ("standard", False), (None, False)])
def test_the_detail_view_names_a_flex_or_priority_items_tier(tier, shown) -> None:
    item = {"status": "done", "attempts": 1, "usage": {}, "cost_usd": 0.001, "tier": tier}
    lines = [line.split() for line in figures_text(item).splitlines()]
    assert (["tier", str(tier)] in lines) is shown
