"""Counted nouns: one request, two requests."""

from oaib_tui.wording import counted


def test_counted_nouns_agree_with_their_number():
    assert counted(1, "request") == "1 request"
    assert counted(0, "request") == "0 requests"
    assert counted(2_500, "batch") == "2,500 batches"
    assert counted(1, "batch") == "1 batch"
    assert counted(3, "batch-input file") == "3 batch-input files"
    assert counted(2, "child", "children") == "2 children"
