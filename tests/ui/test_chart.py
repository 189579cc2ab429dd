"""The throughput chart's drawing: a time span over the columns there are, a nice scale, bars and an axis."""

from __future__ import annotations

import pytest

from oaib_tui.ui.chart import bar_rows, nice_ceiling, time_axis, time_span


@pytest.mark.parametrize("value, top", [(0, 1), (0.3, 0.5), (1, 1), (1.2, 2), (2.2, 2.5), (14.5, 20), (21, 25),
                                        (2_684, 5_000), (48_000, 50_000), (100, 100)])
def test_the_scale_tops_at_a_round_figure_not_below_the_peak(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


def test_a_young_run_is_stretched_over_the_width_and_an_old_one_fits_its_history_in_it():
    young = time_span(38.2, width=100, keep_s=300)
    assert (young.seconds, young.bucket_s, young.buckets, young.stretch) == (39, 1, 39, 2)
    old = time_span(3_600, width=100, keep_s=300)
    assert (old.seconds, old.bucket_s, old.buckets, old.stretch) == (300, 3, 100, 1)
    assert old.columns <= 100 and young.columns <= 100


def test_bars_are_drawn_in_eighths_over_the_rows_top_row_first():
    top_row, bottom_row = bar_rows([0, 5, 10, 20], top=20, rows=2)
    assert bottom_row == " ▄██"
    assert top_row == "   █"
    assert bar_rows([20, 0], top=20, rows=1, stretch=3) == ["███   "]


def test_a_trickle_shows_as_the_lowest_eighth_not_as_nothing():
    assert bar_rows([0.001], top=100, rows=2) == [" ", "▁"]


def test_the_axis_names_the_span_its_middle_and_now_under_the_chart():
    axis = time_axis(time_span(38, width=76, keep_s=300))
    assert len(axis) == 76
    assert axis.startswith("−38s") and axis.endswith("now") and "−19s" in axis


def test_an_axis_too_short_for_every_label_keeps_the_ones_that_fit_without_overlap():
    assert time_axis(time_span(7, width=7, keep_s=300)) == "−7s now"
    assert time_axis(time_span(5, width=5, keep_s=300)) == "−5s  "
