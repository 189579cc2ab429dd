"""Shared test set-up: offline tokenizer files, no real API keys, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_TIKTOKEN = ROOT.parent / "shared" / "tiktoken"

# tiktoken must never try to download: point it at the shared encodings (absolute,
# so that subprocesses started in other folders find them too).
_cache = os.environ.get("TIKTOKEN_CACHE_DIR") or str(SHARED_TIKTOKEN)
os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(_cache).resolve())
# No test may talk to the real OpenAI by accident.
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("OPENAI_BASE_URL", None)
# Every test server is on loopback: a proxy the machine sets for package downloads must not be asked to
# reach it (and the lean sender, which leaves proxies to the SDK, must be the one tested).
for _name in [name for name in os.environ if name.lower() in ("http_proxy", "https_proxy", "all_proxy")]:
    os.environ.pop(_name)


@pytest.fixture
def projects_dir() -> Path:
    return ROOT / "projects"
