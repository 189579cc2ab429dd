"""The ledger invariant, read from the state file itself at the end of every run.

Every item a run planned ends in exactly one state the file records: done,
failed with a reason, or still to do. A run may say "all requests answered" only
if the file, opened afresh, agrees.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..wording import money
from .files import file_identity, state_file_lost
from .schema import read_duplicates


@dataclass(frozen=True, slots=True)
class Accounting:
    """What the state file records, counted by a connection of its own."""

    done: int
    failed: int
    to_do: int
    """Queued or sent, not yet answered: the next run sends them."""
    failed_without_reason: int
    duplicates: int = 0
    """Answers paid for but discarded: a second lane answered an item already done (hybrid mode)."""
    duplicate_cost_usd: float = 0.0

    @property
    def all_answered(self) -> bool:
        return not (self.failed or self.to_do or self.failed_without_reason)

    def describe(self) -> str:
        text = f"the state file records {self.done:,} done, {self.failed:,} failed, {self.to_do:,} still to do"
        if self.failed_without_reason:
            text += f" ({self.failed_without_reason:,} failed without a reason)"
        if self.duplicates:
            text += f", {self.duplicates:,} duplicate answers discarded (paid {money(self.duplicate_cost_usd)})"
        return text


def account(path: Path, identity: tuple[int, int] | None) -> Accounting:
    """Count the items of the state file at `path`; StateFileLost if it is not the file the run wrote."""
    if file_identity(path) != identity:
        raise state_file_lost(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute(
            """SELECT count(*) FILTER (WHERE status = 'done'),
                      count(*) FILTER (WHERE status = 'failed'),
                      count(*) FILTER (WHERE status IN ('queued', 'sent')),
                      count(*) FILTER (WHERE status = 'failed' AND coalesce(last_reason, '') = '')
               FROM items"""
        ).fetchone()
        duplicates, duplicate_cost = read_duplicates(conn)
    finally:
        conn.close()
    done, failed, to_do, without_reason = row
    return Accounting(done, failed, to_do, without_reason, duplicates=duplicates, duplicate_cost_usd=duplicate_cost)
