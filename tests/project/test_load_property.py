"""Whatever a project file holds, loading it gives a project or a UserError: never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oaib_tui.errors import UserError
from oaib_tui.project import LoadedProject, RequestPlan, load_project
from oaib_tui.project.schema import (
    Batch,
    Limits,
    Output,
    Price,
    Project,
    Provider,
    SimulatorSettings,
    Source,
)

MODELS = (Project, Provider, SimulatorSettings, Limits, Source, Batch, Output, Price)
KEYS = sorted({name for model in MODELS for name in model.model_fields} | {"modle", "rmp", "x"})
DATA_FILES = {"p.jsonl": '{"text": "a", "sku": 1}\n', "p.csv": "text,sku\na,1\n", "p.txt": "a\nb\n", "bad.jsonl": "{nope\n"}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["auto", "batch", "realtime", "simulator", "azure", "/v1/embeddings", "{text}", "{sku} {", "}",
                     "p.jsonl", "p.csv", "p.txt", "bad.jsonl", "missing.jsonl", "200MB", "sk-123", "24h"]),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(-3, 3))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)),
    max_leaves=30,
)
project_like = st.fixed_dictionaries(
    {"model": scalars, "sources": st.lists(st.dictionaries(st.sampled_from(sorted(Source.model_fields)), documents, max_size=3), max_size=2)},
    optional={key: documents for key in ("request", "limits", "provider", "mode", "endpoint", "batch", "output", "pricing")},
)

template_leaves = st.sampled_from(["{text}", "Say {text}!", "{{literal}}", "{sku}", "{meta.x}", "plain", 1, None, True])
request_templates = st.dictionaries(
    st.sampled_from(["input", "messages", "max_tokens", "model", "temperature"]),
    st.recursive(template_leaves, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["role", "content"]), c, max_size=2), max_leaves=8),
    min_size=1,
    max_size=3,
)
file_sources = st.fixed_dictionaries(
    {"path": st.sampled_from(["p.jsonl", "p.csv", "p.txt"])},
    optional={"id": st.sampled_from(["{sku}", "x-{text}", "{nope}"]), "name": st.sampled_from(["a", "b"])},
)
item_sources = st.fixed_dictionaries(
    {"items": st.lists(st.fixed_dictionaries({"text": scalars}, optional={"sku": scalars, "meta": documents}), min_size=1, max_size=3)},
    optional={"id": st.sampled_from(["{sku}", "{text}"])},
)
nearly_valid = st.fixed_dictionaries(
    {"model": st.sampled_from(["m", "gpt-4o-mini"]), "sources": st.lists(file_sources | item_sources, min_size=1, max_size=3),
     "request": request_templates},
    optional={"limits": st.fixed_dictionaries({}, optional={"rpm": scalars, "tpm": scalars, "safety": scalars}),
              "mode": st.sampled_from(["auto", "batch", "realtime"]), "output": st.fixed_dictionaries({"keep": st.lists(st.text(max_size=5), max_size=2)})},
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("property")
    for name, content in DATA_FILES.items():
        (folder / name).write_text(content)
    return folder


def load_and_iterate(path: Path) -> None:
    try:
        project = load_project(path)
        assert isinstance(project, LoadedProject)
        for request in RequestPlan(project):
            assert isinstance(request.custom_id, str) and isinstance(request.body, dict)
    except UserError as error:
        assert error.title
        assert error.render()


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(documents, project_like, nearly_valid))
def test_any_yaml_document_loads_or_is_a_user_error(folder, document):
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    load_and_iterate(path)


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("{}[]:-&*!|>'\"# \n\tabm0,.?%@`")) | st.characters(), max_size=80))
def test_any_text_loads_or_is_a_user_error(folder, text):
    path = folder / "project.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_and_iterate(path)


@SETTINGS
@given(st.binary(max_size=60))
def test_any_bytes_load_or_are_a_user_error(folder, data):
    path = folder / "project.yaml"
    path.write_bytes(data)
    load_and_iterate(path)
