"""Fixtures for the simulator's tests: a fake clock and sleep, and apps with clients on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
from sim_helpers import FakeClock, FakeSleep

from oaib_tui.project.schema import SimulatorSettings
from oaib_tui.sim import SimulatorApp, create_app
from oaib_tui.sim.client import simulator_openai_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


MakeApp = Callable[..., SimulatorApp]


@pytest.fixture
def make_app(clock: FakeClock, fake_sleep: FakeSleep) -> MakeApp:
    """`make_app(rpm=..., ...)`: a simulator on the fake clock, latency 0 unless given."""

    def make(**settings: Any) -> SimulatorApp:
        settings.setdefault("latency_ms", 0)
        return create_app(SimulatorSettings(**settings), clock=clock, sleep=fake_sleep, wall_clock=lambda: 1_750_000_000.0)

    return make


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[SimulatorApp], openai.AsyncOpenAI]]:
    """`client_for(app)`: the SDK on the app in-process; closed after the test."""
    clients: list[openai.AsyncOpenAI] = []

    def make(app: SimulatorApp, api_key: str = "sk-sim") -> openai.AsyncOpenAI:
        clients.append(simulator_openai_client(app, api_key=api_key))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()
