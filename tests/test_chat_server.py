"""Chat over real sockets against the OpenAI-speaking FakeServer."""

from __future__ import annotations

import pytest

from relay_lite import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigError,
    ConflictError,
    Done,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    StreamError,
    TextDelta,
    ToolCall,
    UnprocessableEntityError,
    Usage,
)
from relay_lite.testing import ChatScript, FakeServer, Reply

TEXT = "Grüße aus Köln — 你好, мир! 🎉🚀 done."


@pytest.fixture
def server():
    with FakeServer.openai() as fake:
        yield fake


@pytest.fixture
def client(server):
    with Client.compatible(server.url, retry=RetryPolicy(backoff=0.01), model="test-model") as c:
        yield c


def test_send_returns_the_scripted_text_exactly(server, client):
    server.add(ChatScript(text=TEXT, usage=Usage(11, 7, 18)))
    reply = client.chat().user("hi").send()
    assert reply.text == TEXT
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(11, 7, 18)
    assert reply.request_id == "req_fake"
    assert server.requests[0].json() == {
        "model": "test-model",
        "messages": [{"role": "user", "content": "hi"}],
    }


@pytest.mark.parametrize("split_bytes", [1, 2, 3, 5, 64])
def test_stream_equals_the_scripted_text_with_any_byte_split(server, client, split_bytes):
    server.add(ChatScript(text=TEXT, chunk_size=3, split_bytes=split_bytes))
    with client.chat().user("hi").stream() as stream:
        pieces = list(stream.text())
    assert "".join(pieces) == TEXT
    assert stream.response.text == TEXT
    assert stream.response.finish_reason == "stop"


def test_stream_reports_usage_from_the_final_chunk(server, client):
    server.add(ChatScript(text="ok", usage=Usage(3, 1, 4)))
    with client.chat().user("hi").stream() as stream:
        events = list(stream)
    assert isinstance(events[-1], Done)
    assert events[-1].response.usage == Usage(3, 1, 4)
    assert server.requests[0].json()["stream_options"] == {"include_usage": True}


def test_tool_call_arguments_over_many_chunks_are_reassembled(server, client):
    arguments = '{"city": "São Paulo", "days": [1, 2, 3], "units": "metric"}'
    server.add(ChatScript(tool_calls=[ToolCall("call_7", "forecast", {}, arguments)], chunk_size=2))
    with client.chat().user("weather?").tools([{"name": "forecast"}]).stream() as stream:
        fragments = [e for e in stream if not isinstance(e, (TextDelta, Done))]
    assert len(fragments) > 20
    call = stream.response.tool_calls[0]
    assert call == ToolCall(
        "call_7", "forecast", {"city": "São Paulo", "days": [1, 2, 3], "units": "metric"}, arguments
    )
    assert stream.response.finish_reason == "tool_calls"


def test_non_streamed_tool_call(server, client):
    server.add(ChatScript(tool_calls=[ToolCall("c1", "f", {"a": 1}, '{"a": 1}')]))
    reply = client.chat().user("x").send()
    assert reply.tool_calls == (ToolCall("c1", "f", {"a": 1}, '{"a": 1}'),)
    assert reply.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (529, OverloadedError),
        (418, APIError),
    ],
)
def test_error_status_maps_to_its_class(server, status, cls):
    body = {
        "error": {
            "message": f"failure {status}",
            "type": "some_type",
            "param": None,
            "code": f"code_{status}",
        }
    }
    server.add(
        *[Reply.json(body, status=status, headers={"x-request-id": f"req_{status}"}) for _ in range(3)]
    )
    client = Client.compatible(server.url, retry=RetryPolicy(max_retries=0))
    with pytest.raises(cls) as info:
        client.chat("m").user("x").send()
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.message == f"failure {status}"
    assert error.code == f"code_{status}"
    assert error.request_id == f"req_{status}"
    assert error.body == body


def test_error_payload_in_a_200_stream_raises_with_the_partial_text(server, client):
    server.add(
        ChatScript(
            text="abcdefgh",
            chunk_size=2,
            error={"message": "Overloaded", "type": "overloaded_error"},
            error_after=2,
        )
    )
    with pytest.raises(OverloadedError) as info:
        with client.chat().user("x").stream() as stream:
            list(stream)
    assert info.value.partial.text == "abcd"
    assert info.value.request_id == "req_fake"
    assert len(server.requests) == 1


def test_stream_cut_midway_raises_stream_error_with_exact_partial_text(server, client):
    # events: role chunk, then "ab", "cd", "ef", ... -> cut after the role chunk and 3 deltas
    server.add(ChatScript(text="abcdefghij", chunk_size=2, cut_after=4))
    received = []
    with pytest.raises(StreamError) as info:
        with client.chat().user("x").stream() as stream:
            for piece in stream.text():
                received.append(piece)
    assert "".join(received) == "abcdef"
    assert info.value.partial.text == "abcdef"
    assert info.value.text == "abcdef"


def test_stream_without_done_is_an_error_not_a_silent_end(server, client):
    events = [b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n']
    server.add(Reply.sse(events))
    with pytest.raises(StreamError) as info:
        list(client.chat().user("x").stream())
    assert "before its terminator" in str(info.value)
    assert info.value.partial.text == "hi"


def test_closing_a_stream_early_returns_the_connection(server, client):
    server.add(ChatScript(text="x" * 400, chunk_size=1, chunk_delay=0.005))
    stream = client.chat().user("long").stream()
    first = next(stream.text())
    stream.close()
    assert first == "x"
    pool = client.transport._direct.connection_from_url(server.url)
    assert pool.pool.qsize() == pool.pool.maxsize  # the slot is back in the pool
    assert client.chat().user("again").send().text == "Echo: again"
    assert pool.pool.qsize() == pool.pool.maxsize
    with pytest.raises(StreamError) as info:
        _ = stream.response
    assert info.value.partial.text == "x"


def test_many_streams_on_one_client_reuse_the_pool(server, client):
    for i in range(5):
        with client.chat().user(f"n{i}").stream() as stream:
            assert "".join(stream.text()) == f"Echo: n{i}"
    pool = client.transport._direct.connection_from_url(server.url)
    assert pool.num_connections == 1


def test_openrouter_heartbeat_comments_are_ignored(server, client):
    events = [
        b": OPENROUTER PROCESSING\n\n",
        b'data: {"id":"g","choices":[{"delta":{"content":"ok"}}]}\n\n',
        b": OPENROUTER PROCESSING\n\n",
        b'data: {"id":"g","choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    ]
    server.add(Reply.sse(events))
    with client.chat().user("x").stream() as stream:
        assert list(stream.text()) == ["ok"]
    assert stream.response.finish_reason == "stop"


def test_builder_is_immutable_and_reusable(server, client):
    base = client.chat().system("Be brief.")
    first = base.user("one")
    second = base.user("two").temperature(0)
    assert len(base.params.messages) == 1
    first.send()
    second.send()
    bodies = [r.json() for r in server.requests]
    assert bodies[0]["messages"][-1] == {"role": "user", "content": "one"}
    assert bodies[1]["messages"][-1] == {"role": "user", "content": "two"}
    assert "temperature" not in bodies[0]
    assert bodies[1]["temperature"] == 0


def test_generate_keyword_shortcut(server, client):
    reply = client.generate("hello there", system="sys", max_tokens=5, stop=["\n"])
    assert reply.text == "Echo: hello there"
    body = server.requests[0].json()
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hello there"},
    ]
    assert body["max_tokens"] == 5
    assert body["stop"] == ["\n"]


def test_generate_rejects_unknown_parameters(client):
    with pytest.raises(ConfigError) as info:
        client.generate("x", temprature=1)
    assert "temprature" in str(info.value)


def test_request_id_and_headers_are_sent(server, client):
    client.chat().user("x").request_id("my-id-1").headers({"X-Trace": "t1"}).send()
    headers = server.requests[0].headers
    assert headers["x-client-request-id"] == "my-id-1"
    assert headers["x-trace"] == "t1"
    assert "authorization" not in headers


def test_api_key_is_sent_as_bearer(server):
    client = Client.openai(api_key="sk-test", base_url=server.url)
    client.chat("m").user("x").send()
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_a_request_without_messages_is_refused_before_sending(server, client):
    with pytest.raises(ConfigError):
        client.chat().send()
    assert server.requests == []


def test_per_request_total_timeout(server, client):
    from relay_lite import DeadlineExceeded

    server.add(ChatScript(text="slow" * 50, chunk_size=1, chunk_delay=0.05))
    with pytest.raises(DeadlineExceeded) as info:
        with client.chat().user("x").timeout(0.5).stream() as stream:
            list(stream)
    assert info.value.partial.text.startswith("slow")


def test_refusal_from_the_fake_server_is_kept_sent_and_streamed(server, client):
    server.add(ChatScript(text="I can't help with that.", finish_reason="refusal"))
    sent = client.chat().user("x").send()
    assert (sent.refusal, sent.text) == ("I can't help with that.", "")
    server.add(ChatScript(text="I can't help with that.", finish_reason="refusal", chunk_size=5))
    with client.chat().user("x").stream() as stream:
        assert list(stream.text()) == []
    assert stream.response.refusal == "I can't help with that."


def test_abandoning_a_text_loop_closes_the_stream(server, client):
    server.add(ChatScript(text="y" * 200, chunk_size=1))
    stream = client.chat().user("x").stream()
    for _piece in stream.text():
        break
    assert stream._http.closed
    assert client.chat().user("next").send().text == "Echo: next"


def test_response_after_a_failed_stream_raises_the_same_error(server, client):
    server.add(ChatScript(text="abcd", chunk_size=2, cut_after=2))
    stream = client.chat().user("x").stream()
    with pytest.raises(StreamError) as first:
        list(stream)
    with pytest.raises(StreamError) as second:
        _ = stream.response
    assert second.value is first.value
    assert second.value.partial.text == "ab"


def test_chunk_of_an_unexpected_shape_is_a_stream_error(server, client):
    server.add(Reply.sse([b'data: {"choices":[{"delta":"oops"}]}\n\n']))
    with pytest.raises(StreamError) as info:
        list(client.chat().user("x").stream())
    assert str(info.value) == "chunk.choices[0].delta is a string, expected an object (after 1 attempt)"
