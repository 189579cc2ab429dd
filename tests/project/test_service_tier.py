"""`request.service_tier` is checked when the project loads, and the answer timeout follows the tier."""

from __future__ import annotations

import pytest
from project_helpers import load_error, only_problem

from oaib_tui.errors import EXIT_BAD_INPUT
from oaib_tui.project import load_project

PROJECT = """\
model: gpt-4o-mini
endpoint: {endpoint}
provider: {{kind: simulator}}
{limits}
sources:
  - items: [{{text: hi}}]
request:
  input: "{{text}}"
  service_tier: {tier}
"""


def project_text(tier: str, endpoint: str = "/v1/responses", limits: str = "") -> str:
    return PROJECT.format(tier=tier, endpoint=endpoint, limits=limits)


@pytest.mark.parametrize("tier", ["auto", "default", "flex", "priority", '"{text}"'])
def test_the_four_tiers_and_a_template_load(make_project, tier) -> None:
    assert load_project(make_project(project_text(tier))).spec.request["service_tier"]


def test_an_unknown_tier_is_located_and_a_close_one_suggested(make_project) -> None:
    error = load_error(make_project(project_text("flx")))
    problem = only_problem(error)
    assert (problem.key, problem.line, problem.column) == ("request.service_tier", 9, 3)
    assert problem.message == "unknown service tier `flx`: expected one of `auto`, `default`, `flex`, `priority`"
    assert problem.hint == "did you mean `flex`?"
    assert error.exit_code == EXIT_BAD_INPUT == 2


def test_flex_on_an_endpoint_that_does_not_sell_it_is_refused(make_project) -> None:
    text = project_text("flex", "/v1/completions").replace('input: "{text}"', 'prompt: "{text}"')
    problem = only_problem(load_error(make_project(text)))
    assert problem.key == "request.service_tier"
    assert "`/v1/completions`" in problem.message and "`/v1/responses`" in problem.message


def test_a_tier_that_is_not_text_is_refused(make_project) -> None:
    problem = only_problem(load_error(make_project(project_text("[flex]"))))
    assert problem.message.startswith("unknown service tier ['flex']")


@pytest.mark.parametrize(("tier", "limits", "timeout"), [
    ("flex", "", 900.0),
    ("flex", "limits: {timeout_s: 60}", 60.0),
    ("priority", "", 120.0),
    ("default", "limits: {timeout_s: 300}", 300.0),
])
def test_flex_waits_900_s_for_an_answer_unless_the_timeout_is_set(make_project, tier, limits, timeout) -> None:
    project = load_project(make_project(project_text(tier, limits=limits)))
    assert project.spec.timeout_s == timeout
