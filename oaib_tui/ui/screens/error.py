"""Why the run could not start (or stopped on an error), and the exit code it will end with."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...errors import UserError


class ErrorScreen(ModalScreen[None]):
    BINDINGS = [Binding("q,escape,enter", "close", "Quit")]

    def __init__(self, error: BaseException, exit_code: int, started: bool = True) -> None:
        super().__init__()
        self.error = error
        self.exit_code = exit_code
        self.started = started

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="dialog"):
            title = "The run could not go on" if self.started else "The run could not start"
            yield Static(title, classes="dialog-title error")
            yield Static(Text(describe(self.error)))
            yield Static(f"exit code {self.exit_code}  ·  press [b]q[/b] to quit", classes="dialog-keys")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


def describe(error: BaseException) -> str:
    """The error as a person reads it: a UserError's title and problems, else its type and message."""
    if isinstance(error, UserError):
        return "\n".join([f"error: {error.title}", *(f"  {problem}" for problem in error.problems)])
    return f"unexpected error: {type(error).__name__}: {error}"
