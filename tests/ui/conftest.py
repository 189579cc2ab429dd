"""UI tests: the engine and batch test helpers on the path, and clock times shown in UTC (snapshots are deterministic)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "engine"), str(TESTS / "batch")]


@pytest.fixture(autouse=True)
def utc_clock_times(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
