"""Recorded runs for snapshot tests and screenshots: synthetic event streams with fixed times.

Each scene is a deterministic list of engine events (seeded, on a fixed
timeline starting at T0) plus the moment the clock stands still at, so the
dashboard draws the same picture every time.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from typing import Any

from oaib_tui import events as ev
from oaib_tui.pricing import PriceBook
from oaib_tui.ui.answers import item_preview
from oaib_tui.ui.model import CostSettings, DashboardModel
from oaib_tui.ui.replay import FakeClock, replay

T0 = 1_760_000_000.0  # 2025-10-09 08:53:20 UTC
MODEL = "gpt-4o-mini"
PRICES = PriceBook()
PRICE = PRICES.price(MODEL)
RPM, TPM = 1_500, 150_000


@dataclass
class Scene:
    events: list[ev.Event]
    now: float
    costs: CostSettings = field(default_factory=lambda: CostSettings(PRICE))
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def model(self) -> DashboardModel:
        clock = FakeClock(T0)
        model = DashboardModel(self.costs, clock=clock)
        replay(model, clock, self.events, now=self.now)
        return model


def _fate(i: int) -> list[str]:
    """What happens to request i, attempt by attempt: a reason for each failed attempt, then ok or fail."""
    if i % 211 == 7:
        return ["fail:400"]
    if i % 37 == 5:
        return ["429 tokens", "ok"]
    if i % 53 == 11:
        return ["503", "503", "ok"]
    if i % 91 == 3:
        return ["timeout", "ok"]
    return ["ok"]


REVIEW_ANSWERS = (
    "Positive. The reviewer loves how quickly the kettle boils and how quiet it is.",
    "Negative. The handle came loose within a month and support never replied.",
    "Mixed. Great sound for the price, but the battery barely lasts a day.",
    "Positive. Fits well, washes well, and the colour has not faded.",
    "Negative. It arrived scratched and the replacement was no better.",
    "Mixed. Easy to set up; the app keeps asking to sign in again.",
    "Positive. Sturdy, light, and the zips still run smoothly after a year of daily use.",
)
TICKET_LABELS = ("billing", "shipping", "refund", "account", "other")


def chat_answer(text: str, i: int, prompt: int, out: int) -> dict[str, Any]:
    """A chat completion as the API returns it."""
    return {"id": f"chatcmpl-sim{i}", "object": "chat.completion", "model": MODEL, "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}}


def review_answer(i: int) -> str:
    """What request i (from 0) was answered: seeded by its index, so the detail view can say the same."""
    return REVIEW_ANSWERS[(i * 5 + i // 7) % len(REVIEW_ANSWERS)]


class _Timeline:
    def __init__(self) -> None:
        self.heap: list[tuple[float, int, ev.Event]] = []
        self.n = 0

    def add(self, event: ev.Event) -> None:
        heapq.heappush(self.heap, (event.at, self.n, event))
        self.n += 1

    def until(self, now: float) -> list[ev.Event]:
        return [event for at, _, event in sorted(self.heap) if at <= now]


def realtime_run(total: int = 2_000, seconds: float = 38.0, rate: float = 15.0, seed: int = 7,
                 pause_at: float | None = 33.0, pause_s: float = 6.0, finish: bool = False) -> list[ev.Event]:
    """A realtime run sending `rate` a second, with retries, a few failures and (at `pause_at`) a 429 pause."""
    rng = random.Random(seed)
    line = _Timeline()
    line.add(ev.RunStarted("demo", MODEL, "/v1/chat/completions", "auto", 0, 0, total, T0))
    line.add(ev.LimitsObserved(None, None, "starting", None, None, T0))
    send_at, end = T0 + 0.5, T0 + seconds
    pause = (T0 + pause_at, T0 + pause_at + pause_s) if pause_at is not None else None
    if pause:
        line.add(ev.RateLimited("tokens", pause_s, pause[1], pause[0]))
    for i in range(total):
        if pause and pause[0] <= send_at < pause[1]:
            send_at = pause[1]
        if send_at > end and not finish:
            break
        _request(line, i, send_at, rng)
        send_at += 1 / rate
    for second in range(1, int((send_at - T0) if finish else seconds) + 1):
        used = min(RPM, rate * 60)
        line.add(ev.LimitsObserved(RPM, TPM, "headers", int(RPM - used * 0.2), int(TPM * 0.55), T0 + second))
        line.add(_pace(T0 + second, pause))
    events = line.until(float("inf") if finish else end)
    if finish:
        events.append(_finished(events))
    return events


def _pace(at: float, pause: tuple[float, float] | None) -> ev.PaceObserved:
    """The engine's report: the token bucket nearly spent (10 s buckets, 10% kept in reserve), or a 429 pause."""
    requests = ev.BucketView("requests", RPM / 6 * 0.45, RPM / 6, RPM / 60, RPM / 60)
    tokens = ev.BucketView("tokens", TPM / 6 * 0.13, TPM / 6, TPM / 60, TPM / 60)
    if pause and pause[0] <= at < pause[1]:
        return ev.PaceObserved("rate-limited", pause[1] - at, None, (requests, tokens), 32, at)
    return ev.PaceObserved("tokens", 0.2, tokens, (requests, tokens), 32, at)


def _request(line: _Timeline, i: int, at: float, rng: random.Random) -> None:
    custom_id = f"review-{i + 1:05d}"
    prompt, out = rng.randint(28, 64), rng.randint(12, 160)
    line.add(ev.RequestQueued(custom_id, i, "data/reviews.csv", i + 2, f"h{i}", i, prompt, 100, {}, {}, at - 0.01))
    for attempt, fate in enumerate(_fate(i), start=1):
        latency = rng.uniform(0.6, 1.6)
        line.add(ev.RequestSent(custom_id, i, attempt, prompt + 100, at))
        done = at + latency
        if fate == "ok":
            usage = ev.Usage(prompt, 0, out)
            line.add(ev.RequestSucceeded(custom_id, i, attempt, 200, latency, usage, PRICES.cost(MODEL, usage),
                                         chat_answer(review_answer(i), i, prompt, out), done))
        elif fate.startswith("fail:"):
            line.add(ev.RequestFailed(custom_id, i, attempt, fate[5:], 400, "Invalid 'messages': too long", None, done))
        else:
            delay = 2.0 * attempt
            status = {"429 tokens": 429, "503": 503}.get(fate)
            line.add(ev.RetryScheduled(custom_id, i, attempt, fate, status, delay, f"simulated {fate}", done))
            at = done + delay


def _finished(events: list[ev.Event]) -> ev.RunFinished:
    done = sum(isinstance(e, ev.RequestSucceeded) for e in events)
    failed = sum(isinstance(e, ev.RequestFailed) for e in events)
    cost = sum(e.cost_usd for e in events if isinstance(e, ev.RequestSucceeded))
    at = max(e.at for e in events) + 0.1
    message = f"{failed} requests failed" if failed else "all requests answered"
    return ev.RunFinished("finished", None, message, done, failed, 0, cost, 1 if failed else 0, at)


def in_progress() -> Scene:
    """A realtime run 38 s in: retries in the log, a 429 pause counting down, requests in flight."""
    return Scene(realtime_run(), now=T0 + 38.0)


def hybrid_flex() -> Scene:
    """A hybrid run that left its batches for the flex lane, 38 s in."""
    events = [replace(e, mode="hybrid") if isinstance(e, ev.RunStarted)
              else replace(e, tier="flex") if isinstance(e, ev.RequestSucceeded) else e for e in realtime_run()]
    events.insert(1, ev.LaneChanged("flex", 2_000, "1h 10m to the deadline: flex (batch prices) can still make it", T0))
    return Scene(events, now=T0 + 38.0)


def finished() -> Scene:
    """The same kind of run, smaller, to its end, with a budget cap."""
    events = realtime_run(total=600, pause_at=None, finish=True)
    return Scene(events, now=events[-1].at, costs=CostSettings(PRICE, budget_usd=0.50))


BATCH_PLAN = (
    # part, first seq, requests, status, completed, failed, created (s before now), downloaded
    (1, 0, 1_000, "completed", 996, 4, 7_400, True),
    (2, 1_000, 1_000, "expired", 640, 0, 86_500, True),
    (3, 2_000, 1_000, "in_progress", 420, 3, 3_100, False),
    (4, 3_000, 1_000, "finalizing", 1_000, 0, 2_900, False),
    (5, 4_000, 1_000, "cancelled", 120, 0, 2_600, True),
    (6, 1_640, 360, "validating", 0, 0, 40, False),  # batch 2's unfinished items, resubmitted
)


def batch_mode() -> Scene:
    """Batch mode: six remote batches in different states; one expired and was resubmitted, one cancelled."""
    now = T0 + 90_000
    events: list[ev.Event] = [ev.RunStarted("nightly-labels", MODEL, "/v1/chat/completions", "batch", 0, 0, 5_000,
                                            now - 86_600)]
    for part, first, requests, status, completed, failed, age, downloaded in BATCH_PLAN:
        created, batch_id = now - age, f"batch_68e7{part:02d}c0ffee{part * 7919:06d}"
        attempt = 2 if part == 6 else 1
        for seq in range(first, first + requests):
            if attempt == 1:
                events.append(ev.RequestQueued(f"label-{seq + 1:05d}", seq, "data/tickets.csv", seq + 2, f"h{seq}",
                                               seq, 80, 40, {}, {}, created - 1))
            events.append(ev.RequestSent(f"label-{seq + 1:05d}", seq, attempt, 120, created))
        events.append(ev.BatchCreated(batch_id, part, f"file-in{part}", requests, created + 86_400, created))
        events.append(ev.BatchStatusChanged(batch_id, "in_progress" if status != "validating" else "validating",
                                            created + 30))
        events.append(ev.BatchCountsChanged(batch_id, requests, completed, failed, created + 60))
        events.append(ev.BatchStatusChanged(batch_id, status, created + min(age - 10, 3_000)))
        if downloaded:
            at = created + min(age - 5, 3_100)
            events += _downloaded(batch_id, first, completed, failed, requests, at)
            resubmit_to = "realtime" if status == "cancelled" else "batch"
            events += _unfinished(first + completed + failed, first + requests, status, at + 2)
            if completed + failed < requests:
                events.append(ev.BatchResubmitted(requests - completed - failed, f"batch {status}", resubmit_to, at + 3))
    events.sort(key=lambda e: e.at)
    return Scene(events, now=now, costs=CostSettings(PRICE, budget_usd=5.0, batch=True))


def _downloaded(batch_id: str, first: int, completed: int, failed: int, requests: int, at: float) -> list[ev.Event]:
    events: list[ev.Event] = []
    for seq in range(first, first + completed):
        usage = ev.Usage(80, 0, 30)
        answer = chat_answer(TICKET_LABELS[seq * 3 % len(TICKET_LABELS)], seq, 80, 30)
        events.append(ev.RequestSucceeded(f"label-{seq + 1:05d}", seq, 1, 200, 0.0, usage,
                                          PRICES.cost(MODEL, usage, tier="batch"), answer, at))
    for seq in range(first + completed, first + completed + failed):
        events.append(ev.RequestFailed(f"label-{seq + 1:05d}", seq, 1, "400", 400, "bad request", None, at))
    unfinished = requests - completed - failed
    events.append(ev.BatchDownloaded(batch_id, completed, failed, unfinished, at + 1))
    return events


def _unfinished(start: int, stop: int, status: str, at: float) -> list[ev.Event]:
    """Items a batch never ran wait to be sent again."""
    return [ev.RetryScheduled(f"label-{seq + 1:05d}", seq, 1, status, None, 0.0, f"batch {status}", at)
            for seq in range(start, stop)]


def detail_item(custom_id: str = "review-00006") -> dict[str, Any]:
    """What the state store's `item()` returns for a request answered on its second attempt."""
    return {
        "custom_id": custom_id, "seq": 5, "source": "data/reviews.csv", "line": 7, "status": "done", "attempts": 2,
        "keep": {"sku": "B-1005"}, "error": None, "usage": {"prompt_tokens": 41, "cached_tokens": 0,
                                                            "completion_tokens": 23},
        "cost_usd": 0.0000200, "latency_s": 0.84, "first_sent_at": T0 + 0.75, "finished_at": T0 + 4.1,
        "last_reason": "429 tokens", "body_hash": "h5",
        "request": {"model": MODEL, "max_tokens": 200, "messages": [
            {"role": "system", "content": "Label the sentiment of a product review: positive, negative or mixed; "
                                          "then say why in one sentence."},
            {"role": "user", "content": "Arrived with a deep scratch across the lid. Sent it back; the replacement "
                                        "was scratched too. Two stars for the quick refund."}]},
        "response": chat_answer(review_answer(5), 5, 41, 23),
        "retries": [{"attempt": 1, "at": T0 + 1.9, "reason": "429 tokens", "status_code": 429, "delay_s": 2.0,
                     "message": "Rate limit reached for tokens per min (TPM): try again in 2s."}],
    }


TERMINAL_SIZE = (120, 36)
SIZES = {"80x24": (80, 24), "120x36": TERMINAL_SIZE, "160x48": (160, 48)}
"""The terminal sizes every layout is drawn at: the smallest usual terminal, the wide layout, a big one."""
LAYOUT_SCENES = {"running": in_progress, "batch": batch_mode, "finished": finished, "hybrid": hybrid_flex}
"""The scenes drawn at every size in `SIZES`."""

SHOTS: dict[str, tuple[Any, tuple[str, ...], tuple[int, int]]] = {
    "realtime-in-progress": (in_progress, (), TERMINAL_SIZE),
    "batch-mode": (batch_mode, (), TERMINAL_SIZE),
    "finished-with-costs": (finished, (), TERMINAL_SIZE),
    "request-detail": (in_progress, ("home", *("down",) * 5, "enter"), TERMINAL_SIZE),
    "help": (in_progress, ("question_mark",), TERMINAL_SIZE),
    "filtered-failed": (in_progress, ("f", "f", "f"), TERMINAL_SIZE),
    "narrow-in-progress": (in_progress, (), SIZES["80x24"]),
    "narrow-batch-mode": (batch_mode, (), SIZES["80x24"]),
    "narrow-request-detail": (in_progress, ("home", *("down",) * 5, "enter"), SIZES["80x24"]),
}
"""Every picture: the scene, the keys pressed before it is taken and the terminal size (tests and
screenshots share them)."""


class ReplaySession:
    """Stands in for the run behind a replayed scene, so that the footer offers what a live run would."""

    def __init__(self, running: bool, details: dict[str, dict[str, Any]]) -> None:
        self.running, self.paused, self.stopping = running, False, False
        self.can_retry_failed = not running
        self.details = details

    def drain(self) -> list[ev.Event]:
        return []

    async def detail(self, custom_id: str) -> dict[str, Any] | None:
        return self.details.get(custom_id)

    async def previews(self, custom_ids: list[str]) -> dict[str, str]:
        return {custom_id: item_preview(self.details.get(custom_id)) for custom_id in custom_ids}


def app_for(scene: Scene):
    """A dashboard showing the scene as if its run were live (steering it does nothing)."""
    from oaib_tui.ui.app import DashboardApp

    model = scene.model()
    session = ReplaySession(model.progress.finished is None, {"review-00006": detail_item(), **scene.details})
    return DashboardApp(model, session, autostart=False)  # type: ignore[arg-type]
