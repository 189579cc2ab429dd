"""`oaib-tui PROJECT`: the run with the dashboard, then the same summary as a headless run."""

from __future__ import annotations

import sys
from typing import TextIO

from .. import tokens
from ..errors import UserError
from ..lifecycle import RunOptions, conclude
from ..project.schema import LoadedProject
from ..report import resume_command, resume_hint, run_report
from .app import DashboardApp
from .model import CostSettings, DashboardModel
from .screens.error import describe
from .session import RunSession

GIL_SWITCH_S = 0.002
"""How often the job's busy thread hands the GIL over (Python's default: 5 ms). At 2 ms a key waits
less behind it, and the benchmark sees no extra CPU."""


def run_dashboard(project: LoadedProject, *, fresh: bool = False, retry_failed: bool = False,
                  out: TextIO | None = None, http_client=None) -> int:
    """Run a project with the dashboard; returns the exit code.

    Opening the state file happens first, so a locked or foreign state file is
    reported like any other bad input, before the screen changes. The summary
    goes to standard output and a failure to standard error, as a headless run's
    do; `out` takes both.
    """
    options = RunOptions(fresh=fresh, retry_failed=retry_failed, http_client=http_client)
    again = RunOptions(retry_failed=True, http_client=http_client)
    session = RunSession(lambda: options.open(project), reopen=lambda: again.open(project))
    spec = project.spec
    model = DashboardModel(CostSettings.for_project(project), resume_hint=resume_command(project, no_ui=False),
                           about=(project.name, spec.model, spec.endpoint, spec.mode))
    app = DashboardApp(model, session)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_S)
    try:
        app.run()
        if isinstance(app.error, UserError):
            raise app.error
        if app.error is not None:
            failure_out = out if out is not None else sys.stderr
            print(describe(app.error), file=failure_out)
            print(f"The state file is consistent. {resume_hint(project, 'dashboard')}", file=failure_out)
            return app.exit_code
        return _report(app, session, project, out if out is not None else sys.stdout)
    finally:
        sys.setswitchinterval(switch_interval)
        session.close()


def _report(app: DashboardApp, session: RunSession, project: LoadedProject, out: TextIO) -> int:
    finished = session.finished
    if finished is None:
        print(f"Stopped before the run ended. {resume_hint(project, 'dashboard')}", file=out)
        return app.exit_code
    print(session.call(lambda: conclude(session.job, finished, lambda job, finished, outputs: run_report(
        job, finished, app.model.progress, outputs, "dashboard"))), file=out)
    notice = tokens.estimation_notice()
    if notice:
        print(f"note: {notice}", file=out)
    return finished.exit_code
