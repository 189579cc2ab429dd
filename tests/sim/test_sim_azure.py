"""The Azure-style routes, driven by the SDK's own Azure client."""

from __future__ import annotations

import openai
import pytest
from sim_helpers import chat_body

from oaib_tui.sim import SimulatorApp
from oaib_tui.sim.client import simulator_http_client


def azure_client(app: SimulatorApp, **options) -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(
        azure_endpoint="http://simulator.local",
        api_version="2024-10-21",
        api_key=options.pop("api_key", "azure-key-0123456789"),
        http_client=simulator_http_client(app),
        max_retries=0,
        **options,
    )


class Recorder:
    """Wraps the app to see which paths the Azure client asks for."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app, self.paths = app, []

    async def __call__(self, scope, receive, send) -> None:
        self.paths.append((scope["path"], scope["query_string"]))
        await self.app(scope, receive, send)


async def test_azure_chat_goes_to_the_deployment_route(make_app) -> None:
    app = make_app()
    recorder = Recorder(app)
    async with azure_client(recorder) as client:
        raw = await client.chat.completions.with_raw_response.create(**chat_body(model="my-gpt4o-deployment"))
    completion = raw.parse()
    assert recorder.paths == [("/openai/deployments/my-gpt4o-deployment/chat/completions", b"api-version=2024-10-21")]
    assert completion.model == "my-gpt4o-deployment" and completion.choices[0].message.content
    assert raw.headers["x-ratelimit-remaining-requests"] == str(app.settings.rpm - 1)


async def test_azure_client_with_a_fixed_deployment(make_app) -> None:
    app = make_app()
    async with azure_client(app, azure_deployment="embedder") as client:
        response = await client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert len(response.data[0].embedding) == 1536


async def test_azure_responses_and_models_routes(make_app) -> None:
    app = make_app()
    async with azure_client(app) as client:
        response = await client.responses.create(model="gpt-4o-mini", input="hello")
        models = [model.id async for model in client.models.list()]
    assert response.output_text and "gpt-4o-mini" in models


async def test_azure_api_key_header_satisfies_require_key(make_app) -> None:
    app = make_app(require_key="azure-key-0123456789")
    async with azure_client(app) as client:
        await client.chat.completions.create(**chat_body())
    async with azure_client(app, api_key="azure-key-wrong-000000") as client:
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(**chat_body())


async def test_the_deployment_names_the_model_when_the_body_does_not(make_app) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post(
            "http://simulator.local/openai/deployments/dep-1/chat/completions?api-version=2024-10-21",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200 and response.json()["model"] == "dep-1"


async def test_azure_batches_name_their_endpoint_without_v1(make_app) -> None:
    # With a fixed deployment too: the SDK sends files and batches to /openai/..., not to the deployment.
    async with azure_client(make_app(), azure_deployment="batch-4o-mini") as client:
        uploaded = await client.files.create(file=("in.jsonl", b'{"custom_id":"a","method":"POST",'
                                             b'"url":"/chat/completions","body":{"model":"batch-4o-mini",'
                                             b'"messages":[{"role":"user","content":"hi"}]}}\n', "application/jsonl"),
                                             purpose="batch")
        with pytest.raises(openai.BadRequestError, match="Invalid endpoint"):
            await client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                        completion_window="24h")
        batch = await client.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions",  # type: ignore[arg-type]
                                            completion_window="24h")
    assert batch.endpoint == "/chat/completions"
