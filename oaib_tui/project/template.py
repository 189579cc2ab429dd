"""Request body templates: strings that use `{field}` of a record, compiled once.

Rules (a deliberately small subset of `str.format`):

* any string value, at any depth of dicts and lists, may use `{field}`; `{a.b}`
  reaches into a nested mapping of the record;
* `{{` and `}}` are literal braces; a single stray `{` or `}` is an error;
* a string that is exactly `"{field}"` becomes the field's value with its own
  type (a list, a number, …); in a longer string a value is written as text
  (strings as they are, numbers as Python writes them, other values as JSON);
* dict keys and non-string values pass unchanged.

A template is compiled into one generated Python function that builds the
whole body, because rendering sits on the hot path of a million-record run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}]*\}|\{|\}")
_LITERAL_BRACE_HINT = "write `{{` and `}}` for literal braces"


@dataclass(frozen=True)
class FieldUse:
    """One `{field}` in a template, and the dotted key of the string it is in."""

    name: str
    path: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class TemplateIssue:
    """A syntax error in one template string."""

    key: str
    message: str
    hint: str | None = None


class TemplateSyntaxError(ValueError):
    """Raised by :class:`Template` with every issue found."""

    def __init__(self, issues: list[TemplateIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{i.key}: {i.message}" for i in issues))


class MissingField(LookupError):
    """A record lacks a field the template uses."""

    def __init__(self, use: FieldUse) -> None:
        self.use = use
        super().__init__(f"the record has no field `{use.name}` (used in {use.key})")


def as_text(value: Any) -> str:
    """How a field's value is written inside a longer string."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, (bool, dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def parse_text(text: str, key: str) -> list[str | FieldUse]:
    """Split one template string into literal text and field uses; raises TemplateSyntaxError."""
    parts: list[str | FieldUse] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif len(token) == 1:
            where = f"a single `{token}` at character {match.start() + 1}"
            raise TemplateSyntaxError([TemplateIssue(key, where, _LITERAL_BRACE_HINT)])
        else:
            if any(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(_field_use(token[1:-1], key))
    literal.append(text[position:])
    if any(literal):
        parts.append("".join(literal))
    return parts


def _field_use(name: str, key: str) -> FieldUse:
    path = tuple(name.split("."))
    if not name or not all(path):
        raise TemplateSyntaxError([TemplateIssue(key, f"`{{{name}}}` is not a field name", _LITERAL_BRACE_HINT)])
    return FieldUse(name, path, key)


class Template:
    """A compiled body template (or, with `text_only`, a text template such as a custom_id)."""

    def __init__(self, value: Any, key: str, *, text_only: bool = False) -> None:
        self.key = key
        self.uses: list[FieldUse] = []
        builder = _CodeBuilder(self.uses, text_only)
        try:
            expression = builder.expression(value, key)
        except RecursionError:
            raise TemplateSyntaxError([TemplateIssue(key, "the template is nested too deeply")]) from None
        if builder.issues:
            raise TemplateSyntaxError(builder.issues)
        self._render: Callable[[dict], Any] = builder.compile(expression, key)

    def fields_used(self) -> frozenset[str]:
        """The dotted names of every field the template uses."""
        return frozenset(use.name for use in self.uses)

    def render(self, record: dict) -> Any:
        """The template filled in from `record`; raises MissingField if a field is absent."""
        try:
            return self._render(record)
        except (KeyError, TypeError, IndexError):
            missing = self.missing_field(record)
            if missing is None:
                raise
            raise MissingField(missing) from None

    def missing_field(self, record: Any) -> FieldUse | None:
        """The first field use that `record` cannot satisfy, or None."""
        for use in self.uses:
            if not has_field(record, use.path):
                return use
        return None


def has_field(record: Any, path: tuple[str, ...]) -> bool:
    """Whether `record` has the nested field `path`."""
    for part in path:
        if not isinstance(record, dict) or part not in record:
            return False
        record = record[part]
    return True


def get_field(record: dict, path: tuple[str, ...]) -> Any:
    """The nested field `path` of `record` (KeyError/TypeError if absent)."""
    for part in path:
        record = record[part]
    return record


class _CodeBuilder:
    """Writes one Python expression that builds the body; constants are passed in, never inlined."""

    def __init__(self, uses: list[FieldUse], text_only: bool) -> None:
        self.uses = uses
        self.text_only = text_only
        self.constants: list[Any] = []
        self.issues: list[TemplateIssue] = []

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"c{len(self.constants) - 1}"

    def expression(self, value: Any, key: str) -> str:
        if isinstance(value, dict):
            items = (f"{self.constant(k)}: {self.expression(v, f'{key}.{k}')}" for k, v in value.items())
            return "{" + ", ".join(items) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.expression(v, f"{key}[{i}]") for i, v in enumerate(value)) + "]"
        if isinstance(value, str):
            return self.text_expression(value, key)
        return self.constant(value)

    def text_expression(self, text: str, key: str) -> str:
        try:
            parts = parse_text(text, key)
        except TemplateSyntaxError as exc:
            self.issues.extend(exc.issues)
            return "None"
        self.uses.extend(p for p in parts if isinstance(p, FieldUse))
        if not parts:
            return self.constant("")
        if len(parts) == 1 and isinstance(parts[0], FieldUse) and not self.text_only:
            return self.lookup(parts[0])
        pieces = [self.constant(p) if isinstance(p, str) else f"T({self.lookup(p)})" for p in parts]
        return "(" + " + ".join(pieces) + ")"

    def lookup(self, use: FieldUse) -> str:
        return "r" + "".join(f"[{self.constant(part)}]" for part in use.path)

    def compile(self, expression: str, key: str) -> Callable[[dict], Any]:
        names = [f"c{i}" for i in range(len(self.constants))]
        source = f"def factory(T, {', '.join(names)}):\n    def render(r):\n        return {expression}\n    return render\n"
        namespace: dict[str, Any] = {}
        try:
            code = compile(source, "<template>", "exec")
        except (SyntaxError, RecursionError, MemoryError):  # Python's parser limits nesting depth
            raise TemplateSyntaxError([TemplateIssue(key, "the template is nested too deeply")]) from None
        exec(code, namespace)
        return namespace["factory"](as_text, *self.constants)
