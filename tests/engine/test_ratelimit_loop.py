"""The rate limiter in a closed loop with a fake server, on a fake clock.

A discrete-event simulation: a tiny model of OpenAI's two buckets (the
simulator's rules: refill at limit/60 per second, capacity `bucket_s` seconds of
refill, start full, 1 request + tokens deducted at admission, `x-ratelimit-*`
headers as of admission, 429 with the wait until there is room), our limiter, a
dispatcher like the runner's (a concurrency cap; sleep for what try_acquire
says), answers after a jittered latency, and 429s that pause everyone.

The yardstick is the shortest time the server's buckets allow: what fits in the
full buckets goes at once, the rest at the refill rate, plus one answer's latency.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field

import pytest

from oaib_tui.engine.ratelimit import RateLimiter


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def go_duration(seconds: float) -> str:
    """A duration as OpenAI writes it (`120ms`, `1.5s`, `1m0.25s`), rounded up to the millisecond."""
    millis = math.ceil(round(seconds * 1000, 6))
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    secs = f"{rest / 1000:g}s"
    return f"{minutes}m{secs}" if minutes else secs


class ServerBucket:
    def __init__(self, per_minute: float, bucket_s: float) -> None:
        self.limit, self.rate = per_minute, per_minute / 60
        self.capacity = self.level = max(1.0, self.rate * bucket_s)
        self.updated = 0.0

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now


class FakeServer:
    """OpenAI's two buckets and their headers; counts what it admitted of ours."""

    def __init__(self, rpm: float, tpm: float, bucket_s: float, *, reports: bool = True) -> None:
        self.reports = reports
        """Send `x-ratelimit-*` headers (a compatible server may not)."""
        self.buckets = {"requests": ServerBucket(rpm, bucket_s), "tokens": ServerBucket(tpm, bucket_s)}
        self.admitted_requests = 0
        self.admitted_tokens = 0.0

    def admit(self, tokens: float, now: float, *, ours: bool = True) -> float | None:
        """None if admitted (and deducted); else the wait until both buckets have room."""
        costs = {"requests": 1.0, "tokens": tokens}
        for bucket in self.buckets.values():
            bucket.refill(now)
        waits = [(costs[k] - b.level) / b.rate for k, b in self.buckets.items() if b.level < costs[k]]
        if waits:
            return max(waits)
        for kind, bucket in self.buckets.items():
            bucket.level -= costs[kind]
        if ours:
            self.admitted_requests += 1
            self.admitted_tokens += tokens
        return None

    def headers(self, now: float) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.reports:
            return out
        for kind, bucket in self.buckets.items():
            bucket.refill(now)
            out[f"x-ratelimit-limit-{kind}"] = str(int(bucket.limit))
            out[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(bucket.level)))
            out[f"x-ratelimit-reset-{kind}"] = go_duration(max(0.0, (bucket.capacity - bucket.level) / bucket.rate))
        return out

    def shortest_time(self, latency_s: float, share: float = 1.0) -> float:
        """The time the buckets allow for what they admitted of ours, given `share` of their refill."""
        over = [(total - b.capacity) / (b.rate * share) for total, b in
                ((self.admitted_requests, self.buckets["requests"]), (self.admitted_tokens, self.buckets["tokens"]))]
        return max(*over, 0.0) + latency_s


@dataclass
class OtherProgram:
    """Another client on the same key: sends `requests` requests of `tokens` each every `every_s` seconds."""

    every_s: float
    requests: int
    tokens: float
    sent: int = 0
    refused: int = 0


@dataclass
class Run:
    finished_at: float
    refused: int
    """Our requests answered 429."""
    sent: int
    server: FakeServer


@dataclass
class Loop:
    """A dispatcher like the runner's, the fake server and the limiter, stepped from event to event."""

    limiter: RateLimiter
    server: FakeServer
    clock: Clock
    costs: list[int]
    keyed: bool = False
    latency_s: float = 0.3
    jitter: float = 0.2
    one_way_s: float = 0.005
    concurrency: int = 50
    other: OtherProgram | None = None
    invalid_share: float = 0.0
    """Share of requests refused before admission (like a 400): answered with headers, never charged."""
    charged_share: float = 1.0
    """Share of the reserved tokens the server actually charges (we may over-reserve max output)."""
    slow_share: float = 0.0
    """Share of answers that come `slow_s` late."""
    slow_s: float = 5.0
    dropped_share: float = 0.0
    """Share of requests whose connection drops before admission: no answer, no headers (retried)."""
    report_lost: bool = True
    """Tell the limiter about attempts that got no answer."""
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def run(self, max_events: int = 2_000_000) -> Run:
        self.events: list[tuple[float, int, str, tuple]] = []
        self.order = 0
        self.ready: deque[tuple[int, int]] = deque((i, 1) for i in range(len(self.costs)))
        self.retries: list[tuple[float, int, int]] = []
        self.in_flight = self.done = self.refused = self.sent = 0
        self.wake_at: float | None = None
        finished_at = 0.0
        if self.other:
            self._push(0.0, "other", ())
        self._dispatch()
        for _ in range(max_events):
            if self.done == len(self.costs):
                return Run(finished_at, self.refused, self.sent, self.server)
            at, _, kind, data = heapq.heappop(self.events)
            self.clock.now = at
            getattr(self, f"_on_{kind}")(*data)
            finished_at = at if kind == "answer" else finished_at
            self._dispatch()
        raise AssertionError("the loop did not finish")

    def _push(self, at: float, kind: str, data: tuple) -> None:
        self.order += 1
        heapq.heappush(self.events, (at, self.order, kind, data))

    def _next_item(self) -> tuple[int, int] | None:
        if self.retries and self.retries[0][0] <= self.clock.now:
            _, item, attempt = heapq.heappop(self.retries)
            return item, attempt
        return self.ready.popleft() if self.ready else None

    def _dispatch(self) -> None:
        now = self.clock.now
        while self.in_flight < self.concurrency:
            item = self._next_item()
            if item is None:
                if self.retries:
                    self._wake(self.retries[0][0])
                return
            wait = self.limiter.try_acquire(self.costs[item[0]], key=item if self.keyed else None)
            if wait > 0:
                self.ready.appendleft(item)
                self._wake(now + wait)
                return
            self.in_flight += 1
            self.sent += 1
            self._push(now + self.one_way_s, "arrive", (item,))

    def _wake(self, at: float) -> None:
        if self.wake_at is None or at < self.wake_at:
            self.wake_at = at
            self._push(at, "wake", ())

    def _on_wake(self) -> None:
        self.wake_at = None

    def _on_arrive(self, item: tuple[int, int]) -> None:
        now = self.clock.now
        if self.rng.random() < self.dropped_share:
            self._push(now + self.one_way_s, "drop", (item,))
            return
        if self.rng.random() < self.invalid_share:
            self._push(now + self.one_way_s, "answer", (item, self.server.headers(now)))
            return
        retry_after = self.server.admit(self.costs[item[0]] * self.charged_share, now)
        headers = self.server.headers(now)
        if retry_after is None:
            latency = self.latency_s * (1 + self.jitter * self.rng.uniform(-1, 1))
            latency += self.slow_s if self.rng.random() < self.slow_share else 0.0
            headers["openai-processing-ms"] = str(round(latency * 1000))
            self._push(now + latency, "answer", (item, headers))
        else:
            self._push(now + self.one_way_s, "refusal", (item, headers, retry_after))

    def _on_answer(self, item: tuple[int, int], headers: dict[str, str]) -> None:
        self.in_flight -= 1
        self.done += 1
        self.limiter.observe(headers, key=item if self.keyed else None)

    def _on_refusal(self, item: tuple[int, int], headers: dict[str, str], retry_after: float) -> None:
        self.in_flight -= 1
        self.refused += 1
        self.limiter.observe(headers, key=item if self.keyed else None)
        resume = self.clock.now + retry_after
        self.limiter.pause_until(resume)
        heapq.heappush(self.retries, (resume, item[0], item[1] + 1))

    def _on_drop(self, item: tuple[int, int]) -> None:
        self.in_flight -= 1
        if self.report_lost:
            self.limiter.lost(key=item if self.keyed else None)
        heapq.heappush(self.retries, (self.clock.now + 0.5, item[0], item[1] + 1))

    def _on_other(self) -> None:
        assert self.other is not None
        for _ in range(self.other.requests):
            self.other.sent += 1
            if self.server.admit(self.other.tokens, self.clock.now, ours=False) is not None:
                self.other.refused += 1
        self._push(self.clock.now + self.other.every_s, "other", ())


RPM, TPM = 600, 100_000
N = 1_200
BUCKETS = pytest.mark.parametrize("bucket_s", [60.0, 10.0], ids=["60s-bucket", "10s-bucket"])
KEYED = pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])


def small_requests(n: int = N, seed: int = 3) -> list[int]:
    """About 100 tokens each: the requests bucket binds."""
    rng = random.Random(seed)
    return [rng.randint(60, 140) for _ in range(n)]


def large_requests(n: int = N, seed: int = 4) -> list[int]:
    """About 500 tokens each: the tokens bucket binds."""
    rng = random.Random(seed)
    return [rng.randint(350, 650) for _ in range(n)]


WORKLOADS = pytest.mark.parametrize("workload", [small_requests, large_requests], ids=["rpm-bound", "tpm-bound"])


def learning_loop(costs: list[int], bucket_s: float, **options) -> Loop:
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=None, safety=0.1, learn=True, clock=clock)
    return Loop(limiter, FakeServer(RPM, TPM, bucket_s), clock, costs, **options)


@BUCKETS
@WORKLOADS
@KEYED
def test_learning_finishes_near_the_shortest_time_the_server_allows(bucket_s, workload, keyed):
    run = learning_loop(workload(), bucket_s, keyed=keyed).run()
    assert run.refused <= 0.01 * N
    assert run.finished_at <= 1.05 * run.server.shortest_time(0.3)


@BUCKETS
@WORKLOADS
@KEYED
def test_fixed_limits_equal_to_the_servers_finish_near_the_shortest_time_it_allows(bucket_s, workload, keyed):
    clock = Clock()
    limiter = RateLimiter(rpm=RPM, tpm=TPM, safety=0.1, learn=False, clock=clock)
    run = Loop(limiter, FakeServer(RPM, TPM, bucket_s), clock, workload(), keyed=keyed).run()
    assert run.refused <= 0.01 * N
    assert run.finished_at <= 1.05 * run.server.shortest_time(0.3)


@BUCKETS
@WORKLOADS
def test_fixed_limits_without_headers_pace_at_the_configured_rate_without_refusals(bucket_s, workload):
    # With no headers the server's bucket is unknown, so the yardstick is the pace of the
    # configured limits: the server's burst is forgone. safety=0.03 keeps it within 5%.
    costs = workload()
    clock = Clock()
    limiter = RateLimiter(rpm=RPM, tpm=TPM, safety=0.03, learn=False, clock=clock)
    run = Loop(limiter, FakeServer(RPM, TPM, bucket_s, reports=False), clock, costs).run()
    paced = max(len(costs) / (RPM / 60), sum(costs) / (TPM / 60)) + 0.3
    assert run.refused == 0
    assert run.finished_at <= 1.05 * paced


def steady_other(share: float) -> OtherProgram:
    """Another program taking `share` of both limits, one request at a time."""
    every_s = 60 / (share * RPM)
    return OtherProgram(every_s=every_s, requests=1, tokens=share * TPM / 60 * every_s)


@BUCKETS
@KEYED
def test_another_program_taking_a_steady_share_keeps_it_and_we_get_the_rest(bucket_s, keyed):
    other = steady_other(0.3)
    run = learning_loop(small_requests(), bucket_s, keyed=keyed, other=other).run()
    assert run.refused <= 0.01 * N
    assert other.refused <= 0.01 * other.sent
    assert run.finished_at <= 1.05 * run.server.shortest_time(0.3, share=0.7)


@BUCKETS
def test_another_programs_bursts_within_our_reserve_cost_nobody_a_refusal(bucket_s):
    other = OtherProgram(every_s=4.0, requests=8, tokens=100.0)  # our reserve is 10 requests
    run = learning_loop(small_requests(), bucket_s, other=other).run()
    assert run.refused == 0
    assert other.refused == 0


@BUCKETS
def test_another_programs_larger_bursts_catch_us_out_at_most_once_each(bucket_s):
    # 30 requests at once: we kept the bucket down to our reserve of 10, so the other program
    # gets refused for the rest (nothing we can do), and we must not go on to a 429 storm.
    other = OtherProgram(every_s=10.0, requests=30, tokens=100.0)
    run = learning_loop(small_requests(), bucket_s, other=other).run()
    assert run.refused <= run.finished_at / other.every_s


@BUCKETS
@WORKLOADS
@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed-lost-unreported", "keyed-lost-reported"])
def test_faults_and_over_reserving_neither_cause_refusals_nor_waste_the_limits(bucket_s, workload, keyed):
    # Answers 5 s late, dropped connections, requests refused before admission (never charged),
    # the server charging 70% of the tokens we reserve, and another program taking 20%. The
    # hardest case is without keys nor word of lost attempts: late answers must not fool us,
    # lost attempts must not blur the pairing, and what was never charged must come back.
    other = steady_other(0.2)
    loop = learning_loop(workload(), bucket_s, keyed=keyed, report_lost=keyed, other=other, slow_share=0.03,
                         dropped_share=0.03, invalid_share=0.03, charged_share=0.7)
    run = loop.run()
    assert run.refused <= 0.01 * N
    assert other.refused <= 0.01 * other.sent
    assert run.finished_at <= 1.05 * run.server.shortest_time(0.3, share=0.8) + loop.slow_s


@BUCKETS
def test_attempts_lost_without_a_word_do_not_blur_which_answer_is_which(bucket_s):
    # Unkeyed, each dropped connection the limiter never hears of would leave an old grant open
    # for good; with another program taking its share, those stale candidates would hide its
    # consumption from us. They are retired after several answer times.
    other = steady_other(0.3)
    run = learning_loop(large_requests(), bucket_s, other=other, dropped_share=0.03, report_lost=False).run()
    assert run.refused <= 0.01 * N
    assert other.refused <= 0.01 * other.sent
