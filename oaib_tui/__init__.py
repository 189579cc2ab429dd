"""oaib-tui: run large jobs of OpenAI-style API requests, realtime or through the Batch API.

From Python::

    from oaib_tui import Job
    job = Job(model="gpt-4o-mini", limits={"tpm": 200_000}, state="out/x.state.db")
    job.add(messages=[{"role": "user", "content": "Hello"}], custom_id="hello", metadata={"row": 1})
    results = await job.run()          # or job.run_sync() outside an event loop
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["Job", "Result", "Results", "Usage", "UserError", "__version__", "simulator_client"]

if TYPE_CHECKING:
    from .api import Job, Result, Results, simulator_client
    from .errors import UserError
    from .events import Usage


def __getattr__(name: str):
    # The API is loaded on first use, so that `oaib-tui --version` and the engine's own
    # imports do not pay for it.
    if name in ("Job", "Result", "Results", "simulator_client"):
        from . import api

        return getattr(api, name)
    if name == "Usage":
        from .events import Usage

        return Usage
    if name == "UserError":
        from .errors import UserError

        return UserError
    raise AttributeError(f"module 'oaib_tui' has no attribute {name!r}")
