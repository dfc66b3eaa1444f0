"""The prompti facade: prompti's messages and model config in, prompti's messages out, blocking."""

from __future__ import annotations

import json

import pytest

from relay_lite import APIError, ConfigError, ToolCall
from relay_lite.prompti import Message, ModelClient, ModelConfig, build_request
from relay_lite.testing import ChatScript, FakeServer, Reply


def config(server: FakeServer, provider: str = "openai", **changes: object) -> ModelConfig:
    return ModelConfig(
        provider=provider, model="m-1", api_key="sk-prompti-secret-123", api_base=server.url
    ).replace(**changes)


def test_a_streamed_run_yields_one_text_message_per_piece_then_keeps_the_reply():
    with FakeServer.openai() as server, ModelClient() as client:
        server.add(ChatScript(text="Hello there", chunk_size=5))
        out = list(client.run([Message("user", "Hi")], config(server)))
    assert out == [
        Message("assistant", "Hello", "text"),
        Message("assistant", " ther", "text"),
        Message("assistant", "e", "text"),
    ]
    assert client.last_response is not None
    assert (client.last_response.text, client.last_response.finish_reason) == ("Hello there", "stop")
    assert client.last_response.usage.total_tokens == 15


def test_a_whole_run_yields_the_text_once_and_sends_the_config_parameters():
    with FakeServer.openai() as server, ModelClient() as client:
        cfg = config(
            server, stream=False, temperature=0.2, max_tokens=50, parameters={"top_p": 0.5, "user": "u-7"}
        )
        out = list(client.run([Message("system", "Be brief"), Message("user", "Hi")], cfg))
    assert out == [Message("assistant", "Echo: Hi", "text")]
    body = server.requests[0].json()
    assert body["messages"] == [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]
    assert (body["temperature"], body["max_completion_tokens"], body["top_p"], body["user"]) == (
        0.2,
        50,
        0.5,
        "u-7",
    )
    assert "stream" not in body or body["stream"] is False


def test_tool_calls_come_out_as_tool_use_messages_after_the_text():
    call = ToolCall("call_9", "weather", {"city": "Oslo"}, '{"city": "Oslo"}')
    with FakeServer.anthropic() as server, ModelClient() as client:
        server.add(ChatScript(text="Checking.", tool_calls=[call]))
        out = list(
            client.run([Message("user", "Weather in Oslo?")], config(server, "anthropic", stream=False))
        )
    assert out == [
        Message("assistant", "Checking.", "text"),
        Message("assistant", {"id": "call_9", "name": "weather", "arguments": {"city": "Oslo"}}, "tool_use"),
    ]


def test_tool_use_and_tool_result_history_pairs_results_with_the_calls_in_order():
    history = [
        Message("user", "Weather in Oslo and Rome?"),
        Message("assistant", json.dumps({"name": "weather", "arguments": {"city": "Oslo"}}), "tool_use"),
        Message("assistant", {"id": "t2", "name": "weather", "arguments": '{"city": "Rome"}'}, "tool_use"),
        Message("user", "3 C", "tool_result"),
        Message("user", {"tool_call_id": "t2", "content": {"c": 18}}, "tool_result"),
    ]
    with FakeServer.openai() as server, ModelClient() as client:
        list(client.run(history, config(server, stream=False)))
    messages = server.requests[0].json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_1", "t2"]
    assert [c["function"]["arguments"] for c in messages[1]["tool_calls"]] == [
        '{"city": "Oslo"}',
        '{"city": "Rome"}',
    ]
    assert (messages[2]["tool_call_id"], messages[2]["content"]) == ("call_1", "3 C")
    assert (messages[3]["tool_call_id"], messages[3]["content"]) == ("t2", '{"c": 18}')


def test_an_api_error_raises_typed_by_default_and_is_a_scrubbed_error_message_on_request():
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-prompti-secret-123",
            "type": "invalid_request_error",
        }
    }
    with FakeServer.openai() as server:
        server.add(Reply.json(body, status=401), Reply.json(body, status=401))
        with ModelClient() as client, pytest.raises(APIError) as caught:
            list(client.run([Message("user", "Hi")], config(server)))
        assert caught.value.status == 401 and "sk-prompti-secret-123" not in str(caught.value)
        with ModelClient(errors="message") as client:
            out = list(client.run([Message("user", "Hi")], config(server)))
    assert len(out) == 1 and out[0].kind == "error" and out[0].role == "assistant"
    assert "Incorrect API key provided" in out[0].content and "sk-prompti-secret-123" not in out[0].content
    assert client.last_response is None


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "prompti run needs at least one message"),
        ([Message("user", "x", "audio")], "messages[0]: kind 'audio' is not text, thinking, image_url"),
        ([Message("user", 5)], "messages[0]: a text content must be a string"),
        ([Message("user", "r", "tool_result")], "messages[0]: a tool_result with no tool_use before it"),
        ([Message("assistant", "not json", "tool_use")], "messages[0]: a tool_use content must be JSON"),
        ([{"content": "no role"}], 'messages[0] needs a string "role"'),
        ([Message("critic", "x")], "messages[0]: role 'critic' is not system, user or assistant"),
    ],
)
def test_bad_messages_raise_a_config_error_naming_the_message(messages: list[object], message: str) -> None:
    with FakeServer.openai() as server, ModelClient() as client:
        with pytest.raises(ConfigError) as caught:
            list(client.run(messages, config(server)))
    assert str(caught.value).startswith(message)
    assert server.requests == []


def test_an_unknown_provider_is_a_config_error_and_the_config_repr_hides_the_key():
    cfg = ModelConfig(provider="nope", model="m", api_key="sk-prompti-secret-123")
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        list(ModelClient().run([Message("user", "x")], cfg))
    assert "sk-prompti" not in repr(cfg) and "sk-prompti" not in str(cfg)


def test_one_client_and_pool_per_endpoint_and_an_image_message_is_a_user_image():
    with FakeServer.openai() as server, ModelClient() as client:
        cfg = config(server, stream=False)
        first, second = client.client_for(cfg), client.client_for(cfg.replace(model="other"))
        assert first is second
        request = build_request(first, [Message("user", "https://x.test/cat.png", "image_url")], cfg)
    parts = request.params.messages[0].content
    assert [type(p).__name__ for p in parts] == ["ImagePart"] and parts[0].url == "https://x.test/cat.png"
