"""The ModelRelay ``/llm/proxy`` adapter: sans-I/O (bodies, replies, stream events) and over sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional

import pytest

import relay_lite
from relay_lite import (
    AuthenticationError,
    ChatResponse,
    ConfigError,
    ImagePart,
    Message,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    ResponseError,
    RetryPolicy,
    StreamError,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    UnprocessableEntityError,
    Usage,
    UsageEvent,
)
from relay_lite._config import VERSION
from relay_lite._models import ChatParams, Done
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import modelrelay
from relay_lite.protocols.modelrelay import StreamParser, auth_headers, build_request, parse_response
from relay_lite.testing import ChatScript, FakeServer, Reply

TEXT = "Grüße aus Zürich — 東京 🌸 done."
CLIENT = f"relay-lite/{VERSION}"
CALL = ToolCall("call_1", "weather", {"city": "São Paulo", "days": 3}, '{"city": "São Paulo", "days": 3}')
WEATHER = ToolSpec(
    "weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
)

# -- helpers ------------------------------------------------------------------------------------


def params(*messages: Message, **options: Any) -> ChatParams:
    options.setdefault("model", "openai/gpt-4o-mini")
    return ChatParams(messages=messages or (Message("user", "Hi"),), **options)


def sse(kind: str, event: Optional[str] = None, **fields: Any) -> ServerSentEvent:
    """An event named in both the SSE ``event:`` field and the JSON ``type``."""
    return ServerSentEvent(event=event or kind, data=json.dumps({"type": kind, **fields}))


def named(kind: str, **fields: Any) -> ServerSentEvent:
    """An event named only by the SSE ``event:`` field."""
    return ServerSentEvent(event=kind, data=json.dumps(fields))


def typed(kind: str, **fields: Any) -> ServerSentEvent:
    """An event named only by its JSON ``type`` (SSE event name left at "message")."""
    return ServerSentEvent(data=json.dumps({"type": kind, **fields}))


def feed_all(parser: StreamParser, *events: ServerSentEvent) -> list[Any]:
    out: list[Any] = []
    for event in events:
        out += parser.feed(event)
    return out


def started() -> StreamParser:
    parser = StreamParser()
    assert parser.feed(sse("message_start", response_id="resp_1", model="openai/gpt-4o")) == []
    return parser


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["mr_sk_abc123", "mr_pk_abc123"])
def test_secret_and_publishable_keys_go_in_the_api_key_header(key: str) -> None:
    assert auth_headers(key) == {"X-ModelRelay-Api-Key": key}


def test_other_tokens_are_bearer_tokens() -> None:
    assert auth_headers("eyJhbGciOi.frontend.token") == {"Authorization": "Bearer eyJhbGciOi.frontend.token"}
    assert auth_headers("Bearer already") == {"Authorization": "Bearer already"}
    assert auth_headers(None) == {}
    assert auth_headers("") == {}


def test_request_id_header_name() -> None:
    assert modelrelay.REQUEST_ID_HEADER == "X-ModelRelay-Chat-Request-Id"


# -- requests ---------------------------------------------------------------------------------


def test_send_request_is_exact() -> None:
    call = build_request(params(Message("user", "Hi")), stream=False)
    assert (call.method, call.path) == ("POST", "/llm/proxy")
    assert call.headers == {"Accept": "application/json", "X-ModelRelay-Client": CLIENT}
    assert call.body == {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


def test_stream_request_differs_only_in_accept_and_has_no_stream_field() -> None:
    sent = build_request(params(), stream=False)
    streamed = build_request(params(), stream=True)
    assert streamed.headers == {"Accept": "text/event-stream", "X-ModelRelay-Client": CLIENT}
    assert streamed.body == sent.body
    assert "stream" not in streamed.body


def test_full_request_body_with_tools_and_a_tool_round_trip() -> None:
    conversation = (
        Message("system", "Be brief."),
        Message("user", (TextPart("What is the weather "), TextPart("in São Paulo?"))),
        Message("assistant", "", tool_calls=(CALL,)),
        Message("tool", '{"temp": 21}', tool_call_id="call_1"),
    )
    call = build_request(
        params(
            *conversation,
            max_tokens=256,
            temperature=0.2,
            metadata={"trace_id": "t-1"},
            response_format={"type": "json_object"},
            stop=("\n\n", "END"),
            tools=(WEATHER, ToolSpec("noop")),
            tool_choice="auto",
        ),
        stream=False,
    )
    assert call.body == {
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the weather in São Paulo?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "São Paulo", "days": 3}'},
                    }
                ],
            },
            {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1"},
        ],
        "max_tokens": 256,
        "temperature": 0.2,
        "metadata": {"trace_id": "t-1"},
        "response_format": {"type": "json_object"},
        "tool_choice": {"type": "auto"},
        "stop": ["\n\n", "END"],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Weather for a city",
                    "parameters": dict(WEATHER.parameters),
                },
            },
            {
                "type": "function",
                "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
            },
        ],
    }


def test_customer_attributed_call_omits_model_and_sends_customer_header() -> None:
    call = build_request(
        ChatParams(customer_id="cust-1", messages=(Message("user", "Hello!"),), max_tokens=50),
        stream=True,
    )
    assert call.headers == {
        "Accept": "text/event-stream",
        "X-ModelRelay-Client": CLIENT,
        "X-ModelRelay-Customer-Id": "cust-1",
    }
    assert call.body == {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 50}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "required"}),
        ("any", {"type": "required"}),
        ("weather", {"type": "required", "function": "weather"}),
        ({"type": "auto"}, {"type": "auto"}),
    ],
)
def test_tool_choice(choice: Any, wire: dict[str, Any]) -> None:
    assert build_request(params(tool_choice=choice), stream=False).body["tool_choice"] == wire


def test_extra_body_is_merged_last() -> None:
    body = build_request(params(extra_body={"stop_sequences": ["```"]}), stream=False).body
    assert body["stop_sequences"] == ["```"]


@pytest.mark.parametrize(
    "options",
    [
        {"top_p": 0.9},
        {"seed": 1},
        {"messages": (Message("user", (ImagePart(url="https://x.test/a.png"),)),)},
        {"messages": (Message("tool", "42"),)},
    ],
)
def test_unsupported_parameters_raise_config_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build_request(ChatParams(model="m", **{"messages": (Message("user", "x"),), **options}), stream=False)


# -- responses --------------------------------------------------------------------------------


def test_parse_response_is_exact() -> None:
    payload = {
        "provider": "openai",
        "id": "resp_1",
        "content": ["Hello, ", "wörld"],
        "stop_reason": "end_turn",
        "model": "openai/gpt-4o",
        "usage": {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
    }
    reply = parse_response(payload, request_id="req_9", attempts=2)
    assert reply == ChatResponse(
        text="Hello, wörld",
        finish_reason="stop",
        raw_finish_reason="end_turn",
        model="openai/gpt-4o",
        id="resp_1",
        usage=Usage(input_tokens=12, output_tokens=3, total_tokens=15),
        request_id="req_9",
        attempts=2,
    )
    assert reply.raw is payload


def test_parse_response_with_tool_calls_and_missing_total() -> None:
    payload = {
        "id": "resp_2",
        "content": [],
        "stop_reason": "tool_calls",
        "model": "m",
        "usage": {"input_tokens": 7, "output_tokens": 2},
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": CALL.arguments_json},
            }
        ],
    }
    reply = parse_response(payload)
    assert reply.text == ""
    assert reply.tool_calls == (CALL,)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "tool_calls")
    assert reply.usage == Usage(7, 2, 9)


@pytest.mark.parametrize(("raw", "neutral"), [("max_tokens", "length"), ("stop_sequence", "stop")])
def test_stop_reasons_are_normalised(raw: str, neutral: str) -> None:
    assert parse_response({"content": ["x"], "stop_reason": raw}).finish_reason == neutral


def test_error_payload_in_a_200_raises_the_mapped_error() -> None:
    body = {"error": {"code": "RATE_LIMIT", "message": "slow down", "status": 429}, "request_id": "req_b"}
    with pytest.raises(RateLimitError) as info:
        parse_response(body)
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "RATE_LIMIT",
        "slow down",
        "req_b",
    )


def test_non_object_reply_is_a_response_error() -> None:
    with pytest.raises(ResponseError):
        parse_response(["not", "an", "object"])


# -- streams ----------------------------------------------------------------------------------


def test_every_event_type_in_a_text_stream() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        sse("message_start", response_id="resp_1", model="openai/gpt-4o"),
        ServerSentEvent(event="ping", data=""),
        sse("ping"),
        ServerSentEvent(event="keepalive", data="{}"),
        typed("keepalive"),
        sse("message_delta", delta="Grü"),
        sse("message_delta", delta={"text": "ße "}),
        sse("message_delta", delta={"content": "🌸"}),
        sse("message_delta", delta=""),
    )
    assert events == [TextDelta("Grü"), TextDelta("ße "), TextDelta("🌸")]
    assert parser.finished is False
    usage = {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9}
    assert parser.feed(sse("message_stop", stop_reason="stop", usage=usage)) == [UsageEvent(Usage(5, 4, 9))]
    assert parser.finished is True
    assert parser.acc.response(request_id="r") == ChatResponse(
        text="Grüße 🌸",
        finish_reason="stop",
        raw_finish_reason="stop",
        model="openai/gpt-4o",
        id="resp_1",
        usage=Usage(5, 4, 9),
        request_id="r",
    )


def test_event_kind_from_the_sse_field_or_the_json_type() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        named("message_start", response_id="r1", model="m"),
        typed("message_delta", delta="a"),
        named("message_delta", delta={"text": "b"}),
        typed("message_stop", stop_reason="max_tokens"),
    )
    assert events == [TextDelta("a"), TextDelta("b")]
    assert parser.finished
    reply = parser.acc.response()
    assert (reply.text, reply.id, reply.model, reply.finish_reason) == ("ab", "r1", "m", "length")


def test_ndjson_style_envelope_is_unwrapped() -> None:
    parser = started()
    event = ServerSentEvent(data=json.dumps({"event": "message_delta", "data": {"delta": "hi"}}))
    assert parser.feed(event) == [TextDelta("hi")]


def test_message_start_in_the_anthropic_like_message_shape() -> None:
    parser = StreamParser()
    parser.feed(sse("message_start", message={"id": "msg_1", "model": "claude"}))
    assert (parser.acc.id, parser.acc.model) == ("msg_1", "claude")


def test_streamed_tool_use_is_reassembled_and_not_duplicated_by_message_stop() -> None:
    parser = started()
    whole = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": CALL.arguments_json},
    }
    events = feed_all(
        parser,
        sse(
            "tool_use_start",
            tool_call_delta={"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather"}},
        ),
        sse("tool_use_delta", tool_call_delta={"index": 0, "function": {"arguments": '{"city": "São '}}),
        sse("tool_use_delta", tool_call_delta={"index": 0, "function": {"arguments": 'Paulo", "days": 3}'}}),
        sse("tool_use_stop", tool_call_delta={"index": 0}, tool_call=whole),
        sse("message_stop", stop_reason="tool_calls", tool_calls=[whole]),
    )
    assert events == [
        ToolCallDelta(0, "call_1", "weather", ""),
        ToolCallDelta(0, None, None, '{"city": "São '),
        ToolCallDelta(0, None, None, 'Paulo", "days": 3}'),
    ]
    reply = parser.acc.response()
    assert reply.tool_calls == (CALL,)
    assert reply.finish_reason == "tool_calls"


def test_tool_call_given_whole_at_tool_use_stop() -> None:
    parser = started()
    whole = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": CALL.arguments_json},
    }
    events = feed_all(
        parser,
        sse("tool_use_start", tool_call_delta={"index": 0, "id": "call_1", "function": {"name": "weather"}}),
        sse("tool_use_stop", tool_call=whole),
    )
    assert events == [
        ToolCallDelta(0, "call_1", "weather", ""),
        ToolCallDelta(0, "call_1", "weather", CALL.arguments_json),
    ]
    assert parser.acc.response().tool_calls == (CALL,)


def test_tool_calls_only_in_message_stop() -> None:
    parser = started()
    second = {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": "{}"}}
    whole = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": CALL.arguments_json},
    }
    events = parser.feed(sse("message_stop", stop_reason="tool_calls", tool_calls=[whole, second]))
    assert events == [
        ToolCallDelta(0, "call_1", "weather", CALL.arguments_json),
        ToolCallDelta(1, "call_2", "noop", "{}"),
    ]
    assert parser.acc.response().tool_calls == (CALL, ToolCall("call_2", "noop", {}, "{}"))


def test_inline_tool_fields_are_accepted() -> None:
    parser = started()
    feed_all(
        parser,
        sse("tool_use_start", index=0, id="call_9", name="noop"),
        sse("tool_use_delta", index=0, arguments="{}"),
        sse("tool_use_stop", index=0),
    )
    assert parser.acc.response().tool_calls == (ToolCall("call_9", "noop", {}, "{}"),)


def test_error_event_nested_maps_to_the_right_class() -> None:
    parser = started()
    parser.feed(sse("message_delta", delta="part"))
    with pytest.raises(RateLimitError) as info:
        parser.feed(sse("error", error={"code": "RATE_LIMIT", "message": "slow down", "status": 429}))
    assert (info.value.status, info.value.code, info.value.message) == (429, "RATE_LIMIT", "slow down")


def test_error_event_flat_and_named_only_by_sse_field() -> None:
    parser = started()
    with pytest.raises(OverloadedError) as info:
        parser.feed(named("error", code="overloaded", message="busy"))
    assert (info.value.code, info.value.message) == ("overloaded", "busy")


def test_error_event_before_message_start_is_still_an_api_error() -> None:
    with pytest.raises(AuthenticationError):
        StreamParser().feed(sse("error", message="bad key", code="UNAUTHORIZED", status=401))


def test_unknown_event_kinds_are_ignored() -> None:
    parser = started()
    assert parser.feed(sse("custom", foo=1)) == []
    assert parser.feed(ServerSentEvent(data='{"foo": 1}')) == []


@pytest.mark.parametrize(
    "events",
    [
        [sse("message_delta", delta="x")],
        [sse("tool_use_start", tool_call_delta={"index": 0, "id": "c", "function": {"name": "n"}})],
        [sse("message_stop")],
        [sse("message_start"), sse("message_start")],
        [
            sse("message_start"),
            sse("tool_use_delta", tool_call_delta={"index": 0, "function": {"arguments": "{"}}),
        ],
        [sse("message_start"), sse("tool_use_stop", tool_call_delta={"index": 3})],
        [
            sse("message_start"),
            sse("tool_use_start", tool_call_delta={"index": 0, "id": "c", "function": {"name": "n"}}),
            sse("tool_use_start", tool_call_delta={"index": 0, "id": "c", "function": {"name": "n"}}),
        ],
        [
            sse("message_start"),
            sse("tool_use_start", tool_call_delta={"index": 0, "id": "c", "function": {"name": "n"}}),
            sse("tool_use_stop", tool_call_delta={"index": 0}),
            sse("tool_use_delta", tool_call_delta={"index": 0, "function": {"arguments": "{"}}),
        ],
        [sse("message_start"), sse("tool_use_start", tool_call_delta={"index": "zero"})],
        [sse("message_start"), sse("tool_use_start", tool_call_delta="oops")],
        [sse("message_start"), sse("message_delta", delta=["x"])],
        [sse("message_start"), sse("message_stop"), sse("message_delta", delta="late")],
        [sse("message_start"), ServerSentEvent(event="message_delta", data="{not json")],
        [sse("message_start"), ServerSentEvent(event="message_delta", data="[1, 2]")],
    ],
)
def test_out_of_order_or_malformed_events_raise_stream_error(events: list[ServerSentEvent]) -> None:
    parser = StreamParser()
    with pytest.raises(StreamError):
        feed_all(parser, *events)


def test_finished_only_after_message_stop() -> None:
    parser = started()
    parser.feed(sse("message_delta", delta="x", stop_reason="end_turn"))
    assert parser.finished is False
    parser.feed(sse("message_stop"))
    assert parser.finished is True
    assert parser.acc.response().finish_reason == "stop"


# -- over sockets -----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(protocol="modelrelay") as fake:
        yield fake


def client_for(server: FakeServer, **options: Any) -> relay_lite.Client:
    options.setdefault("retry", RetryPolicy(backoff=0.01))
    options.setdefault("api_key", "mr_sk_test")
    return relay_lite.Client.modelrelay(base_url=server.url, model="m", **options)


def test_send_exact_text_usage_body_and_headers(server: FakeServer) -> None:
    server.add(ChatScript(text=TEXT, usage=Usage(input_tokens=11, output_tokens=6, total_tokens=17)))
    reply = client_for(server).chat().system("Be brief.").user("Hallo").temperature(0.5).send()
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
    assert (request.method, request.path) == ("POST", "/llm/proxy")
    assert request.headers["x-modelrelay-api-key"] == "mr_sk_test"
    assert "authorization" not in request.headers
    assert request.headers["x-modelrelay-client"] == CLIENT
    assert request.headers["accept"] == "application/json"
    assert request.json() == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hallo"}],
        "temperature": 0.5,
    }


def test_stream_non_ascii_split_across_bytes(server: FakeServer) -> None:
    server.add(ChatScript(text=TEXT, split_bytes=1, usage=Usage(3, 4, 7)))
    pieces: list[str] = []
    kinds: list[type] = []
    with client_for(server).chat().user("Hallo").stream() as stream:
        for event in stream:
            kinds.append(type(event))
            if isinstance(event, TextDelta):
                pieces.append(event.text)
    assert "".join(pieces) == TEXT
    assert kinds[-2:] == [UsageEvent, Done]
    reply = stream.response
    assert (reply.text, reply.usage, reply.finish_reason, reply.id) == (
        TEXT,
        Usage(3, 4, 7),
        "stop",
        "fake-1",
    )
    (request,) = server.requests
    assert request.headers["accept"] == "text/event-stream"
    assert request.json() == {"model": "m", "messages": [{"role": "user", "content": "Hallo"}]}


def test_tool_calls_sent_and_streamed(server: FakeServer) -> None:
    server.add(ChatScript(tool_calls=[CALL], chunk_size=3), ChatScript(tool_calls=[CALL]))
    client = client_for(server)
    with client.chat().user("Weather?").tools([WEATHER]).tool_choice("weather").stream() as stream:
        deltas = [e for e in stream if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(0, "call_1", "weather", "")
    assert "".join(d.arguments_delta for d in deltas) == CALL.arguments_json
    assert stream.response.tool_calls == (CALL,)
    assert stream.response.finish_reason == "tool_calls"
    sent = client.chat().user("Weather?").tools([WEATHER]).send()
    assert (sent.tool_calls, sent.finish_reason, sent.text) == ((CALL,), "tool_calls", "")
    body = server.requests[0].json()
    assert body["tool_choice"] == {"type": "required", "function": "weather"}
    assert body["tools"][0]["function"]["name"] == "weather"


def test_tool_result_round_trip_over_the_echo_server(server: FakeServer) -> None:
    client = client_for(server)
    first = client.chat().user("Zürich").tools([WEATHER]).send()
    (call,) = first.tool_calls
    assert (call.name, dict(call.arguments)) == ("weather", {"city": "Zürich"})
    second = (
        client.chat()
        .user("Zürich")
        .tools([WEATHER])
        .assistant(tool_calls=[call])
        .tool_result(call.id, "21°C")
        .send()
    )
    assert second.text == "Echo: tool said 21°C"
    assert server.requests[1].json()["messages"][-1] == {
        "role": "tool",
        "content": "21°C",
        "tool_call_id": call.id,
    }


@pytest.mark.parametrize("stream", [False, True])
def test_request_id_is_sent_and_echoed(server: FakeServer, stream: bool) -> None:
    request = client_for(server).chat().user("hi").request_id("r1")
    reply = request.stream().response if stream else request.send()
    assert reply.request_id == "r1"
    assert server.requests[0].headers["x-modelrelay-chat-request-id"] == "r1"


@pytest.mark.parametrize("stream", [False, True])
def test_for_customer_sends_customer_header_and_no_model(server: FakeServer, stream: bool) -> None:
    request = client_for(server).for_customer("cust-1").user("Hello!")
    reply = request.stream().response if stream else request.send()
    assert reply.text == "Echo: Hello!"
    (sent,) = server.requests
    assert sent.headers["x-modelrelay-customer-id"] == "cust-1"
    assert sent.json() == {"messages": [{"role": "user", "content": "Hello!"}]}


def test_frontend_token_goes_in_authorization(server: FakeServer) -> None:
    client_for(server, api_key="frontend-token-123").chat().user("hi").send()
    headers = server.requests[0].headers
    assert headers["authorization"] == "Bearer frontend-token-123"
    assert "x-modelrelay-api-key" not in headers


def test_stream_ending_without_message_stop_is_a_stream_error(server: FakeServer) -> None:
    events = [
        b'event: message_start\ndata: {"type":"message_start","response_id":"r","model":"m"}\n\n',
        b'event: message_delta\ndata: {"type":"message_delta","delta":"Hello "}\n\n',
        'event: message_delta\ndata: {"type":"message_delta","delta":{"text":"wörld"}}\n\n'.encode(),
    ]
    server.add(Reply.sse(events))
    received: list[str] = []
    with pytest.raises(StreamError) as info:
        with client_for(server).chat().user("x").stream() as stream:
            for piece in stream.text():
                received.append(piece)
    assert "before its terminator" in str(info.value)
    assert "".join(received) == "Hello wörld"
    assert info.value.partial.text == "Hello wörld"


def test_stream_cut_midway_keeps_exact_partial_text(server: FakeServer) -> None:
    # message_start, keepalive, ping, then "Hell", "o wo" -> cut before "rld"
    server.add(ChatScript(text="Hello world", chunk_size=4, cut_after=5))
    with pytest.raises(StreamError) as info:
        with client_for(server).chat().user("x").stream() as stream:
            list(stream)
    assert info.value.partial.text == "Hello wo"


def test_error_event_mid_stream_keeps_the_text_before_it(server: FakeServer) -> None:
    server.add(
        ChatScript(
            text=TEXT,
            chunk_size=4,
            error={"code": "RATE_LIMIT", "message": "slow down", "status": 429},
            error_after=2,
            split_bytes=5,
        )
    )
    with pytest.raises(RateLimitError) as info:
        with client_for(server).chat().user("x").stream() as stream:
            list(stream)
    assert info.value.partial.text == TEXT[:8]
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "RATE_LIMIT",
        "slow down",
        "req_fake",
    )
    assert len(server.requests) == 1


def test_nested_error_body_maps_with_request_id_from_body(server: FakeServer) -> None:
    body = {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "messages: at least one user message is required",
            "fields": [{"field": "messages", "message": "required"}],
            "status": 422,
        },
        "request_id": "req_body",
    }
    server.add(Reply.json(body, status=422))
    with pytest.raises(UnprocessableEntityError) as info:
        client_for(server).chat().user("x").send()
    error = info.value
    assert (error.status, error.code, error.request_id) == (422, "VALIDATION_ERROR", "req_body")
    assert error.message == "messages: at least one user message is required"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"message": "invalid api key", "code": "UNAUTHORIZED", "fields": []}, AuthenticationError),
        (404, {"message": "model not found", "code": "NOT_FOUND", "fields": []}, NotFoundError),
    ],
)
def test_flat_error_body_maps_with_request_id_from_header(
    server: FakeServer, status: int, body: dict[str, Any], cls: type
) -> None:
    server.add(Reply.json(body, status=status, headers={"X-ModelRelay-Chat-Request-Id": "chat_42"}))
    with pytest.raises(cls) as info:
        client_for(server).chat().user("x").send()
    error = info.value
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        body["code"],
        body["message"],
        "chat_42",
    )
    assert len(server.requests) == 1


def test_stream_usage_from_start_and_stop_is_merged() -> None:
    from relay_lite._models import Usage as NeutralUsage

    start = NeutralUsage(input_tokens=12)
    assert start.merge(NeutralUsage(output_tokens=3)) == NeutralUsage(12, 3, 15)
    assert start.merge(NeutralUsage(output_tokens=3, total_tokens=20)) == NeutralUsage(12, 3, 20)
