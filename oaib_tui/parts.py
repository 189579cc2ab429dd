"""A batch part: one batch-input file and what became of it.

The record the batch wing writes and the state file keeps; both import it from
here so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

BatchPhase = Literal["written", "uploading", "uploaded", "creating", "submitted", "ended", "downloaded"]
"""How far a part got: its file is written, being uploaded, uploaded, its batch being created,
submitted (live), ended (a final status is known), downloaded (its lines are in the state file)."""

TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
"""The Batch API statuses after which a batch changes no more."""


@dataclass(frozen=True)
class Part:
    """One batch-input file and what became of it; field names are the `batches` table's columns."""

    part: int
    model: str
    url: str
    requests: int
    bytes: int
    tokens: int
    filename: str
    phase: BatchPhase
    round: int = 1
    worst_cost_usd: float = 0.0
    local_path: str | None = None
    intent_at: float | None = None
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    created_at: float | None = None
    expires_at: float | None = None
    ended_at: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    refusals: int = 0
    cleaned: bool = False

    @property
    def live(self) -> bool:
        """Its batch exists remotely and has not ended (as far as the state file knows)."""
        return self.phase in ("creating", "submitted")
