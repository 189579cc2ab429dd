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

    def test_a_typo_in_a_tier_price_names_the_dotted_key_and_the_close_one(self, make_project):
        path = make_project(
            """\
            model: gpt-5
            sources: [{items: [{text: a}]}]
            request: {input: "{text}"}
            pricing:
              gpt-5:
                input: 1.0
                cache_write: 1.25
                flex: {input: 0.5, cached_inptu: 0.05}
            """
        )
        problem = only_problem(load_error(path))
        assert (problem.key, problem.line) == ("pricing.gpt-5.flex.cached_inptu", 8)
        assert problem.hint == "did you mean `cached_input`?"

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
        assert problems[0].message == "expected one of `auto`, `realtime`, `batch` or `hybrid`, got 'fastest'"
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
