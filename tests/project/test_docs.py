"""docs/project-file.md documents every key of the schema, and its example is a valid project."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from oaib_tui.project.schema import Project

DOC = Path(__file__).resolve().parents[2] / "docs" / "project-file.md"


def _model_inside(annotation) -> tuple[type[BaseModel] | None, str]:
    """The model an annotation holds and how its keys are written: `x.` / `x[].` / `x.<model>.`."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else annotation
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "."
    if origin is list and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "[]."
    if origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return args[1], ".<model>."
    return None, ""


def schema_keys(model: type[BaseModel] = Project, prefix: str = "") -> Iterator[str]:
    """Every dotted key of the schema, written as the doc writes them."""
    for name, field in model.model_fields.items():
        key = prefix + name
        yield key
        inner, joint = _model_inside(field.annotation)
        if inner is not None:
            yield from schema_keys(inner, key + joint)


def test_the_walk_reaches_nested_models():
    keys = set(schema_keys())
    assert {"limits.rpm", "provider.simulator.seed", "sources[].text_field", "pricing.<model>.batch_discount"} <= keys


def test_every_schema_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [key for key in schema_keys() if f"| `{key}` |" not in text]
    assert not missing, f"docs/project-file.md lacks: {', '.join(missing)}"


def test_the_complete_example_is_a_valid_project():
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"## A complete example\n\n```yaml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    Project.model_validate(yaml.safe_load(example.group(1)))
