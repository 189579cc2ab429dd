"""Body templates: substitution, escaping, typed values, nested fields, errors."""

from __future__ import annotations

import pytest

from oaib_tui.project.template import (
    MissingField,
    Template,
    TemplateSyntaxError,
    parse_text,
)


def render(value, record, **options):
    return Template(value, "request", **options).render(record)


class TestSubstitution:
    def test_fields_fill_strings_at_any_depth(self):
        template = {"messages": [{"role": "user", "content": "Describe {title} ({sku})."}], "meta": {"tags": ["{sku}"]}}
        assert render(template, {"title": "Lamp", "sku": "a1"}) == {
            "messages": [{"role": "user", "content": "Describe Lamp (a1)."}],
            "meta": {"tags": ["a1"]},
        }

    def test_non_string_values_and_keys_pass_unchanged(self):
        template = {"max_tokens": 200, "temperature": 0.5, "stream": False, "stop": None, "{key}": "v"}
        assert render(template, {}) == template

    def test_double_braces_are_literal(self):
        assert render({"c": 'JSON like {{"a": {n}}} please'}, {"n": 1}) == {"c": 'JSON like {"a": 1} please'}

    def test_a_string_that_is_only_a_field_keeps_the_value_type(self):
        record = {"vector": [1, 2], "limit": 50, "opts": {"a": 1}, "none": None, "flag": True}
        template = {"input": "{vector}", "max_tokens": "{limit}", "o": "{opts}", "n": "{none}", "f": "{flag}"}
        assert render(template, record) == {"input": [1, 2], "max_tokens": 50, "o": {"a": 1}, "n": None, "f": True}

    def test_values_inside_longer_text_are_written_as_text(self):
        record = {"n": 3, "x": 1.5, "l": ["a", "é"], "d": {"k": None}, "none": None, "t": True}
        text = render({"c": "{n}|{x}|{l}|{d}|{none}|{t}"}, record)["c"]
        assert text == '3|1.5|["a", "é"]|{"k": null}|null|true'

    def test_nested_fields(self):
        assert render({"c": "{product.name} in {product.color.main}"}, {"product": {"name": "Lamp", "color": {"main": "red"}}}) == {
            "c": "Lamp in red"
        }

    def test_text_only_templates_always_give_text(self):
        assert Template("{sku}", "sources[0].id", text_only=True).render({"sku": 17}) == "17"

    def test_every_render_builds_fresh_containers(self):
        template = Template({"messages": [{"role": "user", "content": "hi"}]}, "request")
        first = template.render({})
        first["messages"].append("changed")
        assert template.render({}) == {"messages": [{"role": "user", "content": "hi"}]}

    def test_fields_used(self):
        template = Template({"a": "{x} {y.z}", "b": ["{x}"]}, "request")
        assert template.fields_used() == {"x", "y.z"}
        assert [(u.name, u.key) for u in template.uses] == [("x", "request.a"), ("y.z", "request.a"), ("x", "request.b[0]")]

    def test_user_text_never_becomes_code(self):
        nasty = '"); import os; ("'
        assert render({nasty: nasty + " {x}"}, {"x": 1}) == {nasty: nasty + " 1"}


class TestMissingFields:
    def test_missing_field_names_the_field_and_where_it_is_used(self):
        template = Template({"messages": [{"content": "a"}, {"content": "Describe {title}"}]}, "request")
        with pytest.raises(MissingField) as caught:
            template.render({"name": "x"})
        assert str(caught.value) == "the record has no field `title` (used in request.messages[1].content)"

    def test_nested_field_through_a_non_mapping(self):
        with pytest.raises(MissingField) as caught:
            render({"c": "{a.b}"}, {"a": "text"})
        assert caught.value.use.name == "a.b"


class TestSyntax:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("open { here", "a single `{` at character 6"),
            ("close } here", "a single `}` at character 7"),
            ("{a{b}", "a single `{` at character 1"),
            ("empty {}", "`{}` is not a field name"),
            ("{a..b}", "`{a..b}` is not a field name"),
        ],
    )
    def test_stray_braces_and_bad_names_are_errors(self, text, message):
        with pytest.raises(TemplateSyntaxError) as caught:
            Template({"messages": [{"content": text}]}, "request")
        [issue] = caught.value.issues
        assert (issue.key, issue.message) == ("request.messages[0].content", message)

    def test_every_bad_string_is_reported(self):
        with pytest.raises(TemplateSyntaxError) as caught:
            Template({"a": "{", "b": ["}"]}, "request")
        assert [i.key for i in caught.value.issues] == ["request.a", "request.b[0]"]

    def test_parse_text_splits_literals_and_fields(self):
        parts = parse_text("a {x} {{b}} {y}", "k")
        assert [p if isinstance(p, str) else p.name for p in parts] == ["a ", "x", " {b} ", "y"]

    @pytest.mark.parametrize("depth", [300, 5000])
    def test_a_template_nested_beyond_python_limits_is_an_error_not_a_crash(self, depth):
        value: object = "{x}"
        for _ in range(depth):
            value = [value]
        with pytest.raises(TemplateSyntaxError) as caught:
            Template(value, "request")
        assert caught.value.issues[0].message == "the template is nested too deeply"
