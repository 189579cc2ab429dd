"""One way to send a request, whatever the provider: the official openai SDK.

The SDK's own retries are off (the engine owns retries), and requests go
through its raw-response path (`cast_to=httpx2.Response`) so that the engine
reads the `x-ratelimit-*` headers and skips building pydantic models it would
only turn back into JSON. Network providers use the SDK's aiohttp transport,
which costs about half the CPU of its default one per request.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx2
import openai

from ..errors import UserError
from ..project.schema import LoadedProject
from .retry import Failure

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
TIMEOUT_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back from one attempt: an answer, an error response, or no response at all."""

    status: int | None
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    failure: Failure | None = None
    """`timeout`, `connect` (never connected), `connection` (dropped) or `malformed` when there is no usable body."""
    message: str = ""


def api_key_for(project: LoadedProject) -> str:
    provider = project.spec.provider
    key = (os.environ.get(provider.api_key_env) or "").strip()  # a line break pasted after the key is harmless
    if key:
        if not key.isascii() or not key.isprintable() or " " in key:
            raise UserError(f"the API key in {provider.api_key_env} has a character an HTTP header cannot carry "
                            "(a line break, a space, non-ASCII text): copy the key again, without its surroundings")
        return key
    if provider.kind == "simulator":
        return "sk-simulator"
    raise UserError(
        f"no API key: the environment variable {provider.api_key_env} is not set",
        [],
    )


def build_client(project: LoadedProject, http_client: httpx2.AsyncClient | None = None) -> openai.AsyncOpenAI:
    """An SDK client for the project's provider. `http_client` overrides the transport (tests, the in-process simulator)."""
    provider = project.spec.provider
    common: dict[str, Any] = {
        "api_key": api_key_for(project),
        "max_retries": 0,
        "timeout": project.spec.timeout_s,
        "default_headers": dict(provider.headers) or None,
    }
    if http_client is None and provider.kind == "simulator" and not provider.base_url:
        raise ValueError("the in-process simulator needs its http_client (see oaib_tui.connect.client_for)")
    if http_client is None:
        http_client = openai.DefaultAioHttpClient(timeout=project.spec.timeout_s)
    common["http_client"] = http_client
    if provider.kind == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=provider.base_url or "",  # the schema requires it for azure
            api_version=provider.api_version,
            azure_deployment=provider.deployment,
            **common,
        )
    base_url = provider.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL
    if provider.kind == "simulator" and not provider.base_url:
        base_url = str(http_client.base_url) or "http://simulator.local/v1"
    return openai.AsyncOpenAI(
        base_url=base_url,
        organization=provider.organization,
        project=provider.project,
        **common,
    )


def sdk_path(url: str) -> str:
    """`/v1/chat/completions` → `/chat/completions`: the SDK's base URL already ends in /v1."""
    return url[3:] if url.startswith("/v1/") else url


def _error_body(response: httpx2.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def send(client: openai.AsyncOpenAI, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
    """One attempt. Never raises for what the server or the network did; it is all in the Reply."""
    try:
        # The SDK's own timeout does not reach every transport (an in-process ASGI app ignores
        # it), so the engine bounds each attempt itself as well.
        async with asyncio.timeout(timeout_s + TIMEOUT_GRACE_S):
            response = await client.post(
                sdk_path(url), cast_to=httpx2.Response, body=body, options={"timeout": timeout_s}
            )
    except TimeoutError:
        return Reply(None, {}, None, failure="timeout", message=f"no answer within {timeout_s:g}s")
    except openai.APIStatusError as error:
        return Reply(error.status_code, error.response.headers, _error_body(error.response), message=error.message)
    except openai.APIConnectionError as error:  # APITimeoutError included
        return no_answer(error, timeout_s)
    try:
        data = json.loads(response.content)
    except ValueError as error:
        return Reply(response.status_code, response.headers, None, failure="malformed", message=f"malformed JSON: {error}")
    if not isinstance(data, dict):
        return Reply(response.status_code, response.headers, None, failure="malformed", message="response is not a JSON object")
    return Reply(response.status_code, response.headers, data)


_CANNOT_CONNECT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, httpx2.ConnectError, httpx2.ConnectTimeout)
_DROPPED = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
            httpx2.NetworkError, httpx2.RemoteProtocolError)


def network_failure(error: BaseException) -> Failure:
    """`connect` (never connected), `connection` (dropped after connecting) or `timeout`.

    The SDK's aiohttp transport reports every connection error as a timeout
    (`APITimeoutError` over `httpx2.ConnectTimeout`), so we judge by the
    deepest cause that tells, not by the class the SDK raises.
    """
    for cause in reversed(_causes(error)):
        if isinstance(cause, _CANNOT_CONNECT):
            return "connect"
        if isinstance(cause, _DROPPED):
            return "connection"
    return "timeout" if isinstance(error, openai.APITimeoutError) else "connection"


def _causes(error: BaseException) -> list[BaseException]:
    chain = [error]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain


def no_answer(error: BaseException, timeout_s: float) -> Reply:
    """The Reply for an attempt that got no answer: never connected, dropped, or timed out."""
    failure = network_failure(error)
    if failure == "timeout":
        return Reply(None, {}, None, failure="timeout", message=f"no answer within {timeout_s:g}s")
    verb = "cannot connect" if failure == "connect" else "connection failed"
    return Reply(None, {}, None, failure=failure, message=f"{verb}: {_causes(error)[-1]}")


class Sender(Protocol):
    """How the realtime executor sends one attempt: the SDK's path, or the lean one (engine/lean.py)."""

    name: str

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply: ...
    async def close(self) -> None: ...


class SdkSender:
    """Every attempt through the official SDK's `post` (the path for any client, any authentication)."""

    name = "sdk"

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self.client = client

    async def send(self, url: str, body: dict[str, Any], timeout_s: float) -> Reply:
        return await send(self.client, url, body, timeout_s)

    async def close(self) -> None:
        """The client is its owner's to close."""


UNREACHABLE_AFTER_ATTEMPTS = 3
"""Attempts that could not connect, with no answer yet in this run, before the run stops as unreachable."""


def unreachable_advice(base_url: str) -> str:
    return (f"cannot connect to the API at {base_url}. Check provider.base_url, that the server is running, "
            "and the network (nothing was marked failed)")
