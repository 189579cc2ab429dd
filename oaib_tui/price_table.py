"""OpenAI's token prices per tier. Written by scripts/update_prices.py from genai-prices 0.2.3: do not edit.

Per 1,000,000 tokens, US dollars. A tier's prices are (input, cached input, output, cache write,
long context); cached input or cache write is None where not sold apart from input; long context is
None or (above, input, cached input, output, cache write): the prices of a whole request whose prompt
has more than `above` tokens. A model has `batch`, `flex` or `priority` only where it is sold at that tier
(a model without `batch` gets the Batch API's usual discount).
"""

from __future__ import annotations

PRICES_AS_OF = "2026-12-03"
SOURCE = "genai-prices 0.2.3"

LongContext = tuple[int, float, float | None, float, float | None]
TierPrices = tuple[float, float | None, float, float | None, LongContext | None]

TABLE: dict[str, dict[str, TierPrices]] = {
    "ada": {
        "standard": (0.4, None, 0.4, None, None),
    },
    "babbage": {
        "standard": (0.5, None, 0.5, None, None),
    },
    "babbage-002": {
        "standard": (0.4, None, 0.4, None, None),
    },
    "chatgpt-4o-latest": {
        "standard": (5.0, None, 15.0, None, None),
    },
    "chatgpt-image-latest": {
        "standard": (5.0, 1.25, 10.0, None, None),
    },
    "codex-mini": {
        "standard": (1.5, 0.375, 6.0, None, None),
    },
    "computer-use": {
        "standard": (3.0, None, 12.0, None, None),
    },
    "curie": {
        "standard": (2.0, None, 2.0, None, None),
    },
    "davinci": {
        "standard": (20.0, None, 20.0, None, None),
    },
    "davinci-002": {
        "standard": (2.0, None, 2.0, None, None),
    },
    "gpt-3.5-0301": {
        "standard": (1.5, None, 2.0, None, None),
    },
    "gpt-3.5-turbo": {
        "standard": (0.5, None, 1.5, None, None),
        "batch": (0.25, None, 0.75, None, None),
    },
    "gpt-3.5-turbo-0613": {
        "standard": (1.5, None, 2.0, None, None),
    },
    "gpt-3.5-turbo-1106": {
        "standard": (1.0, None, 2.0, None, None),
        "batch": (1.0, None, 2.0, None, None),
    },
    "gpt-3.5-turbo-16k": {
        "standard": (3.0, None, 4.0, None, None),
    },
    "gpt-3.5-turbo-instruct": {
        "standard": (1.5, None, 2.0, None, None),
    },
    "gpt-4": {
        "standard": (30.0, None, 60.0, None, None),
        "batch": (15.0, None, 30.0, None, None),
    },
    "gpt-4-32k": {
        "standard": (60.0, None, 120.0, None, None),
    },
    "gpt-4-turbo": {
        "standard": (10.0, None, 30.0, None, None),
        "batch": (5.0, None, 15.0, None, None),
    },
    "gpt-4-vision-preview": {
        "standard": (10.0, None, 30.0, None, None),
    },
    "gpt-4.1": {
        "standard": (2.0, 0.5, 8.0, None, None),
        "priority": (3.5, 0.875, 14.0, None, None),
        "batch": (1.0, 0.5, 4.0, None, None),
    },
    "gpt-4.1-mini": {
        "standard": (0.4, 0.1, 1.6, None, None),
        "priority": (0.7, 0.175, 2.8, None, None),
        "batch": (0.2, 0.1, 0.8, None, None),
    },
    "gpt-4.1-nano": {
        "standard": (0.1, 0.025, 0.4, None, None),
        "priority": (0.2, 0.05, 0.8, None, None),
        "batch": (0.05, 0.025, 0.2, None, None),
    },
    "gpt-4.5-preview": {
        "standard": (75.0, 37.5, 150.0, None, None),
    },
    "gpt-4o": {
        "standard": (2.5, 1.25, 10.0, None, None),
        "priority": (4.25, 2.125, 17.0, None, None),
        "batch": (1.25, 1.25, 5.0, None, None),
    },
    "gpt-4o-2024-05-13": {
        "standard": (5.0, None, 15.0, None, None),
        "priority": (8.75, None, 26.25, None, None),
        "batch": (2.5, None, 7.5, None, None),
    },
    "gpt-4o-audio-preview": {
        "standard": (2.5, None, 10.0, None, None),
    },
    "gpt-4o-mini": {
        "standard": (0.15, 0.075, 0.6, None, None),
        "priority": (0.25, 0.125, 1.0, None, None),
        "batch": (0.075, 0.075, 0.3, None, None),
    },
    "gpt-4o-mini-audio-preview": {
        "standard": (0.15, None, 0.6, None, None),
    },
    "gpt-4o-mini-realtime-preview": {
        "standard": (0.6, 0.3, 2.4, None, None),
    },
    "gpt-4o-mini-transcribe": {
        "standard": (1.25, None, 5.0, None, None),
    },
    "gpt-4o-mini-tts": {
        "standard": (0.6, None, 12.0, None, None),
    },
    "gpt-4o-realtime-preview": {
        "standard": (5.0, 2.5, 20.0, None, None),
    },
    "gpt-4o-search-preview": {
        "standard": (2.5, None, 10.0, None, None),
    },
    "gpt-4o-transcribe": {
        "standard": (2.5, None, 10.0, None, None),
    },
    "gpt-5": {
        "standard": (1.25, 0.125, 10.0, None, None),
        "flex": (0.625, 0.0625, 5.0, None, None),
        "priority": (2.5, 0.25, 20.0, None, None),
        "batch": (0.625, 0.0625, 5.0, None, None),
    },
    "gpt-5-image": {
        "standard": (10.0, 1.25, 10.0, None, None),
    },
    "gpt-5-image-mini": {
        "standard": (2.5, 0.25, 2.0, None, None),
    },
    "gpt-5-mini": {
        "standard": (0.25, 0.025, 2.0, None, None),
        "flex": (0.125, 0.0125, 1.0, None, None),
        "priority": (0.45, 0.045, 3.6, None, None),
        "batch": (0.125, 0.0125, 1.0, None, None),
    },
    "gpt-5-nano": {
        "standard": (0.05, 0.005, 0.4, None, None),
        "flex": (0.025, 0.0025, 0.2, None, None),
        "batch": (0.025, 0.0025, 0.2, None, None),
    },
    "gpt-5-pro": {
        "standard": (15.0, None, 120.0, None, None),
        "batch": (7.5, None, 60.0, None, None),
    },
    "gpt-5-search-api": {
        "standard": (1.25, 0.125, 10.0, None, None),
    },
    "gpt-5.1": {
        "standard": (1.25, 0.125, 10.0, None, None),
        "flex": (0.625, 0.0625, 5.0, None, None),
        "priority": (2.5, 0.25, 20.0, None, None),
        "batch": (0.625, 0.0625, 5.0, None, None),
    },
    "gpt-5.1-codex-mini": {
        "standard": (0.25, 0.025, 2.0, None, None),
    },
    "gpt-5.2": {
        "standard": (1.75, 0.175, 14.0, None, None),
        "flex": (0.875, 0.0875, 7.0, None, None),
        "priority": (3.5, 0.35, 28.0, None, None),
        "batch": (0.875, 0.0875, 7.0, None, None),
    },
    "gpt-5.2-pro": {
        "standard": (21.0, None, 168.0, None, None),
        "batch": (10.5, None, 84.0, None, None),
    },
    "gpt-5.3": {
        "standard": (1.75, 0.175, 14.0, None, None),
    },
    "gpt-5.3-codex": {
        "standard": (1.75, 0.175, 14.0, None, None),
        "priority": (3.5, 0.35, 28.0, None, None),
    },
    "gpt-5.4": {
        "standard": (2.5, 0.25, 15.0, None, (272000, 5.0, 0.5, 22.5, None)),
        "flex": (1.25, 0.13, 7.5, None, (272000, 2.5, 0.25, 11.25, None)),
        "priority": (5.0, 0.5, 30.0, None, None),
        "batch": (1.25, 0.13, 7.5, None, (272000, 2.5, 0.25, 11.25, None)),
    },
    "gpt-5.4-image-2": {
        "standard": (8.0, 2.0, 15.0, None, None),
    },
    "gpt-5.4-mini": {
        "standard": (0.75, 0.075, 4.5, None, None),
        "flex": (0.375, 0.0375, 2.25, None, None),
        "priority": (1.5, 0.15, 9.0, None, None),
        "batch": (0.375, 0.0375, 2.25, None, None),
    },
    "gpt-5.4-nano": {
        "standard": (0.2, 0.02, 1.25, None, None),
        "flex": (0.1, 0.01, 0.625, None, None),
        "batch": (0.1, 0.01, 0.625, None, None),
    },
    "gpt-5.4-pro": {
        "standard": (30.0, None, 180.0, None, (272000, 60.0, None, 270.0, None)),
        "flex": (15.0, None, 90.0, None, (272000, 30.0, None, 135.0, None)),
        "batch": (15.0, None, 90.0, None, (272000, 30.0, None, 135.0, None)),
    },
    "gpt-5.5": {
        "standard": (5.0, 0.5, 30.0, None, (272000, 10.0, 1.0, 45.0, None)),
        "flex": (2.5, 0.25, 15.0, None, (272000, 5.0, 0.5, 22.5, None)),
        "priority": (12.5, 1.25, 75.0, None, None),
        "batch": (2.5, 0.25, 15.0, None, (272000, 5.0, 0.5, 22.5, None)),
    },
    "gpt-5.5-cyber": {
        "standard": (12.5, 1.25, 75.0, None, None),
    },
    "gpt-5.5-pro": {
        "standard": (30.0, None, 180.0, None, (272000, 60.0, None, 270.0, None)),
        "flex": (15.0, None, 90.0, None, None),
        "batch": (15.0, None, 90.0, None, None),
    },
    "gpt-5.6-cyber": {
        "standard": (12.5, 1.25, 75.0, 15.625, None),
    },
    "gpt-5.6-luna": {
        "standard": (0.2, 0.02, 1.2, 0.25, (272000, 0.4, 0.04, 1.8, 0.5)),
        "flex": (0.1, 0.01, 0.6, 0.125, (272000, 0.2, 0.02, 0.9, 0.25)),
        "priority": (0.4, 0.04, 2.4, 0.5, (272000, 0.8, 0.08, 3.6, 1.0)),
        "batch": (0.1, 0.01, 0.6, 0.125, (272000, 0.2, 0.02, 0.9, 0.25)),
    },
    "gpt-5.6-sol": {
        "standard": (4.0, 0.4, 20.0, 5.0, (272000, 8.0, 0.8, 30.0, 10.0)),
        "flex": (2.0, 0.2, 10.0, 2.5, (272000, 4.0, 0.4, 15.0, 5.0)),
        "priority": (8.0, 0.8, 40.0, 10.0, (272000, 16.0, 1.6, 60.0, 20.0)),
        "batch": (2.0, 0.2, 10.0, 2.5, (272000, 4.0, 0.4, 15.0, 5.0)),
    },
    "gpt-5.6-terra": {
        "standard": (2.0, 0.2, 12.0, 2.5, (272000, 4.0, 0.4, 18.0, 5.0)),
        "flex": (1.0, 0.1, 6.0, 1.25, (272000, 2.0, 0.2, 9.0, 2.5)),
        "priority": (4.0, 0.4, 24.0, 5.0, (272000, 8.0, 0.8, 36.0, 10.0)),
        "batch": (1.0, 0.1, 6.0, 1.25, (272000, 2.0, 0.2, 9.0, 2.5)),
    },
    "gpt-6-astra": {
        "standard": (10.0, 1.0, 50.0, 12.5, (272000, 20.0, 2.0, 75.0, 25.0)),
        "flex": (5.0, 0.5, 25.0, 6.25, (272000, 10.0, 1.0, 37.5, 12.5)),
        "priority": (20.0, 2.0, 100.0, 25.0, (272000, 40.0, 4.0, 150.0, 50.0)),
        "batch": (5.0, 0.5, 25.0, 6.25, (272000, 10.0, 1.0, 37.5, 12.5)),
    },
    "gpt-6-cyber": {
        "standard": (20.0, 2.0, 100.0, 25.0, None),
    },
    "gpt-6-luna": {
        "standard": (0.1, 0.01, 0.5, 0.125, (272000, 0.2, 0.02, 0.75, 0.25)),
        "flex": (0.05, 0.005, 0.25, 0.0625, (272000, 0.1, 0.01, 0.375, 0.125)),
        "priority": (0.2, 0.02, 1.0, 0.25, (272000, 0.4, 0.04, 1.5, 0.5)),
        "batch": (0.05, 0.005, 0.25, 0.0625, (272000, 0.1, 0.01, 0.375, 0.125)),
    },
    "gpt-6-rosalind": {
        "standard": (15.0, 1.5, 75.0, 18.75, (272000, 30.0, 3.0, 112.5, 37.5)),
    },
    "gpt-6-sol": {
        "standard": (2.0, 0.2, 10.0, 2.5, (272000, 4.0, 0.4, 15.0, 5.0)),
        "flex": (1.0, 0.1, 5.0, 1.25, (272000, 2.0, 0.2, 7.5, 2.5)),
        "priority": (4.0, 0.4, 20.0, 5.0, (272000, 8.0, 0.8, 30.0, 10.0)),
        "batch": (1.0, 0.1, 5.0, 1.25, (272000, 2.0, 0.2, 7.5, 2.5)),
    },
    "gpt-6.1-sol": {
        "standard": (2.0, 0.1, 10.0, 2.5, (272000, 4.0, 0.2, 15.0, 5.0)),
        "flex": (1.0, 0.05, 5.0, 1.25, (272000, 2.0, 0.1, 7.5, 2.5)),
        "priority": (4.0, 0.2, 20.0, 5.0, (272000, 8.0, 0.4, 30.0, 10.0)),
        "batch": (1.0, 0.05, 5.0, 1.25, (272000, 2.0, 0.1, 7.5, 2.5)),
    },
    "gpt-6.1-terra": {
        "standard": (1.0, 0.05, 5.0, 1.25, (272000, 2.0, 0.1, 7.5, 2.5)),
        "flex": (0.5, 0.025, 2.5, 0.625, (272000, 1.0, 0.05, 3.75, 1.25)),
        "priority": (2.0, 0.1, 10.0, 2.5, (272000, 4.0, 0.2, 15.0, 5.0)),
        "batch": (0.5, 0.025, 2.5, 0.625, (272000, 1.0, 0.05, 3.75, 1.25)),
    },
    "gpt-audio": {
        "standard": (2.5, None, 10.0, None, None),
    },
    "gpt-audio-mini": {
        "standard": (0.6, None, 2.4, None, None),
    },
    "gpt-chat-latest": {
        "standard": (5.0, 0.5, 30.0, None, None),
    },
    "gpt-image-1": {
        "standard": (5.0, 1.25, 40.0, None, None),
        "batch": (2.5, 0.63, 20.0, None, None),
    },
    "gpt-image-1-mini": {
        "standard": (2.0, 0.2, 8.0, None, None),
        "batch": (1.0, 0.1, 4.0, None, None),
    },
    "gpt-image-1.5": {
        "standard": (5.0, 1.25, 10.0, None, None),
        "batch": (2.5, 0.63, 5.0, None, None),
    },
    "gpt-image-2": {
        "standard": (5.0, 1.25, 30.0, None, None),
        "batch": (2.5, 0.625, 15.0, None, None),
    },
    "gpt-image-2.5-flare": {
        "standard": (5.0, 1.25, 30.0, None, None),
        "batch": (2.5, 0.625, 15.0, None, None),
    },
    "gpt-image-2.5-sunburst": {
        "standard": (5.0, 1.25, 30.0, None, None),
        "batch": (2.5, 0.625, 15.0, None, None),
    },
    "gpt-oss-120b": {
        "standard": (0.039, None, 0.18, None, None),
    },
    "gpt-oss-20b": {
        "standard": (0.029, None, 0.14, None, None),
    },
    "gpt-oss-safeguard-20b": {
        "standard": (0.075, 0.037, 0.3, None, None),
    },
    "gpt-realtime": {
        "standard": (4.0, 0.4, 16.0, None, None),
    },
    "gpt-realtime-2": {
        "standard": (4.0, 0.4, 24.0, None, None),
    },
    "gpt-realtime-mini": {
        "standard": (0.6, 0.06, 2.4, None, None),
    },
    "gpt-rosalind-discovery": {
        "standard": (5.0, 0.5, 25.0, None, None),
    },
    "gpt-rosalind-research": {
        "standard": (5.0, 0.5, 25.0, None, None),
    },
    "o1": {
        "standard": (15.0, 7.5, 60.0, None, None),
        "batch": (7.5, 7.5, 30.0, None, None),
    },
    "o1-mini": {
        "standard": (1.1, 0.55, 4.4, None, None),
    },
    "o1-preview": {
        "standard": (15.0, 7.5, 60.0, None, None),
    },
    "o1-pro": {
        "standard": (150.0, None, 600.0, None, None),
        "batch": (75.0, None, 300.0, None, None),
    },
    "o3": {
        "standard": (2.0, 0.5, 8.0, None, None),
        "flex": (1.0, 0.25, 4.0, None, None),
        "priority": (3.5, 0.875, 14.0, None, None),
        "batch": (1.0, 0.5, 4.0, None, None),
    },
    "o3-deep-research": {
        "standard": (10.0, 2.5, 40.0, None, None),
    },
    "o3-mini": {
        "standard": (1.1, 0.55, 4.4, None, None),
        "batch": (0.55, 0.55, 2.2, None, None),
    },
    "o3-pro": {
        "standard": (20.0, None, 80.0, None, None),
        "batch": (10.0, None, 40.0, None, None),
    },
    "o4-mini": {
        "standard": (1.1, 0.275, 4.4, None, None),
        "flex": (0.55, 0.138, 2.2, None, None),
        "priority": (2.0, 0.5, 8.0, None, None),
        "batch": (0.55, 0.275, 2.2, None, None),
    },
    "o4-mini-deep-research": {
        "standard": (2.0, 0.5, 8.0, None, None),
    },
    "text-davinci-002": {
        "standard": (20.0, None, 20.0, None, None),
    },
    "text-davinci-003": {
        "standard": (20.0, None, 20.0, None, None),
    },
    "text-embedding-3-large": {
        "standard": (0.13, None, 0.0, None, None),
    },
    "text-embedding-3-small": {
        "standard": (0.02, None, 0.0, None, None),
    },
    "text-embedding-ada-002": {
        "standard": (0.1, None, 0.0, None, None),
    },
    "omni-moderation-latest": {"standard": (0.0, None, 0.0, None, None)},
    "text-moderation-latest": {"standard": (0.0, None, 0.0, None, None)},
    "text-moderation-stable": {"standard": (0.0, None, 0.0, None, None)},
}

ALIASES: dict[str, str] = {
    "chat-latest": "gpt-chat-latest",
    "codex-mini-latest": "codex-mini",
    "gpt-3.5-turbo-0301": "gpt-3.5-0301",
    "gpt-35-turbo": "gpt-3.5-turbo",
    "gpt-35-turbo-16k": "gpt-3.5-turbo-16k",
    "gpt-35-turbo-16k-0613": "gpt-3.5-turbo-16k",
    "gpt-4-0125-preview": "gpt-4-turbo",
    "gpt-4-1106-preview": "gpt-4-turbo",
    "gpt-4-1106-vision-preview": "gpt-4-vision-preview",
    "gpt-4-turbo-0125-preview": "gpt-4-turbo",
    "gpt-4-turbo-preview": "gpt-4-turbo",
    "gpt-4o-mini-search-preview": "gpt-4o-mini",
    "gpt-4o-mini-search-preview-2025-03-11": "gpt-4o-mini",
    "gpt-4o-transcribe-diarize": "gpt-4o-transcribe",
    "gpt-5-1": "gpt-5.1",
    "gpt-5-1-2025-11-13": "gpt-5.1",
    "gpt-5-1-chat": "gpt-5.1",
    "gpt-5-1-chat-latest": "gpt-5.1",
    "gpt-5-1-codex": "gpt-5.1",
    "gpt-5-1-codex-max": "gpt-5.1",
    "gpt-5-1-codex-mini": "gpt-5.1-codex-mini",
    "gpt-5-1-mini": "gpt-5.1-codex-mini",
    "gpt-5-2": "gpt-5.2",
    "gpt-5-2-2025-12-11": "gpt-5.2",
    "gpt-5-2-chat": "gpt-5.2",
    "gpt-5-2-chat-latest": "gpt-5.2",
    "gpt-5-2-codex": "gpt-5.2",
    "gpt-5-2-pro-2025-12-11": "gpt-5.2-pro",
    "gpt-5-3": "gpt-5.3",
    "gpt-5-3-chat": "gpt-5.3",
    "gpt-5-3-chat-latest": "gpt-5.3",
    "gpt-5-3-codex": "gpt-5.3-codex",
    "gpt-5-4": "gpt-5.4",
    "gpt-5-4-2026-03-05": "gpt-5.4",
    "gpt-5-4-mini": "gpt-5.4-mini",
    "gpt-5-4-mini-2026-03-17": "gpt-5.4-mini",
    "gpt-5-4-nano": "gpt-5.4-nano",
    "gpt-5-4-nano-2026-03-17": "gpt-5.4-nano",
    "gpt-5-4-pro": "gpt-5.4-pro",
    "gpt-5-4-pro-2026-03-05": "gpt-5.4-pro",
    "gpt-5-5": "gpt-5.5",
    "gpt-5-5-2026-04-23": "gpt-5.5",
    "gpt-5-5-2026-04-24": "gpt-5.5",
    "gpt-5-5-chat": "gpt-5.5",
    "gpt-5-5-chat-latest": "gpt-5.5",
    "gpt-5-5-codex": "gpt-5.5",
    "gpt-5-5-pro": "gpt-5.5-pro",
    "gpt-5-5-pro-2026-04-23": "gpt-5.5-pro",
    "gpt-5-6": "gpt-5.6-sol",
    "gpt-5-6-luna": "gpt-5.6-luna",
    "gpt-5-6-sol": "gpt-5.6-sol",
    "gpt-5-6-terra": "gpt-5.6-terra",
    "gpt-5-chat": "gpt-5",
    "gpt-5-chat-latest": "gpt-5",
    "gpt-5-codex": "gpt-5",
    "gpt-5.1-chat": "gpt-5.1",
    "gpt-5.1-chat-latest": "gpt-5.1",
    "gpt-5.1-codex": "gpt-5.1",
    "gpt-5.1-codex-max": "gpt-5.1",
    "gpt-5.1-mini": "gpt-5.1-codex-mini",
    "gpt-5.2-chat": "gpt-5.2",
    "gpt-5.2-chat-latest": "gpt-5.2",
    "gpt-5.2-codex": "gpt-5.2",
    "gpt-5.3-chat": "gpt-5.3",
    "gpt-5.3-chat-latest": "gpt-5.3",
    "gpt-5.5-chat": "gpt-5.5",
    "gpt-5.5-chat-latest": "gpt-5.5",
    "gpt-5.5-codex": "gpt-5.5",
    "gpt-5.6": "gpt-5.6-sol",
    "gpt-audio-1.5": "gpt-audio",
    "gpt-realtime-1.5": "gpt-realtime",
    "gpt-realtime-2.1": "gpt-realtime-2",
    "gpt-realtime-2.1-mini": "gpt-realtime-mini",
    "o3-mini-high": "o3-mini",
    "o4-mini-high": "o4-mini",
    "text-ada-001": "ada",
    "text-curie-001": "curie",
    "text-davinci-001": "davinci",
    "text-embedding-ada": "text-embedding-ada-002",
    "text-embedding-ada-002-v2": "text-embedding-ada-002",
}
"""Other names OpenAI answers to for a model in TABLE (dated snapshots are found without this)."""
