"""The simulator's Files API store: uploaded batch inputs and the output files batches produce.

Files live in memory. Ids are sequential (`file-sim…`), so that pagination by
`after=<id>` and `order` are cheap and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import count
from typing import Any

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""Purposes a client may upload with; `batch_output` is the simulator's own."""

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(rb'(\w+)="([^"]*)"')


class MultipartError(ValueError):
    """The upload is not the multipart/form-data the Files API expects."""


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    expires_at: int | None = None

    def as_object(self) -> dict[str, Any]:
        """The file as `GET /v1/files/{id}` returns it (the SDK's FileObject)."""
        return {
            "id": self.id, "object": "file", "bytes": len(self.content), "created_at": self.created_at,
            "filename": self.filename, "purpose": self.purpose, "status": "processed",
            "expires_at": self.expires_at, "status_details": None,
        }


class FileStore:
    """Every file the simulated account holds, by id."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._numbers = count(1)

    def add(self, filename: str, purpose: str, content: bytes, created_at: int,
            expires_at: int | None = None) -> StoredFile:
        stored = StoredFile(f"file-sim{next(self._numbers):016d}", filename, purpose, content, created_at, expires_at)
        self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def expire(self, now: float) -> int:
        """Delete the files whose `expires_at` has passed, as the provider does; returns how many."""
        gone = [f.id for f in self._files.values() if f.expires_at is not None and f.expires_at <= now]
        for file_id in gone:
            del self._files[file_id]
        return len(gone)

    def delete(self, file_id: str) -> bool:
        return self._files.pop(file_id, None) is not None

    def __len__(self) -> int:
        return len(self._files)

    def page(self, *, purpose: str | None, after: str | None, limit: int,
             newest_first: bool) -> tuple[list[StoredFile], bool]:
        """One page of files (ids sort by creation), and whether more follow."""
        files = [f for f in self._files.values() if purpose is None or f.purpose == purpose]
        if newest_first:
            files.reverse()
        if after is not None:
            files = [f for f in files if (f.id < after if newest_first else f.id > after)]
        return files[:limit], len(files) > limit


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name → (filename or None, data)."""
    match = _BOUNDARY.search(content_type or "")
    if not content_type.lower().startswith("multipart/form-data") or not match:
        raise MultipartError("expected a multipart/form-data body with a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, tuple[str | None, bytes]] = {}
    position = body.find(delimiter)
    if position < 0:
        raise MultipartError("the multipart boundary never occurs in the body")
    while True:
        start = position + len(delimiter)
        if body.startswith(b"--", start):
            return fields
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise MultipartError("a multipart part is not closed by its boundary")
        name, filename, data = _part(body, start + 2, end)
        fields[name] = (filename, data)
        position = end + 2


def _part(body: bytes, start: int, end: int) -> tuple[str, str | None, bytes]:
    header_end = body.find(b"\r\n\r\n", start, end)
    if header_end < 0:
        raise MultipartError("a multipart part has no header block")
    params: dict[bytes, bytes] = {}
    for line in body[start:header_end].split(b"\r\n"):
        if line.lower().startswith(b"content-disposition:"):
            params = dict(_DISPOSITION_PARAM.findall(line))
    if b"name" not in params:
        raise MultipartError("a multipart part has no name")
    filename = params.get(b"filename")
    return params[b"name"].decode(), None if filename is None else filename.decode(), body[header_end + 4:end]
