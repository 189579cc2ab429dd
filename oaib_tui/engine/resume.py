"""What a run may skip: the items a state file already holds as finished."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ELSEWHERE = "elsewhere"
"""A line this run leaves alone, whatever the state file says of it (see OnlyThese)."""


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
    def empty(cls) -> ResumeIndex:
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


@dataclass(frozen=True)
class OnlyThese(ResumeIndex):
    """A resume index under which every item is finished but the ones named (by input key, else by custom_id)."""

    keys: frozenset[int] | None = None
    """Input keys of the items to send, when the stored keys match the plan (the fast path)."""
    ids: frozenset[str] = field(default_factory=frozenset)
    base: ResumeIndex | None = None
    """What the state file says of the other lines, so finished ones still count as finished."""

    @classmethod
    def of(cls, keys: set[int] | None, ids: set[str], base: ResumeIndex | None = None) -> OnlyThese:
        done, failed = (base.done, base.failed) if base else (0, 0)
        return cls(None, None, None, done=done, failed=failed, keys=None if keys is None else frozenset(keys),
                   ids=frozenset(ids), base=base)

    @property
    def has_keys(self) -> bool:
        return self.keys is not None

    def status_by_key(self, input_key: int) -> str | None:
        if self.keys is None or input_key in self.keys:
            return None
        return (self.base.status_by_key(input_key) if self.base and self.base.has_keys else None) or ELSEWHERE

    def status_by_body(self, custom_id: str, body_hash: str) -> str | None:
        if custom_id in self.ids:
            return None
        return (self.base.status_by_body(custom_id, body_hash) if self.base else None) or ELSEWHERE


@dataclass(frozen=True)
class Withheld(ResumeIndex):
    """What another index says, except for the items another lane still has in flight: those are left alone.

    Hybrid mode hands this to the standard lane that takes over from flex, so that
    a flex request still on its way is not sent a second time (and paid twice).
    """

    keys: frozenset[int] = frozenset()
    ids: frozenset[str] = frozenset()
    base: ResumeIndex = field(default_factory=ResumeIndex.empty)

    @classmethod
    def around(cls, base: ResumeIndex, keys: set[int], ids: set[str]) -> Withheld:
        return cls(None, None, None, done=base.done, failed=base.failed, keys=frozenset(keys), ids=frozenset(ids),
                   base=base)

    @property
    def has_keys(self) -> bool:
        return self.base.has_keys

    def status_by_key(self, input_key: int) -> str | None:
        return ELSEWHERE if input_key in self.keys else self.base.status_by_key(input_key)

    def status_by_body(self, custom_id: str, body_hash: str) -> str | None:
        return ELSEWHERE if custom_id in self.ids else self.base.status_by_body(custom_id, body_hash)
