"""What the dashboard folds from events: the problem log, remote batches, the cost sheet, new runs."""

from __future__ import annotations

import pytest

from oaib_tui import events as ev
from oaib_tui.pricing import PriceBook
from oaib_tui.progress import PROBLEM_LOG_SIZE, Progress
from oaib_tui.state import Totals
from oaib_tui.ui.cost_sheet import cost_sheet
from oaib_tui.ui.model import CostSettings, DashboardModel
from oaib_tui.ui.replay import FakeClock, replay

PRICE = PriceBook().price("gpt-4o-mini")


def retry(i: int, reason: str = "503") -> ev.RetryScheduled:
    return ev.RetryScheduled(f"id-{i}", i, 1, reason, 503, 1.0, "", float(i))


def test_the_problem_log_is_newest_first_and_bounded():
    progress = Progress(clock=lambda: 0.0)
    for i in range(PROBLEM_LOG_SIZE + 5):
        progress.handle(ev.RequestSent(f"id-{i}", i, 1, 1, 0.0))
        progress.handle(retry(i))
    progress.handle(ev.RequestFailed("id-x", 999, 4, "503 (gave up after 4 attempts)", 503, "", None, 0.0))
    assert len(progress.problems) == PROBLEM_LOG_SIZE
    assert progress.problems[0].custom_id == "id-x"
    assert progress.problems[1].custom_id == f"id-{PROBLEM_LOG_SIZE + 4}"


def test_remote_batches_are_followed_from_creation_to_resubmission():
    progress = Progress(clock=lambda: 0.0)
    progress.handle(ev.BatchCreated("b1", 1, "f1", 100, 86_400.0, 0.0))
    progress.handle(ev.BatchStatusChanged("b1", "in_progress", 1.0))
    progress.handle(ev.BatchCountsChanged("b1", 100, 60, 2, 2.0))
    progress.handle(ev.BatchStatusChanged("b1", "expired", 3.0))
    progress.handle(ev.BatchDownloaded("b1", 60, 2, 38, 4.0))
    progress.handle(ev.BatchResubmitted(38, "expired", "batch", 5.0))
    batch = progress.batches["b1"]
    assert (batch.status, batch.completed, batch.failed, batch.is_final) == ("expired", 60, 2, True)
    assert batch.downloaded.unfinished == 38 and batch.resubmitted.to == "batch"


def test_a_rate_limit_pause_counts_down_on_the_clock():
    clock = FakeClock(100.0)
    progress = Progress(clock=clock)
    progress.handle(ev.RateLimited("tokens", 5.0, 105.0, 100.0))
    assert progress.run_state() == "rate-limited" and progress.rate_limit_kind == "tokens"
    clock.now = 105.5
    assert progress.run_state() == "running"


def model_after(*events: ev.Event, costs: CostSettings = CostSettings(PRICE), earlier: Totals | None = None):
    clock = FakeClock()
    model = DashboardModel(costs, clock=clock)
    model.earlier = earlier
    replay(model, clock, events)
    return model


def answered(i: int, usage: ev.Usage, batch: bool = False) -> list[ev.Event]:
    cost = PriceBook().cost("gpt-4o-mini", usage, tier="batch" if batch else "standard")
    return [ev.RequestSent(f"id-{i}", i, 1, 1, 1.0), ev.RequestSucceeded(f"id-{i}", i, 1, 200, 0.1, usage, cost, {}, 2.0)]


def test_the_cost_sheet_prices_each_kind_of_token_and_projects_the_total():
    started = ev.RunStarted("p", "gpt-4o-mini", "/v1/chat/completions", "auto", 0, 0, 4, 0.0)
    model = model_after(started, *answered(0, ev.Usage(1_000_000, 200_000, 100_000)))
    sheet = cost_sheet(model)
    assert [(line.label, line.tokens) for line in sheet.lines] == [
        ("input", 800_000), ("cached input", 200_000), ("output", 100_000)]
    assert [line.usd for line in sheet.lines] == pytest.approx([0.12, 0.015, 0.06])
    assert sheet.spend == pytest.approx(0.195) and sheet.projected == pytest.approx(4 * 0.195)
    assert sheet.savings is None


def test_the_cost_sheet_adds_earlier_runs_and_shows_batch_savings():
    earlier = Totals(ev.Usage(1_000_000, 0, 0), 0.075, 0, 1, None, None)
    started = ev.RunStarted("p", "gpt-4o-mini", "/v1/chat/completions", "batch", 1, 0, 2, 0.0)
    model = model_after(started, *answered(1, ev.Usage(1_000_000, 0, 0), batch=True),
                        costs=CostSettings(PRICE, budget_usd=1.0, batch=True), earlier=earlier)
    sheet = cost_sheet(model)
    assert sheet.lines[0].tokens == 2_000_000 and sheet.lines[0].usd == pytest.approx(0.30)
    assert sheet.spend == pytest.approx(0.15) and sheet.this_run == pytest.approx(0.075)
    assert sheet.savings == pytest.approx(0.15) and sheet.budget == 1.0


def test_a_job_over_several_models_shows_each_models_spend_and_batch_savings_at_its_own_price():
    prices = PriceBook()
    usage = ev.Usage(1_000_000, 0, 100_000)
    events: list[ev.Event] = [ev.RunStarted("p", "gpt-4o-mini", "/v1/chat/completions", "batch", 2, 0, 2, 0.0)]
    for i, model in enumerate(("gpt-4o-mini", "gpt-4o")):
        cost = prices.cost(model, usage, tier="batch")
        events += [ev.RequestSent(f"id-{i}", i, 1, 1, 1.0),
                   ev.RequestSucceeded(f"id-{i}", i, 1, 200, 0.1, usage, cost, {}, 2.0, model=model)]
    model = model_after(*events, costs=CostSettings(PRICE, batch=True, prices=prices))
    sheet = cost_sheet(model)
    by_model = {line.label: line.usd for line in sheet.lines if "(" in line.label}
    mini, big = (prices.cost(m, usage, tier="batch") for m in ("gpt-4o-mini", "gpt-4o"))
    assert by_model == {"gpt-4o (1)": pytest.approx(big), "gpt-4o-mini (1)": pytest.approx(mini)}
    realtime = sum(prices.cost(m, usage) for m in ("gpt-4o-mini", "gpt-4o"))
    assert sheet.savings == pytest.approx(realtime - mini - big) and sheet.savings > 0
    assert sheet.spend == pytest.approx(mini + big)


def test_an_unknown_price_leaves_the_costs_unknown():
    model = model_after(*answered(0, ev.Usage(10, 0, 10)), costs=CostSettings(None))
    sheet = cost_sheet(model)
    assert sheet.spend is None and all(line.usd is None for line in sheet.lines)


def test_a_new_run_starts_the_tally_afresh_but_keeps_the_rows():
    model = model_after(ev.RequestQueued("a", 0, "s", 1, "h", 0, 1, 1, {}, {}, 0.0), *answered(0, ev.Usage(1, 0, 1)))
    model.new_run(None)
    assert model.progress.done == 0 and len(model.rows) == 1
