"""Usage meters on a fake clock: per-minute figures, pace, sparkline history."""

from __future__ import annotations

import pytest

from oaib_tui.meters import HISTORY_KEEP_S, RateMeter


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_per_minute_counts_the_last_window_only():
    clock = Clock()
    meter = RateMeter(clock)
    meter.record(clock.now - 90, requests=5, tokens=500)  # too old
    meter.record(clock.now - 30, tokens=100)
    meter.record(clock.now - 0.5, requests=2, tokens=40)
    assert meter.per_minute() == (3, 140)
    clock.now += 45
    assert meter.per_minute() == (2, 40)


def test_a_shorter_window_is_scaled_to_a_minute():
    clock = Clock()
    meter = RateMeter(clock, window_s=10.0)
    for second in range(20):
        meter.record(clock.now - second, tokens=10)
    assert meter.per_minute() == (60, 600)


def test_a_query_may_ask_for_a_shorter_window_than_the_meters():
    clock = Clock()
    meter = RateMeter(clock)  # a minute
    for second in range(120):
        meter.record(clock.now - second, requests=1 if second < 10 else 3)
    assert meter.per_second("requests") == pytest.approx((10 + 50 * 3) / 60)
    assert meter.per_second("requests", window_s=10) == pytest.approx(1.0)


def test_events_recorded_out_of_order_land_in_their_own_second():
    clock = Clock()
    meter = RateMeter(clock)
    meter.record(clock.now - 1, tokens=1)
    meter.record(clock.now - 5, tokens=10)
    meter.record(clock.now - 3, tokens=100)
    meter.record(clock.now - 5, tokens=1_000)
    meter.record(clock.now - HISTORY_KEEP_S - 10, tokens=10_000)  # older than anything kept: dropped
    assert meter.history(buckets=6, bucket_s=1.0) == [1_010, 0, 100, 0, 1, 0]  # the last is the current second
    assert meter.per_minute() == (4, 1_111)


def test_history_gives_counts_per_bucket_ending_now():
    clock = Clock()
    meter = RateMeter(clock)
    meter.record(clock.now, requests=3, tokens=30)
    meter.record(clock.now - 1, tokens=5)
    meter.record(clock.now - 2, requests=2, tokens=7)
    meter.record(clock.now - 61, tokens=1_000)  # before the 60 s the sparkline covers
    tokens = meter.history(buckets=30, bucket_s=2.0)
    assert len(tokens) == 30
    assert tokens[-2:] == [7, 35]
    assert sum(tokens) == 42
    assert meter.history(buckets=3, bucket_s=1.0, what="requests") == [2, 1, 3]


def test_history_of_whole_seconds_leaves_out_the_second_under_way():
    clock = Clock()
    meter = RateMeter(clock)
    for ago, requests in ((0, 1), (1, 4), (2, 5)):
        meter.record(clock.now - ago, requests=requests)
    assert meter.history(buckets=3, bucket_s=1.0, what="requests") == [5, 4, 1]
    assert meter.history(buckets=3, bucket_s=1.0, what="requests", whole_seconds=True) == [0, 5, 4]


def test_many_events_a_second_keep_one_bin_a_second():
    clock = Clock()
    meter = RateMeter(clock)
    for event in range(200_000):
        meter.record(clock.now - 1_000 + event / 100, tokens=2)
    clock.now += 1_000
    assert len(meter._bins) <= HISTORY_KEEP_S + 1  # bins, never events
    assert meter.per_minute() == (5_900, 11_800)  # 59 whole seconds, and the current one just begun


def test_the_pace_is_taken_over_the_window_or_since_the_first_event():
    clock = Clock()
    meter = RateMeter(clock)
    assert meter.per_second() is None
    meter.record(clock.now)
    assert meter.per_second() is None  # under a second: no pace yet
    for second in range(1, 10):
        meter.record(clock.now + second, requests=5, tokens=50)
    clock.now += 9.5
    assert meter.per_second() == pytest.approx(46 / 9.5)
    assert meter.per_second("tokens") == pytest.approx(450 / 9.5)


def test_a_window_must_have_a_length():
    with pytest.raises(ValueError):
        RateMeter(Clock(), window_s=0)
