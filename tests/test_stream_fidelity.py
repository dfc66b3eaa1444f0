"""Stream fidelity: the last event without its blank line, and what a stream's body holds.

Issues 10 and 11. Real servers close the connection right after their final event's
``data:`` line, and gateways answer ``stream: true`` with a whole JSON reply or an HTML
error page. Sans-I/O tests pin the decoder's side; the rest run over real sockets against
``FakeServer`` with hand-written bodies, each sent whole and one byte per chunk.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

import relay_lite._stream as stream_module
from relay_lite import (
    APIError,
    Client,
    Done,
    OverloadedError,
    RateLimitError,
    RetryPolicy,
    StreamError,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from relay_lite._sse import NDJSONDecoder, ServerSentEvent, SSEDecoder
from relay_lite.platform.agents import (
    AgentClient,
    Heartbeat,
    HITLInterrupt,
    MessageChunk,
    RunEnd,
    RunSnapshot,
    RunStart,
)
from relay_lite.testing import FakeServer, Reply

CHUNKINGS = ["whole", "bytewise"]
NO_RETRY = RetryPolicy(max_retries=0)


def chunks_of(body: bytes, chunking: str) -> list[bytes]:
    return [body] if chunking == "whole" else [body[i : i + 1] for i in range(len(body))]


def decode(body: bytes, chunking: str) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks_of(body, chunking):
        events += decoder.feed(chunk)
    events += decoder.close()
    return events, decoder


def reply(body: bytes, chunking: str, content_type: Optional[str] = "text/event-stream") -> Reply:
    headers = {"Content-Type": content_type} if content_type else {}
    return Reply(headers=headers, chunks=chunks_of(body, chunking))


def slots_all_free(client: Any, server: FakeServer) -> bool:
    pool = client.transport._direct.connection_from_url(server.url)
    return bool(pool.pool.qsize() == pool.pool.maxsize)


# -- the decoder hands over the unterminated event (sans-I/O) -----------------------------


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_decoder_keeps_a_last_event_whose_line_ended_but_no_blank_line_followed(chunking: str) -> None:
    events, decoder = decode(b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n', chunking)
    assert events == [ServerSentEvent("message", '{"a":1}')]
    assert decoder.ended_mid_event is True
    assert decoder.unterminated == ServerSentEvent("message", "[DONE]")


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_decoder_keeps_a_last_line_that_had_no_line_ending_at_all(chunking: str) -> None:
    events, decoder = decode(b'event: message_stop\ndata: {"type":"message_stop"}', chunking)
    assert events == []
    assert decoder.unterminated == ServerSentEvent("message_stop", '{"type":"message_stop"}')


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_decoder_keeps_every_data_line_of_the_unterminated_event(chunking: str) -> None:
    events, decoder = decode(b"id: 7\ndata: a\n\ndata: b\ndata: c", chunking)
    assert events == [ServerSentEvent("message", "a", "7")]
    assert decoder.unterminated == ServerSentEvent("message", "b\nc", "7")


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_decoder_keeps_a_last_line_cut_inside_a_character_as_replacement(chunking: str) -> None:
    _, decoder = decode("data: Grü".encode()[:-1], chunking)
    assert decoder.unterminated == ServerSentEvent("message", "Gr\ufffd")


def test_decoder_has_no_unterminated_event_after_a_clean_end() -> None:
    _, decoder = decode(b"data: a\n\n: bye\n", "whole")
    assert (decoder.ended_mid_event, decoder.unterminated) == (False, None)


def test_decoder_has_no_unterminated_event_when_the_cut_event_had_no_data_line() -> None:
    _, decoder = decode(b"data: a\n\nevent: message_stop\nda", "whole")
    assert (decoder.ended_mid_event, decoder.unterminated) == (True, None)


def test_decoder_close_still_dispatches_nothing_per_whatwg() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x") == []
    assert decoder.close() == []


def test_ndjson_decoder_never_has_an_unterminated_event() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'{"a": 1}')
    assert decoder.close() == [{"a": 1}]
    assert decoder.unterminated is None


@pytest.mark.parametrize(
    ("head", "verdict"),
    [
        (b"", None),
        (b"\xef\xbb", None),  # half a BOM
        (b"d", None),
        (b"dat", None),
        (b"data:", True),
        (b"\xef\xbb\xbfevent: x", True),
        (b"\r\n\r\nid: 1", True),
        (b"retry: 10", True),
        (b": OPENROUTER PROCESSING", True),
        (b"{", False),
        (b"<html>", False),
        (b"dx", False),
        (b" data:", False),  # a field name with a space is not a field SSE knows
    ],
)
def test_sse_sniff_reads_only_what_the_first_line_starts_with(head: bytes, verdict: Optional[bool]) -> None:
    assert SSEDecoder.sniff(head) is verdict


def test_ndjson_framing_is_never_guessed_from_bytes() -> None:
    assert NDJSONDecoder.sniff(b'{"type": "start"}') is False


# -- OpenAI-compatible: the last event without its blank line -----------------------------

OPENAI_HEAD = (
    b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1733212800,'
    b'"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}'
    b"\r\n\r\n"
    b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1733212800,'
    b'"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,'
    b'"delta":{"content":"Hello, w\xc3\xb6rld"},"logprobs":null,"finish_reason":null}]}'
    b"\r\n\r\n"
)
OPENAI_STOP = (
    b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1733212800,'
    b'"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,'
    b'"delta":{},"logprobs":null,"finish_reason":"stop"}]}'
    b"\r\n\r\n"
    b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk","created":1733212800,'
    b'"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],'
    b'"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}'
    b"\r\n\r\n"
)


@pytest.fixture
def openai_server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def openai_client(openai_server):
    with Client.compatible(openai_server.url, retry=NO_RETRY, model="gpt-4o-mini", env={}) as c:
        yield c


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize(
    "done",
    [
        b"data: [DONE]\r\n",  # CRLF-framed compatible gateways: one line end, then EOF
        b"data: [DONE]",  # recorders that strip the trailing newline
    ],
)
def test_openai_done_without_its_blank_line_ends_the_stream_cleanly(
    openai_server, openai_client, chunking: str, done: bytes
) -> None:
    openai_server.add(reply(OPENAI_HEAD + OPENAI_STOP + done, chunking))
    with openai_client.chat().user("hi").stream() as stream:
        events = list(stream)
    assert events[:2] == [TextDelta("Hello, wörld"), UsageEvent(Usage(9, 4, 13))]
    response = stream.response
    assert events[2:] == [Done(response)]
    assert (response.text, response.finish_reason, response.usage) == (
        "Hello, wörld",
        "stop",
        Usage(9, 4, 13),
    )
    assert slots_all_free(openai_client, openai_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_openai_stream_cut_inside_a_chunk_says_it_ended_in_the_middle_of_an_event(
    openai_server, openai_client, chunking: str
) -> None:
    cut = (
        b'data: {"id":"chatcmpl-9x","object":"chat.completion.chunk",'
        b'"choices":[{"index":0,"delta":{"content":"!!'
    )
    openai_server.add(reply(OPENAI_HEAD + cut, chunking))
    received: list[str] = []
    with pytest.raises(StreamError) as info:
        for piece in openai_client.chat().user("hi").stream().text():
            received.append(piece)
    assert info.value.message == (
        "stream ended in the middle of an event: "
        '\'{"id":"chatcmpl-9x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"!!\''
    )
    assert type(info.value) is StreamError
    assert received == ["Hello, wörld"]
    assert info.value.partial.text == "Hello, wörld"
    assert slots_all_free(openai_client, openai_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_openai_last_chunk_without_blank_line_or_done_is_kept_in_the_partial(
    openai_server, openai_client, chunking: str
) -> None:
    last = (
        b'data: {"id":"chatcmpl-9x","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}\n'
    )
    openai_server.add(reply(OPENAI_HEAD + last, chunking))
    stream = openai_client.chat().user("hi").stream()
    received: list[Any] = []
    with pytest.raises(StreamError) as info:
        for event in stream:
            received.append(event)
    assert info.value.message == "stream ended before its terminator"
    assert received == [TextDelta("Hello, wörld"), TextDelta("!")]
    assert info.value.partial.text == "Hello, wörld!"
    assert info.value.partial.finish_reason == "stop"
    with pytest.raises(StreamError) as again:
        _ = stream.response
    assert again.value is info.value
    assert slots_all_free(openai_client, openai_server)


def test_openai_error_event_without_its_blank_line_raises_the_api_error(openai_server, openai_client) -> None:
    # OpenRouter sends mid-stream errors as a data line and may close right after it.
    error = b'data: {"error":{"message":"Rate limit exceeded: free-models-per-min","code":429}}'
    openai_server.add(reply(OPENAI_HEAD + error, "whole"))
    with pytest.raises(RateLimitError) as info:
        list(openai_client.chat().user("hi").stream())
    assert info.value.message == "Rate limit exceeded: free-models-per-min"
    assert info.value.partial.text == "Hello, wörld"


# -- Anthropic: message_stop with no newline at all ---------------------------------------

ANTHROPIC_BODY = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message",'
    b'"role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,'
    b'"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}\n\n'
    b"event: content_block_start\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b"event: ping\n"
    b'data: {"type": "ping"}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour"}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
    b'"text":" \xe2\x80\x94 salut"}}\n\n'
    b"event: content_block_stop\n"
    b'data: {"type":"content_block_stop","index":0}\n\n'
)
ANTHROPIC_TAIL = (
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
    b'"usage":{"output_tokens":15}}\n\n'
    b"event: message_stop\n"
    b'data: {"type":"message_stop"}'
)


@pytest.fixture
def anthropic_server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def anthropic_client(anthropic_server):
    with Client(
        "anthropic", api_key="sk-ant-test", base_url=anthropic_server.url, retry=NO_RETRY, env={}
    ) as c:
        yield c


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_anthropic_message_stop_with_no_newline_ends_the_stream_cleanly(
    anthropic_server, anthropic_client, chunking: str
) -> None:
    anthropic_server.add(reply(ANTHROPIC_BODY + ANTHROPIC_TAIL, chunking))
    with anthropic_client.chat("claude-sonnet-4-20250514").user("hi").stream() as stream:
        text = "".join(stream.text())
    response = stream.response
    assert text == response.text == "Bonjour — salut"
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (25, 15)
    assert slots_all_free(anthropic_client, anthropic_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_anthropic_stream_cut_inside_a_delta_says_it_ended_in_the_middle_of_an_event(
    anthropic_server, anthropic_client, chunking: str
) -> None:
    cut = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_d'
    body = ANTHROPIC_BODY.replace(b"event: content_block_stop", b"event: x_cut").split(b"event: x_cut")[0]
    anthropic_server.add(reply(body + cut, chunking))
    with pytest.raises(StreamError) as info:
        list(anthropic_client.chat("claude-sonnet-4-20250514").user("hi").stream())
    assert info.value.message == (
        "stream ended in the middle of an event: "
        '\'{"type":"content_block_delta","index":0,"delta":{"type":"text_d\''
    )
    assert info.value.partial.text == "Bonjour — salut"
    assert slots_all_free(anthropic_client, anthropic_server)


def test_anthropic_overloaded_error_event_without_a_newline_raises_overloaded(
    anthropic_server, anthropic_client
) -> None:
    # Anthropic's in-stream error, as sent when the API is overloaded, closing right after it.
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    anthropic_server.add(reply(ANTHROPIC_BODY + error, "whole"))
    with pytest.raises(OverloadedError) as info:
        list(anthropic_client.chat("claude-sonnet-4-20250514").user("hi").stream())
    assert info.value.message == "Overloaded"
    assert info.value.partial.text == "Bonjour — salut"


def test_anthropic_message_delta_without_message_stop_keeps_its_stop_reason(
    anthropic_server, anthropic_client
) -> None:
    body = ANTHROPIC_BODY + ANTHROPIC_TAIL.split(b"\n\n")[0]  # message_delta, then EOF
    anthropic_server.add(reply(body, "whole"))
    with pytest.raises(StreamError) as info:
        list(anthropic_client.chat("claude-sonnet-4-20250514").user("hi").stream())
    assert info.value.message == "stream ended before its terminator"
    assert (info.value.partial.finish_reason, info.value.partial.usage.output_tokens) == ("stop", 15)


# -- ModelRelay: the final message_stop event ---------------------------------------------

MODELRELAY_BODY = (
    b"event: message_start\n"
    b'data: {"type":"message_start","response_id":"resp_42","model":"openai/gpt-4o-mini"}\n\n'
    b"event: keepalive\ndata: {}\n\n"
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":"Hola ","response_id":"resp_42"}\n\n'
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"text":"mundo"},"response_id":"resp_42"}\n\n'
)
MODELRELAY_STOP = (
    b"event: message_stop\n"
    b'data: {"type":"message_stop","response_id":"resp_42","model":"openai/gpt-4o-mini",'
    b'"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3,"total_tokens":15}}'
)


@pytest.fixture
def modelrelay_server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def modelrelay_client(modelrelay_server):
    with Client(
        "modelrelay", api_key="mr_sk_test", base_url=modelrelay_server.url, retry=NO_RETRY, env={}
    ) as c:
        yield c


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("ending", [b"", b"\n"])
def test_modelrelay_final_message_stop_without_blank_line_ends_cleanly(
    modelrelay_server, modelrelay_client, chunking: str, ending: bytes
) -> None:
    modelrelay_server.add(reply(MODELRELAY_BODY + MODELRELAY_STOP + ending, chunking))
    with modelrelay_client.chat("openai/gpt-4o-mini").user("hi").stream() as stream:
        events = list(stream)
    response = stream.response
    assert events == [TextDelta("Hola "), TextDelta("mundo"), UsageEvent(Usage(12, 3, 15)), Done(response)]
    assert (response.text, response.finish_reason, response.id) == ("Hola mundo", "stop", "resp_42")
    assert slots_all_free(modelrelay_client, modelrelay_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_modelrelay_stream_cut_inside_message_stop_is_an_error_with_the_text(
    modelrelay_server, modelrelay_client, chunking: str
) -> None:
    cut = b'event: message_stop\ndata: {"type":"message_stop","response_id":"r'
    modelrelay_server.add(reply(MODELRELAY_BODY + cut, chunking))
    with pytest.raises(StreamError) as info:
        list(modelrelay_client.chat("openai/gpt-4o-mini").user("hi").stream())
    assert info.value.message == (
        'stream ended in the middle of an event: \'{"type":"message_stop","response_id":"r\''
    )
    assert info.value.partial.text == "Hola mundo"


# -- a JSON reply to a streaming request ---------------------------------------------------

OPENAI_COMPLETION = {
    "id": "chatcmpl-cached",
    "object": "chat.completion",
    "created": 1733212800,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking the weather.",
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Zürich"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
}


def json_reply(payload: Any, chunking: str, content_type: str = "application/json") -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(headers={"Content-Type": content_type}, chunks=chunks_of(body, chunking))


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_openai_json_reply_to_a_stream_becomes_the_events_of_that_reply(
    openai_server, openai_client, chunking: str
) -> None:
    # Proxies answer stream: true with the whole cached chat.completion on a cache hit.
    cached = json_reply(OPENAI_COMPLETION, chunking, "application/json; charset=utf-8")
    cached.headers["x-ratelimit-remaining-requests"] = "59"
    openai_server.add(cached)
    openai_server.add(Reply.json(OPENAI_COMPLETION))
    with openai_client.chat().user("weather?").stream() as stream:
        events = list(stream)
    response = stream.response
    assert events == [
        TextDelta("Checking the weather."),
        ToolCallDelta(0, "call_abc", "weather", '{"city":"Zürich"}'),
        UsageEvent(Usage(20, 8, 28)),
        Done(response),
    ]
    assert response == openai_client.chat().user("weather?").send()
    assert response.tool_calls[0].arguments == {"city": "Zürich"}
    assert (response.finish_reason, response.raw["id"]) == ("tool_calls", "chatcmpl-cached")
    assert (response.status, response.headers["content-type"]) == (200, "application/json; charset=utf-8")
    assert response.rate_limits is not None and response.rate_limits.requests_remaining == 59
    assert slots_all_free(openai_client, openai_server)


ANTHROPIC_MESSAGE = {
    "id": "msg_mock",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [
        {"type": "thinking", "thinking": "Paris is in France.", "signature": "EqQBCgIYAhIM"},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 30, "output_tokens": 12},
}


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_anthropic_json_reply_to_a_stream_becomes_the_events_of_that_reply(
    anthropic_server, anthropic_client, chunking: str
) -> None:
    # LiteLLM's /v1/messages answers stream: true with a whole message for mocked models.
    anthropic_server.add(json_reply(ANTHROPIC_MESSAGE, chunking))
    anthropic_server.add(Reply.json(ANTHROPIC_MESSAGE))
    request = anthropic_client.chat("claude-sonnet-4-20250514").user("weather in Paris?")
    with request.stream() as stream:
        events = list(stream)
    response = stream.response
    arguments = response.tool_calls[0].arguments_text
    assert events == [
        ThinkingDelta("Paris is in France."),
        TextDelta("Let me look."),
        ToolCallDelta(0, "toolu_01", "weather", arguments),
        UsageEvent(response.usage),
        Done(response),
    ]
    assert json.loads(arguments) == {"city": "Paris"}
    assert response == request.send()
    assert (response.text, response.finish_reason, response.usage.input_tokens) == (
        "Let me look.",
        "tool_calls",
        30,
    )
    assert slots_all_free(anthropic_client, anthropic_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_modelrelay_json_reply_to_a_stream_becomes_the_events_of_that_reply(
    modelrelay_server, modelrelay_client, chunking: str
) -> None:
    payload = {
        "id": "resp_7",
        "content": ["Hola ", "mundo"],
        "stop_reason": "end_turn",
        "model": "openai/gpt-4o-mini",
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
    }
    modelrelay_server.add(json_reply(payload, chunking))
    with modelrelay_client.chat("openai/gpt-4o-mini").user("hi").stream() as stream:
        events = list(stream)
    response = stream.response
    assert events == [TextDelta("Hola mundo"), UsageEvent(Usage(5, 2, 7)), Done(response)]
    assert (response.text, response.finish_reason, response.id) == ("Hola mundo", "stop", "resp_7")


def test_openai_error_json_reply_to_a_stream_raises_the_api_error(openai_server, openai_client) -> None:
    error = {
        "error": {
            "message": "Rate limit reached for gpt-4o-mini",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    openai_server.add(
        Reply(headers={"Content-Type": "application/json", "x-request-id": "req_9"}, body=error)
    )
    with pytest.raises(RateLimitError) as info:
        list(openai_client.chat().user("hi").stream())
    assert (info.value.message, info.value.code, info.value.request_id) == (
        "Rate limit reached for gpt-4o-mini",
        "rate_limit_exceeded",
        "req_9",
    )
    assert info.value.partial.text == ""
    assert slots_all_free(openai_client, openai_server)


def test_anthropic_error_json_reply_to_a_stream_raises_overloaded(anthropic_server, anthropic_client) -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    anthropic_server.add(Reply(headers={"Content-Type": "application/json"}, body=error))
    with pytest.raises(OverloadedError) as info:
        list(anthropic_client.chat("claude-sonnet-4-20250514").user("hi").stream())
    assert info.value.message == "Overloaded"


def test_modelrelay_error_json_reply_to_a_stream_raises_the_api_error(
    modelrelay_server, modelrelay_client
) -> None:
    error = {"error": {"code": "RATE_LIMITED", "message": "slow down", "status": 429}, "request_id": "req_mr"}
    modelrelay_server.add(Reply(headers={"Content-Type": "application/json"}, body=error))
    with pytest.raises(RateLimitError) as info:
        list(modelrelay_client.chat("openai/gpt-4o-mini").user("hi").stream())
    assert (info.value.message, info.value.request_id) == ("slow down", "req_mr")


def test_problem_json_reply_to_a_stream_is_read_as_json(openai_server, openai_client) -> None:
    problem = {"error": {"message": "model not found", "type": "invalid_request_error", "code": None}}
    openai_server.add(Reply(headers={"Content-Type": "application/problem+json"}, body=problem))
    with pytest.raises(APIError) as info:
        list(openai_client.chat().user("hi").stream())
    assert info.value.message == "model not found"


def test_a_json_reply_that_is_not_json_names_its_content_type(openai_server, openai_client) -> None:
    openai_server.add(Reply(headers={"Content-Type": "application/json"}, body=b"{'oops': true}"))
    with pytest.raises(StreamError) as info:
        list(openai_client.chat().user("hi").stream())
    assert info.value.message == (
        "stream answered with Content-Type application/json but a body that is not JSON: \"{'oops': true}\""
    )


def test_a_json_reply_larger_than_the_cap_is_refused_and_closed(
    openai_server, openai_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "MAX_WHOLE_REPLY_BYTES", 100)
    openai_server.add(json_reply(OPENAI_COMPLETION, "whole"))
    with pytest.raises(StreamError) as info:
        list(openai_client.chat().user("hi").stream())
    assert info.value.message == "stream answered with a JSON body larger than 100 bytes; not read"
    assert slots_all_free(openai_client, openai_server)


# -- any other Content-Type ---------------------------------------------------------------

GATEWAY_PAGE = (
    b"<html><body><h1>502 Bad Gateway</h1><p>The upstream server returned an invalid response."
    b" Please try again later; if the problem persists contact the site administrator and quote"
    b" reference #18.2d5c1402.1733212800.4f1a2b.</p></body></html>\n"
)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_stream_answered_with_text_html_raises_stream_error_quoting_the_page(
    openai_server, openai_client, chunking: str
) -> None:
    # Corporate proxies and CDNs answer 200 text/html when the upstream misbehaves.
    openai_server.add(reply(GATEWAY_PAGE, chunking, "text/html; charset=UTF-8"))
    with pytest.raises(StreamError) as info:
        list(openai_client.chat().user("hi").stream())
    shown = GATEWAY_PAGE.decode()[:200] + "..."
    assert (
        info.value.message == f"stream answered with Content-Type text/html, not text/event-stream: {shown!r}"
    )
    assert info.value.partial.text == ""
    assert slots_all_free(openai_client, openai_server)
    openai_server.add(reply(OPENAI_HEAD + OPENAI_STOP + b"data: [DONE]\n\n", "whole"))
    assert openai_client.chat().user("again").stream().response.text == "Hello, wörld"


def test_a_short_text_plain_stream_is_quoted_whole(openai_server, openai_client) -> None:
    openai_server.add(reply(b"upstream connect error", "whole", "text/plain"))
    with pytest.raises(StreamError) as info:
        list(openai_client.chat().user("hi").stream())
    assert info.value.message == (
        "stream answered with Content-Type text/plain, not text/event-stream: 'upstream connect error'"
    )


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream"])
def test_a_mislabelled_body_that_starts_like_sse_is_decoded_as_sse(
    openai_server, openai_client, chunking: str, content_type: str
) -> None:
    body = b": OPENROUTER PROCESSING\n\n" + OPENAI_HEAD + OPENAI_STOP + b"data: [DONE]\n\n"
    openai_server.add(reply(body, chunking, content_type))
    with openai_client.chat().user("hi").stream() as stream:
        assert "".join(stream.text()) == "Hello, wörld"
    assert stream.response.usage == Usage(9, 4, 13)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_stream_without_content_type_is_decoded_as_sse(openai_server, openai_client, chunking: str) -> None:
    openai_server.add(reply(OPENAI_HEAD + OPENAI_STOP + b"data: [DONE]", chunking, content_type=None))
    assert openai_client.chat().user("hi").stream().response.text == "Hello, wörld"


# -- agent runs -----------------------------------------------------------------------------

RUN_HEAD = (
    b"event: lifecycle\n"
    b'data: {"channel":"lifecycle","type":"run_start","run_id":"run_1","thread_id":"c1"}\n\n'
    b"event: messages\n"
    b'data: {"channel":"messages","type":"message_chunk","content":"Three ","id":"m1"}\n\n'
    b'data: ":ping"\n\n'
    b"event: messages\n"
    b'data: {"channel":"messages","type":"message_chunk","content":"cats.","id":"m1"}\n\n'
)
RUN_END = (
    b'event: lifecycle\ndata: {"channel":"lifecycle","type":"run_end","run_id":"run_1","thread_id":"c1"}'
)


@pytest.fixture
def agent_server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def agents(agent_server):
    client = AgentClient(agent_server.url, retry=NO_RETRY, env={})
    yield client
    client.close()


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_agent_run_end_record_without_blank_line_ends_the_run_cleanly(
    agent_server, agents, chunking: str
) -> None:
    agent_server.add(reply(RUN_HEAD + RUN_END, chunking))
    with agents.chat("c1").send("cats?") as run:
        events = list(run)
    assert events == [
        RunStart("run_1", "c1"),
        MessageChunk("Three ", "m1"),
        MessageChunk("cats.", "m1"),
        RunEnd("run_1", "c1"),
    ]
    assert (run.text, run.finished, run.paused) == ("Three cats.", True, False)
    assert slots_all_free(agents, agent_server)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_agent_run_cut_inside_its_last_record_says_it_ended_in_the_middle_of_an_event(
    agent_server, agents, chunking: str
) -> None:
    cut = b'event: lifecycle\ndata: {"channel":"lifecycle","type":"ru'
    agent_server.add(reply(RUN_HEAD + cut, chunking))
    with pytest.raises(StreamError) as info:
        list(agents.chat("c1").send("cats?"))
    assert info.value.message == (
        'agent run ended in the middle of an event: \'{"channel":"lifecycle","type":"ru\''
    )
    assert info.value.partial == RunSnapshot("Three cats.", (), "run_1")
    assert slots_all_free(agents, agent_server)


def test_agent_run_last_chunk_without_blank_line_or_run_end_is_kept(agent_server, agents) -> None:
    last = b'data: {"channel":"messages","type":"message_chunk","content":" More"}'
    agent_server.add(reply(RUN_HEAD + last, "whole"))
    with pytest.raises(StreamError) as info:
        list(agents.chat("c1").send("cats?"))
    assert info.value.message == "agent run ended before run_end, error or cancelled"
    assert info.value.partial.text == "Three cats. More"


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_agent_run_whose_final_record_is_an_interrupt_without_blank_line_is_paused(
    agent_server, agents, chunking: str
) -> None:
    interrupt = (
        b"event: hitl\n"
        b'data: {"channel":"hitl","type":"hitl_interrupt","action_name":"send_email",'
        b'"action_args":{"to":"ops@example.com"},"description":"Send the report?"}'
    )
    agent_server.add(reply(RUN_HEAD + interrupt, chunking))
    with agents.chat("c1").send("report") as run:
        events = list(run)
    assert events[-1] == HITLInterrupt(
        "send_email",
        {"to": "ops@example.com"},
        "Send the report?",
        None,
        ({"name": "send_email", "args": {"to": "ops@example.com"}, "description": "Send the report?"},),
    )
    assert (run.paused, run.finished, run.text) == (True, False, "Three cats.")
    assert slots_all_free(agents, agent_server)


def test_agent_run_answered_with_text_html_raises_stream_error(agent_server, agents) -> None:
    agent_server.add(reply(b"<html><body>Gateway Timeout</body></html>", "whole", "text/html"))
    with pytest.raises(StreamError) as info:
        list(agents.chat("c1").send("cats?"))
    assert info.value.message == (
        "agent run answered with Content-Type text/html, not text/event-stream: "
        "'<html><body>Gateway Timeout</body></html>'"
    )
    assert slots_all_free(agents, agent_server)


def test_agent_run_answered_with_an_error_envelope_raises_the_api_error(agent_server, agents) -> None:
    body = {"code": 429, "message": "too many runs", "data": None}
    agent_server.add(Reply(headers={"Content-Type": "application/json"}, body=body))
    with pytest.raises(RateLimitError) as info:
        list(agents.chat("c1").send("cats?"))
    assert info.value.message == "too many runs"
    assert info.value.partial == RunSnapshot("")


def test_agent_run_answered_with_other_json_raises_stream_error(agent_server, agents) -> None:
    agent_server.add(
        Reply(headers={"Content-Type": "application/json"}, body={"code": 0, "data": {"ok": True}})
    )
    with pytest.raises(StreamError) as info:
        list(agents.chat("c1").send("cats?"))
    assert info.value.message == (
        'agent run answered with a JSON body, not an event stream: \'{"code": 0, "data": {"ok": true}}\''
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[" * 100_000, "agent event is nested too deeply to read: '" + "[" * 200 + "'"),
        ('{"channel": "messages"', 'agent event is not valid JSON: \'{"channel": "messages"\''),
        ("[1, 2]", "agent event is not a JSON object: '[1, 2]'"),
    ],
)
def test_odd_agent_events_raise_stream_error_naming_the_problem(
    agent_server, agents, data: str, message: str
) -> None:
    agent_server.add(reply(RUN_HEAD + f"data: {data}\n\n".encode(), "whole"))
    with pytest.raises(StreamError) as info:
        list(agents.chat("c1").send("cats?"))
    assert type(info.value) is StreamError
    assert info.value.message == message
    assert info.value.partial.text == "Three cats."


def test_agent_run_final_heartbeat_without_blank_line_is_shown_when_asked(agent_server, agents) -> None:
    agent_server.add(reply(RUN_HEAD + b'data: ":ping"', "whole"))
    received: list[Any] = []
    with pytest.raises(StreamError) as info:
        for event in agents.chat("c1").send("cats?", include_heartbeats=True):
            received.append(event)
    assert received[-2:] == [MessageChunk("cats.", "m1"), Heartbeat()]
    assert received.count(Heartbeat()) == 2  # the one mid-run, and the final one
    assert info.value.message == "agent run ended before run_end, error or cancelled"
