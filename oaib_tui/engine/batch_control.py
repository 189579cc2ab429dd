"""`oaib-tui cancel`: cancel a project's live batches at the provider, from any process.

It needs no lock: it reads the batch ids from the state file and asks the
provider to cancel them. A run in progress sees them go `cancelling`, downloads
what they finished and stops; a later run downloads them and sends the rest.
"""

from __future__ import annotations

import openai

from ..project.schema import LoadedProject
from ..state.batches import Part, read_parts
from ..state.reader import StateReader
from .batch_remote import BatchRemote, RemoteError
from .client import build_client


async def cancel_project_batches(project: LoadedProject, client: openai.AsyncOpenAI | None = None) -> list[tuple[Part, str]]:
    """Cancel every batch the state file holds as live; returns each part with what became of it."""
    with StateReader.open_readonly(project.state_path, project_name=project.name) as reader:
        live = [part for part in read_parts(reader) if part.phase == "submitted" and part.batch_id]
    if not live:
        return []
    own_client = client is None
    client = client or build_client(project)
    remote = BatchRemote(client)
    outcomes: list[tuple[Part, str]] = []
    try:
        for part in live:
            try:
                outcomes.append((part, (await remote.cancel(part.batch_id or "")).status))
            except RemoteError as error:
                outcomes.append((part, f"not cancelled: {error}"))
    finally:
        if own_client:
            await client.close()
    return outcomes
