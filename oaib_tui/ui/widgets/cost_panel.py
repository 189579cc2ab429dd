"""The cost table: tokens by kind with their prices and totals, spend, projection, batch savings, budget.

Given one line (the narrow layout), it says the figures that matter most in a sentence; given fewer
lines than the table has, it leaves out the rows that matter least.
"""

from __future__ import annotations

from rich.text import Text

from ...pricing import PRICES_AS_OF
from ..cost_sheet import CostSheet, cost_sheet
from ..fit import fit_columns
from ..format import cell, count, money
from .panel import Panel

TOKENS_WIDTH, PRICE_WIDTH, COST_WIDTH = 10, 6, 9
ROWS_LEFT_OUT = ("cached input", "heading", "batch saved", "input", "output", "projected")
"""Rows of the table left out first when the panel is short: spend and the budget stay."""
PHRASES_LEFT_OUT = ("prices", "tokens", "saved", "projected")
"""Parts of the one-line summary left out first when it is narrow: spend and the budget stay."""


class CostPanel(Panel):
    EVERY_S = 1.0

    def title(self) -> str:
        return f"Cost · prices as of {PRICES_AS_OF}"

    def render(self) -> Text:
        sheet = cost_sheet(self.model)
        width, height = self.content_region.width, self.content_region.height
        if height == 1:
            return summary_line(sheet, width)
        return self._table(sheet, width, height)

    def _table(self, sheet: CostSheet, width: int, height: int) -> Text:
        label_width = max(8, width - TOKENS_WIDTH - PRICE_WIDTH - COST_WIDTH - 3)
        rows = _rows(sheet)
        for name in ROWS_LEFT_OUT:
            if len(rows) <= height:
                break
            rows.pop(name, None)
        text = Text()
        for label, tokens, price, cost, style, price_style in rows.values():
            text.append(cell(label, label_width) + " ", style)
            text.append(tokens.rjust(TOKENS_WIDTH) + " ")
            text.append(price.rjust(PRICE_WIDTH) + " ", price_style)
            text.append(cost.rjust(COST_WIDTH) + "\n", style)
        text.rstrip()
        return text


Row = tuple[str, str, str, str, str, str]


def _rows(sheet: CostSheet) -> dict[str, Row]:
    """Name → (label, tokens, price, cost, style, price style), in the order the table shows them."""
    rows: dict[str, Row] = {"heading": ("", "tokens", "$/1M", "cost", "dim", "dim")}
    for line in sheet.lines:
        price = "?" if line.price_per_m is None else f"{line.price_per_m:.3f}"
        rows[line.label] = (line.label, count(line.tokens), price, money(line.usd), "", "dim")
    if sheet.savings is not None:
        rows["batch saved"] = ("batch saved", "", "", f"−{money(sheet.savings)}", "green", "dim")
    rows["spend"] = ("spend so far", "", "", money(sheet.spend), "bold", "dim")
    rows["projected"] = ("projected", "", "", money(sheet.projected) if sheet.projected is not None else "—", "", "dim")
    if sheet.budget is not None:
        rows["budget"] = ("budget cap", "", _used(sheet), money(sheet.budget), "", "red" if _near(sheet) else "dim")
    return rows


def _used(sheet: CostSheet) -> str:
    return f"{sheet.spend / sheet.budget:.0%}" if sheet.spend is not None and sheet.budget else ""


def _near(sheet: CostSheet) -> bool:
    return sheet.spend is not None and sheet.budget is not None and sheet.spend >= 0.9 * sheet.budget


def summary_line(sheet: CostSheet, width: int) -> Text:
    """`Cost  spent $0.03 · projected $0.12 · cap $0.50 (6%) · 63,509 tokens`, as much of it as fits."""
    phrases = {"spent": Text.assemble("spent ", (money(sheet.spend), "bold"))}
    if sheet.projected is not None:
        phrases["projected"] = Text(f"projected {money(sheet.projected)}")
    if sheet.budget is not None:
        phrases["budget"] = Text.assemble(f"cap {money(sheet.budget)} ", (f"({_used(sheet)})" if _used(sheet) else "",
                                                                          "red" if _near(sheet) else "dim"))
    if sheet.savings is not None:
        phrases["saved"] = Text(f"batch saved {money(sheet.savings)}", "green")
    phrases["tokens"] = Text(f"{count(sum(line.tokens for line in sheet.lines))} tokens", "dim")
    phrases["prices"] = Text(f"prices of {PRICES_AS_OF}", "dim")
    heading = Text.assemble(("Cost", "bold"), "  ")
    shown = fit_columns({name: phrase.cell_len for name, phrase in phrases.items()}, width - heading.cell_len + 3,
                        PHRASES_LEFT_OUT, gap=3)
    return heading + Text(" · ").join(phrases[name] for name in shown)
