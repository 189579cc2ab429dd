"""Results and errors files, and the CSV export, written from the state file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from factories import answered, failed, open_store, queued, sent, succeeded

from oaib_tui.errors import UserError
from oaib_tui.state.outputs import answer_text, decimal_text, export_csv, write_outputs
from oaib_tui.state.reader import StateReader
from oaib_tui.state.store import StateStore


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "s.db")
    yield store
    store.close()


def fail(store: StateStore, custom_id: str, seq: int, **options: Any) -> None:
    store.handle(queued(custom_id, seq, **options))
    store.handle(sent(custom_id, seq))
    store.handle(failed(custom_id, seq))


def read_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_results_and_errors_are_written_in_source_order(store: StateStore, tmp_path: Path) -> None:
    for seq in (2, 0, 3):
        answered(store, f"id-{seq}", seq, keep={"row": seq, "lang": "fr"})
    fail(store, "id-1", 1, keep={"row": 1, "lang": "de"})
    store.handle(queued("id-4", 4))  # not finished: in neither file

    counts = write_outputs(store, tmp_path / "out" / "r.jsonl", tmp_path / "out" / "e.jsonl")

    assert (counts.results, counts.errors) == (3, 1)
    results = read_lines(tmp_path / "out" / "r.jsonl")
    assert [r["custom_id"] for r in results] == ["id-0", "id-2", "id-3"]
    assert results[0] == {
        "custom_id": "id-0", "row": 0, "lang": "fr",
        "response": {"object": "chat.completion",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "answer id-0"}}]},
        "usage": {"prompt_tokens": 10, "cached_tokens": 2, "completion_tokens": 5}, "cost_usd": 0.25, "attempts": 1,
    }
    errors = read_lines(tmp_path / "out" / "e.jsonl")
    assert errors == [{"custom_id": "id-1", "row": 1, "lang": "de", "attempts": 1, "error": {
        "reason": "400", "status_code": 400, "message": "Invalid model",
        "body": {"error": {"message": "Invalid model", "type": "invalid_request_error"}}}}]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["e.jsonl", "r.jsonl"]


def test_only_the_named_fields_are_kept_and_reserved_names_never_clobber(store: StateStore, tmp_path: Path) -> None:
    answered(store, "a", 0, keep={"row": 1, "lang": "fr", "response": "from the source"})
    write_outputs(store, tmp_path / "r.jsonl", tmp_path / "e.jsonl", keep=["lang", "response"])
    (line,) = read_lines(tmp_path / "r.jsonl")
    assert "row" not in line and line["lang"] == "fr"
    assert line["response"]["object"] == "chat.completion"


def test_a_failed_write_leaves_the_previous_file_whole(store: StateStore, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    results, errors = tmp_path / "r.jsonl", tmp_path / "e.jsonl"
    answered(store, "a", 0)
    answered(store, "b", 1)
    write_outputs(store, results, errors)
    before = results.read_bytes()
    answered(store, "c", 2)

    real = store.iter_results

    def breaks_half_way(status):
        rows = real(status)
        yield next(rows)
        raise OSError("disk full")

    monkeypatch.setattr(store, "iter_results", breaks_half_way)
    with pytest.raises(UserError, match="disk full"):  # said to the user, not a traceback
        write_outputs(store, results, errors)
    assert results.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".jsonl", ".tmp")) == ["e.jsonl", "r.jsonl"]


def test_csv_export_flattens_every_item_in_source_order(store: StateStore, tmp_path: Path) -> None:
    answered(store, "a", 0, keep={"row": 0, "tags": ["x", "y"]})
    fail(store, "b", 1, keep={"row": 1, "tags": []})
    store.handle(queued("c", 2, keep={"row": 2, "tags": None}))
    store.flush()

    assert export_csv(store, tmp_path / "x" / "all.csv") == 3
    with open(tmp_path / "x" / "all.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["custom_id", "status", "row", "tags", "answer", "prompt_tokens", "cached_tokens",
                             "completion_tokens", "cost_usd", "attempts", "error"]
    assert [(r["custom_id"], r["status"]) for r in rows] == [("a", "done"), ("b", "failed"), ("c", "queued")]
    assert (rows[0]["answer"], rows[0]["tags"], rows[0]["cost_usd"], rows[0]["prompt_tokens"]) == \
        ("answer a", '["x", "y"]', "0.25", "10")
    assert (rows[1]["answer"], rows[1]["error"]) == ("", "Invalid model")
    assert (rows[2]["tags"], rows[2]["attempts"], rows[2]["cost_usd"]) == ("", "0", "")


def test_csv_costs_are_plain_decimals_never_exponents(store: StateStore, tmp_path: Path) -> None:
    store.handle(queued("a", 0))
    store.handle(sent("a", 0))
    store.handle(succeeded("a", 0, cost=6.43e-05))
    store.flush()
    export_csv(store, tmp_path / "all.csv")
    with open(tmp_path / "all.csv", newline="") as file:
        [row] = list(csv.DictReader(file))
    assert row["cost_usd"] == "0.0000643"
    assert [decimal_text(v) for v in (None, 0.0, 1.5, 1e-10, 12.0)] == ["", "0", "1.5", "0.0000000001", "12"]


def test_csv_export_of_chosen_statuses_to_an_open_file(store: StateStore) -> None:
    answered(store, "a", 0)
    fail(store, "b", 1)
    out = io.StringIO()
    assert export_csv(store, out, keep=["row"], statuses=["failed"]) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("custom_id,status,row,answer,")
    assert lines[1].startswith("b,failed,1,,")


def test_export_works_while_a_run_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    running = open_store(path)
    answered(running, "a", 0)
    running.handle(queued("b", 1))  # not committed yet: an export shows what is committed
    with StateReader.open_readonly(path, project_name="demo") as reader:
        counts = write_outputs(reader, tmp_path / "r.jsonl", tmp_path / "e.jsonl")
        assert (counts.results, counts.errors) == (1, 0)
        assert export_csv(reader, tmp_path / "all.csv") == 1
    running.handle(succeeded("b", 1))
    with StateReader.open_readonly(path) as reader:
        assert reader.counts()["done"] == 2
    running.close()


CHAT = {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}
CHAT_PARTS = {"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]}
TOOL_CALL = {"choices": [{"message": {"content": None, "tool_calls": [{"id": "t"}]}}]}
COMPLETION = {"choices": [{"text": "once upon"}]}
RESPONSES = {"object": "response", "output": [
    {"type": "reasoning", "summary": []},
    {"type": "message", "content": [{"type": "output_text", "text": "hello "}, {"type": "output_text", "text": "you"}]},
]}
EMBEDDING = {"object": "list", "data": [{"embedding": [0.1, 0.2]}]}


@pytest.mark.parametrize(("response", "text"), [
    (CHAT, "hi"), (CHAT_PARTS, "ab"), (TOOL_CALL, None), (COMPLETION, "once upon"),
    (RESPONSES, "hello you"), ({"output_text": "direct", "output": []}, "direct"), (EMBEDDING, None), (None, None),
])
def test_answer_text_of_each_endpoint(response: Any, text: str | None) -> None:
    assert answer_text(response) == text


@pytest.mark.parametrize("stored", ['{"choices": [', '{"a":1}{"b":2}', "not json"])
def test_a_damaged_stored_answer_is_refused_and_the_old_files_stay(store: StateStore, tmp_path: Path,
                                                                   stored: str) -> None:
    answered(store, "a", 0)
    answered(store, "b", 1)
    store.flush()
    results, errors = tmp_path / "results.jsonl", tmp_path / "errors.jsonl"
    write_outputs(store, results, errors)
    before = results.read_bytes()
    store.conn.execute("UPDATE payloads SET response = ? WHERE item = (SELECT id FROM items WHERE custom_id = 'b')",
                       (stored,))
    store.conn.commit()
    with pytest.raises(UserError, match="damaged"):
        write_outputs(store, results, errors)
    assert results.read_bytes() == before


def test_stored_answers_keep_big_integers_and_non_finite_numbers(store: StateStore, tmp_path: Path) -> None:
    answered(store, "a", 0)
    store.flush()
    stored = '{"id":"x","n":123456789012345678901234567890,"f":[NaN,-Infinity],"t":"é"}'
    store.conn.execute("UPDATE payloads SET response = ?", (stored,))
    store.conn.commit()
    results = tmp_path / "results.jsonl"
    write_outputs(store, results, tmp_path / "errors.jsonl")
    assert '"response":' + stored + "," in results.read_text(encoding="utf-8")
