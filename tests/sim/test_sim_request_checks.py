"""The simulator rejects what OpenAI rejects: unknown parameters, wrong types, unknown models, per endpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import openai
import pytest
from sim_helpers import chat_body

from oaib_tui.request_params import params_for
from oaib_tui.sim.client import simulator_http_client

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
RESPONSES = {"model": "gpt-4o-mini", "input": "Hi"}
EMBEDDINGS = {"model": "text-embedding-3-small", "input": "Hi"}
COMPLETIONS = {"model": "gpt-3.5-turbo-instruct", "prompt": "Hi"}
MODERATIONS = {"input": "Hi"}


def unrecognized(names: str) -> dict:
    return {"error": {"message": f"Unrecognized request argument supplied: {names}",
                      "type": "invalid_request_error", "param": None, "code": None}}


async def post(app, path: str, body: dict) -> tuple[int, dict]:
    async with simulator_http_client(app) as http:
        response = await http.post(path, json=body)
    return response.status_code, response.json()


@pytest.mark.parametrize(("path", "body"), [
    ("/chat/completions", CHAT),
    ("/embeddings", EMBEDDINGS),
    ("/completions", COMPLETIONS),
    ("/moderations", MODERATIONS),
])
async def test_an_unknown_parameter_gets_openais_unrecognized_argument_400(make_app, path, body) -> None:
    app = make_app()
    status, answer = await post(app, path, {**body, "max_token": 120})
    assert (status, answer) == (400, unrecognized("max_token"))
    assert app.stats.admitted == 0


async def test_several_unknown_parameters_are_all_named_in_the_order_sent(make_app) -> None:
    status, answer = await post(make_app(), "/chat/completions", {**CHAT, "max_token": 1, "temprature": 0.2})
    assert (status, answer["error"]["message"]) == (400, "Unrecognized request arguments supplied: max_token, temprature")


async def test_the_responses_api_names_its_unknown_parameter_in_param_and_code(make_app) -> None:
    status, answer = await post(make_app(), "/responses", {**RESPONSES, "max_token": 120})
    assert (status, answer) == (400, {"error": {
        "message": "Unknown parameter: 'max_token'.", "type": "invalid_request_error",
        "param": "max_token", "code": "unknown_parameter"}})


async def test_a_parameter_of_another_endpoint_is_unknown_here(make_app) -> None:
    chat_status, chat = await post(make_app(), "/chat/completions", {**CHAT, "max_output_tokens": 50})
    responses_status, responses = await post(make_app(), "/responses", {**RESPONSES, "max_tokens": 50})
    assert (chat_status, chat) == (400, unrecognized("max_output_tokens"))
    assert (responses_status, responses["error"]["param"]) == (400, "max_tokens")


async def test_the_sdk_raises_bad_request_for_an_unknown_parameter(make_app, client_for) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client_for(make_app()).chat.completions.create(**chat_body(), extra_body={"max_token": 120})
    assert caught.value.body["message"] == "Unrecognized request argument supplied: max_token"


@pytest.mark.parametrize(("path", "body", "param", "message"), [
    ("/chat/completions", {**CHAT, "temperature": "hot"}, "temperature",
     "Invalid type for 'temperature': expected a decimal, but got a string instead."),
    ("/chat/completions", {**CHAT, "messages": "Hi"}, "messages",
     "Invalid type for 'messages': expected an array of objects, but got a string instead."),
    ("/chat/completions", {**CHAT, "messages": ["Hi"]}, "messages[0]",
     "Invalid type for 'messages[0]': expected an object, but got a string instead."),
    ("/chat/completions", {**CHAT, "max_tokens": "ten"}, "max_tokens",
     "Invalid type for 'max_tokens': expected an integer, but got a string instead."),
    ("/chat/completions", {**CHAT, "logprobs": 1}, "logprobs",
     "Invalid type for 'logprobs': expected a boolean, but got an integer instead."),
    ("/chat/completions", {**CHAT, "stop": [1]}, "stop[0]",
     "Invalid type for 'stop[0]': expected a string, but got an integer instead."),
    ("/responses", {**RESPONSES, "input": 5}, "input",
     "Invalid type for 'input': expected one of an array of objects or a string, but got an integer instead."),
    ("/responses", {**RESPONSES, "text": "json"}, "text",
     "Invalid type for 'text': expected an object, but got a string instead."),
    ("/embeddings", {**EMBEDDINGS, "dimensions": 1.5}, "dimensions",
     "Invalid type for 'dimensions': expected an integer, but got a decimal instead."),
    ("/completions", {**COMPLETIONS, "echo": "yes"}, "echo",
     "Invalid type for 'echo': expected a boolean, but got a string instead."),
])
async def test_a_wrong_type_gets_invalid_type_naming_the_parameter(make_app, path, body, param, message) -> None:
    status, answer = await post(make_app(), path, body)
    assert (status, answer) == (400, {"error": {
        "message": message, "type": "invalid_request_error", "param": param, "code": "invalid_type"}})


async def test_whole_numbers_pass_for_decimals_and_null_means_not_given(make_app, client_for) -> None:
    body = {**CHAT, "temperature": 1, "top_p": None, "stop": ["END"], "metadata": {"k": "v"}}
    status, answer = await post(make_app(), "/chat/completions", body)
    assert status == 200 and answer["choices"]


@pytest.mark.parametrize(("path", "body"), [
    ("/chat/completions", CHAT),
    ("/embeddings", EMBEDDINGS),
    ("/completions", COMPLETIONS),
    ("/moderations", {**MODERATIONS, "model": "omni-moderation-latest"}),
])
async def test_an_unknown_model_gets_openais_404(make_app, path, body) -> None:
    app = make_app()
    status, answer = await post(app, path, {**body, "model": "gpt-4o-mni"})
    assert (status, answer) == (404, {"error": {
        "message": "The model `gpt-4o-mni` does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
    assert app.stats.admitted == 0


async def test_the_responses_api_answers_an_unknown_model_with_its_own_400(make_app) -> None:
    status, answer = await post(make_app(), "/responses", {**RESPONSES, "model": "gpt-4o-mni"})
    assert (status, answer) == (400, {"error": {
        "message": "The requested model 'gpt-4o-mni' does not exist.", "type": "invalid_request_error",
        "param": "model", "code": "model_not_found"}})


async def test_the_sdk_raises_not_found_for_an_unknown_model(make_app, client_for) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client_for(make_app()).chat.completions.create(**chat_body(model="gpt-4o-mni"))
    assert caught.value.code == "model_not_found"


@pytest.mark.parametrize("model", ["gpt-4o-2024-08-06", "ft:gpt-4o-mini-2024-07-18:acme::abc123", "o3-mini"])
async def test_snapshots_and_fine_tunes_of_priced_models_are_known(make_app, model) -> None:
    status, _ = await post(make_app(), "/chat/completions", {**CHAT, "model": model})
    assert status == 200


async def test_the_simulator_settings_add_models(make_app, client_for) -> None:
    app = make_app(models=["acme-large"])
    status, answer = await post(app, "/chat/completions", {**CHAT, "model": "acme-large"})
    assert (status, answer["model"]) == (200, "acme-large")
    assert "acme-large" in [model.id async for model in client_for(app).models.list()]
    app.update(models=())
    assert (await post(app, "/chat/completions", {**CHAT, "model": "acme-large"}))[0] == 404


async def test_retrieving_an_unknown_model_gets_404(make_app, client_for) -> None:
    with pytest.raises(openai.NotFoundError):
        await client_for(make_app()).models.retrieve("gpt-4o-mni")


async def test_azure_deployments_are_the_users_own_names(make_app) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post("http://simulator.local/openai/deployments/my-4o/chat/completions",
                                   json={"messages": CHAT["messages"]})
        typo = await http.post("http://simulator.local/openai/deployments/my-4o/chat/completions",
                               json={"messages": CHAT["messages"], "max_token": 5})
    assert response.status_code == 200 and response.json()["model"] == "my-4o"
    assert (typo.status_code, typo.json()) == (400, unrecognized("max_token"))


def test_every_parameter_the_installed_sdk_sends_is_known() -> None:
    """Else the simulator would refuse a body OpenAI takes: run scripts/make_request_params.py after upgrading openai."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_request_params.py"
    spec = importlib.util.spec_from_file_location("make_request_params", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for endpoint, entry in module.build()["endpoints"].items():
        assert not params_for(endpoint).unknown(entry["params"]), endpoint


def test_every_endpoint_a_project_may_name_has_its_parameter_list() -> None:
    from oaib_tui.project.schema import ENDPOINTS
    from oaib_tui.sim.responses import BUILDERS

    assert set(ENDPOINTS) == set(BUILDERS)
    assert all("model" in params_for(endpoint).types for endpoint in ENDPOINTS)


def test_the_sim_command_adds_models(monkeypatch) -> None:
    from click.testing import CliRunner

    from oaib_tui.cli import cli
    from oaib_tui.sim import server

    served = []
    monkeypatch.setattr(server, "serve", lambda settings, **_: served.append(settings))
    result = CliRunner().invoke(cli, ["sim", "--model", "acme-large", "--model", "acme-small"])
    assert result.exit_code == 0, result.output
    assert served[0].models == ("acme-large", "acme-small")
