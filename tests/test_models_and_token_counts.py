"""``Client.models()`` (OpenAI's one list, Anthropic's cursor pages) and
``ChatRequest.count_tokens()`` (Anthropic's count_tokens; a ConfigError elsewhere)."""

from __future__ import annotations

import pytest

import relay_lite
from relay_lite import Client, ConfigError, ResponseError, ToolSpec
from relay_lite._fake_operations import FAKE_ANTHROPIC_MODELS, FAKE_OPENAI_MODELS
from relay_lite._resources import ModelInfo
from relay_lite.protocols import HTTPCall
from relay_lite.protocols._model_lists import parse_anthropic_models, parse_openai_models
from relay_lite.protocols._token_counts import parse_token_count
from relay_lite.testing import FakeServer, MockTransport, Reply

NO_RETRY = relay_lite.RetryPolicy(max_retries=0)

# OpenAI's GET /v1/models reply (an excerpt), as api.openai.com sends it: pretty-printed,
# no final newline.
OPENAI_MODELS_BODY = b"""{
  "object": "list",
  "data": [
    {
      "id": "gpt-4o-mini",
      "object": "model",
      "created": 1721172741,
      "owned_by": "system"
    },
    {
      "id": "text-embedding-3-small",
      "object": "model",
      "created": 1705948997,
      "owned_by": "system"
    }
  ]
}"""

# Ollama's GET /v1/models: the same shape, compact, with a final newline.
OLLAMA_MODELS_BODY = (
    b'{"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1730000000,'
    b'"owned_by":"library"}]}\n'
)


def anthropic_page(ids: list[str], has_more: bool) -> bytes:
    """One page of Anthropic's GET /v1/models, compact as api.anthropic.com sends it."""
    models = ",".join(
        f'{{"type":"model","id":"{i}","display_name":"{i.title()}","created_at":"2025-02-19T00:00:00Z"}}'
        for i in ids
    )
    more = "true" if has_more else "false"
    return f'{{"data":[{models}],"has_more":{more},"first_id":"{ids[0]}","last_id":"{ids[-1]}"}}'.encode()


def json_reply(body: bytes) -> Reply:
    return Reply(body=body, headers={"Content-Type": "application/json", "request-id": "req_m"})


# -- parsing (sans-I/O) -----------------------------------------------------------------------


def test_openai_model_list_reads_ids_created_and_owner():
    import json

    models, cursor = parse_openai_models(json.loads(OPENAI_MODELS_BODY))
    assert cursor is None
    assert [(m.id, m.created, m.owned_by, m.display_name) for m in models] == [
        ("gpt-4o-mini", 1721172741, "system", None),
        ("text-embedding-3-small", 1705948997, "system", None),
    ]
    assert models[0].raw == {
        "id": "gpt-4o-mini",
        "object": "model",
        "created": 1721172741,
        "owned_by": "system",
    }
    assert (
        repr(models[0])
        == "ModelInfo(id='gpt-4o-mini', created=1721172741, owned_by='system', display_name=None)"
    )


def test_anthropic_page_gives_models_and_the_next_cursor():
    import json

    models, cursor = parse_anthropic_models(json.loads(anthropic_page(["claude-a", "claude-b"], True)))
    assert cursor == "claude-b"
    # 2025-02-19T00:00:00Z is 1739923200 Unix seconds.
    assert models[0] == ModelInfo(
        "claude-a",
        created=1739923200,
        display_name="Claude-A",
        raw={
            "type": "model",
            "id": "claude-a",
            "display_name": "Claude-A",
            "created_at": "2025-02-19T00:00:00Z",
        },
    )
    assert parse_anthropic_models(json.loads(anthropic_page(["claude-c"], False)))[1] is None


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2025-02-19T00:00:00Z", 1739923200),
        ("2025-02-19T01:00:00+01:00", 1739923200),
        ("2025-02-19T00:00:00.123Z", 1739923200),
        ("February 2025", None),  # unreadable: unknown, the text stays in raw
        ("2025-02-19T00:00:00", None),  # no zone: not a moment
        (None, None),
    ],
)
def test_anthropic_created_at_becomes_unix_seconds_when_readable(created_at, expected):
    (model,), _ = parse_anthropic_models({"data": [{"id": "m", "created_at": created_at}], "has_more": False})
    assert model.created == expected


@pytest.mark.parametrize(
    ("parse", "body", "message"),
    [
        (parse_openai_models, "models", "expected a list of models, got a string"),
        (parse_openai_models, [{"id": "m"}, 3], "$[1] is a number, expected an object"),
        (parse_openai_models, {"object": "list"}, "the reply has no data array of models"),
        (parse_openai_models, {"data": [{"object": "model"}]}, "data[0].id is missing"),
        (parse_openai_models, {"data": [{"id": 5}]}, "data[0].id is a number, expected a string"),
        (
            parse_openai_models,
            {"data": [{"id": "m", "created": "2024"}]},
            "data[0].created is a string, expected a whole number of seconds",
        ),
        (
            parse_openai_models,
            {"data": [{"id": "m", "owned_by": 1}]},
            "data[0].owned_by is a number, expected a string",
        ),
        (
            parse_anthropic_models,
            {"data": [], "has_more": "yes"},
            "has_more is a string, expected true or false",
        ),
        (
            parse_anthropic_models,
            {"data": [], "has_more": True},
            "has_more is true but last_id is missing: the next page cannot be asked for",
        ),
        (
            parse_anthropic_models,
            {"data": [{"id": "m", "created_at": 5}]},
            "data[0].created_at is a number, expected a string",
        ),
        (
            parse_anthropic_models,
            {"data": [{"id": "m", "display_name": []}]},
            "data[0].display_name is an array, expected a string",
        ),
    ],
)
def test_bad_model_lists_are_response_errors_naming_the_field(parse, body, message):
    with pytest.raises(ResponseError) as info:
        parse(body, request_id="req_x")
    assert info.value.message == message
    assert info.value.request_id == "req_x"


# -- Client.models without a socket ----------------------------------------------------------------


def test_openai_models_is_one_get_of_the_whole_list():
    transport = MockTransport()
    transport.add(json_reply(OPENAI_MODELS_BODY))
    client = Client.openai(api_key="sk-test", transport=transport)
    models = client.models()
    assert [m.id for m in models] == ["gpt-4o-mini", "text-embedding-3-small"]
    sent = transport.requests[0]
    assert (sent.method, sent.path, sent.body) == ("GET", "/v1/models", b"")
    assert sent.headers["authorization"] == "Bearer sk-test"


def test_together_ais_bare_array_of_models_is_read_too():
    # Together AI's GET /v1/models: the model objects without the {"data": ...} around them.
    body = (
        b'[{"id":"meta-llama/Llama-3.3-70B-Instruct-Turbo","object":"model","created":1733443200,'
        b'"type":"chat","display_name":"Meta Llama 3.3 70B Instruct Turbo","organization":"Meta",'
        b'"context_length":131072}]'
    )
    transport = MockTransport()
    transport.add(json_reply(body))
    (model,) = Client.compatible("https://api.together.xyz/v1", transport=transport).models()
    assert (model.id, model.display_name, model.created, model.raw["context_length"]) == (
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "Meta Llama 3.3 70B Instruct Turbo",
        1733443200,
        131072,
    )


def test_openrouter_model_names_become_display_names():
    # OpenRouter's GET /api/v1/models (one entry, trimmed): "name" is its name for people.
    body = (
        b'{"data":[{"id":"openai/gpt-4o-mini","canonical_slug":"openai/gpt-4o-mini",'
        b'"name":"OpenAI: GPT-4o-mini","created":1721260800,"description":"GPT-4o mini is ...",'
        b'"context_length":128000}]}'
    )
    transport = MockTransport()
    transport.add(json_reply(body))
    (model,) = Client.openrouter(api_key="sk-or", transport=transport).models()
    assert (model.id, model.display_name, model.created) == (
        "openai/gpt-4o-mini",
        "OpenAI: GPT-4o-mini",
        1721260800,
    )
    assert transport.requests[0].path == "/api/v1/models"


def test_ollama_models_are_read_too():
    transport = MockTransport()
    transport.add(json_reply(OLLAMA_MODELS_BODY))
    client = Client.compatible("http://localhost:11434/v1", transport=transport)
    assert [(m.id, m.owned_by) for m in client.models()] == [("llama3.2:latest", "library")]


def test_anthropic_models_follow_every_page():
    transport = MockTransport()
    transport.add(
        json_reply(anthropic_page(["claude-e", "claude-d"], True)),
        json_reply(anthropic_page(["claude-c", "claude-b"], True)),
        json_reply(anthropic_page(["claude-a"], False)),
    )
    client = Client.anthropic(api_key="sk-ant", transport=transport)
    models = client.models(page_size=2)
    assert [m.id for m in models] == ["claude-e", "claude-d", "claude-c", "claude-b", "claude-a"]
    assert [r.path for r in transport.requests] == [
        "/v1/models?limit=2",
        "/v1/models?limit=2&after_id=claude-d",
        "/v1/models?limit=2&after_id=claude-b",
    ]
    assert {r.headers["x-api-key"] for r in transport.requests} == {"sk-ant"}
    assert {r.headers["anthropic-version"] for r in transport.requests} == {"2023-06-01"}


def test_anthropic_models_ask_for_the_largest_page_by_default():
    transport = MockTransport()
    transport.add(json_reply(anthropic_page(["claude-a"], False)))
    Client.anthropic(api_key="k", transport=transport).models()
    assert transport.requests[0].path == "/v1/models?limit=1000"


def test_a_cursor_that_repeats_stops_paging_with_an_error():
    transport = MockTransport()
    transport.add(
        json_reply(anthropic_page(["claude-b"], True)),
        json_reply(anthropic_page(["claude-a", "claude-b"], True)),  # back to the same cursor
    )
    client = Client.anthropic(api_key="k", transport=transport)
    with pytest.raises(ResponseError) as info:
        client.models()
    assert info.value.message == "the model list pages back to cursor 'claude-b'; stopped after 3 models"
    assert info.value.request_id == "req_m"
    assert len(transport.requests) == 2


def test_models_errors_are_mapped_like_chat():
    transport = MockTransport()
    body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    transport.add(Reply.json(body, status=401, headers={"request-id": "req_401"}))
    with pytest.raises(relay_lite.AuthenticationError) as info:
        Client.anthropic(api_key="k", transport=transport).models()
    assert info.value.request_id == "req_401"


def test_bad_page_size_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        Client.anthropic(api_key="k", transport=MockTransport()).models(page_size=0)
    assert str(info.value) == "page_size must be a whole number >= 1, got 0"


def test_modelrelay_has_no_model_list():
    client = Client.modelrelay(api_key="mr_sk_x", transport=MockTransport())
    with pytest.raises(ConfigError) as info:
        client.models()
    assert str(info.value) == "the ModelRelay API has no model list"


# -- Client.models over the wire ------------------------------------------------------------------


def test_fake_anthropic_server_pages_its_models():
    with FakeServer.anthropic() as server:
        client = Client.anthropic(api_key="k", base_url=server.url)
        paged = client.models(page_size=2)
        whole = client.models()
        paths = [r.path for r in server.requests]
    expected = [m["id"] for m in FAKE_ANTHROPIC_MODELS]
    assert [m.id for m in paged] == [m.id for m in whole] == expected
    assert paged[0].display_name == "Claude Fake 5" and paged[0].created == 1746057600  # 2025-05-01
    assert paths == [
        "/v1/models?limit=2",
        "/v1/models?limit=2&after_id=claude-fake-4",
        "/v1/models?limit=2&after_id=claude-fake-2",
        "/v1/models?limit=1000",
    ]


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_fake_openai_server_lists_its_models(suffix):
    with FakeServer.openai() as server:
        models = Client.compatible(server.url + suffix).models()
    assert [(m.id, m.owned_by, m.created) for m in models] == [
        (m["id"], m["owned_by"], m["created"]) for m in FAKE_OPENAI_MODELS
    ]


# -- token counting ---------------------------------------------------------------------------------


def weather_tool() -> ToolSpec:
    return ToolSpec(
        "get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}}
    )


def test_count_tokens_sends_the_prompt_fields_only():
    transport = MockTransport()
    transport.add(Reply.json({"input_tokens": 2095}))
    client = Client.anthropic(api_key="k", model="claude-sonnet-4-5", transport=transport)
    request = (
        client.chat()
        .system("Be brief.")
        .user("What is the weather in Paris?")
        .tools([weather_tool()])
        .tool_choice("auto")
        .temperature(0.2)
        .max_tokens(300)
        .stop("###")
        .metadata({"user_id": "u-1"})
    )
    assert request.count_tokens() == 2095
    sent = transport.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages/count_tokens")
    assert sent.json() == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "system": "Be brief.",
        "tool_choice": {"type": "auto"},
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    }


def test_count_tokens_keeps_thinking_which_counts_toward_the_prompt():
    transport = MockTransport()
    transport.add(Reply.json({"input_tokens": 12}))
    client = Client.anthropic(api_key="k", model="claude-x", transport=transport)
    client.chat().user("Hi").max_tokens(4000).thinking(2000).count_tokens()
    assert transport.requests[0].json()["thinking"] == {"type": "enabled", "budget_tokens": 2000}


def test_count_tokens_against_the_fake_anthropic_server():
    with FakeServer.anthropic() as server:
        client = Client.anthropic(api_key="k", base_url=server.url, model="claude-x")
        count = (
            client.chat()
            .system("Be brief.")
            .user("How are you today?")
            .assistant("Fine, thanks.")
            .user("Weather?")
            .tools([weather_tool()])
            .max_tokens(100)
            .temperature(0)
            .count_tokens()
        )
    # The fake refuses any field the real endpoint refuses, so this passing shows none was sent.
    # The fake's count: system words, then 3 + words per message, then 50 per tool.
    assert count == 2 + (3 + 4) + (3 + 2) + (3 + 1) + 50


def test_the_fake_refuses_a_messages_only_field_as_anthropic_does():
    with FakeServer.anthropic() as server:
        client = Client.anthropic(api_key="k", base_url=server.url, model="claude-x", retry=NO_RETRY)
        with pytest.raises(relay_lite.BadRequestError) as info:
            client.session.send(
                client.prepare_call(
                    client.chat().params,
                    HTTPCall(
                        "POST",
                        "/v1/messages/count_tokens",
                        {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5},
                    ),
                )
            )
    assert info.value.message == "max_tokens: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            lambda t: Client.openai(api_key="k", model="gpt-4o-mini", transport=t),
            "the OpenAI API has no token counting endpoint; OpenAI-compatible APIs count tokens only "
            "in a reply's usage (usage.input_tokens after send())",
        ),
        (
            lambda t: Client.compatible("http://localhost:8000/v1", model="m", transport=t),
            "compatible (the OpenAI protocol) has no token counting endpoint; OpenAI-compatible APIs "
            "count tokens only in a reply's usage (usage.input_tokens after send())",
        ),
        (
            lambda t: Client.modelrelay(api_key="mr_sk_x", model="m", transport=t),
            "the ModelRelay API has no token counting endpoint",
        ),
    ],
)
def test_count_tokens_elsewhere_is_a_config_error_before_sending(factory, message):
    transport = MockTransport()
    client = factory(transport)
    with pytest.raises(ConfigError) as info:
        client.chat().user("Hi").count_tokens()
    assert str(info.value) == message
    assert transport.requests == []


def test_count_tokens_of_an_empty_request_is_a_config_error():
    client = Client.anthropic(api_key="k", model="claude-x", transport=MockTransport())
    with pytest.raises(ConfigError) as info:
        client.chat().count_tokens()
    assert str(info.value) == "a chat request needs at least one message"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected a token count object, got an array"),
        ({}, "input_tokens is missing or null, expected a non-negative whole number"),
        ({"input_tokens": "12"}, "input_tokens is a string, expected a non-negative whole number"),
        ({"input_tokens": -1}, "input_tokens is a number, expected a non-negative whole number"),
        ({"input_tokens": 1.5}, "input_tokens is a number, expected a non-negative whole number"),
    ],
)
def test_a_bad_token_count_is_a_response_error(body, message):
    with pytest.raises(ResponseError) as info:
        parse_token_count(body, request_id="req_c")
    assert info.value.message == message
    assert info.value.request_id == "req_c"


def test_count_tokens_error_echoing_the_key_is_scrubbed():
    key = "sk-ant-count-secret"
    transport = MockTransport()
    transport.add(Reply.json({"input_tokens": f"bad {key}"}))
    client = Client.anthropic(api_key=key, model="claude-x", transport=transport)
    with pytest.raises(ResponseError) as info:
        client.chat().user("Hi").count_tokens()
    assert key not in str(info.value) and key not in (info.value.body or "")
