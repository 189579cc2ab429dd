"""Assertions shared by the project tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from oaib_tui.errors import Problem, UserError
from oaib_tui.project import load_project


def load_error(path: Path) -> UserError:
    """The UserError that loading `path` raises (fails the test if it loads)."""
    with pytest.raises(UserError) as caught:
        load_project(path)
    return caught.value


def only_problem(error: UserError) -> Problem:
    assert len(error.problems) == 1, error.render()
    return error.problems[0]
