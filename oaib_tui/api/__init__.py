"""The Python API: build a job in code, run it, get results back (see docs/python-api.md)."""

from .clients import simulator_client
from .job import Job
from .results import Result, Results

__all__ = ["Job", "Result", "Results", "simulator_client"]
