"""Clients a job can be handed: any `openai.AsyncOpenAI`, or one on the built-in simulator."""

from __future__ import annotations

from typing import Any

import openai
from pydantic import ValidationError

from ..errors import UserError
from ..project.schema import SimulatorSettings
from ..project.validation import schema_problems


def simulator_client(**settings: Any) -> openai.AsyncOpenAI:
    """An `AsyncOpenAI` client answered by a simulator inside this process: no network, no key, no cost.

    Keyword arguments are simulator settings (`rpm`, `tpm`, `latency_ms`,
    `fail_rate`, `seed`, … as under `provider.simulator` in a project file).
    """
    from ..sim.app import create_app
    from ..sim.client import simulator_openai_client

    try:
        chosen = SimulatorSettings(**settings)
    except ValidationError as exc:
        label = "simulator_client(...)"
        raise UserError(f"{label}: invalid settings", schema_problems(exc, SimulatorSettings, settings, {}, label)) from None
    return simulator_openai_client(create_app(chosen))


def engine_client(client: Any) -> openai.AsyncOpenAI:
    """The client as the engine needs it: the SDK's own retries off (the engine owns retries)."""
    if not isinstance(client, openai.AsyncOpenAI):
        raise TypeError(f"client must be an openai.AsyncOpenAI (or AsyncAzureOpenAI) client, got {type(client).__name__}")
    # with_options shares the caller's connection pool; the caller keeps the client and closes it.
    return client.with_options(max_retries=0)
