"""Whatever a source file holds, reading it gives requests that can be sent, or a clear error: never a traceback.

Random lines (JSON or not, any Unicode, JSON escapes of lone surrogates,
random bytes) go into JSONL, CSV, text and batch-input sources; the loader
and the request plan read them all. A success must give requests that can
really be stored and sent: unique custom_ids, bodies that encode as UTF-8
JSON. (Random project files are fed to the loader in tests/project/test_load_property.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oaib_tui.errors import UserError
from oaib_tui.project import RequestPlan, load_project

PROJECTS = {
    "jsonl": "sources: [{path: data.jsonl, id: 'q-{id}'}]\nrequest: {messages: [{role: user, content: 'Q: {question}'}]}\n",
    "csv": "sources: [{path: data.csv}]\nrequest: {messages: [{role: user, content: '{question}'}], n: '{n}'}\n",
    "txt": "sources: [{path: data.txt}]\nrequest: {input: '{text}'}\nendpoint: /v1/embeddings\n",
    "batch": "sources: [{path: data.jsonl, format: batch}]\n",
}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=10)
surrogate_escapes = st.sampled_from(['"\\ud800"', '"\\udfff"', '"a\\ud83d"', '"\\ud83d\\ude00"', '"\\u0000"'])
ids = st.integers(1, 10**9)
complete_records = st.fixed_dictionaries({"question": json_values, "id": ids}, optional={"extra": json_values})
sparse_records = st.fixed_dictionaries({}, optional={"question": json_values, "id": json_scalars, "n": json_scalars})
json_lines = st.one_of(
    complete_records.map(lambda record: json.dumps(record, ensure_ascii=False)),
    sparse_records.map(lambda record: json.dumps(record, ensure_ascii=False)),
    st.tuples(ids, surrogate_escapes).map(lambda pair: f'{{"id": {pair[0]}, "question": {pair[1]}}}'),
    st.tuples(surrogate_escapes, surrogate_escapes).map(lambda pair: f'{{"id": {pair[0]}, "question": {pair[1]}}}'),
    json_values.map(json.dumps),
    st.text(max_size=40),
)
batch_lines = st.fixed_dictionaries(
    {"custom_id": st.one_of(st.text(max_size=6), json_scalars)},
    optional={"method": st.sampled_from(["POST", "GET"]), "url": st.sampled_from(["/v1/chat/completions", "x", 3]),
              "body": st.one_of(st.fixed_dictionaries({"messages": st.just([{"role": "user", "content": "x"}])},
                                                      optional={"model": st.text(max_size=5)}), json_values)},
).map(lambda line: json.dumps(line, ensure_ascii=False)) | json_lines
csv_cells = st.text(alphabet=st.sampled_from(list('ab,"\n\r é\t')) | st.characters(), max_size=8)
csv_rows = st.lists(csv_cells, min_size=0, max_size=4).map(",".join)
text_lines = st.text(max_size=30).map(lambda text: text.replace("\n", " "))
line_ends = st.sampled_from(["\n", "\r\n"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sources")


def read_everything(folder: Path, kind: str, data: bytes) -> None:
    """Load the project over `data` and prepare every request; success must give sendable requests."""
    (folder / ("data.csv" if kind == "csv" else "data.txt" if kind == "txt" else "data.jsonl")).write_bytes(data)
    (folder / "project.yaml").write_text("model: gpt-4o-mini\n" + PROJECTS[kind])
    try:
        requests = list(RequestPlan(load_project(folder / "project.yaml")))
    except UserError as error:
        assert error.title and error.problems, error.render()
        assert all(problem.file for problem in error.problems)
        return
    ids = [request.custom_id for request in requests]
    assert len(ids) == len(set(ids))
    for request in requests:
        json.dumps([request.custom_id, request.body, request.keep], ensure_ascii=False).encode("utf-8")


def joined(lines: list[str], ends: str) -> bytes:
    return ends.join(lines).encode("utf-8", "surrogatepass")


@SETTINGS
@given(st.lists(st.one_of(json_lines, st.just("")), max_size=6), line_ends)
def test_any_jsonl_lines(folder, lines, ends):
    read_everything(folder, "jsonl", joined(['{"question": "first", "id": 0}', *lines], ends))


@SETTINGS
@given(st.lists(batch_lines, max_size=5), line_ends)
def test_any_batch_input_lines(folder, lines, ends):
    read_everything(folder, "batch", joined(lines, ends))


@SETTINGS
@given(st.lists(csv_rows, max_size=6), line_ends)
def test_any_csv_rows(folder, rows, ends):
    read_everything(folder, "csv", joined(["question,n", *rows], ends))


@SETTINGS
@given(st.lists(text_lines, max_size=6), line_ends)
def test_any_text_lines(folder, lines, ends):
    read_everything(folder, "txt", joined(lines, ends))


@SETTINGS
@given(st.sampled_from(sorted(PROJECTS)), st.binary(max_size=200))
def test_any_bytes_in_any_format(folder, kind, data):
    read_everything(folder, kind, data)
