"""The Textual dashboard: a consumer of the engine's events, like the headless reporter."""

from .run import run_dashboard

__all__ = ["run_dashboard"]
