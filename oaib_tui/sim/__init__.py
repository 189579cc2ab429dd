"""The built-in OpenAI-compatible simulator: an ASGI app, usable in-process or on loopback.

`create_app(settings)` builds it; `client.simulator_openai_client(app)` talks to
it in-process; `server.running_server(settings)` serves it on 127.0.0.1.
"""

from .app import SimulatorApp, create_app
from .faults import FAULT_KINDS, ConnectionDropped
from .ratelimit import openai_duration
from .stats import SimulatorStats

__all__ = ["FAULT_KINDS", "ConnectionDropped", "SimulatorApp", "SimulatorStats", "create_app", "openai_duration"]
