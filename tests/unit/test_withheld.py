"""Withheld: what a lane taking over leaves alone (another lane's requests in flight), the rest as its base says."""

from oaib_tui.engine.resume import ELSEWHERE, OnlyThese, ResumeIndex, Withheld


def test_items_in_flight_elsewhere_are_left_alone_by_key_and_by_id():
    base = ResumeIndex({1}, {2}, lambda custom_id, _hash: "done" if custom_id == "a" else None, done=1, failed=1)
    index = Withheld.around(base, keys={3}, ids={"c"})
    assert [index.status_by_key(k) for k in (1, 2, 3, 4)] == ["done", "failed", ELSEWHERE, None]
    assert [index.status_by_body(i, "h") for i in ("a", "b", "c")] == ["done", None, ELSEWHERE]
    assert (index.has_keys, index.done, index.failed) == (True, 1, 1)


def test_on_the_slow_path_the_ids_alone_decide():
    index = Withheld.around(ResumeIndex.empty(), keys={3}, ids={"c"})
    assert not index.has_keys
    assert (index.status_by_body("c", "h"), index.status_by_body("d", "h")) == (ELSEWHERE, None)


def test_around_a_retry_of_the_failed_ones_only_those_still_go_out():
    only = OnlyThese.of({5, 6}, {"e", "f"})  # `retry failed`: items 5 and 6; 6 is in flight elsewhere
    index = Withheld.around(only, keys={6}, ids={"f"})
    assert [index.status_by_key(k) for k in (4, 5, 6)] == [ELSEWHERE, None, ELSEWHERE]
    assert [index.status_by_body(i, "h") for i in ("d", "e", "f")] == [ELSEWHERE, None, ELSEWHERE]
