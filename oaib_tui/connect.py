"""The SDK client a project runs with: its provider's, or one answered by the in-process simulator.

The engine only sends through a client it is given; building the simulator is
this layer's job, so the engine never imports it.
"""

from __future__ import annotations

import httpx2
import openai

from .engine.client import build_client
from .project.schema import LoadedProject


def client_for(project: LoadedProject, http_client: httpx2.AsyncClient | None = None) -> openai.AsyncOpenAI:
    """An SDK client for the project: `provider.kind: simulator` without a base_url runs in this process."""
    provider = project.spec.provider
    if http_client is None and provider.kind == "simulator" and not provider.base_url:
        from .sim.app import (
            create_app,  # the simulator is loaded only by runs that use it
        )
        from .sim.client import simulator_http_client

        http_client = simulator_http_client(create_app(provider.simulator))
    return build_client(project, http_client)
