"""A project's batches at the provider, from any process: `oaib-tui cancel` and `status --remote`.

Neither needs the lock: both read the batch ids from the state file and ask the
provider. `cancel` asks it to cancel them. A run in progress sees them go `cancelling`, downloads
what they finished and stops; a later run downloads them and sends the rest.
`--fresh` uses the same to cancel what the old state file left running.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from .batch.remote import BatchRemote, RemoteBatch, RemoteError
from .connect import client_for
from .errors import UserError
from .parts import Part
from .project.schema import LoadedProject
from .state.batches import read_parts
from .state.reader import StateReader


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
    client = client or client_for(project)
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


AT_ONCE = 8


@dataclass(frozen=True)
class RemoteState:
    part: Part
    remote: RemoteBatch | None
    problem: str | None = None
    """Why the provider could not say (the batch is gone, the network …)."""


async def remote_states(project: LoadedProject, client: openai.AsyncOpenAI | None = None) -> list[RemoteState]:
    """Each batch the state file knows that is not downloaded yet, with the provider's view of it."""
    with StateReader.open_readonly(project.state_path, project_name=project.name) as reader:
        parts = [part for part in read_parts(reader) if part.batch_id and part.phase != "downloaded"]
    if not parts:
        return []
    own_client = client is None
    client = client or client_for(project)
    remote, limit = BatchRemote(client), asyncio.Semaphore(AT_ONCE)

    async def ask(part: Part) -> RemoteState:
        async with limit:
            try:
                return RemoteState(part, await remote.retrieve(part.batch_id or ""))
            except RemoteError as error:
                return RemoteState(part, None, str(error))

    try:
        return list(await asyncio.gather(*(ask(part) for part in parts)))
    finally:
        if own_client:
            await client.close()


def describe_remote(states: list[RemoteState]) -> str:
    """One line per batch: its remote status and counts, and what the state file last recorded."""
    if not states:
        return "  remote   no batch at the provider waits for this project"
    lines = ["  remote   (as the provider sees them now)"]
    for state in states:
        part, batch = state.part, state.remote
        if batch is None:
            lines.append(f"    part {part.part:<5} {part.batch_id:<32} unknown     {state.problem}")
            continue
        expires = time.strftime("%Y-%m-%d %H:%M", time.localtime(batch.expires_at)) if batch.expires_at else "—"
        lines.append(f"    part {part.part:<5} {batch.id:<32} {batch.status:<11} {batch.completed:,}/{batch.total:,} done, "
                     f"{batch.failed:,} failed, expires {expires}   (state file: {part.status or part.phase})")
    return "\n".join(lines)
