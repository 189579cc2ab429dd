"""What a run may skip: the items a state file already holds as finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ResumeIndex:
    """Finished items of earlier runs.

    When the project's request fingerprint is unchanged, `done_keys` and
    `failed_keys` (hashes of the raw source lines) let the engine skip a
    finished line without parsing or rendering it. Any other line is rendered
    and skipped only if a finished item has the same custom_id and the same
    request body (`lookup`), so an edited template or record is sent again.
    """

    done_keys: set[int] | None
    failed_keys: set[int] | None
    lookup: Callable[[str, str], str | None] | None
    """(custom_id, body hash) → `done`/`failed` if an item finished with that body, else None."""
    done: int = 0
    """Done items in the state file (some may be sent again if their request changed)."""
    failed: int = 0

    @classmethod
    def empty(cls) -> "ResumeIndex":
        return cls(None, None, None)

    def status_by_key(self, input_key: int) -> str | None:
        if self.done_keys is not None and input_key in self.done_keys:
            return "done"
        if self.failed_keys is not None and input_key in self.failed_keys:
            return "failed"
        return None

    @property
    def has_keys(self) -> bool:
        return bool(self.done_keys or self.failed_keys)

    def status_by_body(self, custom_id: str, body_hash: str) -> str | None:
        return None if self.lookup is None else self.lookup(custom_id, body_hash)
