"""The state file: what makes every run resumable, and the output files written from it."""

from .outputs import OutputCounts, answer_text, export_csv, write_outputs
from .reader import StateReader, Totals
from .schema import SCHEMA_VERSION, STATUSES
from .store import StateStore

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "OutputCounts",
    "StateReader",
    "StateStore",
    "Totals",
    "answer_text",
    "export_csv",
    "write_outputs",
]
