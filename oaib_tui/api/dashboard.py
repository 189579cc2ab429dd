"""`run_sync(ui=True)`: a Python job in the full Textual dashboard, for scripts run from a terminal.

The dashboard takes over the terminal and runs its own event loop (the engine
runs in a thread beside it), so it cannot open inside a running event loop or
where there is no terminal (a notebook): those get the compact progress line.
"""

from __future__ import annotations

import sys
from typing import Any

from ..project.schema import LoadedProject


def refuse_inside_a_loop() -> None:
    raise RuntimeError("ui=True opens the dashboard, which runs its own event loop: call job.run_sync(ui=True) "
                       "from a script run in a terminal (in a notebook, run without ui= for the progress line)")


def check_dashboard_can_open(client: Any) -> None:
    """Raise, saying why, if the dashboard cannot run this job here."""
    if client is not None:
        raise ValueError("ui=True sends with a client built from `provider`, not an injected one: "
                         "pass provider=... instead of client=..., or run without ui=")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RuntimeError("ui=True needs a terminal (stdin and stdout are not one here): run without ui= "
                           "for the compact progress line")


def run_in_dashboard(project: LoadedProject, *, fresh: bool, retry_failed: bool) -> int:
    """Run the project in the dashboard; returns its exit code (the summary is printed on stderr)."""
    from ..ui import run_dashboard

    return run_dashboard(project, fresh=fresh, retry_failed=retry_failed)
