"""Requests added from Python, written to a batch-input JSONL file as they come.

`Job.add()` never keeps request bodies in memory: each becomes one ready
OpenAI batch-input line (`custom_id`, `method`, `url`, `body`, plus our
`metadata`), buffered and written to the spool file in large chunks. The run
then reads the spool as a `batch`-format source, streaming, like any project.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]  # public in CPython, missing from typeshed
from pathlib import Path
from typing import Any

import openai

from ..errors import did_you_mean
from ..project.requests import HashSet, non_finite_path
from ..project.schema import ENDPOINTS

METHODS = {
    "chat.completions.create": "/v1/chat/completions",
    "responses.create": "/v1/responses",
    "embeddings.create": "/v1/embeddings",
    "completions.create": "/v1/completions",
    "moderations.create": "/v1/moderations",
}
"""The SDK's method names (`client.chat.completions.create`) and the endpoint each calls."""

SDK_ONLY_OPTIONS = ("extra_headers", "extra_query", "timeout")
"""SDK call options that are not part of a request body, and that a job cannot honour per request."""

CHUNK_BYTES = 1 << 20
SOURCE_NAME = "requests"
"""The spool's source name: it is part of every resume key, so it never changes."""

_PREFIX = '{"custom_id":'


def endpoint_url(method: str) -> str:
    """`chat.completions.create` or `/v1/chat/completions` → the endpoint path; ValueError otherwise."""
    if method in ENDPOINTS:
        return method
    found = METHODS.get(method.removeprefix("client."))
    if found is not None:
        return found
    hint = did_you_mean(method, [*METHODS, *ENDPOINTS])
    raise ValueError(f"unknown method {method!r}: expected one of {', '.join(METHODS)} "
                     f"or an endpoint path such as /v1/chat/completions" + (f" ({hint})" if hint else ""))


def request_body(params: dict[str, Any], extra_body: dict[str, Any] | None) -> dict[str, Any]:
    """The request body from SDK-style keyword arguments; TypeError for options a job cannot send."""
    refused = [name for name in SDK_ONLY_OPTIONS if name in params]
    if refused:
        raise TypeError(f"{', '.join(refused)}: per-request SDK options are not supported in a job; "
                        "set headers with provider={'headers': {...}} and the timeout with limits={'timeout_s': ...}")
    if params.get("stream"):
        raise ValueError("stream=True is not supported: a job stores whole answers (use job.stream() to get "
                         "results as they complete)")
    # The SDK's "leave it out" markers mean exactly that here too.
    body = {name: value for name, value in params.items() if not isinstance(value, (openai.NotGiven, openai.Omit))}
    if extra_body:
        body.update(extra_body)
    return body


def to_plain(value: Any) -> Any:
    """JSON's fallback for values such as numpy numbers, dates, pandas rows and pydantic models."""
    for method, arguments in (("model_dump", {"mode": "json"}), ("to_dict", {}), ("tolist", {}), ("item", {})):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert(**arguments)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=to_plain, allow_nan=False)
_LENIENT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=to_plain)


def _missing_as_null(metadata: Any) -> Any:
    """Metadata with NaN (pandas' "missing") as null: it is kept, not sent, and the results must stay JSON."""
    return json.loads(_LENIENT.encode(metadata), parse_constant=lambda _: None)


class RequestSpool:
    """The batch-input JSONL file of one Python job; appends lines and hands their ids back in order."""

    def __init__(self, path: Path | None = None, *, folder: Path, stem: str) -> None:
        if path is None:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".requests.jsonl", dir=folder)
            os.close(fd)
            path = Path(name)
            # A spool we named is ours to delete: once no job or results hold it, or when Python exits.
            weakref.finalize(self, _remove_file, path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._file = open(self.path, "w", encoding="utf-8", buffering=CHUNK_BYTES)  # noqa: SIM115 - held until close()
        self.count = 0
        self._ids = HashSet()

    def add(self, url: str, body: dict[str, Any], custom_id: str | None, metadata: Any) -> str:
        """Append one request; returns its custom_id (default `request-<n>`, 1-based). ValueError on a reused id."""
        custom_id = f"request-{self.count + 1}" if custom_id is None else custom_id
        if not isinstance(custom_id, str) or not custom_id:
            raise ValueError(f"custom_id must be a non-empty string, got {custom_id!r}")
        line: dict[str, Any] = {"custom_id": custom_id, "method": "POST", "url": url, "body": body}
        if metadata is not None:
            line["metadata"] = _missing_as_null(metadata)
        try:
            text = _ENCODER.encode(line)
        except ValueError:
            where = non_finite_path(json.loads(_LENIENT.encode(body)), "body") or "the request"
            raise ValueError(f"{where} is not a finite number: JSON has no NaN or Infinity, "
                             "and the API refuses them") from None
        if not self._ids.add(hash(custom_id)):
            self._refuse_reused(custom_id)
        self._file.write(text + "\n")
        self.count += 1
        return custom_id

    def _refuse_reused(self, custom_id: str) -> None:
        # Only hashes are kept (~16 MB at a million ids): a hit is confirmed in the file, since two
        # ids may share a hash.
        for number, found in enumerate(self.custom_ids(), 1):
            if found == custom_id:
                raise ValueError(f"custom_id {custom_id!r} was already used by request {number}; "
                                 "every request of a job needs its own custom_id")

    def flush(self) -> None:
        """Write what is buffered, so a reader of the file sees every request added so far."""
        self._file.flush()

    def lines(self) -> Iterator[dict[str, Any]]:
        """Every line added so far, parsed, in order."""
        self.flush()
        with open(self.path, encoding="utf-8") as file:
            for text in file:
                yield json.loads(text)

    def custom_ids(self) -> Iterator[str]:
        """Every custom_id added so far, in order, read without parsing the bodies."""
        self.flush()
        with open(self.path, encoding="utf-8") as file:
            for text in file:
                yield custom_id_of(text)

    def close(self) -> None:
        """Stop writing; a file the job named itself is deleted when this spool is let go (or at exit)."""
        self._file.close()


def custom_id_of(line: str) -> str:
    """The custom_id of a spool line, which always comes first."""
    if line.startswith(_PREFIX):
        return scanstring(line, len(_PREFIX) + 1)[0]
    return json.loads(line)["custom_id"]


def _remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)
