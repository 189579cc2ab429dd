"""The simulator's Files and Batches API: the HTTP handlers and their routes.

Files: upload (multipart, `purpose=batch`), list, retrieve, content, delete.
Batches: create, list (newest first, `after`/`limit` pagination), retrieve,
cancel. `hooks` lets a test hold a step open (after an upload is stored, after
a batch is created, before a file's content is sent) to kill a client there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..project.schema import SimulatorSettings
from . import error_bodies
from .auth import check_key
from .batch_files import FILE_PURPOSES, FileStore, MultipartError, parse_multipart
from .batch_jobs import BatchBook, BatchConflict, SimBatch
from .http import BadJson, Request, Response, error_response, json_response
from .router import Router

PREFIXES = ("/v1", "/openai", "/openai/v1")
BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions", "/v1/moderations")
AZURE_BATCH_ENDPOINTS = tuple(endpoint.removeprefix("/v1") for endpoint in BATCH_ENDPOINTS)
"""Azure's classic API (`/openai/...`) names a batch's endpoint, and its lines' url, without `/v1`."""
DEFAULT_FILE_PAGE, MAX_FILE_PAGE = 10_000, 10_000
DEFAULT_BATCH_PAGE, MAX_BATCH_PAGE = 20, 100
Hook = Callable[[], Awaitable[None]]


@dataclass
class BatchStats:
    uploads: int = 0
    batches_created: int = 0
    cancels: int = 0
    contents_served: int = 0
    files_deleted: int = 0


class BatchApi:
    """Files and batches of the simulated account, served under /v1 (and Azure's prefixes)."""

    def __init__(self, settings: Callable[[], SimulatorSettings], clock: Callable[[], float],
                 wall_clock: Callable[[], float]) -> None:
        self._settings = settings
        self.files = FileStore()
        self.book = BatchBook(settings, self.files, clock, wall_clock)
        self.stats = BatchStats()
        self.hooks: dict[str, Hook] = {}
        """`file_stored`, `batch_created` or `content`: awaited at that step, before the answer is sent."""

    def add_routes(self, router: Router) -> None:
        routes: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
            ("POST", "/files", self._upload), ("GET", "/files", self._list_files),
            ("GET", "/files/{file_id}", self._get_file), ("DELETE", "/files/{file_id}", self._delete_file),
            ("GET", "/files/{file_id}/content", self._file_content),
            ("POST", "/batches", self._create_batch), ("GET", "/batches", self._list_batches),
            ("GET", "/batches/{batch_id}", self._get_batch), ("POST", "/batches/{batch_id}/cancel", self._cancel),
        ]
        for prefix in PREFIXES:
            for method, path, handler in routes:
                router.add(method, prefix + path, self._guarded(handler))

    def input_files_used(self) -> dict[str, int]:
        """How many batches were created from each input file (a client that creates twice shows a 2)."""
        used: dict[str, int] = {}
        for batch in self.book.all():
            used[batch.input_file_id] = used.get(batch.input_file_id, 0) + 1
        return used

    def _guarded(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            self.book.expire_files()  # output files past their `output_expires_after` are gone
            return check_key(request, self._settings().require_key) or await handler(request)

        return guarded

    async def _hook(self, name: str) -> None:
        hook = self.hooks.get(name)
        if hook is not None:
            await hook()

    # -- files ----------------------------------------------------------------------------

    async def _upload(self, request: Request) -> Response:
        try:
            fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        except MultipartError as exc:
            return error_bodies.bad_request(f"Invalid upload: {exc}.")
        purpose = fields.get("purpose", (None, b""))[1].decode(errors="replace")
        if "file" not in fields or fields["file"][0] is None:
            return error_bodies.bad_request("Missing required parameter: 'file'.", param="file")
        if purpose not in FILE_PURPOSES:
            return error_bodies.bad_request(f"'{purpose}' is not one of {list(FILE_PURPOSES)} - 'purpose'", param="purpose")
        filename, content = fields["file"]
        stored = self.files.add(filename or "upload", purpose, content, int(self.book.now()))
        self.stats.uploads += 1
        await self._hook("file_stored")
        return json_response(200, stored.as_object())

    async def _list_files(self, request: Request) -> Response:
        limit = _limit(request, DEFAULT_FILE_PAGE, MAX_FILE_PAGE)
        if isinstance(limit, Response):
            return limit
        files, more = self.files.page(purpose=request.query.get("purpose"), after=request.query.get("after"),
                                      limit=limit, newest_first=request.query.get("order", "desc") != "asc")
        return _page([f.as_object() for f in files], more)

    async def _get_file(self, request: Request) -> Response:
        stored = self.files.get(request.params["file_id"])
        return json_response(200, stored.as_object()) if stored else _no_file(request.params["file_id"])

    async def _delete_file(self, request: Request) -> Response:
        file_id = request.params["file_id"]
        if not self.files.delete(file_id):
            return _no_file(file_id)
        self.stats.files_deleted += 1
        return json_response(200, {"id": file_id, "object": "file", "deleted": True})

    async def _file_content(self, request: Request) -> Response:
        stored = self.files.get(request.params["file_id"])
        if stored is None:
            return _no_file(request.params["file_id"])
        await self._hook("content")
        self.stats.contents_served += 1
        return Response(200, stored.content)

    # -- batches --------------------------------------------------------------------------

    async def _create_batch(self, request: Request) -> Response:
        try:
            body = request.json()
        except BadJson as exc:
            return error_bodies.bad_json(str(exc))
        refused = self._check_create(body, azure=_azure_classic(request.path))
        if refused is not None:
            return refused
        expiry = body.get("output_expires_after")
        batch = self.book.create(body["input_file_id"], body["endpoint"], body["completion_window"], body.get("metadata"),
                                 None if expiry is None else expiry["seconds"])
        self.stats.batches_created += 1
        await self._hook("batch_created")
        return json_response(200, batch.as_object())

    def _check_create(self, body: dict[str, Any], *, azure: bool) -> Response | None:
        for name in ("input_file_id", "endpoint", "completion_window"):
            if not isinstance(body.get(name), str):
                return error_bodies.bad_request(f"Missing required parameter: '{name}'.", param=name)
        if body["endpoint"] not in (AZURE_BATCH_ENDPOINTS if azure else BATCH_ENDPOINTS):
            return error_bodies.bad_request(f"Invalid endpoint '{body['endpoint']}'.", param="endpoint")
        if body["completion_window"] != "24h":
            return error_bodies.bad_request("Invalid completion_window: only '24h' is supported.", param="completion_window")
        expiry = body.get("output_expires_after")
        if expiry is not None and not _valid_expiry(expiry):
            return error_bodies.bad_request("output_expires_after must be {\"anchor\": \"created_at\", \"seconds\": N} "
                                            "with N from 3600 (1 hour) to 2592000 (30 days).",
                                            param="output_expires_after")
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
            return error_bodies.bad_request("metadata must be an object of at most 16 pairs.", param="metadata")
        stored = self.files.get(body["input_file_id"])
        if stored is None:
            return _no_file(body["input_file_id"], status=400)
        if stored.purpose != "batch":
            return error_bodies.bad_request(f"The file {stored.id} was not uploaded with purpose 'batch'.",
                                            param="input_file_id")
        return None

    async def _list_batches(self, request: Request) -> Response:
        limit = _limit(request, DEFAULT_BATCH_PAGE, MAX_BATCH_PAGE)
        if isinstance(limit, Response):
            return limit
        batches, more = self.book.page(request.query.get("after"), limit)
        return _page([b.as_object() for b in batches], more)

    async def _get_batch(self, request: Request) -> Response:
        batch = self.book.get(request.params["batch_id"])
        return _batch_answer(batch, request.params["batch_id"])

    async def _cancel(self, request: Request) -> Response:
        try:
            batch = self.book.cancel(request.params["batch_id"])
        except BatchConflict as exc:
            return error_response(409, str(exc), type="invalid_request_error")
        if batch is not None:
            self.stats.cancels += 1
        return _batch_answer(batch, request.params["batch_id"])


def _batch_answer(batch: SimBatch | None, batch_id: str) -> Response:
    if batch is None:
        return error_response(404, f"No batch found with id '{batch_id}'.", type="invalid_request_error")
    return json_response(200, batch.as_object())


def _valid_expiry(expiry: Any) -> bool:
    if not isinstance(expiry, dict) or set(expiry) != {"anchor", "seconds"} or expiry["anchor"] != "created_at":
        return False
    seconds = expiry["seconds"]
    return isinstance(seconds, int) and not isinstance(seconds, bool) and 3_600 <= seconds <= 2_592_000


def _no_file(file_id: str, status: int = 404) -> Response:
    return error_response(status, f"No such File object: {file_id}", type="invalid_request_error", param="id")


def _limit(request: Request, default: int, most: int) -> int | Response:
    text = request.query.get("limit")
    try:
        limit = default if text is None else int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        return error_bodies.bad_request(f"limit must be between 1 and {most}.", param="limit")
    return limit


def _page(objects: list[dict[str, Any]], has_more: bool) -> Response:
    return json_response(200, {
        "object": "list", "data": objects, "has_more": has_more,
        "first_id": objects[0]["id"] if objects else None, "last_id": objects[-1]["id"] if objects else None,
    })


def _azure_classic(path: str) -> bool:
    return path.startswith("/openai/") and not path.startswith("/openai/v1/")
