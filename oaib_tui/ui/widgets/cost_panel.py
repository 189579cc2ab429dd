"""The cost table: tokens by kind with their prices and totals, spend, projection, batch savings, budget."""

from __future__ import annotations

from rich.text import Text

from ...pricing import PRICES_AS_OF
from ..cost_sheet import CostSheet, cost_sheet
from ..format import cell, count, money
from .panel import Panel

TOKENS_WIDTH, PRICE_WIDTH, COST_WIDTH = 10, 6, 9


class CostPanel(Panel):
    EVERY_S = 1.0

    def title(self) -> str:
        return f"Cost · prices of {PRICES_AS_OF}"

    def render(self) -> Text:
        sheet = cost_sheet(self.model)
        label_width = max(8, self.content_region.width - TOKENS_WIDTH - PRICE_WIDTH - COST_WIDTH - 3)
        text = Text()

        def row(label: str, tokens: str = "", price: str = "", cost: str = "", style: str = "",
                price_style: str = "dim") -> None:
            text.append(cell(label, label_width) + " ", style)
            text.append(tokens.rjust(TOKENS_WIDTH) + " ")
            text.append(price.rjust(PRICE_WIDTH) + " ", price_style)
            text.append(cost.rjust(COST_WIDTH) + "\n", style)

        row("", "tokens", "$/1M", "cost", style="dim")
        for line in sheet.lines:
            price = "?" if line.price_per_m is None else f"{line.price_per_m:.3f}"
            row(line.label, count(line.tokens), price, money(line.usd))
        self._totals(sheet, row)
        text.rstrip()
        return text

    @staticmethod
    def _totals(sheet: CostSheet, row) -> None:
        if sheet.savings is not None:
            row("batch saved", cost=f"−{money(sheet.savings)}", style="green")
        row("spend so far", cost=money(sheet.spend), style="bold")
        row("projected", cost=money(sheet.projected) if sheet.projected is not None else "—")
        if sheet.budget is not None:
            near = sheet.spend is not None and sheet.spend >= 0.9 * sheet.budget
            used = f"{sheet.spend / sheet.budget:.0%}" if sheet.spend is not None else ""
            row("budget cap", price=used, cost=money(sheet.budget), price_style="red" if near else "dim")
