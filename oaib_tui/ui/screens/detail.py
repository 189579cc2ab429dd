"""One request in full: the rendered request, the response or the error, and every attempt."""

from __future__ import annotations

import time
from typing import Any

from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from ..format import money


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "close", "Close", key_display="esc")]

    def __init__(self, custom_id: str, item: dict[str, Any] | None) -> None:
        super().__init__()
        self.custom_id = custom_id
        self.item = item

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-box", classes="dialog"):
            yield Static(f"Request {self.custom_id}", classes="dialog-title")
            if self.item is None:
                yield Static("Not in the state file yet: it is recorded once it is queued.")
            else:
                yield from self._sections(self.item)
        yield Footer()

    def _sections(self, item: dict[str, Any]) -> ComposeResult:
        yield Static(_summary(item))
        yield Static("Attempts", classes="section-title")
        yield Static(_attempts(item))
        yield Static("Request", classes="section-title")
        yield Static(_json(item.get("request")))
        if item.get("error") is not None:
            yield Static("Error", classes="section-title error")
            yield Static(_json(item["error"]))
        if item.get("response") is not None:
            yield Static("Response", classes="section-title")
            yield Static(_json(item["response"]))

    def action_close(self) -> None:
        self.dismiss(None)


def _summary(item: dict[str, Any]) -> Table:
    usage = item.get("usage") or {}
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("status", Text(str(item.get("status")), "bold"))
    grid.add_row("source", f"{item.get('source')} line {item.get('line')}")
    grid.add_row("attempts", str(item.get("attempts") or 0))
    latency = item.get("latency_s")
    grid.add_row("latency", "—" if latency is None else f"{latency:.2f}s")
    grid.add_row("tokens", f"{usage.get('prompt_tokens', 0):,} in ({usage.get('cached_tokens', 0):,} cached), "
                           f"{usage.get('completion_tokens', 0):,} out")
    grid.add_row("cost", money(item.get("cost_usd")) if item.get("cost_usd") is not None else "—")
    if item.get("last_reason"):
        grid.add_row("last problem", Text(str(item["last_reason"]), "yellow"))
    return grid


def _json(value: Any) -> JSON | Text:
    if value is None:
        return Text("(none)", style="dim")
    return JSON.from_data(value, indent=2)


def _attempts(item: dict[str, Any]) -> Table | Text:
    retries = item.get("retries") or []
    attempts = item.get("attempts") or 0
    table = Table(box=None, padding=(0, 2), header_style="dim")
    for name in ("attempt", "at", "outcome", "message"):
        table.add_column(name)
    for retry in retries:
        delay = retry.get("delay_s")
        outcome = f"{retry.get('reason')}" + (f" → retried after {delay:.1f}s" if delay is not None else "")
        table.add_row(str(retry.get("attempt")), _clock(retry.get("at")), Text(outcome, "yellow"),
                      str(retry.get("message") or ""))
    last = {"done": ("answered", "green"), "failed": (str(item.get("last_reason") or "failed"), "red")}
    if item.get("status") in last and attempts:
        text, style = last[item["status"]]
        table.add_row(str(attempts), _clock(item.get("finished_at")), Text(text, style), "")
    if not table.row_count:
        return Text("not sent yet", style="dim")
    return table


def _clock(at: float | None) -> str:
    return "—" if at is None else time.strftime("%H:%M:%S", time.localtime(at))
