"""Batch-input files: the line format, the split rules, and the writer that streams lines into parts.

A part holds one endpoint and one model (the Batch API's rule), at most
`batch.max_requests` lines and `batch.max_bytes` bytes, and, once the provider's
enqueued-token limit is known, no more prompt tokens than it allows. Lines go
straight to disk: memory holds one open file per (endpoint, model), not the lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from ..project.schema import LoadedProject

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
"""The state file's own JSON form (`recording.to_json`), so a body stored there is a body written here."""


def parts_folder(state_path: Path) -> Path:
    """Where part files wait for their upload: beside the state file, so a resumed run finds them."""
    return state_path.with_name(state_path.name + ".parts")


def body_json(body: dict) -> str:
    return _ENCODE(body)


def batch_line(custom_id: str, url: str, body_text: str) -> bytes:
    """One batch-input line, `{"custom_id", "method", "url", "body"}`, newline included.

    A lone surrogate (which a JSON escape can smuggle into a record) is written
    as its `\\udXXX` escape, so the line stays valid UTF-8 and valid JSON.
    """
    text = f'{{"custom_id":{_ENCODE(custom_id)},"method":"POST","url":{_ENCODE(url)},"body":{body_text}}}\n'
    return text.encode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class LineForm:
    """The provider's form of a batch-input line.

    OpenAI's is the request as is. Azure's names the endpoint without `/v1`
    (`/chat/completions`, in the lines and when the batch is created) and the
    Global Batch deployment as the body's `model`. The state file keeps the
    request in OpenAI's form; the form is applied whenever a line is written.
    """

    deployment: str | None = None
    """Azure: the deployment every line goes to; None: OpenAI's form."""

    @classmethod
    def of(cls, project: LoadedProject) -> LineForm:
        provider = project.spec.provider
        return cls(provider.deployment or project.spec.model) if provider.kind == "azure" else cls()

    def url(self, url: str) -> str:
        """The endpoint as the provider names it, in the lines and in the batch."""
        return url[3:] if self.deployment is not None and url.startswith("/v1/") else url

    def line(self, custom_id: str, url: str, body: dict | str) -> bytes:
        """One line, from the request body (a dict, or its JSON text as the state file keeps it)."""
        if self.deployment is None:
            return batch_line(custom_id, url, body if isinstance(body, str) else body_json(body))
        fields = json.loads(body) if isinstance(body, str) else body
        return batch_line(custom_id, self.url(url), body_json({**fields, "model": self.deployment}))


@dataclass(frozen=True)
class PartLimits:
    max_requests: int
    max_bytes: int
    max_tokens: int | None = None
    """The enqueued-token limit, once known: a part over it could never be queued."""

    def fits(self, requests: int, size: int, tokens: int, line_bytes: int, line_tokens: int) -> bool:
        """Whether one more line fits a part holding `requests` lines of `size` bytes and `tokens` tokens."""
        if requests == 0:
            return True
        if requests + 1 > self.max_requests or size + line_bytes > self.max_bytes:
            return False
        return self.max_tokens is None or tokens + line_tokens <= self.max_tokens


class PartCounter:
    """Counts the parts a stream of lines splits into, by the writer's rules (for the dry-run forecast)."""

    def __init__(self, limits: PartLimits) -> None:
        self.limits = limits
        self.parts = 0
        self._open: dict[tuple[str, str], list[int]] = {}

    def add(self, url: str, model: str, line_bytes: int, tokens: int = 0) -> None:
        state = self._open.get((url, model))
        if state is None or not self.limits.fits(state[0], state[1], state[2], line_bytes, tokens):
            state = self._open[(url, model)] = [0, 0, 0]
            self.parts += 1
        state[0] += 1
        state[1] += line_bytes
        state[2] += tokens


@dataclass(frozen=True)
class WrittenPart:
    """A complete part file, ready to be recorded and uploaded."""

    number: int
    url: str
    model: str
    path: Path
    requests: int
    bytes: int
    tokens: int
    worst_cost_usd: float


@dataclass
class _OpenPart:
    number: int
    url: str
    model: str
    path: Path
    file: BinaryIO
    requests: int = 0
    bytes: int = 0
    tokens: int = 0
    worst_cost_usd: float = 0.0

    def written(self) -> WrittenPart:
        return WrittenPart(self.number, self.url, self.model, self.path, self.requests, self.bytes, self.tokens,
                           self.worst_cost_usd)


class PartWriter:
    """Appends lines to the open part of their (endpoint, model); a part that is full is closed and handed back."""

    def __init__(self, folder: Path, limits: PartLimits, next_number: Callable[[], int]) -> None:
        self.folder = folder
        self.limits = limits
        self._next_number = next_number
        self._open: dict[tuple[str, str], _OpenPart] = {}

    def too_big(self, line: bytes) -> bool:
        """A line no part can hold."""
        return len(line) > self.limits.max_bytes

    def add(self, url: str, model: str, line: bytes, tokens: int, worst_cost_usd: float) -> tuple[int, WrittenPart | None]:
        """Write a line; returns the part number it went to, and the part this line closed (or None)."""
        key = (url, model)
        part = self._open.get(key)
        closed = None
        if part is not None and not self.limits.fits(part.requests, part.bytes, part.tokens, len(line), tokens):
            closed = self._close(key)
            part = None
        if part is None:
            part = self._open[key] = self._start(url, model)
        part.file.write(line)
        part.requests += 1
        part.bytes += len(line)
        part.tokens += tokens
        part.worst_cost_usd += worst_cost_usd
        return part.number, closed

    def close_all(self) -> list[WrittenPart]:
        """Close every open part (the stream ended), in part order."""
        return sorted((self._close(key) for key in list(self._open)), key=lambda part: part.number)

    def discard(self) -> None:
        """Close open files without handing them back (the run stopped): their rows were never written."""
        for part in self._open.values():
            part.file.close()
        self._open.clear()

    def _start(self, url: str, model: str) -> _OpenPart:
        number = self._next_number()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{number:05d}.jsonl"
        return _OpenPart(number, url, model, path, open(path, "wb", buffering=1 << 20))

    def _close(self, key: tuple[str, str]) -> WrittenPart:
        part = self._open.pop(key)
        part.file.flush()
        part.file.close()
        return part.written()
