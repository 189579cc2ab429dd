"""The request plan: ids, bodies, hashes, resume keys, duplicates, fingerprint, streaming."""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import pytest
from project_helpers import only_problem

from oaib_tui.errors import UserError
from oaib_tui.project import RequestPlan, load_project
from oaib_tui.project.requests import canonical_json

PROJECT = """\
model: gpt-4o-mini
sources:
  - path: products.jsonl
{id_line}
  - items: [{{title: Desk, sku: d1}}]
request:
  messages:
    - {{role: system, content: "You write short product copy."}}
    - {{role: user, content: "Describe {{title}}."}}
output:
  keep: [sku, meta.color, absent]
"""
PRODUCTS = "\n".join(
    [
        '{"sku": "a1", "title": "Lamp", "meta": {"color": "red"}}',
        "",
        '{"sku": "a2", "title": "Chair"}',
    ]
)


def make_plan(make_project, id_line: str = "", products: str = PRODUCTS) -> RequestPlan:
    path = make_project(PROJECT.format(id_line=id_line), {"products.jsonl": products})
    return RequestPlan(load_project(path))


def iteration_error(plan: RequestPlan) -> UserError:
    with pytest.raises(UserError) as caught:
        list(plan)
    return caught.value


class TestPreparedRequests:
    def test_ids_sequence_sources_and_lines(self, make_project):
        requests = list(make_plan(make_project))
        assert [(r.seq, r.custom_id, r.source, r.line) for r in requests] == [
            (0, "products-1", "products", 1),
            (1, "products-3", "products", 3),
            (2, "items-1", "items", 1),
        ]

    def test_body_has_the_model_first_and_the_rendered_template(self, make_project):
        first = next(iter(make_plan(make_project)))
        assert first.body == {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You write short product copy."},
                {"role": "user", "content": "Describe Lamp."},
            ],
        }
        assert list(first.body)[0] == "model"
        assert first.url == "/v1/chat/completions"

    def test_a_model_in_the_template_wins(self, make_project):
        path = make_project('model: m\nsources: [{items: [{t: a, mdl: special}]}]\nrequest: {model: "{mdl}", input: "{t}"}\n')
        assert next(iter(RequestPlan(load_project(path)))).body == {"model": "special", "input": "a"}

    def test_keep_copies_present_fields_and_omits_missing_ones(self, make_project):
        keeps = [r.keep for r in make_plan(make_project)]
        assert keeps == [{"sku": "a1", "meta.color": "red"}, {"sku": "a2"}, {"sku": "d1"}]

    def test_body_hash_is_sha256_of_canonical_url_and_body(self, make_project):
        request = next(iter(make_plan(make_project)))
        expected = hashlib.sha256(canonical_json([request.url, request.body]).encode()).hexdigest()
        assert request.body_hash == expected
        assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'

    def test_custom_id_template(self, make_project):
        plan = make_plan(make_project, id_line='    id: "sku-{sku}"')
        assert [r.custom_id for r in plan] == ["sku-a1", "sku-a2", "items-1"]

    def test_a_record_missing_a_field_names_file_line_and_key(self, make_project):
        products = PRODUCTS + '\n{"sku": "a3", "name": "Stool"}\n'
        error = iteration_error(make_plan(make_project, products=products))
        problem = only_problem(error)
        assert str(problem) == "products.jsonl:4: the record has no field `title` (used in request.messages[1].content)"


class TestDuplicateIds:
    def test_duplicate_custom_id_names_both_places(self, make_project):
        products = PRODUCTS + '\n{"sku": "a1", "title": "Lamp again"}\n'
        error = iteration_error(make_plan(make_project, id_line='    id: "{sku}"', products=products))
        problem = only_problem(error)
        assert (problem.file, problem.line) == ("products.jsonl", 4)
        assert problem.message == "the custom_id `a1` is used twice: first at products.jsonl:1, again here"

    def test_duplicate_across_sources(self, make_project):
        products = '{"sku": "items-1", "title": "Lamp"}\n'
        error = iteration_error(make_plan(make_project, id_line='    id: "{sku}"', products=products))
        problem = only_problem(error)
        assert (problem.file, problem.line) == ("project.yaml", 5)
        assert "first at products.jsonl:1" in problem.message

    def test_duplicates_in_a_batch_input_file(self, make_project):
        line = {"custom_id": "same", "body": {"input": "x"}}
        lines = "\n".join(json.dumps(line) for _ in range(2))
        path = make_project("model: m\nsources: [{path: ready.jsonl}]\n", {"ready.jsonl": lines})
        assert "used twice: first at ready.jsonl:1" in only_problem(iteration_error(RequestPlan(load_project(path)))).message

    def test_a_hash_hit_without_an_earlier_equal_id_is_no_error(self, make_project):
        plan = make_plan(make_project, id_line='    id: "{sku}"')
        lines = list(plan.lines())
        plan.raise_if_duplicate(plan.prepare(lines[1]), lines[1])  # as if hash("a2") had collided with hash("a1")


class TestResumeKeys:
    def test_input_key_is_an_unsigned_64_bit_int_that_depends_on_the_raw_line(self, make_project):
        plan = make_plan(make_project)
        keys = [plan.input_key(line) for line in plan.lines()]
        assert all(0 <= key < 2**64 for key in keys)
        assert len(set(keys)) == 3
        assert keys == [request.input_key for request in plan]

    def test_identical_lines_get_different_keys(self, tmp_path):
        data = tmp_path / "prompts.txt"
        data.write_text("same prompt\nsame prompt\n")
        project = tmp_path / "p.yaml"
        project.write_text(
            "model: gpt-4o-mini\nsources: [{path: prompts.txt}]\n"
            "request: {messages: [{role: user, content: '{text}'}]}\n"
        )
        from oaib_tui.project import RequestPlan, load_project

        plan = RequestPlan(load_project(project))
        first, second = (plan.input_key(line) for line in plan.lines())
        assert first != second

    def test_input_key_is_stable_across_plans_and_loads(self, make_project):
        first = [r.input_key for r in make_plan(make_project)]
        second = [r.input_key for r in make_plan(make_project)]
        assert first == second

    def test_lines_do_not_parse(self, make_project):
        plan = make_plan(make_project, products='{"sku": "a1", "title": "Lamp"}\nnot json at all\n')
        assert [line.raw for line in plan.lines()][1] == "not json at all"


class TestFingerprint:
    BASE = """\
    name: {name}
    model: {model}
    endpoint: {endpoint}
    mode: {mode}
    limits: {{rpm: {rpm}, tpm: 1000}}
    output: {{results: {results}}}
    provider: {{kind: {kind}}}
    sources: [{{path: {path}, text_field: {text_field}{id}}}]
    request: {{input: "{template}"}}
    """
    DEFAULTS = dict(
        name="job", model="m", endpoint="/v1/embeddings", mode="auto", rpm=10, results="out/r.jsonl", kind="openai",
        path="p.txt", text_field="text", id="", template="{text}",
    )

    def fingerprint(self, make_project, **changes) -> str:
        values = {**self.DEFAULTS, **changes}
        if values["text_field"] != "text":
            values["template"] = "{" + values["text_field"] + "}"
        path = make_project(self.BASE.format(**values), {"p.txt": "hello\n", "q.txt": "hello\n"})
        return RequestPlan(load_project(path)).fingerprint

    @pytest.mark.parametrize(
        "change",
        [{"model": "other"}, {"endpoint": "/v1/completions"}, {"template": "Say {text}"}, {"text_field": "prompt"},
         {"id": ', id: "x-{text}"'}],
    )
    def test_changes_when_what_maps_a_line_to_a_body_changes(self, make_project, change):
        assert self.fingerprint(make_project, **change) != self.fingerprint(make_project)

    @pytest.mark.parametrize(
        "change",
        [{"name": "other"}, {"mode": "realtime"}, {"rpm": 99}, {"results": "elsewhere.jsonl"}, {"kind": "compatible"},
         {"path": "q.txt"}],
    )
    def test_does_not_change_otherwise(self, make_project, change):
        assert self.fingerprint(make_project, **change) == self.fingerprint(make_project)

    def test_format_is_part_of_it(self, make_project):
        plain = make_project('model: m\nsources: [{path: p.txt}]\nrequest: {input: "{text}"}\n', {"p.txt": "a\nb\n"})
        explicit_txt = make_project('model: m\nsources: [{path: p.txt, format: txt}]\nrequest: {input: "{text}"}\n', name="b.yaml")
        as_csv = make_project('model: m\nsources: [{path: p.txt, format: csv}]\nrequest: {input: "{a}"}\n', name="c.yaml")
        assert RequestPlan(load_project(plain)).fingerprint == RequestPlan(load_project(explicit_txt)).fingerprint
        assert RequestPlan(load_project(plain)).fingerprint != RequestPlan(load_project(as_csv)).fingerprint


def traced_peak(work) -> int:
    """Peak bytes allocated (and not yet freed) while `work` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestStreaming:
    LINES = 200_000

    @pytest.fixture
    def big_plan(self, make_project, tmp_path) -> RequestPlan:
        path = make_project(
            'model: m\nsources: [{path: big.jsonl}]\nrequest: {messages: [{role: user, content: "Describe {title}"}]}\n',
            {"big.jsonl": '{"title": "seed"}\n'},
        )
        with open(tmp_path / "big.jsonl", "w") as file:
            file.writelines(f'{{"title": "Product {i}", "sku": "s{i}"}}\n' for i in range(self.LINES))
        return RequestPlan(load_project(path))

    def test_reading_200k_lines_keeps_memory_flat(self, big_plan):
        counted = []
        peak = traced_peak(lambda: counted.append(sum(1 for _ in big_plan.lines())))
        assert counted == [self.LINES]
        assert peak < 200_000, f"peak {peak:,} bytes while reading a {self.LINES:,}-line file"

    def test_preparing_requests_keeps_no_record(self, big_plan):
        # tracemalloc makes each prepared request ~50x slower, so the whole pipeline is traced for 20,000 of them;
        # keeping even 50 bytes per request would show as a 1 MB peak.
        counted = []
        peak = traced_peak(lambda: counted.append(sum(1 for _, _ in zip(range(20_000), big_plan))))
        assert counted == [20_000]
        assert peak < 1_000_000, f"peak {peak:,} bytes for 20,000 requests"


def test_a_lone_surrogate_from_an_escape_is_an_error_naming_its_record_not_a_crash_later(make_project):
    # It could not be stored nor sent as UTF-8: say so now, at its line, instead of failing mid-run.
    path = make_project(
        'model: m\nsources: [{path: p.jsonl}]\nrequest: {input: "{t}"}\n',
        {"p.jsonl": '{"t": "fine \\ud83d\\ude00"}\n{"t": "half \\ud83d"}\n'},
    )
    plan = iter(RequestPlan(load_project(path)))
    assert next(plan).body["input"] == "fine \U0001f600"
    with pytest.raises(UserError) as caught:
        next(plan)
    problem = caught.value.problems[0]
    assert (problem.file, problem.line) == ("p.jsonl", 2)
    assert "lone surrogate (\\ud83d)" in problem.message
