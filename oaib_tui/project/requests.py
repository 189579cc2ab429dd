"""From source lines to ready request bodies: the request plan.

:class:`RequestPlan` streams a project's sources in two stages. `lines()` is
cheap (no JSON parsing) and gives every record's raw text, so that a resumed
run can skip done records by their `input_key` alone; `prepare()` parses one
record, renders the body template and the custom_id, and hashes the body.
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any, NamedTuple

from oaib_tui import jsonfast
from oaib_tui.errors import Problem, UserError, did_you_mean
from oaib_tui.project.schema import LoadedProject
from oaib_tui.project.sources import RecordError, SourceReader
from oaib_tui.project.template import MissingField, Template, get_field, has_field


class SourceLine(NamedTuple):
    """A record before parsing.

    A NamedTuple rather than a frozen dataclass: a resume builds one for each of
    a million skipped lines, and a frozen dataclass, which sets every field
    through object.__setattr__, is several times slower to build.
    """

    seq: int
    """Global ordinal across all sources, 0-based, in source order."""
    source: str
    """The source's name (`Source.name`, else the file's stem, else `items`)."""
    source_index: int
    path: Path | None
    line: int
    """1-based line where the record starts (inline items: index + 1)."""
    raw: str
    """A text that fully determines the record."""


@dataclass(slots=True, frozen=True)
class PreparedRequest:
    """A record turned into a request, ready to send or to put in a batch file."""

    seq: int
    custom_id: str
    body: dict
    body_hash: str
    """Hex sha256 of the canonical JSON of (url, body)."""
    input_key: int
    """Signed 64-bit hash of (plan fingerprint, source, raw line): the fast resume key."""
    source: str
    line: int
    keep: dict
    """The `output.keep` fields of the record (missing ones omitted)."""
    url: str


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text."""
    # allow_nan=False: NaN and Infinity are not JSON, and the API (the Batch API too) refuses them.
    return jsonfast.compact(value, sort_keys=True, allow_nan=False, default=str)


_NON_FINITE_HINT = "JSON has no NaN or Infinity and the API refuses them: fix the record's value"


def non_finite_path(value: Any, path: str) -> str | None:
    """The dotted path of the first NaN or infinite number inside `value`, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"`{path}` ({value})"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found = non_finite_path(inner, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found:
            return found
    return None


def _utf8(text: str) -> bytes:
    # JSON and YAML escapes can smuggle in a lone surrogate ("\\ud800"); hash it rather than crash
    return text.encode("utf-8", "surrogatepass")


def _sha256(text: str) -> str:
    return hashlib.sha256(_utf8(text)).hexdigest()


def plain_template(request: dict[str, Any]) -> dict[str, Any]:
    """The request template as JSON would carry it (e.g. integer keys become text)."""
    return json.loads(json.dumps(request, default=str))


def body_template(request: dict[str, Any], model: str) -> dict[str, Any]:
    """The request template with the project's `model` first, unless the template sets one."""
    plain = plain_template(request)
    if "model" in plain:
        return plain
    return {"model": model.replace("{", "{{").replace("}", "}}"), **plain}


class HashSet:
    """A set of 64-bit hashes (`hash(custom_id)`) in one flat array, for uniqueness checks over millions of ids.

    8 bytes a slot, at most half full, where a Python set of ints keeps an int
    object and a table slot per entry: at a million custom_ids `validate` peaks
    54 MB lower (bench/results/memory-before.json and memory.json). Open
    addressing with linear probing.
    """

    __slots__ = ("_has_zero", "_mask", "_size", "_table")

    def __init__(self) -> None:
        self._size = 0
        self._has_zero = False  # 0 marks an empty slot, so the value 0 is kept apart
        self._allocate(1 << 12)

    def _allocate(self, slots: int) -> None:
        self._table = array("q", bytes(8 * slots))
        self._mask = slots - 1

    def add(self, value: int) -> bool:
        """Add a hash; False if it was there already."""
        if value == 0:
            added, self._has_zero = not self._has_zero, True
            return added
        table, mask = self._table, self._mask
        slot = value & mask
        while True:
            found = table[slot]
            if found == 0:
                break
            if found == value:
                return False
            slot = (slot + 1) & mask
        table[slot] = value
        self._size += 1
        if 2 * self._size > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._table
        self._allocate(2 * len(old))
        self._size = 0
        for value in old:
            if value:
                self.add(value)

    def __len__(self) -> int:
        return self._size + self._has_zero


class RequestPlan:
    """How a project's records become requests; iterate it for every PreparedRequest in order."""

    def __init__(self, project: LoadedProject) -> None:
        spec = project.spec
        self.project = project
        self.endpoint: str = spec.endpoint
        self.readers = [SourceReader(project, i) for i in range(len(spec.sources))]
        self.body = Template(body_template(spec.request, spec.model), "request")
        self.ids = [Template(r.spec.id, f"sources[{r.index}].id", text_only=True) if r.spec.id else None for r in self.readers]
        self.keep = [(name, tuple(name.split("."))) for name in spec.output.keep]
        self.fingerprint = self._fingerprint()
        self._key_prefix = (self.fingerprint + "\0").encode()
        self._source_prefixes: dict[str, bytes] = {}

    def _fingerprint(self) -> str:
        spec = self.project.spec
        mapping = {
            "endpoint": spec.endpoint,
            "model": spec.model,
            "request": plain_template(spec.request),
            "sources": [{"format": r.format, "id": r.spec.id, "text_field": r.spec.text_field} for r in self.readers],
        }
        return _sha256(canonical_json(mapping))

    def lines(self) -> Iterator[SourceLine]:
        """Every record's raw text, in order, without parsing it."""
        seq = 0
        for reader in self.readers:
            for line, raw in reader.raw_lines():
                yield SourceLine(seq, reader.name, reader.index, reader.path, line, raw)
                seq += 1

    def estimate_total(self) -> int | None:
        """About how many requests the plan holds, counted fast from line breaks (for progress bars).

        None if a source cannot be read now: reading it for real says why.
        """
        try:
            return sum(reader.estimate_count() for reader in self.readers)
        except OSError:
            return None

    def input_key(self, line: SourceLine) -> int:
        """The fast resume key of a line: changes when the line, its place or the plan's fingerprint does.

        The line number is part of it so that two identical records (the same prompt twice in a
        .txt file) never share a key. An unsigned 64-bit int, as the state store returns keys.
        """
        prefix = self._source_prefixes.get(line.source)
        if prefix is None:
            prefix = self._source_prefixes[line.source] = self._key_prefix + _utf8(line.source) + b"\0"
        # A resume skips a million lines by this key alone: a few C calls a line, no more.
        data = b"%b%d\0%b" % (prefix, line.line, line.raw.encode("utf-8", "surrogatepass"))
        return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")

    def prepare(self, line: SourceLine) -> PreparedRequest:
        """Parse, render and identify one line; raises UserError naming its file and line."""
        reader = self.readers[line.source_index]
        try:
            record = reader.parse(line.raw)
            if reader.format == "batch":
                custom_id, url, body = self._batch_parts(record)
            else:
                url, body = self.endpoint, self.body.render(record)
                custom_id = self._custom_id(line, record)
        except RecordError as exc:
            raise self._line_error(line, str(exc)) from None
        except MissingField as exc:
            raise self._line_error(line, str(exc), hint=_field_hint(exc, record)) from None
        keep = {name: get_field(record, path) for name, path in self.keep if has_field(record, path)}
        try:
            body_hash = hashlib.sha256(canonical_json([url, body]).encode("utf-8")).hexdigest()
            custom_id.encode("utf-8")
            if keep:
                canonical_json(keep).encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, from a JSON escape such as "\ud83d"
            raise self._line_error(line, _lone_surrogate(exc), hint=_SURROGATE_HINT) from None
        except ValueError:  # NaN or Infinity, e.g. 1e999 in a record, filled into `temperature: "{t}"`
            where = non_finite_path(body, "request") or non_finite_path(keep, "output.keep") or "a value"
            raise self._line_error(line, f"{where} is not a finite number", hint=_NON_FINITE_HINT) from None
        return PreparedRequest(
            seq=line.seq,
            custom_id=custom_id,
            body=body,
            body_hash=body_hash,
            input_key=self.input_key(line),
            source=line.source,
            line=line.line,
            keep=keep,
            url=url,
        )

    def _batch_parts(self, record: dict[str, Any]) -> tuple[str, str, dict]:
        body = record["body"]
        if "model" not in body:
            body = {"model": self.project.spec.model, **body}
        return record["custom_id"], record.get("url") or self.endpoint, body

    def _custom_id(self, line: SourceLine, record: dict[str, Any]) -> str:
        template = self.ids[line.source_index]
        if template is None:
            return f"{line.source}-{line.line}"
        return template.render(record)

    def __iter__(self) -> Iterator[PreparedRequest]:
        """Every request in order; a custom_id used twice is a UserError naming both places."""
        unique = UniqueIds(self)
        for line in self.lines():
            request = self.prepare(line)
            unique.check(request, line)
            yield request

    def raise_if_duplicate(self, request: PreparedRequest, line: SourceLine) -> None:
        """The UserError for a custom_id an earlier line used too; nothing if none did (a mere hash collision)."""
        # A hash hit is confirmed by finding the earlier line; a mere hash collision is no error.
        for earlier in self.lines():
            if earlier.seq >= line.seq:
                return
            if self.prepare(earlier).custom_id == request.custom_id:
                first = f"{self._label(earlier)}:{earlier.line}"
                raise self._line_error(
                    line,
                    f"the custom_id `{request.custom_id}` is used twice: first at {first}, again here",
                    hint="every request needs its own custom_id; change the source's `id:` template or the data",
                )

    def _label(self, line: SourceLine) -> str:
        return self.readers[line.source_index].label

    def _line_error(self, line: SourceLine, message: str, hint: str | None = None) -> UserError:
        reader = self.readers[line.source_index]
        where = _item_position(self.project, line) if reader.format == "items" else {"line": line.line}
        key = f"sources[{reader.index}].items[{line.line - 1}]" if reader.format == "items" else None
        problem = Problem(message, file=reader.label, key=key, hint=hint, **where)
        return UserError(f"{reader.label}: a record cannot become a request", [problem])


class UniqueIds:
    """Refuses a custom_id used twice, naming both places, for whoever prepares requests in order.

    Default ids (`<source>-<line>`) are unique by construction, so only custom ids
    cost memory: one 64-bit hash per id, in a HashSet (16 MB of table at a million).
    """

    def __init__(self, plan: RequestPlan) -> None:
        self._plan = plan
        self._needed = any(t is not None for t in plan.ids) or any(r.format == "batch" for r in plan.readers)
        self._seen = HashSet()

    def check(self, request: PreparedRequest, line: SourceLine) -> None:
        if self._needed and not self._seen.add(hash(request.custom_id)):
            self._plan.raise_if_duplicate(request, line)


def _item_position(project: LoadedProject, line: SourceLine) -> dict[str, int]:
    found = project.positions.get(f"sources[{line.source_index}].items[{line.line - 1}]")
    return {"line": found[0], "column": found[1]} if found else {"line": line.line}


_SURROGATE_HINT = "a JSON escape such as \\ud83d needs its other half right after it (\\ud83d\\ude00); fix the data"


def _lone_surrogate(exc: UnicodeEncodeError) -> str:
    char = exc.object[exc.start] if isinstance(exc.object, str) else "?"
    return f"the record holds a lone surrogate (\\u{ord(char):04x}), half of a character, which cannot be sent as UTF-8"


def _field_hint(exc: MissingField, record: dict[str, Any]) -> str | None:
    names = [k for k in record if isinstance(k, str)]
    return did_you_mean(exc.use.path[-1], names) if len(exc.use.path) == 1 else None

