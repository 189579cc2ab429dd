"""Loading a project file: what loads, and every way a bad file is reported."""

from __future__ import annotations

from pathlib import Path

from project_helpers import load_error, only_problem

from oaib_tui.project import load_project

PRODUCTS = '{"sku": "a1", "title": "Lamp"}\n{"sku": "a2", "title": "Chair"}\n'


class TestValidProject:
    def test_loads_with_the_file_stem_as_name_and_defaults(self, make_project):
        path = make_project(
            """\
            model: gpt-4o-mini
            sources: [{path: products.jsonl}]
            request: {messages: [{role: user, content: "Describe {title}"}]}
            """,
            {"products.jsonl": PRODUCTS},
            name="catalog.yaml",
        )
        project = load_project(path)
        assert project.name == "catalog"
        assert project.spec.model == "gpt-4o-mini"
        assert project.spec.limits.concurrency == 50
        assert project.path == path

    def test_name_key_wins_over_the_stem(self, make_project):
        path = make_project(
            """\
            name: nightly
            model: m
            sources: [{items: [{text: hi}]}]
            request: {input: "{text}"}
            """
        )
        project = load_project(path)
        assert project.name == "nightly"
        assert project.results_path == path.parent / "out" / "nightly.results.jsonl"

    def test_source_paths_are_relative_to_the_project_file_not_the_working_folder(self, make_project, tmp_path, monkeypatch):
        path = make_project(
            """\
            model: m
            sources: [{path: data/products.jsonl}]
            request: {input: "{title}"}
            """,
            {"sub/data/products.jsonl": PRODUCTS},
            name="sub/project.yaml",
        )
        monkeypatch.chdir(tmp_path.parent)
        project = load_project(path)
        assert project.resolve(project.spec.sources[0].path) == tmp_path / "sub" / "data" / "products.jsonl"

    def test_positions_of_keys_are_kept(self, make_project):
        path = make_project(
            """\
            model: m
            limits:
              rpm: 100
            sources:
              - items: [{text: a}, {text: b}]
            request: {input: "{text}"}
            """
        )
        positions = load_project(path).positions
        assert positions["limits.rpm"] == (3, 3)
        assert positions["sources[0].items"] == (5, 5)
        assert positions["sources[0].items[1]"][0] == 5


class TestSchemaProblems:
    def test_unknown_key_names_the_line_and_suggests_the_right_one(self, make_project):
        path = make_project(
            """\
            modle: gpt-4o-mini
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        error = load_error(path)
        assert error.title == "project.yaml is not a valid project"
        unknown = next(p for p in error.problems if p.key == "modle")
        assert (unknown.file, unknown.line, unknown.column) == ("project.yaml", 1, 1)
        assert unknown.message == "unknown key `modle`"
        assert unknown.hint == "did you mean `model`?"
        assert "unknown key `modle` — did you mean `model`?" in error.render()

    def test_missing_key_points_at_the_parent_mapping(self, make_project):
        path = make_project(
            """\
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert problem.key == "model"
        assert problem.message == "the required key `model` is missing"
        assert (problem.line, problem.column) == (1, 1)

    def test_missing_nested_key_names_the_dotted_key_and_the_parent_line(self, make_project):
        path = make_project(
            """\
            model: m
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            pricing:
              my-model:
                output: 1.0
            """
        )
        problem = only_problem(load_error(path))
        assert problem.key == "pricing.my-model.input"
        assert problem.line == 5
        assert "required key `input` is missing" in problem.message

    def test_wrong_type_says_what_was_expected_in_plain_words(self, make_project):
        path = make_project(
            """\
            model: m
            limits:
              rpm: fast
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line, problem.column, problem.key) == ("project.yaml", 3, 3, "limits.rpm")
        assert problem.message == "expected a whole number greater than 0, got 'fast'"

    def test_every_problem_is_reported_in_file_order(self, make_project):
        path = make_project(
            """\
            model: m
            mode: fastest
            limits:
              safety: 2
              concurency: 3
            sources:
              - {items: [{text: a}], formt: csv}
            request: {input: "{text}"}
            """
        )
        problems = load_error(path).problems
        assert [(p.line, p.key) for p in problems] == [
            (2, "mode"),
            (4, "limits.safety"),
            (5, "limits.concurency"),
            (7, "sources[0].formt"),
        ]
        assert problems[0].message == "expected one of `auto`, `realtime` or `batch`, got 'fastest'"
        assert problems[1].message == "expected a number at least 0 and less than 1, got 2"
        assert problems[2].hint == "did you mean `concurrency`?"
        assert problems[3].hint == "did you mean `format`?"

    def test_rule_across_keys_is_reported_with_its_own_words(self, make_project):
        path = make_project(
            """\
            model: m
            mode: realtime
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert problem.message.startswith("`mode: realtime` needs fixed `limits.rpm` and `limits.tpm`")
        assert problem.key is None

    def test_a_list_where_a_mapping_belongs(self, make_project):
        path = make_project(
            """\
            model: m
            provider: [openai]
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.key, problem.line) == ("provider", 2)
        assert problem.message == "expected a mapping (key: value), got a list"

    def test_source_needs_a_path_or_items(self, make_project):
        path = make_project(
            """\
            model: m
            sources:
              - {name: nothing}
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.key, problem.line) == ("sources[0]", 3)
        assert problem.message == "a source needs exactly one of `path` or `items`"

    def test_empty_sources_list(self, make_project):
        path = make_project("model: m\nsources: []\n")
        problem = only_problem(load_error(path))
        assert problem.key == "sources"
        assert problem.message == "expected a list with at least 1 item, got an empty list"

    def test_api_key_in_place_of_its_variable_name(self, make_project):
        path = make_project(
            """\
            model: m
            provider: {api_key_env: sk-abc123}
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            """
        )
        problem = only_problem(load_error(path))
        assert problem.key == "provider.api_key_env"
        assert "never the key itself" in problem.message


class TestFileProblems:
    def test_missing_project_file_suggests_a_neighbour(self, make_project, tmp_path):
        make_project("model: m\n", name="project.yaml")
        error = load_error(tmp_path / "projcet.yaml")
        problem = only_problem(error)
        assert error.title == "cannot read projcet.yaml"
        assert problem.message == "no such file"
        assert problem.hint == "did you mean `project.yaml`?"

    def test_a_folder_is_not_a_project_file(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        problem = only_problem(load_error(tmp_path))
        assert "folder" in problem.message

    def test_empty_file(self, make_project):
        error = load_error(make_project(""))
        assert error.title == "project.yaml is empty"
        assert "needs at least `model` and `sources`" in only_problem(error).message

    def test_file_of_only_comments_is_empty(self, make_project):
        assert load_error(make_project("# nothing yet\n")).title == "project.yaml is empty"

    def test_not_a_mapping(self, make_project):
        problem = only_problem(load_error(make_project("- model: m\n")))
        assert problem.message == "expected a mapping of keys (`model:`, `sources:`, …) at the top, got a list"
        assert problem.line == 1

    def test_malformed_yaml_names_line_column_and_yaml_problem(self, make_project):
        error = load_error(make_project("model: m\nsources: [{path: a.jsonl}\nrequest: {}\n"))
        problem = only_problem(error)
        assert error.title == "project.yaml is not valid YAML"
        assert problem.file == "project.yaml"
        assert problem.line == 3
        assert "expected ',' or ']'" in problem.message
        assert "Traceback" not in error.render()

    def test_bad_indentation(self, make_project):
        problem = only_problem(load_error(make_project("model: m\n  rpm: 3\n")))
        assert problem.line == 2
        assert "mapping values are not allowed here" in problem.message

    def test_duplicate_keys_are_an_error_with_both_lines(self, make_project):
        path = make_project(
            """\
            model: a
            sources: [{items: [{text: a}]}]
            limits:
              rpm: 10
              rpm: 20
            request: {input: "{text}"}
            model: b
            """
        )
        problems = load_error(path).problems
        assert [(p.key, p.line, p.column) for p in problems] == [("limits.rpm", 5, 3), ("model", 7, 1)]
        assert problems[0].message == "the key `rpm` is written twice in this mapping (first at line 4)"
        assert "silently keep only the last" in problems[0].hint

    def test_non_utf8_bytes_name_their_line_and_column(self, make_project, tmp_path):
        path = tmp_path / "project.yaml"
        make_project("placeholder: 1\n")
        path.write_bytes(b"model: m\nname: caf\xe9\n")
        error = load_error(path)
        problem = only_problem(error)
        assert error.title == "project.yaml is not UTF-8 text"
        assert (problem.line, problem.column) == (2, 10)
        assert problem.message == "byte 0xe9 is not UTF-8 text"

    def test_a_control_character_names_its_place(self, make_project):
        error = load_error(make_project("model: m\nname: a\x00b\n"))
        problem = only_problem(error)
        assert (problem.line, problem.column) == (2, 8)
        assert problem.message == "the character U+0000 is not allowed in YAML"

    def test_unsupported_yaml_tag(self, make_project):
        problem = only_problem(load_error(make_project("model: !!python/name:os.system x\n")))
        assert problem.line == 1
        assert "constructor" in problem.message

    def test_impossible_date_is_a_user_error(self, make_project):
        assert "cannot be read" in only_problem(load_error(make_project("model: 2024-13-45\n"))).message

    def test_recursive_alias_is_refused(self, make_project):
        problem = only_problem(load_error(make_project("model: m\nsources: &s [*s]\n")))
        assert "alias refers to the mapping or list that contains it" in problem.message

    def test_alias_bomb_is_refused_quickly(self, make_project):
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 9)]
        problem = only_problem(load_error(make_project("\n".join(lines) + "\n")))
        assert "more than a million values" in problem.message


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


def test_problem_lines_print_as_file_line_column_key(make_project):
    path = make_project("model: m\nlimits: {rpm: 0}\nsources: [{items: [{t: a}]}]\nrequest: {input: '{t}'}\n")
    rendered = load_error(path).render()
    assert rendered.splitlines()[1] == "  project.yaml:2:10: `limits.rpm`: expected a whole number greater than 0, got 0"


def test_absolute_paths_outside_the_working_folder_stay_absolute(tmp_path: Path, monkeypatch):
    (tmp_path / "p").mkdir()
    (tmp_path / "elsewhere").mkdir()
    project = tmp_path / "p" / "x.yaml"
    project.write_text("model: [\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert only_problem(load_error(project)).file == str(project)
