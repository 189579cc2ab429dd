"""The cost table: tokens by kind with their prices and totals, spend, projection, batch savings, budget."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ...pricing import PRICES_AS_OF
from ..cost_sheet import cost_sheet
from ..format import count, money
from .panel import Panel


class CostPanel(Panel):
    def title(self) -> str:
        return f"Cost · prices of {PRICES_AS_OF}"

    def render(self) -> Table:
        sheet = cost_sheet(self.model)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(ratio=1, no_wrap=True)
        table.add_column(justify="right")
        table.add_column(justify="right", style="dim")
        table.add_column(justify="right")
        table.add_row(Text(""), Text("tokens", "dim"), Text("$/1M", "dim"), Text("cost", "dim"))
        for line in sheet.lines:
            price = "?" if line.price_per_m is None else f"{line.price_per_m:.3f}"
            table.add_row(line.label, count(line.tokens), price, money(line.usd))
        if sheet.savings is not None:
            table.add_row(Text("batch savings", "green"), "", "", Text(f"−{money(sheet.savings)}", "green"))
        table.add_row(Text("spend so far", "bold"), "", "", Text(money(sheet.spend), "bold"))
        table.add_row("projected", "", "", money(sheet.projected) if sheet.projected is not None else "—")
        if sheet.budget is not None:
            used = f"{sheet.spend / sheet.budget:.0%} used" if sheet.spend is not None else ""
            style = "red" if sheet.spend is not None and sheet.spend >= 0.9 * sheet.budget else ""
            table.add_row("budget cap", "", Text(used, style), money(sheet.budget))
        return table
