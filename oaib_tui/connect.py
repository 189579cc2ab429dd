"""The SDK client a project runs with: its provider's, or one answered by the in-process simulator.

The engine only sends through a client it is given; building the simulator is
this layer's job, so the engine never imports it.
"""

from __future__ import annotations

import httpx2
import openai

from .engine.client import SdkSender, Sender, build_client
from .engine.lean import LeanSender, dynamic_auth, proxied
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


def sender_for(project: LoadedProject, client: openai.AsyncOpenAI, *, own_transport: bool) -> Sender:
    """The lean sender where it sends what the SDK would, else the SDK's own path.

    `own_transport`: the client was built here for the provider's network address.
    A transport handed in (a test's, the in-process simulator's) has no socket the
    lean sender could reach, dynamic credentials need the SDK per request, and a
    proxy set in the environment is reached by the SDK's transport.
    """
    provider = project.spec.provider
    in_process = provider.kind == "simulator" and not provider.base_url
    if not own_transport or in_process or dynamic_auth(client) is not None or proxied(str(client.base_url)):
        return SdkSender(client)
    return LeanSender(client, connections=project.spec.limits.concurrency)
