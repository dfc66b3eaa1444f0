"""MockTransport: the same scripts as FakeServer, answered without a socket."""

from __future__ import annotations

import pytest

from relay_lite import Client, ConfigError, ConnectError, RateLimitError, StreamError, ToolCall
from relay_lite.testing import ChatScript, MockTransport, Reply


def test_echo_and_scripted_replies_without_a_socket():
    mock = MockTransport(protocol="openai")
    client = Client.compatible("http://mock.invalid/v1", model="m", transport=mock)
    assert client.chat().user("hello").send().text == "Echo: hello"
    mock.add(ChatScript(text="Grüße 🎉", chunk_size=2))
    with client.chat().user("x").stream() as stream:
        assert "".join(stream.text()) == "Grüße 🎉"
    assert [r.path for r in mock.requests] == ["/v1/chat/completions", "/v1/chat/completions"]
    assert mock.requests[1].json()["stream"] is True


def test_tool_calls_through_the_anthropic_protocol():
    mock = MockTransport(protocol="anthropic")
    client = Client.anthropic(api_key="k", base_url="http://mock.invalid", transport=mock)
    mock.add(ChatScript(tool_calls=[ToolCall("t1", "f", {"a": 1}, '{"a": 1}')]))
    reply = client.chat("claude").user("x").send()
    assert reply.tool_calls == (ToolCall("t1", "f", {"a": 1}, '{"a": 1}'),)
    assert mock.requests[0].headers["x-api-key"] == "k"


def test_error_status_raises_the_mapped_class():
    mock = MockTransport().add(
        Reply.json({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, status=429)
    )
    client = Client.compatible("http://mock.invalid/v1", model="m", transport=mock)
    with pytest.raises(RateLimitError) as info:
        client.chat().user("x").send()
    assert info.value.code == "rate_limit_exceeded"


def test_dropped_connection_and_cut_stream():
    mock = MockTransport(protocol="openai").add(
        Reply(drop=True), ChatScript(text="abcdef", chunk_size=2, cut_after=3)
    )
    client = Client.compatible("http://mock.invalid/v1", model="m", transport=mock)
    with pytest.raises(ConnectError):
        client.chat().user("x").send()
    with pytest.raises(StreamError) as info:
        list(client.chat().user("x").stream())
    assert info.value.partial.text == "abcd"


def test_header_injection_is_refused_as_on_the_wire():
    mock = MockTransport(protocol="openai")
    client = Client.compatible("http://mock.invalid/v1", model="m", transport=mock)
    with pytest.raises(ConfigError):
        client.chat().user("x").headers({"X-A": "b\nc"}).send()
    assert mock.requests == []
