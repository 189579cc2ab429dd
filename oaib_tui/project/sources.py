"""Where records come from, read as streams: JSONL, CSV, text, batch-input files and inline items.

Reading is split in two so that a resumed run can skip done records cheaply:
:meth:`SourceReader.raw_lines` yields each record's raw text with its line
number and parses nothing it does not have to; :meth:`SourceReader.parse`
turns one raw text into a record.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from oaib_tui import jsonfast
from oaib_tui.errors import Problem, UserError
from oaib_tui.project.schema import LoadedProject, Source

FILE_FORMATS = ("jsonl", "csv", "txt", "batch")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "txt"}
_BOM = "\ufeff"


class RecordError(ValueError):
    """One raw record cannot be read; the caller adds the file and line."""


def display_path(path: Path) -> str:
    """A path as people want to read it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_of(source: Source, path: Path | None) -> str:
    """`items`, the explicit `format:`, or the format told by the file's extension and first line."""
    if source.items is not None:
        return "items"
    if source.format is not None:
        return source.format
    assert path is not None
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise RecordError(
            f"cannot tell the format of `{path.name}` from its extension; "
            f"set `format:` to one of {', '.join(FILE_FORMATS)}"
        )
    if found == "jsonl" and _looks_like_batch_input(path):
        return "batch"
    return found


def _looks_like_batch_input(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            for data in file:
                if data.strip():
                    first = json.loads(data.decode("utf-8").lstrip(_BOM))
                    return isinstance(first, dict) and "custom_id" in first and "body" in first
    except (OSError, ValueError):
        pass  # reading the source reports these, with the line
    return False


class SourceReader:
    """One source of a project: its name, format and file, readable as a stream."""

    def __init__(self, project: LoadedProject, index: int) -> None:
        self.index = index
        self.spec: Source = project.spec.sources[index]
        self.path: Path | None = project.resolve(self.spec.path) if self.spec.path is not None else None
        self.label = display_path(self.path if self.path is not None else project.path)
        self.format = format_of(self.spec, self.path)
        self.name = self.spec.name or (self.path.stem if self.path is not None else "items")
        self._items = self.spec.items
        self._header: list[str] | None = None

    def raw_lines(self) -> Generator[tuple[int, str], None, None]:
        """(line number, raw text) of each record, in order; raises UserError for an empty source."""
        count = 0
        for count, item in enumerate(self._raw_lines_of_format(), 1):  # noqa: B007 - read after the loop
            yield item
        if count == 0:
            raise UserError(
                f"{self.label} has no records",
                [Problem("the source is empty: there is nothing to send", file=self.label, key=f"sources[{self.index}]")],
            )

    def estimate_count(self) -> int:
        """About how many records the source holds, from its line breaks (blank lines make it high)."""
        if self._items is not None:
            return len(self._items)
        assert self.path is not None
        breaks, last = 0, b"\n"
        with open(self.path, "rb") as file:
            while chunk := file.read(1 << 20):
                breaks += chunk.count(b"\n")
                last = chunk[-1:]
        lines = breaks + (last != b"\n")
        return max(lines - 1, 0) if self.format == "csv" else lines

    def parse(self, raw: str) -> dict[str, Any]:
        """The record a raw text stands for; raises RecordError."""
        if self.format == "txt":
            return {self.spec.text_field: raw}
        if self.format == "csv":
            return self._csv_record(json.loads(raw))
        record = _json_object(raw)
        if self.format == "batch":
            _check_batch_line(record)
        return record

    def _raw_lines_of_format(self) -> Iterator[tuple[int, str]]:
        if self.format == "items":
            return self._item_lines()
        if self.format == "csv":
            return self._csv_lines()
        if self.format == "txt":
            return self._text_lines()
        return self._json_lines()

    def _item_lines(self) -> Iterator[tuple[int, str]]:
        for index, item in enumerate(self._items or []):
            yield index + 1, canonical_item(item)

    def _json_lines(self) -> Iterator[tuple[int, str]]:
        for number, text in self._decoded_lines():
            raw = text.strip()
            if raw:
                yield number, raw

    def _text_lines(self) -> Iterator[tuple[int, str]]:
        for number, text in self._decoded_lines():
            raw = text.rstrip("\r\n")
            if raw.strip():
                yield number, raw

    def _csv_lines(self) -> Iterator[tuple[int, str]]:
        _allow_long_csv_fields()
        # strict: a quote left open must be an error, not the rest of the file swallowed as one value
        reader = csv.reader((text for _, text in self._decoded_lines()), strict=True)
        rows = _csv_rows(reader)
        try:
            for _, header in rows:
                self._header = header
                break
            for start, row in rows:
                yield start, json.dumps(row, ensure_ascii=False)
        except csv.Error as exc:
            raise self._error(_csv_problem(exc), getattr(exc, "row_start", reader.line_num)) from None

    def _csv_record(self, values: list[str]) -> dict[str, Any]:
        header = self._header if self._header is not None else self._read_header()
        record: dict[Any, Any] = dict(zip(header, values))
        # csv.DictReader's semantics: missing values are None, extra ones go under the key None
        for name in header[len(values) :]:
            record[name] = None
        if len(values) > len(header):
            record[None] = values[len(header) :]
        return record

    def _read_header(self) -> list[str]:
        for _ in self._csv_lines():
            break
        return self._header or []

    def _decoded_lines(self) -> Iterator[tuple[int, str]]:
        """Each line of the file with its ending, decoded strictly as UTF-8 (bad bytes name their line)."""
        assert self.path is not None
        try:
            file = open(self.path, "rb")  # noqa: SIM115 - the generator below owns and closes it
        except OSError as exc:
            raise UserError(f"cannot read {self.label}", [Problem(_os_reason(exc), file=self.label)]) from None
        with file:
            for number, data in enumerate(file, 1):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    message = f"the line is not UTF-8 text (byte {exc.start + 1} of the line is {data[exc.start]:#04x})"
                    raise self._error(message, number, hint="save the file as UTF-8") from None
                yield number, (text.removeprefix(_BOM) if number == 1 else text)

    def _error(self, message: str, line: int, hint: str | None = None) -> UserError:
        return UserError(f"cannot read {self.label}", [Problem(message, file=self.label, line=line, hint=hint)])


def _csv_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted value may span lines)."""
    while True:
        consumed = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            exc.row_start = consumed + 1  # type: ignore[attr-defined]
            raise
        if row:
            yield consumed + 1, row


def _csv_problem(exc: csv.Error) -> str:
    if str(exc) == "unexpected end of data":
        return "not valid CSV: a quoted value that starts in this row is never closed"
    return f"not valid CSV: {exc}"


def _allow_long_csv_fields() -> None:
    # csv refuses fields over 128 KiB by default; a long prompt is just a long record.
    if csv.field_size_limit() < sys.maxsize // 2:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def canonical_item(item: Any) -> str:
    """An inline item as sorted JSON (YAML values such as dates become text)."""
    plain = json.loads(json.dumps(item, default=str, ensure_ascii=False))
    return json.dumps(plain, sort_keys=True, ensure_ascii=False)


def _no_constant(name: str) -> Any:
    raise RecordError(f"`{name}` is not a number JSON allows, and the API would refuse the request")


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = jsonfast.loads_like(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise RecordError("not valid JSON: nested too deeply") from None
    except RecordError:
        raise
    except ValueError as exc:
        if "digits" in str(exc):
            raise RecordError("a number has more than 4,300 digits: no API takes it") from None
        raise RecordError(f"not a usable JSON value: {exc}") from None
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a string", type(None): "null", bool: "true/false"}.get(type(value), "a number")
        raise RecordError(f"expected a JSON object ({{...}}) on each line, got {kind}")
    return value


def _check_batch_line(line: dict[str, Any]) -> None:
    if not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
        raise RecordError("a batch-input line needs a non-empty text `custom_id`")
    if not isinstance(line.get("body"), dict):
        raise RecordError("a batch-input line needs a `body` object")
    if line.get("method", "POST") != "POST":
        raise RecordError(f"a batch-input line's `method` must be POST, got {line['method']!r}")
    url = line.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith("/")):
        raise RecordError(f"a batch-input line's `url` must be a path such as /v1/chat/completions, got {url!r}")


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def readable_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a source, or None if it can."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "a symbolic link to nothing" if path.is_symlink() else "no such file"
    except OSError as exc:  # a link that loops, a folder we may not enter, …
        return _os_reason(exc)
    if stat.S_ISDIR(info.st_mode):
        return "this is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):  # a pipe would block the check, a device never end
        return "not a regular file (a pipe, a device or a socket); save the records to a file first"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
