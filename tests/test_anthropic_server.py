"""The Anthropic adapter over real sockets, against ``FakeServer.anthropic()``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import relay_lite
from relay_lite import (
    BadRequestError,
    ChatResponse,
    OverloadedError,
    RateLimitError,
    RetryPolicy,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from relay_lite.testing import ChatScript, FakeServer, Reply

TEXT = "Grüße aus Zürich — 東京 🌸 done."
CALL = ToolCall("toolu_1", "weather", {"city": "São Paulo", "days": 3}, '{"city": "São Paulo", "days": 3}')
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer.anthropic() as fake:
        yield fake


def client_for(server: FakeServer, **options: Any) -> relay_lite.Client:
    options.setdefault("retry", RetryPolicy(backoff=0.01))
    return relay_lite.Client.anthropic(api_key="test-key", base_url=server.url, **options)


def test_send_returns_scripted_text_and_sends_exact_body(server: FakeServer) -> None:
    server.add(ChatScript(text=TEXT, usage=Usage(input_tokens=11, output_tokens=6)))
    client = client_for(server)
    reply = client.chat("claude-test").system("Be brief.").user("Hallo").temperature(0.5).send()
    assert reply == ChatResponse(
        text=TEXT,
        finish_reason="stop",
        raw_finish_reason="end_turn",
        model="fake-model",
        id="fake-1",
        usage=Usage(input_tokens=11, output_tokens=6, total_tokens=17),
        request_id="req_fake",
    )
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == "test-key"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["accept"] == "application/json"
    assert request.json() == {
        "model": "claude-test",
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hallo"}],
        "temperature": 0.5,
    }


def test_stream_is_byte_for_byte_the_scripted_text_split_across_chunks(server: FakeServer) -> None:
    server.add(ChatScript(text=TEXT, chunk_size=3, split_bytes=1))
    client = client_for(server)
    with client.chat("claude-test").user("Hallo").stream() as stream:
        pieces = list(stream.text())
    assert "".join(pieces) == TEXT
    assert len(pieces) > 1
    assert stream.response.text == TEXT
    assert stream.response.finish_reason == "stop"
    assert stream.response.usage == Usage(input_tokens=10, output_tokens=5, total_tokens=15)
    (request,) = server.requests
    assert request.headers["accept"] == "text/event-stream"
    assert request.json() == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hallo"}],
        "stream": True,
    }


def test_tool_calls_are_reassembled_when_streamed_and_sent(server: FakeServer) -> None:
    script = ChatScript(text="Checking.", tool_calls=[CALL], chunk_size=2, split_bytes=5)
    server.add(script, script)
    client = client_for(server)
    request = (
        client.chat("claude-test")
        .user("Weather in São Paulo?")
        .tools([{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}])
    )
    with request.stream() as stream:
        events = list(stream)
    fragments = [e for e in events if isinstance(e, ToolCallDelta)]
    assert fragments[0] == ToolCallDelta(0, "toolu_1", "weather", '{"')
    assert "".join(f.arguments_delta for f in fragments) == CALL.arguments_json
    streamed = stream.response
    assert streamed.tool_calls == (CALL,)
    assert (streamed.text, streamed.finish_reason, streamed.raw_finish_reason) == (
        "Checking.",
        "tool_calls",
        "tool_use",
    )
    sent = request.send()
    assert sent.tool_calls[0].arguments == CALL.arguments
    assert (sent.tool_calls[0].id, sent.tool_calls[0].name) == ("toolu_1", "weather")
    assert (sent.text, sent.finish_reason) == ("Checking.", "tool_calls")
    assert server.requests[1].json()["tools"] == [
        {"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}
    ]


def test_thinking_is_kept_streamed_and_sent(server: FakeServer) -> None:
    script = ChatScript(text="42", thinking="Six times seven… is 42.", chunk_size=5)
    server.add(script, script)
    client = client_for(server)
    with client.chat("claude-test").user("6*7?").stream() as stream:
        events = list(stream)
    thinking = [e.text for e in events if isinstance(e, ThinkingDelta)]
    assert "".join(thinking) == "Six times seven… is 42."
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("42")]
    assert stream.response.thinking == "Six times seven… is 42."
    sent = client.chat("claude-test").user("6*7?").send()
    assert (sent.thinking, sent.text) == ("Six times seven… is 42.", "42")


def test_usage_with_cache_tokens_streamed_and_sent(server: FakeServer) -> None:
    usage = Usage(input_tokens=7, output_tokens=3, cached_input_tokens=500, cache_creation_input_tokens=40)
    server.add(ChatScript(text="ok", usage=usage), ChatScript(text="ok", usage=usage))
    client = client_for(server)
    expected = Usage(7, 3, 10, 500, 40)
    with client.chat("claude-test").user("hi").stream() as stream:
        assert stream.response.usage == expected
    assert client.chat("claude-test").user("hi").send().usage == expected


def test_overloaded_error_mid_stream_keeps_exactly_the_text_before_it(server: FakeServer) -> None:
    server.add(
        ChatScript(
            text=TEXT,
            chunk_size=4,
            error={"type": "overloaded_error", "message": "Overloaded"},
            error_after=3,
            split_bytes=7,
            headers={"request-id": "req_stream"},
        )
    )
    client = client_for(server)
    received: list[str] = []
    with pytest.raises(OverloadedError) as info:
        with client.chat("claude-test").user("Hallo").stream() as stream:
            for piece in stream.text():
                received.append(piece)
    error = info.value
    assert error.partial.text == TEXT[:12]
    assert "".join(received) == TEXT[:12]
    assert (error.code, error.message, error.request_id) == ("overloaded_error", "Overloaded", "req_stream")
    assert len(server.requests) == 1  # never retried once the stream delivered events


def test_status_529_is_retried_like_503(server: FakeServer) -> None:
    server.add(Reply.json(OVERLOADED, status=529, headers={"request-id": "req_123"}), ChatScript(text=TEXT))
    reply = client_for(server).chat("claude-test").user("Hallo").send()
    assert (reply.text, reply.attempts) == (TEXT, 2)
    assert len(server.requests) == 2
    assert server.requests[0].json() == server.requests[1].json()


def test_status_529_is_retried_before_a_stream_starts(server: FakeServer) -> None:
    server.add(Reply.json(OVERLOADED, status=529, headers={"request-id": "req_123"}), ChatScript(text=TEXT))
    with client_for(server).chat("claude-test").user("Hallo").stream() as stream:
        assert "".join(stream.text()) == TEXT
    assert stream.response.attempts == 2


def test_status_529_exhausting_retries_raises_overloaded_with_request_id(server: FakeServer) -> None:
    server.add(*[Reply.json(OVERLOADED, status=529, headers={"request-id": "req_123"})] * 2)
    client = client_for(server, retry=RetryPolicy(max_retries=1, backoff=0.01))
    with pytest.raises(OverloadedError) as info:
        client.chat("claude-test").user("Hallo").send()
    error = info.value
    assert (error.status, error.code, error.request_id, error.attempts) == (
        529,
        "overloaded_error",
        "req_123",
        2,
    )
    assert error.message == "Overloaded"


@pytest.mark.parametrize(
    ("status", "error_type", "error_class"),
    [(400, "invalid_request_error", BadRequestError), (429, "rate_limit_error", RateLimitError)],
)
def test_error_bodies_map_with_code_and_request_id(
    server: FakeServer, status: int, error_type: str, error_class: type[Exception]
) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": "Nope: é"}}
    server.add(Reply.json(body, status=status, headers={"request-id": "req_err"}))
    client = client_for(server, retry=RetryPolicy(max_retries=0))
    with pytest.raises(error_class) as info:
        client.chat("claude-test").user("Hallo").send()
    error: Any = info.value
    assert (error.status, error.code, error.request_id, error.message) == (
        status,
        error_type,
        "req_err",
        "Nope: é",
    )
    assert error.body == body


def test_echo_without_script_understands_the_request(server: FakeServer) -> None:
    client = client_for(server)
    reply = client.chat("claude-test").system("sys").user("Ping").send()
    assert reply.text == "Echo: Ping"
    tool_reply = (
        client.chat("claude-test")
        .user("Go")
        .assistant("", tool_calls=[ToolCall("t1", "f", {})])
        .tool_result("t1", {"ok": True})
        .send()
    )
    assert tool_reply.text == 'Echo: tool said {"ok": true}'


def test_request_body_for_tools_images_and_tool_results(server: FakeServer) -> None:
    server.add(ChatScript(text="ok"))
    client = client_for(server)
    (
        client.chat("claude-test")
        .user("Look", images=["https://example.com/a.png"])
        .assistant("Calling.", tool_calls=[CALL])
        .tool_result("toolu_1", "sunny")
        .user("And now?")
        .tool_choice("weather")
        .max_tokens(100)
        .stop("END")
        .send()
    )
    assert json.loads(server.requests[0].body) == {
        "model": "claude-test",
        "max_tokens": 100,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Calling."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": CALL.arguments},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {"type": "text", "text": "And now?"},
                ],
            },
        ],
        "stop_sequences": ["END"],
        "tool_choice": {"type": "tool", "name": "weather"},
    }


@pytest.mark.parametrize("streamed", [False, True])
def test_signed_thinking_goes_back_with_tool_results(streamed: bool) -> None:
    from relay_lite import ThinkingBlock

    with FakeServer.anthropic() as server:
        client = relay_lite.Client.anthropic(api_key="test-key", base_url=server.url)
        call = ToolCall("toolu_1", "lookup", {"q": "x"}, '{"q": "x"}')
        server.add(ChatScript(thinking="Let me look it up.", tool_calls=[call]))
        request = client.chat("claude-test").user("question").tools([{"name": "lookup"}])
        if streamed:
            with request.stream() as stream:
                list(stream)
            first = stream.response
        else:
            first = request.send()
        assert first.thinking_blocks == (ThinkingBlock("Let me look it up.", "fake-signature"),)
        request.messages([first.message]).tool_result("toolu_1", "found").send()
        assistant_turn = server.requests[1].json()["messages"][1]
    assert assistant_turn == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Let me look it up.", "signature": "fake-signature"},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
        ],
    }
