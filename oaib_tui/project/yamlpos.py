"""Parse a YAML document and remember where every key is.

PyYAML can compose a document into nodes that carry their marks; we walk
those nodes once to build a map from dotted keys (`limits.rpm`,
`sources[1].path`) to 1-based (line, column), and to catch what YAML lets
through silently: a key written twice in one mapping. Then the same loader
constructs the plain Python data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from oaib_tui.errors import Problem, UserError

Position = tuple[int, int]  # 1-based (line, column)

MAX_EXPANDED_VALUES = 1_000_000  # aliases can make a tiny file expand to billions of values
MAX_EXPANDED_TEXT = 64_000_000
"""Characters of text, aliases expanded: one long string behind 50,000 aliases is 10 GB once written as JSON."""
_MERGE_TAG = "tag:yaml.org,2002:merge"
_LAST_SEGMENT = re.compile(r"(\.[^.\[\]]*|\[\d+\])$")


@dataclass
class YamlDocument:
    """The data of a YAML document, where each key sits, and its duplicate keys."""

    data: Any
    positions: dict[str, Position]
    """Dotted key -> position of the key (for list items: of the item). `""` is the document."""
    duplicates: list[Problem] = field(default_factory=list)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse `text` (the content of `file`); a malformed document is a UserError with its position."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _unprintable(text, file, exc) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, {"": (1, 1)})
        walker = _Walker(file)
        walker.walk(node, "")
        data = loader.construct_document(node)
        return YamlDocument(data, walker.positions, walker.duplicates)
    except yaml.MarkedYAMLError as exc:
        raise _malformed(file, exc) from None
    except yaml.reader.ReaderError as exc:
        raise _unprintable(text, file, exc) from None
    except yaml.YAMLError as exc:
        raise UserError(f"{file} is not valid YAML", [Problem(str(exc), file=file)]) from None
    except RecursionError:
        raise UserError(f"{file} is not valid YAML", [Problem("the document is nested too deeply", file=file)]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp like 2024-13-45
        raise UserError(f"{file} is not valid YAML", [Problem(f"a value cannot be read: {exc}", file=file)]) from None
    finally:
        loader.dispose()


def locate(positions: dict[str, Position], key: str) -> Position | None:
    """The position of `key`, or of its nearest ancestor that has one."""
    while True:
        if key in positions:
            return positions[key]
        if not key:
            return None
        shorter = _LAST_SEGMENT.sub("", key)
        key = "" if shorter == key else shorter


def parent_key(key: str) -> str:
    """`sources[1].path` -> `sources[1]`; `limits` -> `""`."""
    return _LAST_SEGMENT.sub("", key) if _LAST_SEGMENT.search(key) else ""


def _malformed(file: str, exc: yaml.MarkedYAMLError) -> UserError:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or "malformed YAML"
    if exc.context:
        message += f" ({exc.context})"
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    hint = "YAML indents with spaces, never tabs" if "'\\t'" in message else None
    return UserError(f"{file} is not valid YAML", [Problem(message, file=file, line=line, column=column, hint=hint)])


def _unprintable(text: str, file: str, exc: yaml.reader.ReaderError) -> UserError:
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    message = f"the character U+{exc.character:04X} is not allowed in YAML"
    return UserError(f"{file} is not valid YAML", [Problem(message, file=file, line=line, column=column)])


def _at(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Walker:
    """One pass over the node graph: positions, duplicate keys, alias sanity."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[str, Position] = {}
        self.duplicates: list[Problem] = []
        self._visited: set[int] = set()
        self._open: set[int] = set()
        self._sizes: dict[int, tuple[int, int]] = {}

    def walk(self, node: Node, path: str) -> None:
        self.positions.setdefault(path, _at(node))
        values, text = self._expanded_size(node)
        if values > MAX_EXPANDED_VALUES:
            raise self._refuse("the document expands to more than a million values (through aliases)")
        if text > MAX_EXPANDED_TEXT:
            raise self._refuse(f"the document expands to more than {MAX_EXPANDED_TEXT // 1_000_000} million "
                               "characters of text (through aliases)")
        self._visit(node, path)

    def _visit(self, node: Node, path: str) -> None:
        if id(node) in self._visited:
            return  # an alias: its keys are recorded where the anchor is
        self._visited.add(id(node))
        if isinstance(node, MappingNode):
            self._visit_mapping(node, path)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                self.positions.setdefault(child, _at(item))
                self._visit(item, child)

    def _visit_mapping(self, node: MappingNode, path: str) -> None:
        first_seen: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            name = key_node.value if isinstance(key_node, ScalarNode) else "?"
            child = f"{path}.{name}" if path else str(name)
            if isinstance(key_node, ScalarNode):
                self._check_duplicate(first_seen, key_node, child)
            self.positions.setdefault(child, _at(key_node))
            self._visit(value_node, child)

    def _check_duplicate(self, first_seen: dict[tuple[str, str], int], key_node: ScalarNode, child: str) -> None:
        identity = (key_node.tag, key_node.value)
        line, column = _at(key_node)
        if identity in first_seen:
            self.duplicates.append(
                Problem(
                    f"the key `{key_node.value}` is written twice in this mapping (first at line {first_seen[identity]})",
                    file=self.file, line=line, column=column, key=child,
                    hint="YAML would silently keep only the last one; remove one of them",
                )
            )
        else:
            first_seen[identity] = line

    def _expanded_size(self, node: Node) -> tuple[int, int]:
        """(values, characters of text) the node stands for once aliases are expanded (memoised, cycle-safe)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self._open:
            raise self._refuse("an alias refers to the mapping or list that contains it")
        self._open.add(id(node))
        if isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        else:
            children = []
        sizes = [self._expanded_size(child) for child in children]
        own_text = len(node.value) if isinstance(node, ScalarNode) else 0
        size = (1 + sum(v for v, _ in sizes), own_text + sum(t for _, t in sizes))
        self._open.discard(id(node))
        self._sizes[id(node)] = size
        return size

    def _refuse(self, message: str) -> UserError:
        return UserError(f"{self.file} is not valid YAML", [Problem(message, file=self.file)])
