"""The lean sender: the realtime hot path without building an SDK request per attempt.

The official SDK resolves what a request needs once per (endpoint, model): the
final URL (Azure's deployment path and `api-version` query included) and the
headers (API key or Azure key, organization, project, default headers, its own
`x-stainless-*` headers). We ask it for exactly that, through its own request
builder, turn it into the request's head bytes once, and then POST each
rendered body on kept-alive connections (engine/wire.py) and read the answer's
status, headers and JSON without building SDK models. Where the SDK's
authentication is dynamic (an Azure AD token provider, a custom `httpx.Auth`),
the URL or headers could change per request, and where a proxy is set for the
URL the SDK's transport knows how to reach it: then there is no lean sender and
the SDK path is used (see connect.sender_for).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

import openai
from openai._models import FinalRequestOptions

from .. import jsonfast
from ..events import JsonText
from .client import Reply, sdk_path
from .client import send as send_by_sdk  # the SDK's path, for what the lean one hands back
from .wire import Origin, Pool, WireFailure, WireTimeout, request_head, split_url

VOLATILE_HEADERS = frozenset({"content-length", "host", "x-stainless-retry-count", "idempotency-key"})
"""Headers the transport sets per request, or the SDK's per-attempt bookkeeping."""


class RequestShape:
    """The URL and headers the SDK would send for one endpoint and model: where they go, and the bytes that
    start a request there."""

    __slots__ = ("head", "origin")

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self.origin, target = split_url(url)
        self.head = request_head(self.origin, target, headers)


async def resolve_shape(client: openai.AsyncOpenAI, url: str, model: str | None, timeout_s: float) -> RequestShape:
    """Ask the SDK's own request builder for the URL and headers of a POST to `url` for `model`."""
    body: dict[str, Any] = {} if model is None else {"model": model}
    options = FinalRequestOptions.construct(
        method="post", url=sdk_path(url), json_data=body, timeout=timeout_s)
    options = await client._prepare_options(options)
    request = client._build_request(options)
    await client._prepare_request(request)
    headers = {name: value for name, value in request.headers.items() if name.lower() not in VOLATILE_HEADERS}
    return RequestShape(str(request.url), headers)


def dynamic_auth(client: openai.AsyncOpenAI) -> str | None:
    """Why the SDK must send every request itself (its credentials change per request), or None."""
    if client.custom_auth is not None:
        return "custom authentication"
    if getattr(client, "_azure_ad_token_provider", None) is not None:
        return "an Azure AD token provider"
    return None


def proxied(url: str) -> bool:
    """Whether the environment sends requests to `url` through a proxy (the SDK's transport honours it)."""
    origin, _ = split_url(url)
    proxies = urllib.request.getproxies()
    return bool(proxies.get(origin.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(origin.host)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The body's bytes exactly as the SDK's transport encodes its JSON (a JsonText's own text is that)."""
    if type(body) is JsonText:
        return body.text.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class LeanSender:
    """Sends attempts on the URL and headers the SDK resolved. One per run; `close()` it."""

    name = "lean"

    def __init__(self, client: openai.AsyncOpenAI, *, connections: int) -> None:
        self._client = client
        self._connections = connections
        self._pools: dict[Origin, Pool] = {}
        self._routes: dict[tuple[str, str | None, float], tuple[bytes, Pool]] = {}
        """(url, model, timeout) → the request's head and the connections it goes on."""

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
        """One attempt. Never raises for what the server or the network did; it is all in the Reply."""
        model = body.get("model")
        route = self._routes.get((url, model, timeout_s)) if type(model) is str else None
        if route is None:
            route = await self._route(url, model, timeout_s)
        head, pool = route
        try:
            answer = await pool.post(head, encode_body(body), timeout_s)
        except WireTimeout:
            return Reply(None, {}, None, failure="timeout", message=f"no answer within {timeout_s:g}s")
        except WireFailure as error:
            return Reply(error.status, {}, None, failure=error.failure, message=str(error))
        if 300 <= answer.status < 400 and "location" in answer.headers:
            # The SDK follows redirects (a gateway's http → https, say): the request goes its way, whole.
            return await send_by_sdk(self._client, url, body, timeout_s)
        return _reply(answer.status, answer.headers, answer.content)

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def _route(self, url: str, model: Any, timeout_s: float) -> tuple[bytes, Pool]:
        key = (url, model if isinstance(model, str) else None, timeout_s)
        route = self._routes.get(key)
        if route is None:
            shape = await resolve_shape(self._client, url, key[1], timeout_s)
            pool = self._pools.get(shape.origin)
            if pool is None:
                pool = self._pools[shape.origin] = Pool(shape.origin, idle_limit=self._connections)
            route = self._routes[key] = (shape.head, pool)
        return route


def _reply(status: int, headers: Mapping[str, str], content: bytes) -> Reply:
    """The Reply the SDK path makes of the same answer (see client.send)."""
    try:
        data = jsonfast.loads(content)
    except ValueError as error:
        if status >= 400:
            return Reply(status, headers, None, message=f"Error code: {status}")
        return Reply(status, headers, None, failure="malformed", message=f"malformed JSON: {error}")
    if status >= 400:
        return Reply(status, headers, data if isinstance(data, dict) else None, message=status_message(status, data))
    if not isinstance(data, dict):
        return Reply(status, headers, None, failure="malformed", message="response is not a JSON object")
    try:  # the answer keeps the text it came as: storing it then costs no second encoding
        return Reply(status, headers, JsonText(data, content.decode("utf-8")))
    except UnicodeDecodeError:  # JSON in UTF-16 or -32, which json.loads accepts
        return Reply(status, headers, data)


def status_message(status: int, body: Any) -> str:
    """The SDK's wording of an error answer: `Error code: 429 - <the error's message>`."""
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f"Error code: {status} - {message}" if isinstance(message, str) and message else f"Error code: {status}"
