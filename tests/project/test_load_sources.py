"""Loading a project whose sources or templates do not fit together."""

from __future__ import annotations

from project_helpers import load_error, only_problem

from oaib_tui.project import load_project

PRODUCTS = '{"sku": "a1", "title": "Lamp"}\n{"sku": "a2", "title": "Chair"}\n'


class TestSourceProblems:
    def test_missing_source_file_names_the_key_line_and_a_neighbour(self, make_project):
        path = make_project(
            """\
            model: m
            sources:
              - path: prodcuts.jsonl
            request: {input: "{title}"}
            """,
            {"products.jsonl": PRODUCTS},
        )
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line, problem.key) == ("project.yaml", 3, "sources[0].path")
        assert problem.message == "no such file: prodcuts.jsonl"
        assert problem.hint == "did you mean `products.jsonl`?"

    def test_a_folder_as_source(self, make_project, tmp_path):
        (tmp_path / "data").mkdir()
        path = make_project('model: m\nsources: [{path: data}]\nrequest: {input: "{text}"}\n')
        problem = only_problem(load_error(path))
        assert problem.message == "this is a folder, not a file: data"

    def test_unknown_extension_asks_for_a_format(self, make_project):
        path = make_project('model: m\nsources: [{path: prompts.dat}]\nrequest: {input: "{text}"}\n', {"prompts.dat": "x\n"})
        problem = only_problem(load_error(path))
        assert problem.key == "sources[0].path"
        assert "set `format:` to one of jsonl, csv, txt, batch" in problem.message

    def test_every_missing_field_of_the_first_record_is_reported(self, make_project):
        path = make_project(
            """\
            model: m
            sources: [{path: products.jsonl, id: "{code}"}]
            request:
              messages:
                - {role: user, content: "Describe {titel} for {audience}"}
            """,
            {"products.jsonl": "\n" + PRODUCTS},
        )
        problems = load_error(path).problems
        assert [(p.file, p.line) for p in problems] == [("products.jsonl", 2)] * 3
        assert [p.message for p in problems] == [
            "the first record has no field `titel` (used in request.messages[0].content)",
            "the first record has no field `audience` (used in request.messages[0].content)",
            "the first record has no field `code` (used in sources[0].id)",
        ]
        assert problems[0].hint == "did you mean `title`?"

    def test_csv_fields_are_checked_against_the_header(self, make_project):
        path = make_project(
            'model: m\nsources: [{path: p.csv}]\nrequest: {input: "{name} {price}"}\n',
            {"p.csv": "sku,name\na1,Lamp\n"},
        )
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line) == ("p.csv", 2)
        assert problem.message == "the first header has no field `price` (used in request.input)"

    def test_inline_items_point_at_the_item_in_the_project_file(self, make_project):
        path = make_project(
            """\
            model: m
            sources:
              - items:
                  - {title: Lamp}
            request: {input: "{name}"}
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line) == ("project.yaml", 4)
        assert "no field `name`" in problem.message

    def test_nested_field_is_checked(self, make_project):
        path = make_project(
            'model: m\nsources: [{items: [{meta: {size: 3}}]}]\nrequest: {input: "{meta.color}"}\n'
        )
        assert "no field `meta.color`" in only_problem(load_error(path)).message

    def test_stray_brace_names_the_template_key_and_line(self, make_project):
        path = make_project(
            """\
            model: m
            sources: [{items: [{title: a}]}]
            request:
              messages:
                - role: user
                  content: "Return JSON like {"
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.key, problem.line) == ("request.messages[0].content", 6)
        assert problem.message == "a single `{` at character 18"
        assert problem.hint == "write `{{` and `}}` for literal braces"

    def test_empty_source_file(self, make_project):
        path = make_project('model: m\nsources: [{path: p.jsonl}]\nrequest: {input: "{t}"}\n', {"p.jsonl": "\n\n"})
        problem = only_problem(load_error(path))
        assert (problem.file, problem.key) == ("p.jsonl", "sources[0]")
        assert "empty" in problem.message

    def test_first_record_that_is_not_json(self, make_project):
        path = make_project('model: m\nsources: [{path: p.jsonl}]\nrequest: {input: "{t}"}\n', {"p.jsonl": "\n{oops\n"})
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line) == ("p.jsonl", 2)
        assert problem.message.startswith("not valid JSON: Expecting property name")

    def test_sources_sharing_a_name(self, make_project):
        path = make_project(
            'model: m\nsources: [{path: a/p.jsonl}, {path: b/p.jsonl}]\nrequest: {input: "{title}"}\n',
            {"a/p.jsonl": PRODUCTS, "b/p.jsonl": PRODUCTS},
        )
        problem = only_problem(load_error(path))
        assert problem.key == "sources[1]"
        assert problem.message == "sources[0] and sources[1] are both named `p`"

    def test_empty_request_needs_a_template(self, make_project):
        path = make_project("model: m\nsources: [{items: [{text: a}]}]\n")
        problem = only_problem(load_error(path))
        assert problem.key == "request"
        assert "no body template" in problem.message

    def test_batch_input_needs_no_request_template(self, make_project):
        line = '{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}\n'
        path = make_project("model: m\nsources: [{path: ready.jsonl}]\n", {"ready.jsonl": line})
        assert load_project(path).spec.request == {}

    def test_a_broken_first_batch_line_is_found_when_loading(self, make_project):
        line = '{"custom_id": "a", "method": "GET", "body": {}}\n'
        path = make_project("model: m\nsources: [{path: ready.jsonl}]\n", {"ready.jsonl": line})
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line) == ("ready.jsonl", 1)
        assert problem.message == "a batch-input line's `method` must be POST, got 'GET'"
