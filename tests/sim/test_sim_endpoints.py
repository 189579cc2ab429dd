"""Every endpoint through the official SDK, in-process: the SDK's types accept each body, usage is exact."""

from __future__ import annotations

import json
import math

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse, ModerationCreateResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from sim_helpers import chat_body

from oaib_tui import tokens
from oaib_tui.sim.client import simulator_http_client
from oaib_tui.sim.textgen import DEFAULT_OUTPUT_TOKENS, MIN_OUTPUT_TOKENS


def strictly(model_type, raw) -> object:
    """Validate the raw JSON with the SDK's type (the SDK itself constructs without validating)."""
    return model_type.model_validate(json.loads(raw.http_response.content))


async def test_chat_completion_parses_and_counts_exactly(make_app, client_for) -> None:
    client = client_for(make_app())
    body = chat_body("Tell me about rate limits.", max_tokens=40)
    raw = await client.chat.completions.with_raw_response.create(**body)
    strictly(ChatCompletion, raw)
    completion = raw.parse()
    [choice] = completion.choices
    assert completion.object == "chat.completion" and completion.model == "gpt-4o-mini"
    assert choice.message.role == "assistant" and choice.message.content
    assert completion.usage.prompt_tokens == tokens.prompt_tokens("/v1/chat/completions", body)
    assert completion.usage.completion_tokens == tokens.text_counter("gpt-4o-mini")(choice.message.content)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


async def test_output_length_stays_between_ten_and_the_maximum(make_app, client_for) -> None:
    client = client_for(make_app())
    lengths = []
    for index in range(30):
        completion = await client.chat.completions.create(**chat_body(f"Question {index}", max_completion_tokens=30))
        lengths.append(completion.usage.completion_tokens)
    assert min(lengths) >= MIN_OUTPUT_TOKENS - 2 and max(lengths) <= 30  # ~10: full stops may cost a token or two
    assert len(set(lengths)) > 5  # spread, not one fixed length


async def test_without_a_maximum_the_output_stays_under_the_default(make_app, client_for) -> None:
    client = client_for(make_app())
    lengths = [(await client.chat.completions.create(**chat_body(f"Q{i}"))).usage.completion_tokens for i in range(20)]
    assert max(lengths) <= DEFAULT_OUTPUT_TOKENS and min(lengths) >= MIN_OUTPUT_TOKENS - 2


async def test_a_tiny_maximum_ends_with_length(make_app, client_for) -> None:
    completion = await client_for(make_app()).chat.completions.create(**chat_body(max_tokens=3))
    assert completion.choices[0].finish_reason == "length"
    assert 1 <= completion.usage.completion_tokens <= 3


async def test_n_choices_are_each_generated_and_counted(make_app, client_for) -> None:
    completion = await client_for(make_app()).chat.completions.create(**chat_body(n=3, max_tokens=20))
    count = tokens.text_counter("gpt-4o-mini")
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert completion.usage.completion_tokens == sum(count(choice.message.content) for choice in completion.choices)


async def test_same_seed_same_content_other_seed_other_content(make_app, client_for) -> None:
    body = chat_body("Deterministic?", max_tokens=50)
    first = await client_for(make_app(seed=7)).chat.completions.create(**body)
    again = await client_for(make_app(seed=7)).chat.completions.create(**body)
    other = await client_for(make_app(seed=8)).chat.completions.create(**body)
    assert first.choices[0].message.content == again.choices[0].message.content
    assert first.choices[0].message.content != other.choices[0].message.content


async def test_content_depends_on_the_request_not_on_its_arrival(make_app, client_for) -> None:
    client = client_for(make_app())
    one = await client.chat.completions.create(**chat_body("one"))
    two = await client.chat.completions.create(**chat_body("two"))
    one_again = await client.chat.completions.create(**chat_body("one"))
    assert one.choices[0].message.content == one_again.choices[0].message.content
    assert one.choices[0].message.content != two.choices[0].message.content


async def test_responses_endpoint(make_app, client_for) -> None:
    client = client_for(make_app())
    body = {"model": "gpt-4.1-mini", "input": "Summarise the news.", "instructions": "Be brief.", "max_output_tokens": 60}
    raw = await client.responses.with_raw_response.create(**body)
    strictly(Response, raw)
    response = raw.parse()
    assert response.object == "response" and response.output_text
    assert response.usage.input_tokens == tokens.prompt_tokens("/v1/responses", body)
    assert response.usage.output_tokens == tokens.text_counter("gpt-4.1-mini")(response.output_text)
    assert response.instructions == "Be brief."


async def test_responses_cut_at_the_maximum_are_incomplete(make_app, client_for) -> None:
    response = await client_for(make_app()).responses.create(model="gpt-4o", input="x", max_output_tokens=2)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"


async def test_completions_endpoint(make_app, client_for) -> None:
    client = client_for(make_app())
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon a time", "max_tokens": 25}
    raw = await client.completions.with_raw_response.create(**body)
    strictly(Completion, raw)
    completion = raw.parse()
    assert completion.object == "text_completion"
    assert completion.usage.prompt_tokens == tokens.prompt_tokens("/v1/completions", body)
    assert completion.usage.completion_tokens == tokens.text_counter(body["model"])(completion.choices[0].text)


async def test_completions_answer_each_prompt_of_a_list(make_app, client_for) -> None:
    completion = await client_for(make_app()).completions.create(model="gpt-3.5-turbo-instruct", prompt=["a", "b"])
    assert len(completion.choices) == 2


async def test_embeddings_arrive_as_base64_and_the_sdk_decodes_them(make_app, client_for) -> None:
    client = client_for(make_app())
    body = {"model": "text-embedding-3-small", "input": ["first text", "second text"]}
    raw = await client.embeddings.with_raw_response.create(**body)
    sent = json.loads(raw.http_request.content)
    assert sent["encoding_format"] == "base64"  # what the SDK asks for by default
    assert isinstance(json.loads(raw.http_response.content)["data"][0]["embedding"], str)
    response = raw.parse()
    CreateEmbeddingResponse.model_validate(response.model_dump())
    assert [len(item.embedding) for item in response.data] == [1536, 1536]
    assert math.sqrt(sum(v * v for v in response.data[0].embedding)) == pytest.approx(1.0, abs=1e-5)
    assert response.usage.prompt_tokens == tokens.prompt_tokens("/v1/embeddings", body)


async def test_embeddings_as_floats_match_the_base64_ones(make_app, client_for) -> None:
    client = client_for(make_app())
    as_floats = await client.embeddings.create(model="text-embedding-3-small", input="same", encoding_format="float")
    as_base64 = await client.embeddings.create(model="text-embedding-3-small", input="same")
    assert as_floats.data[0].embedding == pytest.approx(as_base64.data[0].embedding, abs=1e-6)


async def test_embeddings_honour_dimensions_and_model_size(make_app, client_for) -> None:
    client = client_for(make_app())
    small = await client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=256)
    large = await client.embeddings.create(model="text-embedding-3-large", input=[[1, 2, 3]])
    assert len(small.data[0].embedding) == 256
    assert len(large.data[0].embedding) == 3072
    with pytest.raises(openai.BadRequestError) as caught:
        await client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=5000)
    assert caught.value.body["param"] == "dimensions"


async def test_embeddings_are_deterministic_per_input(make_app, client_for) -> None:
    client = client_for(make_app(seed=3))
    one = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b", "a"])
    vectors = [item.embedding for item in one.data]
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    other_seed = await client_for(make_app(seed=4)).embeddings.create(model="text-embedding-3-small", input="a")
    assert other_seed.data[0].embedding != vectors[0]


async def test_moderations_endpoint(make_app, client_for) -> None:
    client = client_for(make_app())
    raw = await client.moderations.with_raw_response.create(input=["hello", "world"])
    strictly(ModerationCreateResponse, raw)
    response = raw.parse()
    assert response.model == "omni-moderation-latest"
    assert len(response.results) == 2
    assert response.results[0].flagged is False
    assert response.results[0].categories.self_harm is False


async def test_models_list_and_retrieve(make_app, client_for) -> None:
    client = client_for(make_app())
    listed = [model.id async for model in client.models.list()]
    assert "gpt-4o-mini" in listed and "text-embedding-3-small" in listed
    model = await client.models.retrieve("ft:gpt-4o-mini:acme::abc123")
    assert model.id == "ft:gpt-4o-mini:acme::abc123" and model.object == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (chat_body(stream=True), "stream"),
        ({"model": "gpt-4o-mini", "messages": []}, "messages"),
        (chat_body(max_tokens=0), "max_tokens"),
        (chat_body(max_tokens="ten"), "max_tokens"),
        (chat_body(n=0), "n"),
    ],
)
async def test_invalid_bodies_get_400_naming_the_parameter(make_app, client_for, body, param) -> None:
    app = make_app()
    with pytest.raises(openai.BadRequestError) as caught:
        await client_for(app).chat.completions.create(**body)
    assert caught.value.body["type"] == "invalid_request_error"
    assert caught.value.body["param"] == param
    assert app.stats.admitted == 0


async def test_streaming_is_refused_with_a_clear_message(make_app) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post("/chat/completions", json=chat_body(stream=True))
    assert response.status_code == 400
    assert "Streaming is not supported" in response.json()["error"]["message"]


async def test_a_body_that_is_not_json_gets_400(make_app) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post("/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("We could not parse the JSON body")


async def test_a_missing_model_gets_400(make_app) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post("/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "you must provide a model parameter"


async def test_an_unknown_path_gets_openais_404(make_app, client_for) -> None:
    async with simulator_http_client(make_app()) as http:
        response = await http.post("/chat/completion", json=chat_body())
        wrong_method = await http.get("/chat/completions")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Invalid URL (POST /v1/chat/completion)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert wrong_method.status_code == 404
    with pytest.raises(openai.NotFoundError):
        await client_for(make_app()).post("/nothing/here", cast_to=object, body={})


async def test_stats_endpoint(make_app, client_for) -> None:
    app = make_app()
    await client_for(app).chat.completions.create(**chat_body())
    async with simulator_http_client(app) as http:
        stats = (await http.get("http://simulator.local/sim/stats")).json()
        assert (await http.get("/sim/stats")).json() == stats  # also under the /v1 base URL
    assert stats["received"] == 1 and stats["admitted"] == 1 and stats["answered"] == 1
    assert stats["statuses"] == {"200": 1}
    assert stats["output_tokens"] == app.stats.output_tokens > 0
