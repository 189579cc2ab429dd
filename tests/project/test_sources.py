"""Every source format, read as a stream: records, line numbers and bad input."""

from __future__ import annotations

import json

import pytest
from project_helpers import only_problem

from oaib_tui.errors import UserError
from oaib_tui.project import RequestPlan, load_project

ECHO = 'request: {input: "{text}"}\n'


def plan_for(make_project, source: str, files: dict, request: str = ECHO) -> RequestPlan:
    return RequestPlan(load_project(make_project(f"model: m\nsources: [{source}]\n{request}", files)))


def inputs(plan: RequestPlan) -> list[tuple[int, object]]:
    return [(r.line, r.body["input"]) for r in plan]


def iteration_error(plan: RequestPlan) -> UserError:
    with pytest.raises(UserError) as caught:
        list(plan)
    return caught.value


class TestJsonl:
    def test_blank_lines_are_skipped_and_lines_counted(self, make_project):
        files = {"p.jsonl": '\ufeff{"text": "a"}\r\n\n   \n{"text": "b"}\n{"text": "c"}'}
        assert inputs(plan_for(make_project, "{path: p.jsonl}", files)) == [(1, "a"), (4, "b"), (5, "c")]

    def test_a_line_that_is_not_json_names_file_and_line(self, make_project):
        plan = plan_for(make_project, "{path: p.jsonl}", {"p.jsonl": '{"text": "a"}\n{"text": "b",}\n'})
        error = iteration_error(plan)
        problem = only_problem(error)
        assert (problem.file, problem.line) == ("p.jsonl", 2)
        assert problem.message == "not valid JSON: Expecting property name enclosed in double quotes (column 14)"
        assert error.title == "p.jsonl: a record cannot become a request"

    def test_a_line_that_is_json_but_not_an_object(self, make_project):
        plan = plan_for(make_project, "{path: p.jsonl}", {"p.jsonl": '{"text": "a"}\n["text"]\n'})
        assert only_problem(iteration_error(plan)).message == "expected a JSON object ({...}) on each line, got a list"

    def test_raw_is_the_line_without_surrounding_whitespace(self, make_project):
        plan = plan_for(make_project, "{path: p.jsonl}", {"p.jsonl": '  {"text": "a"}  \r\n'})
        assert [line.raw for line in plan.lines()] == ['{"text": "a"}']

    def test_a_very_long_line_is_just_a_long_record(self, make_project):
        text = "x" * 3_000_000
        plan = plan_for(make_project, "{path: p.jsonl}", {"p.jsonl": json.dumps({"text": text}) + "\n"})
        assert inputs(plan) == [(1, text)]


class TestCsv:
    def test_header_names_the_fields_and_rows_start_where_they_start(self, make_project):
        files = {"p.csv": 'sku,text\n\na1,"two\nlines"\na2,"has, comma"\n'}
        plan = plan_for(make_project, "{path: p.csv}", files)
        assert inputs(plan) == [(3, "two\nlines"), (5, "has, comma")]

    def test_short_and_long_rows_follow_dict_reader(self, make_project):
        files = {"p.csv": "a,b,text\n1\n1,2,3,4,5\n"}
        plan = plan_for(make_project, "{path: p.csv}", files, request='request: {input: "{b}", x: "{text}"}\n')
        bodies = [r.body for r in plan]
        assert bodies[0]["input"] is None and bodies[0]["x"] is None
        assert (bodies[1]["input"], bodies[1]["x"]) == ("2", "3")
        lines = list(plan.lines())
        assert [line.line for line in lines] == [2, 3]
        assert plan.readers[0].parse(lines[1].raw)[None] == ["4", "5"]

    def test_raw_tells_rows_apart_unambiguously(self, make_project):
        files = {"p.csv": 'text,b\n"a,b",c\na,"b,c"\n'}
        raws = [line.raw for line in plan_for(make_project, "{path: p.csv}", files).lines()]
        assert len(set(raws)) == 2

    def test_fields_longer_than_csv_default_limit(self, make_project):
        long = "y" * 300_000
        plan = plan_for(make_project, "{path: p.csv}", {"p.csv": f"text\n{long}\n"})
        assert inputs(plan) == [(2, long)]

    def test_header_only_is_an_empty_source(self, make_project, tmp_path):
        plan = plan_for(make_project, "{path: p.csv}", {"p.csv": "text\nrow\n"})
        (tmp_path / "p.csv").write_text("text\n")
        assert "empty" in only_problem(iteration_error(plan)).message

    def test_prepare_works_without_reading_lines_first(self, make_project):
        plan = plan_for(make_project, "{path: p.csv}", {"p.csv": "id,text\n1,a\n"})
        line = next(plan.lines())
        fresh = RequestPlan(plan.project)
        assert fresh.prepare(line).body["input"] == "a"


class TestTxt:
    def test_each_non_blank_line_is_a_prompt(self, make_project):
        files = {"p.txt": "first prompt\n\n  \nsecond prompt  \r\n"}
        assert inputs(plan_for(make_project, "{path: p.txt}", files)) == [(1, "first prompt"), (4, "second prompt  ")]

    def test_text_field_names_the_field(self, make_project):
        files = {"p.txt": "hello\n"}
        plan = plan_for(make_project, "{path: p.txt, text_field: prompt}", files, request='request: {input: "{prompt}"}\n')
        assert inputs(plan) == [(1, "hello")]

    def test_explicit_format_overrides_the_extension(self, make_project):
        assert inputs(plan_for(make_project, "{path: p.dat, format: txt}", {"p.dat": "x\n"})) == [(1, "x")]


class TestBatchInput:
    LINE = {"custom_id": "req-7", "method": "POST", "url": "/v1/embeddings", "body": {"input": "hi {not a field}"}}

    def test_detected_and_passed_through_unchanged(self, make_project):
        files = {"ready.jsonl": json.dumps(self.LINE) + "\n"}
        plan = plan_for(make_project, "{path: ready.jsonl}", files)
        assert plan.readers[0].format == "batch"
        [request] = list(plan)
        assert request.custom_id == "req-7"
        assert request.url == "/v1/embeddings"
        assert request.body == {"model": "m", "input": "hi {not a field}"}

    def test_a_model_in_the_line_is_kept(self, make_project):
        line = dict(self.LINE, body={"model": "own", "input": "x"})
        plan = plan_for(make_project, "{path: ready.jsonl}", {"ready.jsonl": json.dumps(line) + "\n"})
        assert next(iter(plan)).body == {"model": "own", "input": "x"}

    def test_missing_url_uses_the_project_endpoint(self, make_project):
        line = {"custom_id": "a", "body": {"input": "x"}}
        plan = plan_for(make_project, "{path: ready.jsonl, format: batch}", {"ready.jsonl": json.dumps(line) + "\n"})
        assert next(iter(plan)).url == "/v1/chat/completions"

    def test_a_broken_line_names_its_place(self, make_project):
        lines = json.dumps(self.LINE) + "\n" + json.dumps({"custom_id": "", "body": {}}) + "\n"
        plan = plan_for(make_project, "{path: ready.jsonl}", {"ready.jsonl": lines})
        problem = only_problem(iteration_error(plan))
        assert (problem.file, problem.line) == ("ready.jsonl", 2)
        assert problem.message == "a batch-input line needs a non-empty text `custom_id`"

    def test_a_method_other_than_post(self, make_project):
        lines = json.dumps(self.LINE) + "\n" + json.dumps(dict(self.LINE, method="GET")) + "\n"
        plan = plan_for(make_project, "{path: ready.jsonl}", {"ready.jsonl": lines})
        assert "must be POST" in only_problem(iteration_error(plan)).message

    def test_plain_jsonl_is_not_mistaken_for_batch_input(self, make_project):
        plan = plan_for(make_project, "{path: p.jsonl}", {"p.jsonl": '{"custom_id": "x", "text": "a"}\n'})
        assert plan.readers[0].format == "jsonl"


class TestInlineItems:
    def test_items_are_numbered_from_one(self, make_project):
        plan = plan_for(make_project, "{items: [{text: a}, {text: b}]}", {})
        assert [(r.custom_id, r.line) for r in plan] == [("items-1", 1), ("items-2", 2)]

    def test_raw_is_sorted_json(self, make_project):
        plan = plan_for(make_project, "{items: [{text: a, b: 1}]}", {})
        assert next(plan.lines()).raw == '{"b": 1, "text": "a"}'

    def test_yaml_dates_become_text(self, make_project):
        plan = plan_for(make_project, "{items: [{text: 2024-05-01}]}", {})
        assert inputs(plan) == [(1, "2024-05-01")]

    def test_missing_field_points_at_the_item_in_the_project_file(self, make_project):
        path = make_project('model: m\nsources:\n  - items:\n      - {text: a}\n      - {other: b}\nrequest: {input: "{text}"}\n')
        problem = only_problem(iteration_error(RequestPlan(load_project(path))))
        assert (problem.file, problem.line, problem.key) == ("project.yaml", 5, "sources[0].items[1]")
        assert problem.message == "the record has no field `text` (used in request.input)"


class TestBadBytesAndEmptiness:
    @pytest.mark.parametrize("name", ["p.jsonl", "p.txt", "p.csv"])
    def test_non_utf8_bytes_name_the_file_and_line(self, make_project, tmp_path, name):
        header = "text\n" if name.endswith(".csv") else ""
        good = '{"text": "a"}\n' if name.endswith(".jsonl") else "a\n"
        plan = plan_for(make_project, f"{{path: {name}}}", {name: header + good})
        (tmp_path / name).write_bytes((header + good * 2).encode() + b"caf\xe9\n")
        error = iteration_error(plan)
        problem = only_problem(error)
        assert (problem.file, problem.line) == (name, 3 + bool(header))
        assert problem.message == "the line is not UTF-8 text (byte 4 of the line is 0xe9)"
        assert error.title == f"cannot read {name}"

    def test_a_source_emptied_after_loading(self, make_project, tmp_path):
        plan = plan_for(make_project, "{path: p.txt}", {"p.txt": "a\n"})
        (tmp_path / "p.txt").write_text("\n \n")
        error = iteration_error(plan)
        assert error.title == "p.txt has no records"
        assert only_problem(error).key == "sources[0]"

    def test_a_source_deleted_after_loading(self, make_project, tmp_path):
        plan = plan_for(make_project, "{path: p.txt}", {"p.txt": "a\n"})
        (tmp_path / "p.txt").unlink()
        assert only_problem(iteration_error(plan)).message == "no such file"


def test_estimate_total_counts_line_breaks(make_project):
    files = {"p.txt": "a\nb\nc", "q.csv": "text\nx\ny\n"}
    path = make_project(f"model: m\nsources: [{{path: p.txt}}, {{path: q.csv}}, {{items: [{{text: z}}]}}]\n{ECHO}", files)
    plan = RequestPlan(load_project(path))
    assert plan.estimate_total() == 3 + 2 + 1 == len(list(plan))
