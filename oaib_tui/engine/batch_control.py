"""`oaib-tui cancel`: cancel a project's live batches at the provider, from any process.

It needs no lock: it reads the batch ids from the state file and asks the
provider to cancel them. A run in progress sees them go `cancelling`, downloads
what they finished and stops; a later run downloads them and sends the rest.
`--fresh` uses the same to cancel what the old state file left running.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import openai

from ..errors import UserError
from ..project.schema import LoadedProject
from ..state.batches import Part, read_parts
from ..state.reader import StateReader
from .batch_remote import BatchRemote, RemoteError
from .client import build_client


@dataclass(frozen=True)
class Cancellation:
    """What became of one live batch asked to cancel."""

    part: Part
    status: str | None
    """The batch's status after the request (`cancelling`, or already ended); None: not cancelled."""
    error: str = ""

    def describe(self) -> str:
        return self.status if self.status is not None else f"not cancelled: {self.error}"


async def cancel_project_batches(project: LoadedProject, client: openai.AsyncOpenAI | None = None) -> list[Cancellation]:
    """Cancel every batch the state file holds as live; returns each part with what became of it."""
    with StateReader.open_readonly(project.state_path, project_name=project.name) as reader:
        live = _live_parts(reader)
    if not live:
        return []
    own_client = client is None
    client = client or build_client(project)
    try:
        return await _cancel(live, BatchRemote(client))
    finally:
        if own_client:
            await client.close()


async def cancel_left_behind(backup: Path, client: openai.AsyncOpenAI) -> list[Cancellation]:
    """Cancel the live batches of a state file `--fresh` moved aside, if it can be read at all.

    Left running they would be billed for answers the fresh run never reads. A
    backup that cannot be read (damaged, another schema: often why --fresh was
    used) has nothing we could cancel.
    """
    try:
        with StateReader.open_readonly(backup) as reader:
            live = _live_parts(reader)
    except (UserError, sqlite3.Error):
        return []
    return await _cancel(live, BatchRemote(client)) if live else []


def _live_parts(reader: StateReader) -> list[Part]:
    return [part for part in read_parts(reader) if part.live and part.batch_id]


async def _cancel(live: list[Part], remote: BatchRemote) -> list[Cancellation]:
    outcomes: list[Cancellation] = []
    for part in live:
        try:
            outcomes.append(Cancellation(part, (await remote.cancel(part.batch_id or "")).status))
        except RemoteError as error:
            outcomes.append(Cancellation(part, None, str(error)))
    return outcomes
