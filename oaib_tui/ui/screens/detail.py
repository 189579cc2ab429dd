"""One request in full: its answer (or error) to read, every attempt, and the request and response as JSON.

While the request is in flight the view follows it: whenever its row in the
list changes (another attempt, an answer, a failure), the item is read again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from rich.console import RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ...state import answer_text
from ..answers import error_line
from ..format import money

Item = dict[str, Any]
WATCH_S = 0.25
WAITING = {"queued": "queued: not sent yet", "sent": "in flight: waiting for the answer"}
SECTIONS = ("answer", "summary", "attempts", "request", "response")
STATUS_WORDS = {"sent": "in flight"}


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "close", "Close", key_display="esc")]

    def __init__(self, custom_id: str, item: Item | None, *, reload: Callable[[], Awaitable[Item | None]] | None = None,
                 changes: Callable[[], Hashable] | None = None) -> None:
        """`reload` reads the item again, whenever `changes()` (what the list knows of the request: its
        status and attempts) differs from what it said when the item was last read."""
        super().__init__()
        self.custom_id = custom_id
        self.item = item
        self._reload = reload
        self._changes = changes
        self._seen = changes() if changes else None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-box", classes="dialog"):
            yield Static(id="detail-title", classes="dialog-title")
            for name in SECTIONS:
                yield Static(classes="section-title", id=f"{name}-title")
                yield Static(id=name, classes="section")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.item)
        if self._reload is not None and self._changes is not None:
            self.set_interval(WATCH_S, self._follow)

    async def _follow(self) -> None:
        assert self._reload is not None and self._changes is not None
        seen = self._changes()
        if seen != self._seen:
            self._seen = seen
            self.show(await self._reload())

    def show(self, item: Item | None) -> None:
        """Draw (or draw again) every section from `item`."""
        self.item = item
        self.query_one("#detail-title", Static).update(_title(self.custom_id, item))
        drawn = sections(item) if item is not None else {}
        for name in SECTIONS:
            title, body = drawn.get(name, ("", None))
            self._section(name, title, body)

    def _section(self, name: str, title: str, body: RenderableType | None) -> None:
        heading, content = self.query_one(f"#{name}-title", Static), self.query_one(f"#{name}", Static)
        heading.display = content.display = body is not None
        if body is not None:
            heading.update(title)
            heading.set_class(title.startswith("Error"), "error")
            content.update(body)

    def action_close(self) -> None:
        self.dismiss(None)


def _title(custom_id: str, item: Item | None) -> Text:
    if item is None:
        return Text.assemble(f"Request {custom_id}\n", ("Not in the state file yet: it is recorded once it is queued.",
                                                         "not bold"))
    status = str(item.get("status"))
    return Text.assemble(f"Request {custom_id} · ", STATUS_WORDS.get(status, status),
                         (f" · {item.get('source')} line {item.get('line')}", "not bold"))


def sections(item: Item) -> dict[str, tuple[str, RenderableType]]:
    """Section name → (title, body): the answer's text first, the JSON last."""
    drawn: dict[str, tuple[str, RenderableType]] = {
        "answer": _answer(item), "summary": ("Figures", _summary(item)), "attempts": ("Attempts", _attempts(item)),
        "request": ("Request", _json(item.get("request"))),
    }
    if item.get("error") is not None:
        drawn["response"] = ("Error as recorded", _json(item["error"]))
    elif item.get("response") is not None:
        drawn["response"] = ("Response", _json(item["response"]))
    return drawn


def _answer(item: Item) -> tuple[str, RenderableType]:
    status = item.get("status")
    if status == "failed":
        return "Error", Text(_error_text(item.get("error")), "red")
    if status != "done":
        return "Answer", Text(WAITING.get(str(status), str(status)), "dim italic")
    text = answer_text(item.get("response"))
    if text is None:
        return "Answer", Text("no text in this answer: the response is below", "dim")
    return "Answer", Text(text)


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error or "failed")
    reason = " ".join(str(error[key]) for key in ("reason", "status_code") if error.get(key) is not None)
    return error_line(reason, error.get("message"))


def _summary(item: Item) -> Table:
    usage = item.get("usage") or {}
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("attempts", str(item.get("attempts") or 0))
    latency = item.get("latency_s")
    grid.add_row("latency", "—" if latency is None else f"{latency:.2f}s")
    grid.add_row("tokens", f"{usage.get('prompt_tokens', 0):,} in ({usage.get('cached_tokens', 0):,} cached), "
                           f"{usage.get('completion_tokens', 0):,} out")
    grid.add_row("cost", money(item.get("cost_usd")) if item.get("cost_usd") is not None else "—")
    if item.get("tier") not in (None, "standard"):  # standard is the rule: only another tier is worth a row
        grid.add_row("tier", str(item["tier"]))
    if item.get("last_reason"):
        grid.add_row("last problem", Text(str(item["last_reason"]), "yellow"))
    return grid


def _json(value: Any) -> Text:
    """Indented JSON, wrapped at the edge of the view (long strings would be cut off otherwise)."""
    if value is None:
        return Text("(none)", style="dim")
    text = JSON.from_data(value, indent=2).text
    text.no_wrap, text.overflow = False, "fold"
    return text


def _attempts(item: Item) -> Table | Text:
    retries = item.get("retries") or []
    attempts = item.get("attempts") or 0
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="dim", expand=True)
    table.add_column("attempt", no_wrap=True)
    table.add_column("at", no_wrap=True)
    table.add_column("outcome", ratio=1)
    table.add_column("message", ratio=2)
    for retry in retries:
        delay = retry.get("delay_s")
        outcome = f"{retry.get('reason')}" + (f" → retried after {delay:.1f}s" if delay is not None else "")
        table.add_row(str(retry.get("attempt")), _clock(retry.get("at")), Text(outcome, "yellow"),
                      str(retry.get("message") or ""))
    last = {"done": ("answered", "green"), "failed": (str(item.get("last_reason") or "failed"), "red"),
            "sent": ("in flight", "cyan")}
    if item.get("status") in last and attempts:
        text, style = last[item["status"]]
        table.add_row(str(attempts), _clock(item.get("finished_at")), Text(text, style), "")
    if not table.row_count:
        return Text("not sent yet", style="dim")
    return table


def _clock(at: float | None) -> str:
    return "—" if at is None else time.strftime("%H:%M:%S", time.localtime(at))
