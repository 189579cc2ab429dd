"""Deterministic pseudo-content: answer text, embedding vectors, moderation scores.

Everything is drawn from a generator seeded by the simulator's seed and the
request itself, so the same request gets the same answer run after run.
"""

from __future__ import annotations

import base64
import json
import math
import random
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_OUTPUT_TOKENS = 10
DEFAULT_OUTPUT_TOKENS = 64
"""Output tokens a request without a maximum may get (also what its admission reserves)."""
MAX_GENERATED_TOKENS = 32_768
"""A safety cap per answer, whatever maximum the request allows."""

# Each is one token, with its leading space, in both cl100k_base and o200k_base (checked by a test),
# so a text's token count stays close to its word count and trimming converges at once.
WORDS = tuple(
    ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be", "at", "by", "this", "are", "from", "or", "have", "an", "not", "they", "which", "one", "you", "were", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "time", "their", "about", "what", "some", "out", "up", "them", "into", "only", "other", "new", "like", "then", "also", "could", "these", "two", "may", "first", "any", "my", "now", "such", "people", "over", "its", "most", "made", "after", "well", "year", "way", "many", "even", "work", "because", "good", "where", "much", "back", "through", "long", "those", "both", "great", "day", "little", "each", "world", "just", "part", "life", "own", "still", "last", "never", "same", "while", "state", "place", "under", "since", "very", "might", "right", "down", "make", "know", "think", "take", "see", "come", "use", "find", "give", "tell", "ask", "seem", "feel", "try", "leave", "call", "keep", "let", "begin", "help", "show", "hear", "play", "run", "move", "live", "hold", "bring", "write", "provide", "sit", "stand", "pay", "meet", "include", "continue", "set", "learn", "change", "lead", "understand", "watch", "follow", "stop", "create", "speak", "read", "spend", "grow", "open", "walk", "win", "offer", "remember", "love", "consider", "appear", "buy", "wait", "serve", "send", "expect", "build", "stay", "reach", "remain"]
)

_SENTENCE_WORDS = (6, 14)


def seeded_random(seed: int, *parts: object) -> random.Random:
    """A generator fixed by the seed and the parts (a string seed is hashed with SHA-512: stable everywhere)."""
    return random.Random("\x1f".join(str(part) for part in (seed, *parts)))


def fingerprint(body: dict[str, Any]) -> str:
    """The request body in a canonical form: equal bodies, equal answers, whatever the key order."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class GeneratedText:
    text: str
    tokens: int
    """Its exact token count for the model."""
    reached_cap: bool
    """It stopped at the maximum it was allowed."""


def generate_text(rng: random.Random, cap: int, count: Callable[[str], int]) -> GeneratedText:
    """Sentences of common words, between ~10 tokens and `cap` tokens long."""
    cap = max(1, min(cap, MAX_GENERATED_TOKENS))
    target = rng.randint(min(MIN_OUTPUT_TOKENS, cap), cap)
    lengths = _sentence_lengths(rng, target)
    # Each full stop is a token of its own: leave room for them, so one count usually suffices.
    words = rng.choices(WORDS, k=max(1, target - len(lengths)))
    text = _sentences(words, lengths)
    tokens = count(text)
    while tokens > target and len(words) > 1:
        words = words[: max(1, len(words) - (tokens - target))]
        text = _sentences(words, lengths)
        tokens = count(text)
    if tokens > target:
        text = words[0]
        tokens = count(text)
    return GeneratedText(text, tokens, tokens >= cap)


def _sentence_lengths(rng: random.Random, words: int) -> list[int]:
    """Words per sentence, enough sentences to hold `words` words."""
    lengths: list[int] = []
    covered = 0
    while covered < words:
        lengths.append(rng.randint(*_SENTENCE_WORDS))
        covered += lengths[-1]
    return lengths


def _sentences(words: list[str], lengths: list[int]) -> str:
    sentences, start = [], 0
    for length in lengths:
        chunk = words[start : start + length]
        if not chunk:
            break
        sentences.append(" ".join(chunk).capitalize() + ".")
        start += length
    return " ".join(sentences)


def embedding_vector(seed: int, model: str, item: str, dimensions: int) -> list[float]:
    """A unit-length vector fixed by (seed, model, input)."""
    rng = seeded_random(seed, "embedding", model, item)
    values = [rng.random() - 0.5 for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def base64_floats(values: list[float]) -> str:
    """Little-endian float32s in base64: OpenAI's `encoding_format: base64`, as the SDK decodes it."""
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
