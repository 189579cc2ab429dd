"""`oaib-tui status PROJECT --remote`: the project's batches as the provider sees them now.

It takes no lock and changes nothing: it reads the batch ids from the state
file and asks the provider for each batch, so it works beside a running job or
while the job is detached.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import openai

from .engine.batch_remote import BatchRemote, RemoteBatch, RemoteError
from .engine.client import build_client
from .project.schema import LoadedProject
from .state.batches import Part, read_parts
from .state.reader import StateReader

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
    client = client or build_client(project)
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
