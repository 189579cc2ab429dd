"""What a valid project may still get wrong about the API: `validate`'s warnings, and the unpriced cap's error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from project_helpers import load_error, only_problem

from oaib_tui.cli import cli, main
from oaib_tui.errors import EXIT_BAD_INPUT
from oaib_tui.project import load_project
from oaib_tui.project.api_checks import request_warnings

TYPOS = """\
    model: gpt-4o-mni
    sources: [{items: [{text: hi}]}]
    request:
      messages: [{role: user, content: "{text}"}]
      max_token: 120
    """


class TestWarnings:
    def test_an_unknown_request_key_is_named_where_it_sits_with_a_suggestion(self, make_project):
        warnings = request_warnings(load_project(make_project(TYPOS)))
        assert [(w.key, w.line, w.hint) for w in warnings] == [
            ("model", 1, "did you mean `gpt-4o-mini`?"),
            ("request.max_token", 5, "did you mean `max_tokens`?"),
        ]
        assert warnings[1].message == (
            "/v1/chat/completions takes no parameter `max_token`: OpenAI answers 400 (unknown parameter)")
        assert warnings[0].message == "unknown model `gpt-4o-mni`: OpenAI answers 404 `model_not_found`"

    def test_each_endpoint_has_its_own_parameters(self, make_project):
        path = make_project("""\
            model: gpt-4o-mini
            endpoint: /v1/responses
            sources: [{items: [{text: hi}]}]
            request: {input: "{text}", max_tokens: 50}
            """)
        [warning] = request_warnings(load_project(path))
        assert warning.key == "request.max_tokens" and warning.hint == "did you mean `max_output_tokens`?"

    def test_a_clean_project_has_no_warnings(self, make_project):
        path = make_project("""\
            model: gpt-4o-mini-2024-07-18
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}], max_completion_tokens: 50, temperature: 0}
            """)
        assert request_warnings(load_project(path)) == []

    def test_a_model_the_template_sets_is_the_one_checked(self, make_project):
        path = make_project("""\
            model: gpt-4o-mini
            sources: [{items: [{text: hi, m: gpt-4o}]}]
            request: {model: gpt-4.1-mimi, messages: [{role: user, content: "{text}"}]}
            """)
        [warning] = request_warnings(load_project(path))
        assert (warning.key, warning.hint) == ("request.model", "did you mean `gpt-4.1-mini`?")
        templated = make_project("""\
            model: gpt-4o-mini
            sources: [{items: [{text: hi, m: gpt-4o}]}]
            request: {model: "{m}", messages: [{role: user, content: "{text}"}]}
            """, name="templated.yaml")
        assert request_warnings(load_project(templated)) == []

    def test_priced_models_are_known_and_the_simulator_knows_its_own(self, make_project):
        priced = make_project("""\
            model: acme-large
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            pricing: {acme-large: {input: 1, output: 2}}
            """)
        assert request_warnings(load_project(priced)) == []
        simulated = make_project("""\
            model: acme-large
            provider: {kind: simulator, simulator: {models: [acme-large]}}
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            """, name="simulated.yaml")
        assert request_warnings(load_project(simulated)) == []

    def test_the_simulator_does_not_serve_a_model_only_because_it_is_priced(self, make_project):
        path = make_project("""\
            model: acme-large
            provider: {kind: simulator}
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            pricing: {acme-large: {input: 1, output: 2}}
            """)
        [warning] = request_warnings(load_project(path))
        assert warning.hint == "if it is a model the price table lacks, list it under `provider.simulator.models`"

    def test_a_compatible_server_has_its_own_models_and_parameters(self, make_project):
        path = make_project("""\
            model: llama3.2
            provider: {kind: compatible, base_url: "http://127.0.0.1:11434/v1"}
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}], top_k: 40}
            """)
        assert request_warnings(load_project(path)) == []

    def test_validate_prints_the_warnings_on_stderr_and_still_succeeds(self, make_project):
        path = make_project(TYPOS)
        result = CliRunner().invoke(cli, ["validate", str(path), "--show", "0"])
        assert result.exit_code == 0, result.output
        assert "warning: project.yaml:5:3: `request.max_token`: " in result.stderr
        assert "did you mean `max_tokens`?" in result.stderr and "did you mean `gpt-4o-mini`?" in result.stderr
        assert "warning" not in result.stdout


class TestUnpricedCap:
    def test_a_cap_on_an_unpriced_model_is_a_load_error_at_the_cap(self, make_project):
        path = make_project("""\
            model: acme-large
            limits:
              max_cost_usd: 5
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            """)
        problem = only_problem(load_error(path))
        assert (problem.file, problem.line, problem.key) == ("project.yaml", 3, "limits.max_cost_usd")
        assert problem.message == "the spend cap cannot be kept: no price is known for `acme-large`"
        assert problem.hint == "give `acme-large` a price under `pricing:` (US dollars per 1M tokens), or remove the cap"

    def test_a_misspelt_model_gets_a_suggestion_too(self, make_project):
        path = make_project("""\
            model: gpt-4o-mni
            limits: {max_cost_usd: 5}
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            """)
        assert only_problem(load_error(path)).hint.startswith("did you mean `gpt-4o-mini`? Otherwise give")

    def test_the_cli_exits_2_naming_file_line_and_key(self, make_project, capsys):
        path = make_project("""\
            model: acme-large
            limits: {max_cost_usd: 5}
            sources: [{items: [{text: hi}]}]
            request: {messages: [{role: user, content: "{text}"}]}
            """)
        with pytest.raises(SystemExit) as exited:
            main(["validate", str(path)])
        assert exited.value.code == EXIT_BAD_INPUT
        stderr = capsys.readouterr().err
        assert "project.yaml:2:10: `limits.max_cost_usd`: the spend cap cannot be kept" in stderr
        assert "Traceback" not in stderr

    def test_a_priced_snapshot_an_override_or_no_cap_all_load(self, make_project):
        for name, text in {
            "snapshot.yaml": "model: gpt-4o-2024-08-06\nlimits: {max_cost_usd: 5}\n",
            "override.yaml": "model: acme-large\nlimits: {max_cost_usd: 5}\npricing: {acme-large: {input: 1}}\n",
            "uncapped.yaml": "model: acme-large\n",
        }.items():
            body = 'sources: [{items: [{text: hi}]}]\nrequest: {messages: [{role: user, content: "{text}"}]}\n'
            assert load_project(make_project(text + body, name=name)).spec.model

    def test_the_model_the_template_sets_is_the_one_priced(self, make_project):
        path = make_project("""\
            model: gpt-4o-mini
            limits: {max_cost_usd: 5}
            sources: [{items: [{text: hi}]}]
            request: {model: acme-large, messages: [{role: user, content: "{text}"}]}
            """)
        assert "`acme-large`" in only_problem(load_error(path)).message
