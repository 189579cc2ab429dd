"""`batch.on_expired: realtime`: the items batches did not finish, sent through the realtime engine.

The realtime :class:`~oaib_tui.engine.realtime.RealtimeExecutor` runs the project's plan as it is; a
resume index that calls every other item done makes it send just these. Its
own start and finish events are left out of the stream: they belong to the
batch run around it.
"""

from __future__ import annotations

from collections.abc import Callable

import openai

from .. import events as ev
from ..engine.realtime import RealtimeExecutor
from ..engine.resume import OnlyThese
from ..project.schema import LoadedProject


def realtime_engine(project: LoadedProject, client: openai.AsyncOpenAI, emit: Callable[[ev.Event], None],
                    only: OnlyThese) -> RealtimeExecutor:
    """A realtime engine (limits learned from headers) that sends only the items `only` names."""
    spec = project.spec.model_copy(update={"mode": "auto"})
    realtime_project = project.model_copy(update={"spec": spec})

    def inner(event: ev.Event) -> None:
        if not isinstance(event, (ev.RunStarted, ev.RunFinished)):
            emit(event)

    return RealtimeExecutor(realtime_project, client, inner, resume=only)
