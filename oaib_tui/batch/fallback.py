"""`batch.on_expired: realtime`: the items batches did not finish, sent through the realtime engine.

The realtime :class:`~oaib_tui.engine.realtime.RealtimeExecutor` runs the project's plan as it is; a
resume index that calls every other item done makes it send just these. Its
own start and finish events are left out of the stream: they belong to the
batch run around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import openai

from .. import events as ev
from ..engine.realtime import RealtimeExecutor
from ..engine.resume import ResumeIndex
from ..project.schema import LoadedProject


@dataclass(frozen=True)
class OnlyThese(ResumeIndex):
    """A resume index under which every item is finished but the ones named (by input key, else by custom_id)."""

    keys: frozenset[int] | None = None
    """Input keys of the items to send, when the stored keys match the plan (the fast path)."""
    ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, keys: set[int] | None, ids: set[str]) -> "OnlyThese":
        return cls(None, None, None, keys=None if keys is None else frozenset(keys), ids=frozenset(ids))

    @property
    def has_keys(self) -> bool:
        return self.keys is not None

    def status_by_key(self, input_key: int) -> str | None:
        return None if self.keys is None or input_key in self.keys else "done"

    def status_by_body(self, custom_id: str, body_hash: str) -> str | None:
        return None if custom_id in self.ids else "done"


def realtime_engine(project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
                    only: OnlyThese) -> RealtimeExecutor:
    """A realtime engine (limits learned from headers) that sends only the items `only` names."""
    spec = project.spec.model_copy(update={"mode": "auto"})
    realtime_project = project.model_copy(update={"spec": spec})

    def inner(event: ev.Event) -> None:
        if not isinstance(event, (ev.RunStarted, ev.RunFinished)):
            emit(event)

    return RealtimeExecutor(realtime_project, client, inner, resume=only)
