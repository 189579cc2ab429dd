"""Counted nouns: one request, two requests."""

import pytest

from oaib_tui.wording import counted, money


def test_counted_nouns_agree_with_their_number():
    assert counted(1, "request") == "1 request"
    assert counted(0, "request") == "0 requests"
    assert counted(2_500, "batch") == "2,500 batches"
    assert counted(1, "batch") == "1 batch"
    assert counted(3, "batch-input file") == "3 batch-input files"
    assert counted(2, "child", "children") == "2 children"


@pytest.mark.parametrize("value, text", [
    (0.0005, "$0.0005"), (6.43e-05, "$0.000064"), (0.0123, "$0.0123"), (12.5, "$12.50"), (1234.5, "$1,234.50"),
    (0.0, "$0"), (None, "unknown"), (float("nan"), "unknown"),
])
def test_money_keeps_small_sums_readable(value, text):
    assert money(value) == text
