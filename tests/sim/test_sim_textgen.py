"""The deterministic content generators."""

from __future__ import annotations

import base64
import struct

import pytest

from oaib_tui import tokens
from oaib_tui.sim.textgen import WORDS, base64_floats, generate_text, seeded_random


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-3.5-turbo-instruct"])
def test_every_word_is_one_token_with_its_space(model: str) -> None:
    assert tokens.counts_are_exact(model), "tiktoken encodings are needed (set TIKTOKEN_CACHE_DIR)"
    count = tokens.text_counter(model)
    assert [word for word in WORDS if count(" " + word) != 1] == []


@pytest.mark.parametrize("cap", [1, 2, 5, 10, 11, 64, 500])
def test_generated_text_fits_its_cap_and_is_counted_exactly(cap: int) -> None:
    count = tokens.text_counter("gpt-4o-mini")
    for index in range(20):
        text = generate_text(seeded_random(1, index), cap, count)
        assert 1 <= text.tokens <= cap
        assert text.tokens == count(text.text)
        assert text.tokens >= min(10, cap) - 2  # trimming may take a token or two below the target


def test_generation_is_fixed_by_its_seed() -> None:
    count = tokens.text_counter("gpt-4o-mini")
    assert generate_text(seeded_random(1, "a"), 50, count) == generate_text(seeded_random(1, "a"), 50, count)
    assert generate_text(seeded_random(1, "a"), 50, count) != generate_text(seeded_random(2, "a"), 50, count)


def test_base64_floats_are_little_endian_float32() -> None:
    raw = base64.b64decode(base64_floats([1.0, -0.5]))
    assert struct.unpack("<2f", raw) == (1.0, -0.5)
