"""Load a project file: YAML with positions, the schema, the sources and the templates.

Every problem found is reported at once, each with its file, line, column,
dotted key, what was expected and, where we can guess, a suggestion.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from oaib_tui.errors import Problem, UserError, did_you_mean
from oaib_tui.project.api_checks import unpriced_cap_problems
from oaib_tui.project.requests import body_template
from oaib_tui.project.schema import LoadedProject, Project
from oaib_tui.project.sources import (
    RecordError,
    SourceReader,
    display_path,
    readable_problem,
)
from oaib_tui.project.template import FieldUse, Template, TemplateSyntaxError, has_field
from oaib_tui.project.tier_checks import service_tier_problems
from oaib_tui.project.validation import describe_value, schema_problems
from oaib_tui.project.yamlpos import Position, locate, parse_yaml

_BOM = "\ufeff"


def load_project(path: str | Path) -> LoadedProject:
    """Read, validate and check a project file; raises UserError listing every problem."""
    path = Path(path)
    label = display_path(path.absolute())
    document = parse_yaml(_read_text(path, label), label)
    data = document.data
    if data is None:
        raise UserError(f"{label} is empty", [Problem("the project file is empty; it needs at least `model` and `sources`", file=label)])
    if not isinstance(data, dict):
        found = describe_value(data)
        raise UserError(
            f"{label} is not a valid project",
            [Problem(f"expected a mapping of keys (`model:`, `sources:`, …) at the top, got {found}", file=label, line=1, column=1)],
        )
    return _checked_project(data, path.absolute(), label, document.positions, list(document.duplicates))


def project_from_mapping(data: dict[str, Any], *, path: str | Path, label: str = "the project") -> LoadedProject:
    """Validate and check a project given as a mapping (no YAML file); raises UserError listing every problem.

    `path` stands in for the project file: relative paths (`state`, sources,
    outputs) resolve from its folder and its stem names the project unless
    `name` is set. Problems name `label` and the dotted key (no line numbers).
    """
    return _checked_project(data, Path(path).absolute(), label, {}, [])


def _checked_project(data: dict[str, Any], path: Path, label: str, positions: dict[str, Position],
                     problems: list[Problem]) -> LoadedProject:
    spec = None
    try:
        spec = Project.model_validate(data)
    except ValidationError as exc:
        problems += schema_problems(exc, Project, data, positions, label)
    problems += _template_syntax_problems(data, positions, label)
    if spec is not None and not problems:
        problems += unpriced_cap_problems(spec, positions, label) + service_tier_problems(spec, positions, label)
    if problems or spec is None:
        raise UserError(f"{label} is not a valid project", sorted(problems, key=_reading_order))
    project = LoadedProject(spec=spec, path=path, name=spec.name or path.stem, positions=positions)
    problems = path_clashes(project, label) or _SourceCheck(project, label).problems()
    if problems:
        raise UserError(f"{label} is not a valid project", problems)
    return project


def path_clashes(project: LoadedProject, label: str) -> list[Problem]:
    """Files the run writes (results, errors, state) must be distinct from each other and from what it reads."""
    written = [("output.results", project.results_path), ("output.errors", project.errors_path),
               ("state", project.state_path)]
    read = [("the project file", project.path)] + [
        (f"sources[{i}].path", project.resolve(source.path))
        for i, source in enumerate(project.spec.sources) if source.path is not None]
    problems = []
    for index, (key, path) in enumerate(written):
        for other_key, other in written[:index] + read:
            if _same_file(path, other):
                what = other_key if other_key.startswith("the ") else f"`{other_key}`"
                problems.append(Problem(f"{display_path(path)} is also {what}: the run would overwrite it",
                                        file=label, key=key, hint="give each output its own file name",
                                        **_at(project.positions, key)))
                break
    return problems


def _same_file(one: Path, other: Path) -> bool:
    if os.path.realpath(one) == os.path.realpath(other):  # realpath, unlike resolve(), never raises on a loop
        return True
    try:
        return one.samefile(other)  # a hard link, or a path through another link
    except OSError:
        return False  # one of them does not exist yet


def _reading_order(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)


def _read_text(path: Path, label: str) -> str:
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # a pipe would block, a device never end
            raise UserError(f"cannot read {label}", [Problem("not a regular file (a pipe, a device or a socket)",
                                                             file=label)])
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {label}", [_unreadable(exc, path, label)]) from None
    try:
        return data.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"byte {data[exc.start]:#04x} is not UTF-8 text"
        problem = Problem(message, file=label, line=line, column=column, hint="save the file as UTF-8")
        raise UserError(f"{label} is not UTF-8 text", [problem]) from None


def _unreadable(exc: OSError, path: Path, label: str) -> Problem:
    if isinstance(exc, FileNotFoundError):
        return Problem("no such file", file=label, hint=_sibling_hint(path))
    if isinstance(exc, IsADirectoryError):
        return Problem("this is a folder, not a project file", file=label)
    if isinstance(exc, PermissionError):
        return Problem("permission denied", file=label)
    return Problem(exc.strerror or str(exc), file=label)


def _sibling_hint(path: Path) -> str | None:
    """"did you mean" among the files next to a missing one."""
    try:
        names = [p.name for p in itertools.islice(path.parent.iterdir(), 2000) if p.name != path.name]
    except OSError:
        return None
    return did_you_mean(path.name, names)


def _at(positions: dict[str, Position], key: str) -> dict[str, int]:
    found = locate(positions, key)
    return {"line": found[0], "column": found[1]} if found else {}


def _template_syntax_problems(data: dict, positions: dict[str, Position], label: str) -> list[Problem]:
    """Stray braces and bad field names in `request` and each `sources[i].id`, from the raw data."""
    templates: list[tuple[Any, str, bool]] = []
    if isinstance(data.get("request"), dict):
        templates.append((data["request"], "request", False))
    sources = data.get("sources")
    for index, source in enumerate(sources if isinstance(sources, list) else []):
        if isinstance(source, dict) and isinstance(source.get("id"), str):
            templates.append((source["id"], f"sources[{index}].id", True))
    problems = []
    for value, key, text_only in templates:
        try:
            Template(value, key, text_only=text_only)
        except TemplateSyntaxError as exc:
            problems += [Problem(i.message, file=label, key=i.key, hint=i.hint, **_at(positions, i.key)) for i in exc.issues]
    return problems


class _SourceCheck:
    """After the schema: can each source be read, and does its first record have the fields used?"""

    def __init__(self, project: LoadedProject, label: str) -> None:
        self.project = project
        self.label = label
        self.body = Template(body_template(project.spec.request, project.spec.model), "request")

    def problems(self) -> list[Problem]:
        readers, problems = self._readers()
        problems += self._shared_names(readers)
        if problems:
            return problems
        if not self.project.spec.request and any(r.format != "batch" for r in readers):
            problems.append(self._here("request", "`request` is empty: there is no body template to fill in",
                                       hint="e.g. request: {messages: [{role: user, content: \"{text}\"}]}"))
        for reader in readers:
            problems += self._first_record_problems(reader)
        return problems

    def _here(self, key: str, message: str, hint: str | None = None) -> Problem:
        return Problem(message, file=self.label, key=key, hint=hint, **_at(self.project.positions, key))

    def _readers(self) -> tuple[list[SourceReader], list[Problem]]:
        readers, problems = [], []
        for index, source in enumerate(self.project.spec.sources):
            key = f"sources[{index}].path"
            if source.path is not None:
                path = self.project.resolve(source.path)
                reason = readable_problem(path)
                if reason:
                    message = f"{reason}: {display_path(path)}"
                    hint = _sibling_hint(path) if reason == "no such file" else None
                    problems.append(self._here(key, message, hint))
                    continue
            try:
                readers.append(SourceReader(self.project, index))
            except RecordError as exc:
                problems.append(self._here(key, str(exc)))
        return readers, problems

    def _shared_names(self, readers: list[SourceReader]) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for reader in readers:
            if reader.name in seen:
                message = f"sources[{seen[reader.name]}] and sources[{reader.index}] are both named `{reader.name}`"
                hint = "give one of them a `name:`; names keep default custom_ids and resume keys apart"
                problems.append(self._here(f"sources[{reader.index}]", message, hint))
            seen.setdefault(reader.name, reader.index)
        return problems

    def _first_record_problems(self, reader: SourceReader) -> list[Problem]:
        lines = reader.raw_lines()
        try:
            line, raw = next(lines)
            record = reader.parse(raw)
        except UserError as exc:
            return exc.problems
        except RecordError as exc:
            return [Problem(str(exc), file=reader.label, line=line)]
        finally:
            lines.close()
        if reader.format == "batch":
            return []
        id_template = Template(reader.spec.id, f"sources[{reader.index}].id", text_only=True) if reader.spec.id else None
        uses = self.body.uses + (id_template.uses if id_template else [])
        return [self._missing_field(reader, line, use, record) for use in _distinct(uses) if not has_field(record, use.path)]

    def _missing_field(self, reader: SourceReader, line: int, use: FieldUse, record: dict) -> Problem:
        where: dict[str, int] = {"line": line}
        if reader.format == "items":
            where = _at(self.project.positions, f"sources[{reader.index}].items[0]") or where
        what = "header" if reader.format == "csv" else "record"
        message = f"the first {what} has no field `{use.name}` (used in {use.key})"
        names = [k for k in record if isinstance(k, str)]
        hint = did_you_mean(use.name, names) if len(use.path) == 1 else None
        return Problem(message, file=reader.label, hint=hint, line=where.get("line"), column=where.get("column"))


def _distinct(uses: list[FieldUse]) -> list[FieldUse]:
    seen: dict[tuple[str, str], FieldUse] = {}
    for use in uses:
        seen.setdefault((use.name, use.key), use)
    return list(seen.values())
