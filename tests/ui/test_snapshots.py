"""What the dashboard looks like, from recorded event streams on a clock that stands still.

Run `pytest tests/ui --snapshot-update` after a deliberate change, and look at the new SVGs.
"""

from __future__ import annotations

from scenes import SHOTS, TERMINAL_SIZE, app_for


def snapshot(snap_compare, name: str) -> bool:
    make_scene, keys = SHOTS[name]
    return snap_compare(app_for(make_scene()), press=keys, terminal_size=TERMINAL_SIZE)


class TestRealtime:
    def test_a_run_in_progress_with_retries_and_a_rate_limit_pause(self, snap_compare):
        assert snapshot(snap_compare, "realtime-in-progress")

    def test_the_finished_run_with_its_cost_table(self, snap_compare):
        assert snapshot(snap_compare, "finished-with-costs")


class TestBatchMode:
    def test_several_batches_in_different_states(self, snap_compare):
        assert snapshot(snap_compare, "batch-mode")


class TestScreens:
    def test_the_detail_of_a_retried_request(self, snap_compare):
        assert snapshot(snap_compare, "request-detail")

    def test_the_help_screen(self, snap_compare):
        assert snapshot(snap_compare, "help")


class TestFilter:
    def test_the_list_filtered_to_failed_requests(self, snap_compare):
        assert snapshot(snap_compare, "filtered-failed")
