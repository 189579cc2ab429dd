"""The dashboard: watch a run, steer it, look into any request.

The job runs beside the app, in a thread of its own (see
:mod:`~oaib_tui.ui.engine_thread`); a worker of the app awaits its end. Its
events wait in the session's deque; every `tick_s` the app folds them into the
model and redraws what changed, once, inside `batch_update` — never once per
event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState

from .. import events as ev
from ..errors import EXIT_INTERRUPTED
from ..wording import counted
from .answers import item_preview
from .model import DashboardModel
from .screens.confirm import ConfirmScreen
from .screens.detail import DetailScreen
from .screens.error import ErrorScreen, describe
from .screens.help import HelpScreen
from .session import RunSession
from .widgets.batch_panel import BatchPanel
from .widgets.cost_panel import CostPanel
from .widgets.key_footer import KeyFooter
from .widgets.limits_panel import LimitsPanel
from .widgets.panel import Panel
from .widgets.problem_log import ProblemLog
from .widgets.progress_panel import ProgressPanel
from .widgets.request_list import FILTERS, RequestList, filter_name
from .widgets.run_header import RunHeader
from .widgets.throughput_panel import ThroughputPanel

TICK_S = 0.25
WIDE, TALL = 120, 36
Detail = Callable[[str], "dict[str, Any] | None"]


class DashboardApp(App[int]):
    """`run()` returns the exit code of the run (or of the error that stopped it)."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "oaib-tui"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (TALL, "-tall")]
    """The layouts (see dashboard.tcss): three panels abreast from `WIDE` columns, else two with the cost
    on one line; the problem log beside the list when wide, under it when narrow (on one line when short)."""
    # Priority bindings act as the key arrives, before it travels to the focused widget and back
    # (which can wait behind a frame being drawn); `check_action` lets dialogs have the keys.
    BINDINGS = [
        Binding("p", "pause", "Pause", priority=True),
        Binding("p", "resume", "Resume", priority=True),
        Binding("c", "cancel", "Cancel", priority=True),
        Binding("r", "retry_failed", "Retry failed", priority=True),
        Binding("f", "cycle_filter", "Filter", priority=True),
        Binding("t", "toggle_follow", "Follow", priority=True),
        Binding("question_mark", "help", "Help", key_display="?", priority=True),
        Binding("q", "quit_run", "Quit", priority=True),
        Binding("ctrl+c,ctrl+q", "quit_anywhere", "Quit", show=False, priority=True),
    ]
    DIALOG_KEYS_ACTIONS = frozenset({"pause", "resume", "cancel", "retry_failed", "cycle_filter", "toggle_follow",
                                     "help", "quit_run"})
    """Actions whose keys belong to an open dialog instead (ctrl+c quits from anywhere)."""

    def __init__(self, model: DashboardModel, session: RunSession | None = None, *,
                 detail: Detail | None = None, tick_s: float = TICK_S, autostart: bool = True) -> None:
        """With a `session` the app runs its job (unless `autostart` is off: a replay standing in for a
        run); without one it shows `model` as it is, and `detail` gives a request's details."""
        super().__init__()
        self.model = model
        self.session = session
        self.autostart = autostart
        self._detail = detail or (lambda custom_id: None)
        self.tick_s = tick_s
        self.exit_code = 0
        self.error: BaseException | None = None
        self._quitting = False
        self.finished: ev.RunFinished | None = None
        """How the last run ended, once the app has taken note of it."""
        self._shown_version = -1
        self._shown_second = -1

    def compose(self) -> ComposeResult:
        model = self.model
        yield RunHeader(model, id="run-header")
        with Horizontal(id="top"):
            yield ProgressPanel(model, id="progress")
            yield LimitsPanel(model, id="limits")
            yield CostPanel(model, id="costs")
        yield BatchPanel(model, id="batches")
        yield ThroughputPanel(model, id="throughput")
        with Horizontal(id="bottom"):
            yield RequestList(model.rows, id="requests")
            yield ProblemLog(model, id="problems")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(RequestList).focus()
        self.call_after_refresh(self.refresh_view)
        self.set_interval(self.tick_s, self.tick)
        if self.session is not None and self.autostart:
            self.start_run()

    # -- the run --------------------------------------------------------------------------

    def start_run(self) -> None:
        assert self.session is not None
        self.finished = None
        self.model.new_run(self.session.earlier_totals())
        self.model.rows.loading_earlier = self.session.loads_earlier
        self.run_worker(self.session.run(), name="run", group="job", exclusive=True, exit_on_error=False)
        self.refresh_bindings()

    def tick(self) -> None:
        """Fold what happened since the last tick, then redraw once."""
        if self.session is not None:
            events = self.session.drain()
            self.model.handle_all(events)
            self._announce(events)
        self.refresh_view(force=False)

    def _announce(self, events: list) -> None:
        """Notices and the reason of a stop are said once, as notifications."""
        for event in events:
            kind = type(event)
            if kind is ev.Notice:
                self.notify(event.message, severity="error" if event.level == "error" else
                            "warning" if event.level == "warning" else "information", timeout=10)
            elif kind is ev.RunStopping:
                self.notify(event.message, title="Stopping", severity="warning", timeout=10)

    def refresh_view(self, force: bool = True) -> None:
        """Redraw what changed: everything after events (or when `force`d), the `LIVE` panels every second."""
        changed = force or self.model.version != self._shown_version
        second = int(self.model.clock())
        if not changed and second == self._shown_second and not self._held_back():
            return
        ticked = second != self._shown_second
        try:
            requests = self.query_one(RequestList)
        except NoMatches:  # the app is closing: its widgets are gone before its timer, a last tick draws nothing
            return
        self._shown_version, self._shown_second = self.model.version, second
        now = time.monotonic()
        with self.batch_update():
            for panel in self.query(Panel):
                if force or (panel.LIVE and ticked):
                    panel.sync(now, force=True)
                elif changed or panel.held_back:
                    panel.sync(now)
            dashboard = self.screen_stack[0]
            dashboard.set_class(bool(self.model.progress.batches), "-batch")
            dashboard.set_class(self.model.batch_only(), "-batch-only")
            self._refresh_list(requests)

    def _refresh_list(self, requests: RequestList) -> None:
        """The list and its title only: what a key that changes the list needs redrawn."""
        requests.sync()
        title = self._list_title(requests)
        if title != requests.border_title:
            requests.border_title = title

    def _held_back(self) -> bool:
        return any(panel.held_back for panel in self.query(Panel))

    def _list_title(self, requests: RequestList) -> str:
        title = f"Requests · {filter_name(requests.filter)} ({requests.visible_count:,})"
        if self.model.rows.loading_earlier:
            title += " · loading earlier rows…"
        return title + (" · following" if requests.follow else "")

    @on(Worker.StateChanged)
    def _run_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "job":
            return
        state = event.state
        if state == WorkerState.SUCCESS:
            finished = self.finished = event.worker.result
            assert finished is not None  # the job worker returns the run's end
            self.exit_code = finished.exit_code
            if finished.state == "stopped" and self.model.resume_hint and not self._quitting:
                self.notify(f"Run `{self.model.resume_hint}` to resume.", title="Stopped", timeout=30)
        elif state == WorkerState.ERROR:
            self._failed(event.worker.error)
        elif state == WorkerState.CANCELLED:
            self.exit_code = EXIT_INTERRUPTED
        if state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.tick()
            self.refresh_bindings()
            if self._quitting and state != WorkerState.ERROR:
                self.exit(self.exit_code)

    def _failed(self, error: BaseException | None) -> None:
        self.error = error
        self.exit_code = int(getattr(error, "exit_code", 1))
        self.model.failure = describe(error) if error is not None else "unknown error"
        self.model.version += 1
        started = self.model.progress.started_at is not None
        self.push_screen(ErrorScreen(error or RuntimeError("unknown"), self.exit_code, started),
                         callback=lambda _: self.exit(self.exit_code))

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    # -- steering -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if len(self.screen_stack) > 1 and action in self.DIALOG_KEYS_ACTIONS:
            return False
        session = self.session
        if action == "pause":
            return self.running and not session.paused  # type: ignore[union-attr]
        if action == "resume":
            return self.running and session.paused  # type: ignore[union-attr]
        if action == "cancel":
            return True if self.running and not session.stopping else None  # type: ignore[union-attr]
        if action == "retry_failed":
            return True if session is not None and session.can_retry_failed and self._failed_count() else None
        return True

    def _failed_count(self) -> int:
        p = self.model.progress
        return p.failed_total

    def action_pause(self) -> None:
        if self.running:
            self.session.pause()  # type: ignore[union-attr]
            self._after_steering()

    def action_resume(self) -> None:
        if self.running:
            self.session.resume()  # type: ignore[union-attr]
            self._after_steering()

    def _after_steering(self) -> None:
        self.tick()
        self.refresh_bindings()

    def action_cancel(self) -> None:
        explanation = ("Nothing more is sent; requests in flight finish. Items not yet answered stay queued "
                       "in the state file, and running the same command again resumes them.")
        if self.model.costs.batch or self.model.progress.batches:
            explanation = "The remote batches are cancelled (OpenAI stops them; finished answers are kept).\n" + explanation

        def answered(yes: bool | None) -> None:
            if yes and self.running:
                self.session.cancel()  # type: ignore[union-attr]
                self._after_steering()

        self.push_screen(ConfirmScreen("Cancel this run?", explanation), callback=answered)

    def action_retry_failed(self) -> None:
        if self.session is None or not self.session.can_retry_failed:
            self.notify("Failed requests can be retried once the run has finished or stopped.")
            return
        failed = self._failed_count()
        self.session.retry_failed()
        self.notify(f"Sending the {failed:,} failed requests again.")
        self.start_run()

    def action_cycle_filter(self) -> None:
        requests = self.query_one(RequestList)
        requests.filter = FILTERS[(FILTERS.index(requests.filter) + 1) % len(FILTERS)]
        self._refresh_list(requests)

    def action_toggle_follow(self) -> None:
        requests = self.query_one(RequestList)
        requests.follow = not requests.follow
        self._refresh_list(requests)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    @on(RequestList.Selected)
    async def _show_detail(self, message: RequestList.Selected) -> None:
        custom_id, row, rows = message.custom_id, message.row, self.model.rows

        async def reload() -> dict[str, Any] | None:
            return await self._item(custom_id)

        def changes() -> tuple[int, int]:
            return rows.status[row], rows.attempts[row]

        self.push_screen(DetailScreen(custom_id, await reload(), reload=reload, changes=changes))

    async def _item(self, custom_id: str) -> dict[str, Any] | None:
        if self.session is not None:
            return await self.session.detail(custom_id)
        return self._detail(custom_id)

    @on(RequestList.AnswersWanted)
    def _fetch_answers(self, message: RequestList.AnswersWanted) -> None:
        self.run_worker(self._load_answers(message.rows), group="answers", exit_on_error=False)

    async def _load_answers(self, wanted: dict[int, str]) -> None:
        """Previews of the answers the list draws but no longer keeps, from the state file."""
        custom_ids = list(wanted.values())
        try:
            if self.session is not None:
                previews = await self.session.previews(custom_ids)
            else:
                previews = {custom_id: item_preview(self._detail(custom_id)) for custom_id in custom_ids}
        except Exception:  # noqa: BLE001 - a preview is a nicety: a state file that cannot be read now leaves it blank
            previews = {}
        self.query_one(RequestList).show_answers({row: previews.get(custom_id, "")
                                                  for row, custom_id in wanted.items()})

    def action_quit_run(self) -> None:
        """Quit once the run has stopped: the first press stops sending, a second abandons what is in flight."""
        if not self.running:
            self.exit(self.exit_code)
            return
        assert self.session is not None
        if not self._quitting:
            self._quitting = True
            self.session.stop()
            in_flight = self.model.progress.in_flight
            self.notify(f"Stopping: waiting for {counted(in_flight, 'request')} in flight. Press q again to abandon them.")
        else:
            self.session.abandon()
        self._after_steering()

    def action_quit_anywhere(self) -> None:
        """ctrl+c: quit as `q` does, even from a dialog."""
        self.action_quit_run()
