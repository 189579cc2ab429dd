"""Service tiers end to end on virtual time: flex refusal storms, the tier each answer was charged at, timeouts."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import yaml
from engine_helpers import run_job, sim_app, write_project

from oaib_tui import events as ev
from oaib_tui import pricing
from oaib_tui.engine.client import Reply
from oaib_tui.engine.lean import _reply
from oaib_tui.engine.ratelimit import RateLimiter
from oaib_tui.job import JobRun
from oaib_tui.pricing import ModelPrice
from oaib_tui.project import load_project
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.tiers import DEFAULT_TIMEOUT_S, FLEX_TIMEOUT_S

pytestmark = pytest.mark.looptime

STANDARD = ModelPrice(1.00, 4.00)
FLEX = ModelPrice(0.50, 2.00)
PRIORITY = ModelPrice(2.00, 8.00)


@pytest.fixture
def tier_prices(monkeypatch: pytest.MonkeyPatch) -> ModelPrice:
    """gpt-4o-mini sold at all three realtime tiers, at prices easy to check."""
    price = ModelPrice(STANDARD.input, STANDARD.output, flex=FLEX, priority=PRIORITY)
    monkeypatch.setitem(pricing.PRICE_TABLE, "gpt-4o-mini", price)
    return price


class LimiterSpy:
    """Counts what the run teaches the rate limiter and how often it pauses it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.observed = self.paused = 0
        observe, pause_until = RateLimiter.observe, RateLimiter.pause_until

        def counting_observe(limiter: RateLimiter, *args: Any, **kwargs: Any) -> None:
            self.observed += 1
            observe(limiter, *args, **kwargs)

        def counting_pause(limiter: RateLimiter, when: float) -> None:
            self.paused += 1
            pause_until(limiter, when)

        monkeypatch.setattr(RateLimiter, "observe", counting_observe)
        monkeypatch.setattr(RateLimiter, "pause_until", counting_pause)


def flex_project(tmp_path, n: int, **overrides: Any):
    request = {"max_tokens": 20, "service_tier": "flex", "messages": [{"role": "user", "content": "Say {word}"}]}
    limits = {"concurrency": 8, "max_retries": 3}
    return write_project(tmp_path, n=n, request=request, limits=limits, **overrides)


def stored_tiers(job: JobRun) -> dict[str, str | None]:
    with sqlite3.connect(job.project.state_path) as conn:
        return dict(conn.execute("SELECT custom_id, tier FROM items"))


async def test_a_flex_run_refused_sixty_percent_of_the_time_finishes_every_item_without_pausing(
        tmp_path, monkeypatch, tier_prices) -> None:
    spy = LimiterSpy(monkeypatch)
    app = sim_app(flex_unavailable_rate=0.6, flex_latency_ms=2_000)
    finished, recorder, job = await run_job(flex_project(tmp_path, 80), app)

    assert (finished.exit_code, finished.done, finished.failed) == (0, 80, 0)
    refusals = recorder.of(ev.RetryScheduled)
    assert app.stats.flex_unavailable == len(refusals) > 80  # ~1.5 refusals an item at 60 %
    assert {retry.code for retry in refusals} == {"resource_unavailable"}
    assert max(retry.attempt for retry in refusals) > 1 + 3  # some item went past max_retries on refusals alone
    assert recorder.of(ev.RateLimited) == []
    assert spy.paused == 0
    assert spy.observed == 80  # the answers taught the limiter; the refusals did not
    assert {e.tier for e in recorder.of(ev.RequestSucceeded)} == {"flex"}
    assert set(stored_tiers(job).values()) == {"flex"}


async def test_a_flex_item_refused_past_its_own_budget_fails_and_says_why(tmp_path, monkeypatch, tier_prices) -> None:
    monkeypatch.setattr("oaib_tui.engine.retry.MAX_UNAVAILABLE_RETRIES", 2)
    finished, recorder, _ = await run_job(flex_project(tmp_path, 1), sim_app(flex_unavailable_rate=1.0))
    assert (finished.done, finished.failed) == (0, 1)
    [failed] = recorder.of(ev.RequestFailed)
    assert failed.reason == "429 resource unavailable (gave up after 3 attempts)"
    assert failed.error is not None and failed.error["code"] == "resource_unavailable"


async def test_each_answer_is_priced_at_the_tier_it_says_was_charged(tmp_path, tier_prices) -> None:
    request = {"max_tokens": 20, "service_tier": "priority", "messages": [{"role": "user", "content": "Say {word}"}]}
    app = sim_app(priority_downgrade_rate=0.5)
    finished, recorder, job = await run_job(write_project(tmp_path, n=40, request=request), app)

    answers = recorder.of(ev.RequestSucceeded)
    assert finished.done == 40
    by_tier = {tier: [a for a in answers if a.tier == tier] for tier in ("priority", "standard")}
    assert by_tier["priority"] and by_tier["standard"]  # some were downgraded
    for tier, price in (("priority", PRIORITY), ("standard", STANDARD)):
        for answer in by_tier[tier]:
            assert answer.response["service_tier"] == ("priority" if tier == "priority" else "default")
            assert answer.cost_usd == pytest.approx(pricing.usage_cost(price, answer.usage))
    stored = stored_tiers(job)
    assert {answer.custom_id: answer.tier for answer in answers} == stored
    assert finished.cost_usd == pytest.approx(sum(a.cost_usd for a in answers))


async def test_the_budget_cap_counts_a_priority_request_at_the_priority_price(tmp_path, tier_prices) -> None:
    request = {"max_tokens": 1000, "service_tier": "priority", "messages": [{"role": "user", "content": "Say {word}"}]}
    # A standard worst case (~$0.004 a request) would let 2 requests go; at priority's (~$0.008), only 1.
    path = write_project(tmp_path, n=5, request=request,
                         limits={"concurrency": 1, "max_retries": 3, "max_cost_usd": 0.0125})
    finished, recorder, _ = await run_job(path, sim_app())
    assert finished.reason == "budget"
    assert len(recorder.of(ev.RequestSent)) == 1


class AnswersAtOnce:
    """A sender that answers every request at once and notes the timeout it was given."""

    name = "noting"

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
        self.timeouts.append(timeout_s)
        return _reply(200, {}, b'{"choices": [{"message": {"content": "hi"}}], "service_tier": "flex"}')

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(("tier", "limits", "expected"), [
    ("flex", {}, [FLEX_TIMEOUT_S] * 2),
    ("flex", {"timeout_s": 30}, [30.0] * 2),
    ("{tier}", {}, [FLEX_TIMEOUT_S, DEFAULT_TIMEOUT_S]),  # a tier per record: a timeout per request
])
async def test_flex_waits_fifteen_minutes_for_an_answer_unless_the_timeout_is_set(tmp_path, tier, limits,
                                                                                  expected) -> None:
    path = flex_project(tmp_path, 2)
    spec = yaml.safe_load(path.read_text())
    spec["request"]["service_tier"] = tier
    spec["sources"] = [{"items": [{"word": "a", "tier": "flex"}, {"word": "b", "tier": "default"}]}]
    path.write_text(yaml.safe_dump({**spec, "limits": limits}))
    project = load_project(path)
    sender = AnswersAtOnce()
    job = JobRun(project, http_client=simulator_http_client(sim_app()), sender=sender)
    try:
        finished = await job.run()
    finally:
        job.close()
    assert finished.done == 2
    assert sender.timeouts == expected


async def test_a_tier_the_model_has_no_price_at_is_said_once_and_its_answers_cost_unknown(tmp_path) -> None:
    path = flex_project(tmp_path, 2, model="gpt-4o-mini-flexless",  # priced at standard only
                        pricing={"gpt-4o-mini-flexless": {"input": 1.0, "output": 4.0}},
                        provider={"kind": "simulator", "simulator": {"models": ["gpt-4o-mini-flexless"]}})
    finished, recorder, _ = await run_job(path, sim_app(models=("gpt-4o-mini-flexless",)))
    assert finished.done == 2
    notes = [n.message for n in recorder.of(ev.Notice) if "flex price" in n.message]
    assert notes == ["no flex price known for `gpt-4o-mini-flexless`: answers charged at flex have an unknown cost "
                     "(the spend cap counts them at their worst case)"]
    assert [e.cost_usd for e in recorder.of(ev.RequestSucceeded)] == [None, None]
