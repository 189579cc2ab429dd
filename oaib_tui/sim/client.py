"""Clients wired to an in-process simulator: no socket, no port, no network."""

from __future__ import annotations

import httpx2
import openai

from .app import SimulatorApp

IN_PROCESS_BASE_URL = "http://simulator.local/v1"


def simulator_http_client(app: SimulatorApp) -> httpx2.AsyncClient:
    """An httpx2 client whose requests the app answers directly (base URL `http://simulator.local/v1`).

    ASGITransport ignores httpx timeouts: a caller that must time out
    (the `timeout` fault) needs its own `asyncio.timeout` around the call.
    """
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=IN_PROCESS_BASE_URL)


def simulator_openai_client(app: SimulatorApp, api_key: str = "sk-sim") -> openai.AsyncOpenAI:
    """The official SDK's async client on the in-process simulator, with the SDK's own retries off."""
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=IN_PROCESS_BASE_URL,
        http_client=simulator_http_client(app),
        max_retries=0,
    )
