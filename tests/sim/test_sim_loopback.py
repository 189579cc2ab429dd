"""The simulator served by uvicorn on 127.0.0.1, spoken to over real HTTP by the SDK."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx2
import openai
import pytest
from sim_helpers import chat_body

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim import ConnectionDropped, create_app
from oaib_tui.sim.server import DropConnections, is_loopback, running_server, serve


def loopback_client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key="sk-sim", max_retries=0, timeout=10)


async def test_real_http_requests_get_headers_and_a_429() -> None:
    app = create_app(SimulatorSettings(latency_ms=0, rpm=2))
    with running_server(app=app) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        async with loopback_client(base_url) as client:
            raw = await client.chat.completions.with_raw_response.create(**chat_body())
            await client.chat.completions.create(**chat_body())
            with pytest.raises(openai.RateLimitError) as caught:
                await client.chat.completions.create(**chat_body())
        async with httpx2.AsyncClient() as http:
            stats = (await http.get(base_url.removesuffix("/v1") + "/sim/stats")).json()
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
    assert caught.value.body["type"] == "requests"
    assert int(caught.value.response.headers["retry-after-ms"]) > 20_000
    assert stats["received"] == 3 and stats["rate_limited"] == {"requests": 1}


async def test_a_dropped_connection_is_an_api_connection_error_over_http() -> None:
    app = create_app(SimulatorSettings(latency_ms=0))
    with running_server(app=app) as base_url:
        app.inject("drop")
        async with loopback_client(base_url) as client:
            with pytest.raises(openai.APIConnectionError):
                await client.chat.completions.create(**chat_body())
            assert (await client.chat.completions.create(**chat_body())).choices  # the server lives on
    assert app.stats.faults == {"drop": 1} and app.stats.answered == 1


def test_a_dropped_connection_closes_the_socket_without_a_byte() -> None:
    app = create_app(SimulatorSettings(latency_ms=0))
    with running_server(app=app) as base_url:
        app.inject("drop")
        address = urlsplit(base_url)
        body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}'
        with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            assert sock.recv(1024) == b""


def test_the_server_stops_when_the_block_ends() -> None:
    with running_server(SimulatorSettings(latency_ms=0)) as base_url:
        address = urlsplit(base_url)
        socket.create_connection((address.hostname, address.port), timeout=2).close()
    with pytest.raises(OSError):
        socket.create_connection((address.hostname, address.port), timeout=2).close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="only loopback"), running_server(SimulatorSettings(), host=host):
        pass  # pragma: no cover - never reached
    with pytest.raises(ValueError, match="only loopback"):
        serve(SimulatorSettings(), host=host, port=0)


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True), ("10.0.0.1", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


class FakeTransport:
    def __init__(self, cycle: FakeCycle) -> None:
        self.cycle = cycle

    def close(self) -> None:
        self.cycle.disconnected = True  # uvicorn learns it a loop turn later; near enough


class FakeCycle:
    """The shape of uvicorn's request cycle that DropConnections relies on."""

    def __init__(self) -> None:
        self.disconnected = False
        self.transport = FakeTransport(self)
        self.sent: list[dict] = []

    async def send(self, message: dict) -> None:
        self.sent.append(message)


async def dropping_app(scope, receive, send) -> None:
    raise ConnectionDropped("cut")


async def test_drop_middleware_closes_the_transport_and_sends_nothing() -> None:
    cycle = FakeCycle()
    await DropConnections(dropping_app)({"type": "http"}, None, cycle.send)
    assert cycle.disconnected and cycle.sent == []


async def test_drop_middleware_without_a_transport_starts_a_response_and_fails_it() -> None:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    with pytest.raises(ConnectionDropped):
        await DropConnections(dropping_app)({"type": "http"}, None, send)
    assert [message["type"] for message in sent] == ["http.response.start"]
