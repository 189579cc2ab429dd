"""The request list: every request of the run, drawn a visible line at a time.

A Line-API `ScrollView`: `render_line` formats only the rows on screen, from
the compact columns of :class:`~oaib_tui.ui.rows.RequestRows`, so a million
requests cost no more to draw than twenty. The first line is a header that
stays put; the cursor is a position in the filtered list.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...wording import money
from ..fit import fit_columns
from ..rows import DONE, FAILED, IN_FLIGHT, QUEUED, RETRYING, STATUS_NAMES, TIERS, RequestRows

FILTERS: tuple[int | None, ...] = (None, IN_FLIGHT, RETRYING, FAILED, DONE, QUEUED)
"""The filters `f` cycles through; None shows every request."""
FOLLOW_MARGIN = 3
"""Rows kept below the newest request in flight while following."""

STATUS_STYLES = {
    QUEUED: Style(dim=True),
    IN_FLIGHT: Style(color="cyan", bold=True),
    RETRYING: Style(color="yellow"),
    DONE: Style(color="green"),
    FAILED: Style(color="red", bold=True),
}


FAILED_ANSWER = Style(color="red")
"""A failed request's error in the answer column: red, as its status, but not bold (it is a sentence)."""


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    right: bool = False


COLUMNS = (
    Column("#", 7, right=True), Column("custom_id", 0), Column("status", 9), Column("try", 3, right=True),
    Column("latency", 7, right=True), Column("tokens", 10, right=True), Column("cost", 8, right=True),
    Column("tier", 8), Column("answer", 0),
)
DROP_ORDER = ("tier", "#", "cost", "latency", "try", "tokens", "answer")
"""Columns given up, first to last, when the list is too narrow for all: custom_id and status stay."""
ID_MIN, ID_MAX, ANSWER_MIN = 9, 36, 28


def filter_name(status: int | None) -> str:
    return "all" if status is None else STATUS_NAMES[status]


class RequestList(ScrollView, can_focus=True, inherit_bindings=False):
    """Every request with its status, attempts, latency, tokens, cost, and its answer or error."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Details"),
    ]
    COMPONENT_CLASSES = {"request-list--header", "request-list--cursor"}

    filter: reactive[int | None] = reactive(None, init=False)
    follow: reactive[bool] = reactive(True, init=False)
    cursor: reactive[int] = reactive(0, init=False, repaint=False)

    class AnswersWanted(Message):
        """Rows on screen whose answer previews are not kept: row → custom_id (see :meth:`show_answers`)."""

        def __init__(self, rows: dict[int, str]) -> None:
            super().__init__()
            self.rows = rows

    class Selected(Message):
        """The user asked for the details of one request."""

        def __init__(self, custom_id: str, row: int) -> None:
            super().__init__()
            self.custom_id = custom_id
            self.row = row

    def __init__(self, rows: RequestRows, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = rows
        self._page_key: tuple | None = None
        self._page: list[int] = []
        self._seen_version = -1
        self._styles: tuple | None = None
        self._wanted: dict[int, str] = {}
        """Rows drawn without their answer preview → custom_id; asked for at the next `sync`."""
        self._asked: set[int] = set()

    # -- keeping up with the model --------------------------------------------------------

    @property
    def visible_count(self) -> int:
        return self.rows.count(self.filter)

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def sync(self) -> None:
        """Called once per tick: resize to the filtered count, follow, redraw if anything changed."""
        changed = self.rows.version != self._seen_version
        self._seen_version = self.rows.version
        size = Size(self._content_width(), self.visible_count + 1)
        if size != self.virtual_size:
            self._grow(size)
            changed = True
        if self.follow:
            self._follow()
        if changed:
            self.refresh()
        self._ask_for_answers()

    def _ask_for_answers(self) -> None:
        wanted = {row: custom_id for row, custom_id in self._wanted.items() if row not in self._asked}
        self._wanted.clear()
        if wanted:
            self._asked.update(wanted)
            self.post_message(self.AnswersWanted(wanted))

    def _grow(self, size: Size) -> None:
        """A longer list moves no widget on screen: update the scrollbar, not the whole layout
        (assigning `virtual_size` would re-arrange the screen several times a second)."""
        scroll_update = getattr(self, "_scroll_update", None)
        if scroll_update is None or self.styles.overflow_y != "scroll":
            self.virtual_size = size
            return
        self.set_reactive(RequestList.virtual_size, size)
        scroll_update(size)

    def on_resize(self) -> None:
        self._page_key = None
        self.sync()

    def _content_width(self) -> int:
        return max(self.scrollable_content_region.width, 60)

    def _follow(self) -> None:
        position = self._follow_position()
        if position is None:
            return
        if position != self.cursor:
            self.cursor = position
            self.refresh()
        margin = min(FOLLOW_MARGIN, (self.page_height - 1) // 2) if self.filter is None else 0
        self.scroll_to(y=max(0, position - self.page_height + 1 + margin), animate=False, immediate=True)

    def _follow_position(self) -> int | None:
        """Where to keep the cursor: filtered, on the last row; else on the newest in flight, or the newest finished."""
        if self.filter is not None:
            return self.visible_count - 1 if self.visible_count else None
        rows = self.rows
        for status in (IN_FLIGHT, RETRYING):
            row = rows.last_with(status)
            if row is not None:
                return row
        finished = [row for row in (rows.last_with(DONE), rows.last_with(FAILED)) if row is not None]
        return max(finished) if finished else None

    def watch_filter(self) -> None:
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._page_key = None
        self.sync()
        self.refresh()

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.sync()

    # -- moving ---------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._set_cursor(self.cursor + direction * self.page_height, scroll_by=direction * self.page_height)

    def action_jump(self, where: int) -> None:
        self._set_cursor(0 if where == 0 else self.visible_count - 1)

    def _set_cursor(self, position: int, scroll_by: int = 0) -> None:
        self.follow = False
        position = max(0, min(position, self.visible_count - 1))
        old = self.cursor
        self.cursor = position
        top = int(self.scroll_offset.y) + scroll_by
        if position < top:
            top = position
        elif position >= top + self.page_height:
            top = position - self.page_height + 1
        self.scroll_to(y=top, animate=False, immediate=True)
        if old != position:
            self.refresh()

    def action_open(self) -> None:
        row = self.rows.nth(self.filter, self.cursor)
        if row is not None:
            self.post_message(self.Selected(self.rows.custom_id(row), row))

    def selected_custom_id(self) -> str | None:
        row = self.rows.nth(self.filter, self.cursor)
        return None if row is None else self.rows.custom_id(row)

    # -- drawing --------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _frame_styles(self) -> tuple[Style, Style, Style]:
        """(base, header, cursor) styles, worked out once per style change rather than per line."""
        key = self.has_focus
        if self._styles is None or self._styles[0] != key:
            base = self.rich_style
            self._styles = (key, base, base + self.get_component_rich_style("request-list--header"),
                            base + self.get_component_rich_style("request-list--cursor"))
        return self._styles[1:]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = layout(width, self.rows.longest_id, self.rows.tiered)
        base, header, cursor = self._frame_styles()
        if y == 0:
            return _strip([(col, col.title, header) for col in columns], width, header)
        top = int(self.scroll_offset.y)
        page = self._visible_rows(top)
        index = y - 1
        if index >= len(page):
            if index == 0 and not page:
                return self._empty_line(width, base)
            return Strip.blank(width, base)
        return self._row_strip(page[index], columns, width, cursor if top + index == self.cursor else base)

    def _empty_line(self, width: int, base: Style) -> Strip:
        what = "no requests yet" if self.filter is None else f"no request is {filter_name(self.filter)} now"
        return Strip([Segment(f"  {what} (f changes the filter)", base + Style(dim=True))]).crop_extend(0, width, base)

    def _visible_rows(self, top: int) -> list[int]:
        key = (top, self.page_height, self.filter, self.rows.version)
        if key != self._page_key:
            self._page = self.rows.rows_from(self.filter, top, self.page_height)
            self._page_key = key
        return self._page

    def _row_strip(self, row: int, columns: tuple[Column, ...], width: int, base: Style) -> Strip:
        rows = self.rows
        status = rows.status[row]
        cells = _cells(rows, row, status)
        status_style = base + STATUS_STYLES[status]
        styles = {"status": status_style, "answer": status_style}
        if status in (DONE, FAILED) and columns[-1].title == "answer":
            cells["answer"] = self._answer(row) or cells["answer"]
            styles["answer"] = base if status == DONE else base + FAILED_ANSWER
        return _strip([(col, cells[col.title], styles.get(col.title, base)) for col in columns], width, base)

    def _answer(self, row: int) -> str:
        """The row's answer (or error) preview; if it is not kept, ask for it (see `AnswersWanted`) and show
        nothing yet."""
        answer = self.rows.answers.get(row)
        if answer is None:
            self._wanted.setdefault(row, self.rows.custom_id(row))
            return ""
        return answer

    def show_answers(self, previews: dict[int, str]) -> None:
        """Answer previews read from the state file for rows drawn without one."""
        for row, text in previews.items():
            self.rows.answers.put(row, text)
            self._asked.discard(row)
        self.refresh()


def _cells(rows: RequestRows, row: int, status: int) -> dict[str, str]:
    latency, cost = rows.latency[row], rows.cost[row]
    tokens = f"{rows.prompt_tokens[row]:,}"
    if status == DONE:
        tokens += f"→{rows.output_tokens[row]:,}"
    attempts = rows.attempts[row]
    return {
        "#": str(rows.seq_of(row) + 1), "custom_id": rows.custom_id(row), "status": STATUS_NAMES[status],
        "try": str(attempts) if attempts else "", "latency": "" if math.isnan(latency) else _latency(latency),
        "tokens": tokens, "cost": "" if math.isnan(cost) else money(cost), "tier": TIERS[rows.tier[row]],
        "answer": rows.reason_text(row),
    }


def _latency(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s" if seconds < 100 else f"{seconds:.0f}s"


@functools.lru_cache(maxsize=64)
def layout(width: int, longest_id: int, tiered: bool = False) -> tuple[Column, ...]:
    """The columns a line `width` cells wide shows: custom_id whole (up to `ID_MAX`), the answer at least
    `ANSWER_MIN` wide and given what is left; columns in `DROP_ORDER` go first when that does not fit.

    The tier column only when some answer was charged at another tier than standard (`tiered`), and
    only at `TIER_WIDTH` cells or more: it is the first to go."""
    widths = {col.title: col.width for col in COLUMNS if col.title != "tier" or (tiered and width >= TIER_WIDTH)}
    widths["custom_id"] = max(ID_MIN, min(ID_MAX, longest_id))
    widths["answer"] = ANSWER_MIN
    room = width - 1  # the gap before the first column
    shown = fit_columns(widths, room, DROP_ORDER)
    spare = room - sum(widths[title] + 1 for title in shown)
    flexible = "answer" if "answer" in shown else "custom_id"
    widths[flexible] = max(1, widths[flexible] + spare)
    return tuple(Column(col.title, widths[col.title], col.right) for col in COLUMNS if col.title in shown)


TIER_WIDTH = 100
"""Lines this wide (the list of a 160-column terminal, beside the problem log) have room for each answer's tier."""


def _strip(cells: list[tuple[Column, str, Style]], width: int, base: Style) -> Strip:
    gap = Segment(" ", base)
    segments = [gap]
    for col, text, style in cells:
        if col.right:
            text = text.rjust(col.width)
        elif cell_len(text) > col.width:
            text = set_cell_size(text, col.width - 1) + "…"
        segments.append(Segment(set_cell_size(text, col.width), style))
        segments.append(gap)
    return Strip(segments).crop_extend(0, width, base)
