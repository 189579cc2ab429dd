"""The small HTTP layer of the simulator: a request, a response, and the ASGI plumbing between them.

The simulator is a pure ASGI app with no web framework, so that it adds
nothing to the engine's overhead when it answers in-process.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_CONTENT_TYPE = (b"content-type", b"application/json")


class BadJson(ValueError):
    """The request body is not a JSON object."""


@dataclass
class Request:
    """One HTTP request as the simulator's handlers see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    """Values of the `{name}` parts of the matched route."""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; raises :class:`BadJson` otherwise."""
        try:
            value = json.loads(self.body) if self.body else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadJson(str(exc)) from exc
        if not isinstance(value, dict):
            raise BadJson("the body is not a JSON object")
        return value


@dataclass
class Response:
    """One HTTP response: status, raw body and extra headers."""

    status: int
    body: bytes
    headers: Headers = field(default_factory=list)


def dump_json(value: Any) -> bytes:
    """Compact JSON bytes, as an API server sends them."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, value: Any, headers: Headers | None = None) -> Response:
    return Response(status, dump_json(value), headers or [])


def error_response(
    status: int,
    message: str,
    *,
    type: str,
    code: str | None = None,
    param: str | None = None,
    headers: Headers | None = None,
) -> Response:
    """An OpenAI-style error: `{"error": {"message", "type", "param", "code"}}`."""
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return json_response(status, body, headers)


def request_from_scope(scope: Scope, body: bytes) -> Request:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    return Request(scope["method"].upper(), scope["path"], query, headers, body)


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(send: Send, response: Response) -> None:
    headers = [JSON_CONTENT_TYPE, (b"content-length", str(len(response.body)).encode()), *response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def run_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge a server's startup and shutdown; the simulator needs neither."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
