"""What the dashboard looks like, from recorded event streams on a clock that stands still.

Run `pytest tests/ui --snapshot-update` after a deliberate change, and look at the new SVGs
(`python scripts/make_screenshots.py` draws the README's pictures from the same scenes, with PNGs).
"""

from __future__ import annotations

import pytest
from scenes import LAYOUT_SCENES, SHOTS, SIZES, app_for


def snapshot(snap_compare, name: str) -> bool:
    make_scene, keys, size = SHOTS[name]
    return snap_compare(app_for(make_scene()), press=keys, terminal_size=size)


class TestLayouts:
    """The running, batch, finished and hybrid scenes at the narrow layout's size, the wide one's and a big one."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("scene", LAYOUT_SCENES)
    def test_the_scene_at_this_size(self, snap_compare, scene, size):
        assert snap_compare(app_for(LAYOUT_SCENES[scene]()), terminal_size=SIZES[size])


class TestScreens:
    def test_the_detail_of_a_retried_request(self, snap_compare):
        assert snapshot(snap_compare, "request-detail")

    def test_the_detail_of_a_retried_request_in_a_small_terminal(self, snap_compare):
        assert snapshot(snap_compare, "narrow-request-detail")

    def test_the_help_screen(self, snap_compare):
        assert snapshot(snap_compare, "help")


class TestFilter:
    def test_the_list_filtered_to_failed_requests(self, snap_compare):
        assert snapshot(snap_compare, "filtered-failed")
