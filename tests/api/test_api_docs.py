"""The public surface is what `__all__` says, and docs/python-api.md covers all of it."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import oaib_tui
from oaib_tui import Job, Results

DOC = (Path(__file__).resolve().parents[2] / "docs" / "python-api.md").read_text()


def test_every_public_name_resolves_and_is_documented():
    for name in oaib_tui.__all__:
        assert getattr(oaib_tui, name) is not None
        assert name.startswith("__") or f"`{name}" in DOC, name


def test_every_job_argument_and_method_is_documented():
    parameters = [*inspect.signature(Job).parameters, *inspect.signature(Job.add).parameters]
    methods = [name for name, _ in inspect.getmembers(Job, callable) if not name.startswith("_")]
    for name in {*parameters, *methods} - {"self", "params"}:
        assert f"`{name}" in DOC or f".{name}(" in DOC or f"{name}=" in DOC, name
    for name in ("errors", "cost", "usage", "to_records", "to_pandas"):
        assert hasattr(Results, name) and f"results.{name}" in DOC, name


def test_importing_the_package_loads_the_api_only_when_asked():
    code = "import sys, oaib_tui; print('oaib_tui.api' in sys.modules); oaib_tui.Job; print('oaib_tui.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_the_api_and_the_new_commands_import_without_textual():
    modules = "oaib_tui.api, oaib_tui.detach, oaib_tui.render, oaib_tui.remote_batches"
    code = f"import sys, {modules}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
