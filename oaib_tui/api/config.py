"""A Python job's settings as a project: the same keys and checks as a project file.

`Job(model=..., limits={...}, ...)` is turned into the mapping a project file
would hold, with one source: the job's spool file in `batch` format. Bad
settings raise the same UserError a project file would, naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import UserError
from ..project.loader import project_from_mapping
from ..project.schema import LoadedProject, Project
from ..project.validation import schema_problems
from .spool import SOURCE_NAME

LABEL = "Job(...)"
METADATA_FIELD = "metadata"
"""The spool line's field that carries each request's metadata; kept with its result in the state file."""
DEFAULT_NAME = "job"


def job_name(name: str | None, state: str | Path | None) -> str:
    """The job's name: given, else the state file's stem without `.state`, else `job`."""
    if name:
        return name
    if state is not None:
        stem = Path(state).name.split(".")[0]
        return stem or DEFAULT_NAME
    return DEFAULT_NAME


def job_settings(*, name: str, model: str, mode: str, endpoint: str, state: str | Path | None,
                 sections: dict[str, Any]) -> dict[str, Any]:
    """The project mapping of a job, without its source; sections left as None are left out."""
    settings: dict[str, Any] = {"name": name, "model": model, "mode": mode, "endpoint": endpoint}
    if state is not None:
        settings["state"] = str(state)
    if isinstance(sections.get("provider"), str):
        sections = {**sections, "provider": {"kind": sections["provider"]}}
    settings.update({key: value for key, value in sections.items() if value is not None})
    return settings


def check_settings(settings: dict[str, Any]) -> None:
    """Raise UserError, naming every bad key, if the settings could not make a project."""
    placeholder = {**settings, "sources": [{"path": "spool.jsonl", "format": "batch"}]}
    try:
        Project.model_validate(placeholder)
    except ValidationError as exc:
        raise UserError(f"{LABEL}: invalid settings", schema_problems(exc, Project, placeholder, {}, LABEL)) from None


def spool_project(settings: dict[str, Any], spool: Path, state: Path) -> LoadedProject:
    """The project a job runs: its settings, and the spool file as its only source.

    Output files not named go beside the state file, so a job that writes none creates no `out/` folder.
    """
    beside = {"results": str(state.with_name(f"{settings['name']}.results.jsonl")),
              "errors": str(state.with_name(f"{settings['name']}.errors.jsonl"))}
    output = {**beside, **(settings.get("output") or {})}
    keep = list(output.get("keep") or [])
    output["keep"] = keep if METADATA_FIELD in keep else [*keep, METADATA_FIELD]
    data = {**settings, "output": output,
            "sources": [{"path": str(spool.absolute()), "format": "batch", "name": SOURCE_NAME}]}
    return project_from_mapping(data, path=Path.cwd() / settings["name"], label=LABEL)
