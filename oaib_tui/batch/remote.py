"""The provider's Files and Batches API, as the batch executor uses it, through the official SDK.

Every call either returns what the executor needs or raises :class:`RemoteError`
carrying the same :class:`~.retry.Outcome` the realtime engine decides with:
`retry` (network, 408/409/429/5xx), `fail` (the request itself is wrong) or
`stop` (the key or the quota). The executor decides what to do about it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import openai

from ..engine.client import network_failure
from ..engine.retry import Outcome, classify

T = TypeVar("T")
DOWNLOAD_CHUNK = 1 << 20
RECONCILE_MARGIN_S = 3600.0
"""How far before a recorded intent to look for what it created: covers clock skew between us and the provider."""


class RemoteError(Exception):
    """A Files or Batches API call that did not succeed; `outcome` says whether to retry, fail or stop."""

    def __init__(self, what: str, outcome: Outcome) -> None:
        super().__init__(f"{what}: {outcome.message or outcome.reason}")
        self.what = what
        self.outcome = outcome


@dataclass(frozen=True)
class RemoteBatch:
    """What the executor reads from a Batch object."""

    id: str
    status: str
    input_file_id: str
    total: int
    completed: int
    failed: int
    created_at: float
    expires_at: float | None
    output_file_id: str | None
    error_file_id: str | None
    errors: list[dict[str, Any]] | None
    metadata: dict[str, str] | None

    @classmethod
    def of(cls, batch: Any) -> RemoteBatch:
        counts = batch.request_counts
        errors = batch.errors.data if batch.errors is not None and batch.errors.data else None
        return cls(
            id=batch.id, status=batch.status, input_file_id=batch.input_file_id,
            total=counts.total if counts else 0, completed=counts.completed if counts else 0,
            failed=counts.failed if counts else 0, created_at=float(batch.created_at),
            expires_at=None if batch.expires_at is None else float(batch.expires_at),
            output_file_id=batch.output_file_id, error_file_id=batch.error_file_id,
            errors=[e.model_dump() for e in errors] if errors else None, metadata=batch.metadata,
        )


class BatchRemote:
    """Thin async verbs over `client.files` and `client.batches`."""

    def __init__(self, client: openai.AsyncOpenAI, wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._wall = wall_clock
        self.answered = False
        """The provider has answered a call of this run (with any status): it is reachable."""

    async def upload(self, path: Path, filename: str) -> str:
        """Upload a batch-input file (streamed from disk); returns its file id."""
        with open(path, "rb") as content:  # noqa: ASYNC230 - opening a local file; the upload streams it
            uploaded = await self._call("upload", self.client.files.create(
                file=(filename, content, "application/jsonl"), purpose="batch"))
        return uploaded.id

    async def file_exists(self, file_id: str) -> bool:
        try:
            await self._call("check file", self.client.files.retrieve(file_id))
        except RemoteError as error:
            if error.outcome.status == 404:
                return False
            raise
        return True

    async def find_file(self, filename: str, since: float) -> str | None:
        """The newest batch file called `filename` uploaded after `since` (less a margin), or None."""
        async def search() -> str | None:
            async for found in self.client.files.list(purpose="batch", order="desc"):
                if found.created_at < since - RECONCILE_MARGIN_S:
                    return None
                if found.filename == filename:
                    return found.id
            return None

        return await self._call("list files", search())

    async def create(self, input_file_id: str, endpoint: str, window: str, metadata: dict[str, str],
                     output_expires_after_s: int | None = None) -> RemoteBatch:
        expiry: Any = ({"anchor": "created_at", "seconds": output_expires_after_s}
                       if output_expires_after_s is not None else openai.omit)
        batch = await self._call("create batch", self.client.batches.create(
            input_file_id=input_file_id, endpoint=endpoint, completion_window=window,  # type: ignore[arg-type]
            metadata=metadata, output_expires_after=expiry))
        return RemoteBatch.of(batch)

    async def find_batch(self, input_file_id: str, since: float) -> RemoteBatch | None:
        """The newest batch made from `input_file_id` after `since` (less a margin), or None (the list is newest first)."""
        async def search() -> RemoteBatch | None:
            async for batch in self.client.batches.list(limit=100):
                if batch.created_at < since - RECONCILE_MARGIN_S:
                    return None
                if batch.input_file_id == input_file_id:
                    return RemoteBatch.of(batch)
            return None

        return await self._call("list batches", search())

    async def retrieve(self, batch_id: str) -> RemoteBatch:
        return RemoteBatch.of(await self._call("check batch", self.client.batches.retrieve(batch_id)))

    async def cancel(self, batch_id: str) -> RemoteBatch:
        return RemoteBatch.of(await self._call("cancel batch", self.client.batches.cancel(batch_id)))

    async def delete_file(self, file_id: str) -> None:
        """Delete a file; one that is already gone counts as deleted."""
        try:
            await self._call("delete file", self.client.files.delete(file_id))
        except RemoteError as error:
            if error.outcome.status != 404:
                raise

    @asynccontextmanager
    async def lines(self, file_id: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """`async with remote.lines(id) as lines: async for line in lines`: a file's lines, streamed."""
        try:
            async with self.client.files.with_streaming_response.content(file_id) as response:
                self.answered = True
                yield _split_lines(response.iter_bytes(DOWNLOAD_CHUNK))
        except openai.APIError as error:
            raise RemoteError("download file", self._outcome(error)) from error
        except httpx2.HTTPError as error:  # the body broke off after the answer began
            outcome = classify(status=None, error=None, headers={}, failure="connection", now=self._wall())
            raise RemoteError("download file", outcome) from error

    async def _call(self, what: str, call: Awaitable[T]) -> T:
        try:
            result = await call
        except openai.APIError as error:
            raise RemoteError(what, self._outcome(error)) from error
        self.answered = True
        return result

    def _outcome(self, error: openai.APIError) -> Outcome:
        if isinstance(error, openai.APIStatusError):
            self.answered = True
            body = error.body if isinstance(error.body, dict) else None
            details = body.get("error", body) if body else None
            return classify(status=error.status_code, error=details if isinstance(details, dict) else None,
                            headers=error.response.headers, now=self._wall())
        # By root cause: the SDK's aiohttp transport reports a refused connection as a timeout.
        return classify(status=None, error=None, headers={}, failure=network_failure(error), now=self._wall())


async def _split_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    rest = b""
    async for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if line.strip():
                yield line
    if rest.strip():
        yield rest
