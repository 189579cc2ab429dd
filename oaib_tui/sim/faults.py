"""Which fault, if any, strikes a request: scripted by a test, or drawn by chance from the seed.

A random fault depends only on (seed, the request's arrival ordinal), so a run
is reproducible whatever the timing, and changing a rate live keeps every
other request's draw.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable

import httpx2

from ..project.schema import SimulatorSettings

SERVER_ERRORS = ("500", "502", "503")
FAULT_KINDS = (
    "ok",
    "429-requests",
    "429-tokens",
    "unavailable",
    *SERVER_ERRORS,
    "drop",
    "slow",
    "malformed",
    "quota",
    "401",
    "timeout",
    "400",
)
"""What :meth:`FaultPlan.inject` accepts; `ok` scripts a normal answer, `unavailable` flex's 429 `resource_unavailable`."""


class ConnectionDropped(httpx2.RemoteProtocolError):
    """Raised by the app instead of answering: the connection is cut.

    In-process (ASGITransport) the exception reaches the client, and as an
    httpx2 transport error the openai SDK surfaces it as
    `openai.APIConnectionError`. Over HTTP, :mod:`oaib_tui.sim.server`
    closes the socket without a byte of response.
    """


class FaultPlan:
    """The scripted outcomes still to come, and the random draw for the rest."""

    def __init__(self) -> None:
        self._script: deque[str] = deque()
        self._lock = threading.Lock()

    def inject(self, kinds: Iterable[str]) -> None:
        """Script the outcomes of the next requests, one kind each, in order."""
        kinds = list(kinds)
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; expected one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._script.extend(kinds)

    @property
    def pending(self) -> int:
        """Scripted outcomes not yet used."""
        return len(self._script)

    def next(self, settings: SimulatorSettings, ordinal: int) -> str | None:
        """This request's fault kind, or None for a normal answer."""
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return None if scripted == "ok" else scripted
        return random_fault(settings, ordinal)


def random_fault(settings: SimulatorSettings, ordinal: int) -> str | None:
    """The fault drawn for request number `ordinal`, from the configured rates.

    One draw picks at most one of 5xx, drop and malformed (so each happens at
    exactly its rate); a second draw makes `slow_rate` of the rest slow.
    """
    fail, drop, malformed, slow = settings.fail_rate, settings.drop_rate, settings.malformed_rate, settings.slow_rate
    if not (fail or drop or malformed or slow):
        return None  # the zero-fault path costs no random generator
    rng = random.Random(f"{settings.seed}:{ordinal}")
    draw, slow_draw, server_error = rng.random(), rng.random(), rng.choice(SERVER_ERRORS)
    if draw < fail:
        return server_error
    if draw < fail + drop:
        return "drop"
    if draw < fail + drop + malformed:
        return "malformed"
    return "slow" if slow_draw < slow else None
