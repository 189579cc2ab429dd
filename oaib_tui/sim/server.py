"""Serving the simulator over HTTP with uvicorn: in the foreground, or in a thread for tests.

Only loopback addresses are served unless `allow_remote=True` says otherwise:
the simulator has no real authentication and must not face a network by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from ..project.schema import SimulatorSettings
from .app import SimulatorApp, create_app
from .faults import ConnectionDropped
from .http import Receive, Scope, Send

log = logging.getLogger("oaib_tui.sim")

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_host(host: str, allow_remote: bool) -> None:
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to serve the simulator on {host!r}: only loopback addresses (127.0.0.1, ::1, localhost) "
            "are allowed unless allow_remote=True"
        )


class DropConnections:
    """ASGI middleware that turns :class:`ConnectionDropped` into a socket closed without a byte.

    uvicorn answers an app that fails before starting its response with a
    500, so we close the connection's transport ourselves. uvicorn hands the
    app its request cycle's bound `send`, whose owner holds the transport.
    Where that is not so, we fall back to starting a response and failing
    mid-way, which uvicorn answers by closing the connection.
    """

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            cycle = getattr(send, "__self__", None)
            transport = getattr(cycle, "transport", None)
            if cycle is None or transport is None or not hasattr(cycle, "disconnected"):
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
                raise
            transport.close()
            # Let the loop run connection_lost, so uvicorn knows there is no one left to send a 500 to.
            for _ in range(100):
                if cycle.disconnected:
                    break
                await asyncio.sleep(0)


def _config(app: SimulatorApp, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        DropConnections(app),
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="asyncio",
        timeout_graceful_shutdown=1,
        **options,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say TCP. Without it
    # Nagle holds each answer's body behind its headers until the client's delayed ACK: 40 ms an answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/v1"


def serve(
    settings: SimulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    allow_remote: bool = False,
    app: SimulatorApp | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the simulator until interrupted, saying its base URL once."""
    _check_host(host, allow_remote)
    app = app or create_app(settings)
    sock = _bind(host, port)
    announce(f"oaib-tui simulator listening on {_base_url(sock)} (Ctrl+C to stop)")
    uvicorn.Server(_config(app)).run(sockets=[sock])


@contextlib.contextmanager
def running_server(
    settings: SimulatorSettings | None = None,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    app: SimulatorApp | None = None,
    allow_remote: bool = False,
) -> Iterator[str]:
    """Serve the simulator in a background thread; yield its base URL (`http://127.0.0.1:PORT/v1`).

    Port 0 picks a free port. Pass `app` to keep a handle on it (stats,
    inject, update). The server stops when the block ends.
    """
    _check_host(host, allow_remote)
    app = app or create_app(settings)
    sock = _bind(host, port)
    server = uvicorn.Server(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="oaib-sim-server", daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield _base_url(sock)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    if not server.started:
        raise RuntimeError("the simulator's server did not start")
