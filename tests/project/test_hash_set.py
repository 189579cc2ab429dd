"""The flat hash set behind the custom_id uniqueness checks behaves like a set of ints."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oaib_tui.project.requests import HashSet

HASHES = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(HASHES, max_size=3000))
def test_add_answers_like_a_set(values):
    flat, reference = HashSet(), set()
    for value in values:
        assert flat.add(value) == (value not in reference)
        reference.add(value)
    assert len(flat) == len(reference)


def test_keeps_every_value_across_growth():
    flat = HashSet()
    values = [i * 0x9E3779B97F4A7C15 % 2**63 - 2**62 for i in range(20_000)]
    assert all(flat.add(value) for value in values)
    assert not any(flat.add(value) for value in values)
    assert len(flat) == 20_000


def test_values_colliding_in_the_low_bits_are_told_apart():
    flat = HashSet()
    assert flat.add(5) and flat.add(5 + 2**40) and flat.add(5 - 2**50)
    assert not flat.add(5 + 2**40)


def test_zero_is_a_value_like_any_other():
    flat = HashSet()
    assert flat.add(1) and flat.add(0) and not flat.add(0) and not flat.add(1)
    assert len(flat) == 2
