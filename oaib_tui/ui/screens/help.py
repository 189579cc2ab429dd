"""The help screen: every key, and what the panels show."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

KEYS = (
    ("p", "pause sending / resume it (requests in flight still finish)"),
    ("c", "cancel the run, after a confirmation (batch mode: cancels the remote batches)"),
    ("r", "retry the failed requests (once the run has finished or stopped)"),
    ("f", "filter the list: all → in flight → retrying → failed → done → queued"),
    ("t", "follow: keep the newest requests in flight in view"),
    ("↑ ↓ PgUp PgDn", "move in the list (stops following); Home and End: its first and last request"),
    ("enter", "details of the request under the cursor: its answer or error, attempts, the request and the "
              "response (kept up to date while it is in flight)"),
    ("?", "this help"),
    ("q", "quit: stops sending, lets requests in flight finish (q again: abandon them)"),
)

PANELS = (
    ("Progress", "finished of total, and requests done, failed, in flight, retrying and queued"),
    ("Rate limits", "requests and tokens sent over the last minute against the limit; where the limit "
                    "came from; what the server says is left; a sparkline of recent sending"),
    ("Cost", "tokens by kind at list prices, what was spent (all runs on this state file), the projected "
             "total, the Batch API's savings and the budget cap (a narrow terminal: the totals, on one line)"),
    ("Requests", "every request: status, attempts, latency, tokens (prompt→output), cost, and the start of its "
                 "answer or its error; narrow terminals show fewer columns"),
    ("Retries & errors", "newest first, with the reason of each retry (a narrow, short terminal: the newest one, "
                         "on one line)"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", key_display="esc")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static("oaib-tui dashboard: keys", classes="dialog-title")
            yield Static(_table(KEYS, "bold cyan"))
            yield Static("What the panels show", classes="dialog-title later")
            yield Static(_table(PANELS, "bold"))
            yield Static("Quitting leaves the state file consistent: run the same command again to resume.",
                         classes="dialog-keys")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


def _table(rows: tuple[tuple[str, str], ...], key_style: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style=key_style, no_wrap=True)
    table.add_column()
    for key, text in rows:
        table.add_row(key, text)
    return table
