"""A job's results read back from its state file, in input order.

The state file may hold more than this job's requests (an earlier job that
used the same file, a request whose body has since changed): a result counts
only if an item finished with the same custom_id and the same request body as
one of the job's requests. Items are matched in one pass over both, in order;
an item found at another place (the input was reordered) is looked up by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..project import PreparedRequest, RequestPlan
from ..project.schema import LoadedProject
from ..state import StateReader
from ..state.schema import FINISHED
from .results import Result, result_from_row

MetadataOf = Callable[[dict[str, Any]], Any]
"""The metadata of a request, from its kept fields."""


def job_results(project: LoadedProject, metadata_of: MetadataOf) -> Iterator[Result]:
    """Every finished request of the project, in input order (nothing if it never ran)."""
    if not project.state_path.exists():
        return
    reader = StateReader.open_readonly(project.state_path, project_name=project.name)
    try:
        yield from _matched(RequestPlan(project), reader, metadata_of)
    finally:
        reader.close()


def _matched(plan: RequestPlan, reader: StateReader, metadata_of: MetadataOf) -> Iterator[Result]:
    finished = reader.iter_results(FINISHED)
    row = next(finished, None)
    for line in plan.lines():
        while row is not None and row["seq"] < line.seq:
            row = next(finished, None)
        request = plan.prepare(line)
        found = row if _same_item(row, request) else _elsewhere(reader, request)
        if found is not None:
            yield result_from_row(found, metadata_of(request.keep))


def _same_item(row: dict[str, Any] | None, request: PreparedRequest) -> bool:
    return (row is not None and row["seq"] == request.seq and row["custom_id"] == request.custom_id
            and row["body_hash"] == request.body_hash)


def _elsewhere(reader: StateReader, request: PreparedRequest) -> dict[str, Any] | None:
    if reader.finished_status(request.custom_id, request.body_hash) is None:
        return None
    return reader.item(request.custom_id)
