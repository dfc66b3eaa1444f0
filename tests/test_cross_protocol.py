"""One conversation, two wire protocols: the same neutral answer from OpenAI and Anthropic servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import relay_lite
from relay_lite import ChatRequest, ChatResponse, ImagePart, ToolCall, ToolSpec
from relay_lite.testing import ChatScript, FakeServer

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER = ToolSpec(
    "weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
EARLIER_CALL = ToolCall("call_1", "weather", {"city": "Lyon"}, json.dumps({"city": "Lyon"}))
REPLY_CALL = ToolCall("call_2", "weather", {"city": "Zürich"}, json.dumps({"city": "Zürich"}))
REPLY_TEXT = "Lyon is sunny; now checking Zürich — 一秒."


def conversation(client: relay_lite.Client) -> ChatRequest:
    return (
        client.chat("test-model")
        .system("You are a weather bot.")
        .user("What is in this picture?", images=[ImagePart(data=PIXEL, media_type="image/png")])
        .assistant("A single pixel.")
        .user("What is the weather in Lyon?")
        .assistant("", tool_calls=[EARLIER_CALL])
        .tool_result("call_1", {"sky": "sunny"})
        .tools([WEATHER])
        .temperature(0)
        .max_tokens(256)
    )


def script() -> ChatScript:
    return ChatScript(text=REPLY_TEXT, tool_calls=[REPLY_CALL], chunk_size=3, split_bytes=2)


OPENAI_BODY: dict[str, Any] = {
    "model": "test-model",
    "messages": [
        {"role": "system", "content": "You are a weather bot."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
            ],
        },
        {"role": "assistant", "content": "A single pixel."},
        {"role": "user", "content": "What is the weather in Lyon?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Lyon"}'},
                }
            ],
        },
        {"role": "tool", "content": '{"sky": "sunny"}', "tool_call_id": "call_1"},
    ],
    "temperature": 0,
    "max_tokens": 256,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
}

ANTHROPIC_BODY: dict[str, Any] = {
    "model": "test-model",
    "max_tokens": 256,
    "system": "You are a weather bot.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
            ],
        },
        {"role": "assistant", "content": "A single pixel."},
        {"role": "user", "content": "What is the weather in Lyon?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Lyon"}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": '{"sky": "sunny"}'}],
        },
    ],
    "temperature": 0,
    "tools": [
        {
            "name": "weather",
            "description": "Current weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ],
}


@pytest.fixture
def servers() -> Iterator[tuple[FakeServer, FakeServer]]:
    with FakeServer.openai() as openai_server, FakeServer.anthropic() as anthropic_server:
        yield openai_server, anthropic_server


def clients(servers: tuple[FakeServer, FakeServer]) -> tuple[relay_lite.Client, relay_lite.Client]:
    openai_server, anthropic_server = servers
    return (
        relay_lite.Client.compatible(openai_server.url),
        relay_lite.Client.anthropic(api_key="test-key", base_url=anthropic_server.url),
    )


def assert_same_answer(a: ChatResponse, b: ChatResponse) -> None:
    assert a.text == b.text == REPLY_TEXT
    assert a.tool_calls == b.tool_calls == (REPLY_CALL,)
    assert a.finish_reason == b.finish_reason == "tool_calls"
    assert (a.raw_finish_reason, b.raw_finish_reason) == ("tool_calls", "tool_use")
    assert a.usage.input_tokens == b.usage.input_tokens
    assert a.usage.output_tokens == b.usage.output_tokens


def test_send_gives_the_same_answer_from_both_protocols(servers: tuple[FakeServer, FakeServer]) -> None:
    openai_server, anthropic_server = servers
    openai_client, anthropic_client = clients(servers)
    openai_server.add(script())
    anthropic_server.add(script())
    request = conversation(openai_client)
    from_openai = request.send()
    from_anthropic = ChatRequest(anthropic_client, request.params).send()
    assert_same_answer(from_openai, from_anthropic)
    assert openai_server.requests[0].path == "/chat/completions"
    assert anthropic_server.requests[0].path == "/v1/messages"
    assert openai_server.requests[0].json() == OPENAI_BODY
    assert anthropic_server.requests[0].json() == ANTHROPIC_BODY


def test_stream_gives_the_same_answer_from_both_protocols(servers: tuple[FakeServer, FakeServer]) -> None:
    openai_server, anthropic_server = servers
    openai_client, anthropic_client = clients(servers)
    openai_server.add(script())
    anthropic_server.add(script())
    responses = []
    for client in (openai_client, anthropic_client):
        with conversation(client).stream() as stream:
            assert "".join(stream.text()) == REPLY_TEXT
        responses.append(stream.response)
    assert_same_answer(*responses)
    assert openai_server.requests[0].json() == {
        **OPENAI_BODY,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert anthropic_server.requests[0].json() == {**ANTHROPIC_BODY, "stream": True}


def test_the_same_conversation_is_understood_by_both_echo_servers(
    servers: tuple[FakeServer, FakeServer],
) -> None:
    openai_client, anthropic_client = clients(servers)
    texts = [conversation(client).send().text for client in (openai_client, anthropic_client)]
    assert texts == ['Echo: tool said {"sky": "sunny"}'] * 2
