"""Loading a project file that cannot be read or is not valid YAML."""

from __future__ import annotations

from project_helpers import load_error, only_problem


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
