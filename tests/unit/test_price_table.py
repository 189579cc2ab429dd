"""The built-in price table is what scripts/update_prices.py writes from the pinned genai-prices, offline."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from oaib_tui import price_table
from oaib_tui.pricing import PRICE_TABLE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "update_prices.py"


@pytest.fixture
def generator(monkeypatch) -> ModuleType:
    """The script as a module, with every way out to the network shut."""
    def refuse(*args, **kwargs):
        raise AssertionError("the price generator tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    spec = importlib.util.spec_from_file_location("update_prices", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_what_the_generator_writes_for_its_date(generator) -> None:
    """Else someone edited the table by hand, or genai-prices moved: run scripts/update_prices.py."""
    as_of = date.fromisoformat(price_table.PRICES_AS_OF)
    assert generator.build(as_of) == Path(price_table.__file__).read_text()


def test_the_generator_writes_the_same_file_twice(generator) -> None:
    assert generator.build(date(2026, 11, 1)) == generator.build(date(2026, 11, 1))


def test_prices_follow_the_date_asked_for(generator) -> None:
    """o3's price fell on 2025-06-10; flex and priority prices are known from 2026-10-12 on."""
    before, after = generator.build(date(2025, 6, 9)), generator.build(date(2026, 12, 3))
    assert '"o3": {\n        "standard": (10.0, 0.5, 40.0, None, None),\n    },' in before
    assert '"o3": {\n        "standard": (2.0, 0.5, 8.0, None, None),\n        "flex": ' in after


def test_check_says_whether_the_table_is_current() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "price_table.py is up to date")


def test_the_table_has_the_common_current_models() -> None:
    for model in ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2", "gpt-5.4", "gpt-5.5", "gpt-4.1",
                  "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o1", "o3", "o3-mini", "o4-mini",
                  "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
                  "omni-moderation-latest"):
        assert model in PRICE_TABLE, model
    for model in ("gpt-5", "gpt-5-mini", "gpt-5-nano", "o3", "o4-mini"):
        assert PRICE_TABLE[model].flex is not None, model
    for model in ("gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"):
        assert PRICE_TABLE[model].priority is not None, model


def test_the_product_does_not_import_genai_prices() -> None:
    code = "import sys, oaib_tui.cli, oaib_tui.pricing; print('genai_prices' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"
