"""The engine, the state store and the headless path never import Textual (the UI is a consumer, not a dependency)."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "oaib_tui.engine.realtime",
    "oaib_tui.events",
    "oaib_tui.job",
    "oaib_tui.headless",
    "oaib_tui.state.store",
    "oaib_tui.sim.app",
    "oaib_tui.forecast",
    "oaib_tui.cli",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_without_textual(module):
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
