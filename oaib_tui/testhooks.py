"""Pause points for crash tests: inert unless the environment variable OAIB_TUI_PAUSE_AT is set.

`OAIB_TUI_PAUSE_AT=state-commit:3` makes the process, the 3rd time it reaches
the point named `state-commit`, print `oaib-tui paused at state-commit:3` on
stderr and sleep until it is killed. A test can then SIGKILL it at exactly that
moment, e.g. half-way through writing the state file or an output file.
"""

from __future__ import annotations

import os
import sys
import time

ENV_VAR = "OAIB_TUI_PAUSE_AT"
_name, _, _count = os.environ.get(ENV_VAR, "").partition(":")
ARMED = bool(_name)
"""False in normal use: callers on hot paths check it before calling :func:`pause_point`."""
_target = int(_count) if _count.isdigit() else 1
_reached = 0


def pause_point(name: str) -> None:
    """Sleep forever here if this is the armed point and its count is reached; otherwise return at once."""
    global _reached
    if not ARMED or name != _name:
        return
    _reached += 1
    if _reached == _target:
        sys.stderr.write(f"oaib-tui paused at {name}:{_reached}\n")
        sys.stderr.flush()
        while True:
            time.sleep(3600)
