"""Sans-I/O tests of the Anthropic Messages adapter: request bodies, responses, stream events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay_lite import (
    ChatResponse,
    ConfigError,
    ImagePart,
    Message,
    OverloadedError,
    RateLimitError,
    StreamError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageEvent,
)
from relay_lite._errors import BadRequestError
from relay_lite._models import ChatParams, ThinkingBlock
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import anthropic
from relay_lite.protocols.anthropic import DEFAULT_MAX_TOKENS, StreamParser, build_request, parse_response

# -- helpers ------------------------------------------------------------------------------------


def params(*messages: Message, **options: Any) -> ChatParams:
    return ChatParams(model="claude-test", messages=messages, **options)


def body_of(*messages: Message, stream: bool = False, **options: Any) -> dict[str, Any]:
    call = build_request(params(*messages, **options), stream=stream)
    assert call.method == "POST"
    assert call.path == "/v1/messages"
    body: dict[str, Any] = call.body
    return body


def sse(kind: str, **fields: Any) -> ServerSentEvent:
    return ServerSentEvent(event=kind, data=json.dumps({"type": kind, **fields}))


def message_start(usage: dict[str, Any] | None = None) -> ServerSentEvent:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage if usage is not None else {"input_tokens": 12, "output_tokens": 1},
    }
    return sse("message_start", message=message)


def block_start(index: int, **block: Any) -> ServerSentEvent:
    return sse("content_block_start", index=index, content_block=block)


def delta(index: int, **fields: Any) -> ServerSentEvent:
    return sse("content_block_delta", index=index, delta=fields)


def block_stop(index: int) -> ServerSentEvent:
    return sse("content_block_stop", index=index)


def message_delta(stop_reason: str | None, **usage: Any) -> ServerSentEvent:
    return sse("message_delta", delta={"stop_reason": stop_reason, "stop_sequence": None}, usage=usage)


def feed_all(parser: StreamParser, events: list[ServerSentEvent]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        out.extend(parser.feed(event))
    return out


def text_stream(*pieces: str) -> list[ServerSentEvent]:
    return [
        message_start(),
        sse("ping"),
        block_start(0, type="text", text=""),
        *[delta(0, type="text_delta", text=p) for p in pieces],
        block_stop(0),
        message_delta("end_turn", output_tokens=7),
        sse("message_stop"),
    ]


# -- auth ---------------------------------------------------------------------------------------


def test_auth_headers_carry_key_and_version() -> None:
    assert anthropic.auth_headers("sk-ant") == {"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}
    assert anthropic.ANTHROPIC_VERSION == "2023-06-01"


# -- build_request ------------------------------------------------------------------------------


def test_minimal_body_defaults_max_tokens() -> None:
    call = build_request(params(Message("user", "Hi")), stream=False)
    assert DEFAULT_MAX_TOKENS == 4096
    assert call.body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert call.headers == {"Accept": "application/json"}


def test_stream_sets_stream_flag_and_accept_header() -> None:
    call = build_request(params(Message("user", "Hi")), stream=True)
    assert call.body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }
    assert call.headers == {"Accept": "text/event-stream"}


def test_system_messages_are_hoisted_and_joined_with_blank_line() -> None:
    body = body_of(Message("system", "Be brief."), Message("user", "Hi"), Message("system", "Be kind."))
    assert body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "system": "Be brief.\n\nBe kind.",
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_consecutive_same_role_messages_merge_into_blocks() -> None:
    body = body_of(
        Message("user", "one"),
        Message("user", "two"),
        Message("assistant", "three"),
        Message("assistant", "four"),
        Message("user", "five"),
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}],
        },
        {"role": "user", "content": "five"},
    ]


def test_assistant_tool_calls_become_tool_use_blocks() -> None:
    calls = (
        ToolCall("toolu_1", "weather", {"city": "Paris"}, '{"city": "Paris"}'),
        ToolCall("toolu_2", "time", {}, ""),
    )
    body = body_of(Message("user", "Weather?"), Message("assistant", "Checking.", calls))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}},
        ],
    }


def test_assistant_tool_calls_without_text_have_no_empty_text_block() -> None:
    body = body_of(Message("user", "Go"), Message("assistant", "", (ToolCall("t", "f", {"a": 1}),)))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}],
    }


def test_consecutive_tool_results_and_user_text_merge_into_one_user_turn() -> None:
    body = body_of(
        Message("user", "Go"),
        Message("assistant", "", (ToolCall("t1", "f", {}), ToolCall("t2", "g", {}))),
        Message("tool", "result one", tool_call_id="t1"),
        Message("tool", '{"ok": true}', tool_call_id="t2", name="g"),
        Message("user", "Thanks"),
    )
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "result one"},
            {"type": "tool_result", "tool_use_id": "t2", "content": '{"ok": true}'},
            {"type": "text", "text": "Thanks"},
        ],
    }
    assert len(body["messages"]) == 3


def test_single_tool_result_is_still_a_block_list() -> None:
    body = body_of(
        Message("user", "Go"),
        Message("assistant", "", (ToolCall("t1", "f", {}),)),
        Message("tool", "done", tool_call_id="t1"),
    )
    assert body["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "done"}],
    }


def test_tool_message_without_tool_call_id_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tool_call_id"):
        body_of(Message("user", "Go"), Message("tool", "done"))


def test_images_by_url_and_base64() -> None:
    content = (
        TextPart("What are these?"),
        ImagePart(url="https://example.com/cat.png"),
        ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
        ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
    )
    body = body_of(Message("user", content))
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What are these?"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
                },
            ],
        }
    ]


def test_sampling_stop_metadata_and_tools() -> None:
    tool = ToolSpec(
        "weather", "Look up weather", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    body = body_of(
        Message("user", "Hi"),
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=("END", "\n\n"),
        metadata={"user_id": "u-1"},
        tools=(tool,),
        tool_choice="auto",
    )
    assert body == {
        "model": "claude-test",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END", "\n\n"],
        "metadata": {"user_id": "u-1"},
        "tools": [
            {
                "name": "weather",
                "description": "Look up weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        "tool_choice": {"type": "auto"},
    }


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("any", {"type": "any"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("weather", {"type": "tool", "name": "weather"}),
        (
            {"type": "tool", "name": "x", "disable_parallel_tool_use": True},
            {"type": "tool", "name": "x", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_tool_choice_forms(choice: Any, wire: dict[str, Any]) -> None:
    assert body_of(Message("user", "Hi"), tool_choice=choice)["tool_choice"] == wire


def test_extra_body_is_merged_last() -> None:
    body = body_of(
        Message("user", "Hi"),
        max_tokens=10,
        extra_body={"max_tokens": 99, "thinking": {"type": "enabled", "budget_tokens": 1024}},
    )
    assert body == {
        "model": "claude-test",
        "max_tokens": 99,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }


def test_seed_is_refused_not_dropped() -> None:
    with pytest.raises(ConfigError, match="seed is not supported by the Anthropic Messages API"):
        body_of(Message("user", "Hi"), seed=7)


def test_response_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="response_format"):
        body_of(Message("user", "Hi"), response_format={"type": "json_object"})


# -- parse_response -----------------------------------------------------------------------------


def test_parse_response_with_every_block_kind() -> None:
    payload = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [
            {"type": "thinking", "thinking": "Let me think. ", "signature": "sig"},
            {"type": "redacted_thinking", "data": "xxx"},
            {"type": "thinking", "thinking": "Done.", "signature": "sig2"},
            {"type": "text", "text": "Hello, "},
            {"type": "text", "text": "world"},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 9,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 50,
        },
    }
    response = parse_response(payload, request_id="req_1", attempts=2)
    assert response == ChatResponse(
        text="Hello, world",
        tool_calls=(ToolCall("toolu_1", "weather", {"city": "Paris"}, '{"city": "Paris"}'),),
        finish_reason="tool_calls",
        raw_finish_reason="tool_use",
        model="claude-test",
        id="msg_1",
        usage=Usage(
            input_tokens=20,
            output_tokens=9,
            total_tokens=29,
            cached_input_tokens=100,
            cache_creation_input_tokens=50,
        ),
        request_id="req_1",
        thinking="Let me think. Done.",
        thinking_blocks=(
            ThinkingBlock("Let me think. ", "sig"),
            ThinkingBlock(redacted_data="xxx"),
            ThinkingBlock("Done.", "sig2"),
        ),
        attempts=2,
    )
    assert response.raw is payload


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "refusal"),
    ],
)
def test_parse_response_normalises_stop_reason(raw: str, neutral: str) -> None:
    response = parse_response({"content": [], "stop_reason": raw})
    assert (response.finish_reason, response.raw_finish_reason) == (neutral, raw)


def test_parse_response_refusal_keeps_text_or_says_refused() -> None:
    with_text = parse_response({"content": [{"type": "text", "text": "I can't."}], "stop_reason": "refusal"})
    assert with_text.refusal == "I can't."
    silent = parse_response({"content": [], "stop_reason": "refusal"})
    assert silent.refusal == "refused"
    assert parse_response({"content": [], "stop_reason": "end_turn"}).refusal is None


def test_parse_response_of_error_body_raises_mapped_error() -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    with pytest.raises(BadRequestError) as info:
        parse_response(body, request_id="req_9")
    assert (info.value.code, info.value.request_id) == ("invalid_request_error", "req_9")


# -- streams ------------------------------------------------------------------------------------


def test_stream_text_deltas_and_final_response() -> None:
    parser = StreamParser()
    events = feed_all(parser, text_stream("Hel", "lo, ", "wörld"))
    assert events == [
        TextDelta("Hel"),
        TextDelta("lo, "),
        TextDelta("wörld"),
        UsageEvent(Usage(input_tokens=12, output_tokens=7, total_tokens=19)),
    ]
    assert parser.finished
    assert parser.acc.response() == ChatResponse(
        text="Hello, wörld",
        finish_reason="stop",
        raw_finish_reason="end_turn",
        model="claude-test",
        id="msg_1",
        usage=Usage(input_tokens=12, output_tokens=7, total_tokens=19),
    )


def test_stream_ping_is_ignored_anywhere_before_the_end() -> None:
    parser = StreamParser()
    assert parser.feed(sse("ping")) == []
    assert parser.feed(message_start()) == []
    assert parser.feed(sse("ping")) == []
    assert parser.feed(block_start(0, type="text", text="")) == []
    assert parser.feed(sse("ping")) == []
    assert parser.feed(delta(0, type="text_delta", text="a")) == [TextDelta("a")]


def test_stream_tool_use_fragments_are_reassembled() -> None:
    arguments = json.dumps({"city": "São Paulo", "days": [1, 2, 3], "units": "metric"})
    fragments = [arguments[i : i + 3] for i in range(0, len(arguments), 3)]
    parser = StreamParser()
    events = feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="text", text=""),
            delta(0, type="text_delta", text="Checking."),
            block_stop(0),
            block_start(1, type="tool_use", id="toolu_1", name="weather", input={}),
            *[delta(1, type="input_json_delta", partial_json=f) for f in fragments],
            block_stop(1),
            block_start(2, type="tool_use", id="toolu_2", name="time", input={}),
            delta(2, type="input_json_delta", partial_json=""),
            delta(2, type="input_json_delta", partial_json="{}"),
            block_stop(2),
            message_delta("tool_use", output_tokens=30),
            sse("message_stop"),
        ],
    )
    tool_events = [e for e in events if isinstance(e, ToolCallDelta)]
    # the tool call's ordinal, not the content block index; id and name on the first fragment only
    assert tool_events[0] == ToolCallDelta(0, "toolu_1", "weather", fragments[0])
    assert tool_events[1 : len(fragments)] == [ToolCallDelta(0, arguments_delta=f) for f in fragments[1:]]
    assert tool_events[len(fragments) :] == [
        ToolCallDelta(1, "toolu_2", "time", ""),
        ToolCallDelta(1, arguments_delta="{}"),
    ]
    response = parser.acc.response()
    assert response.text == "Checking."
    assert response.tool_calls == (
        ToolCall(
            "toolu_1", "weather", {"city": "São Paulo", "days": [1, 2, 3], "units": "metric"}, arguments
        ),
        ToolCall("toolu_2", "time", {}, "{}"),
    )
    assert response.finish_reason == "tool_calls"


def test_stream_tool_use_without_input_deltas_still_reports_the_call() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="tool_use", id="toolu_1", name="now", input={}),
            block_stop(0),
            block_start(1, type="tool_use", id="toolu_2", name="echo", input={"x": 1}),
            block_stop(1),
        ],
    )
    assert events == [ToolCallDelta(0, "toolu_1", "now", ""), ToolCallDelta(1, "toolu_2", "echo", '{"x": 1}')]
    assert parser.acc.response().tool_calls == (
        ToolCall("toolu_1", "now", {}, ""),
        ToolCall("toolu_2", "echo", {"x": 1}, '{"x": 1}'),
    )


def test_stream_server_tool_use_is_not_a_tool_call_for_the_caller() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="server_tool_use", id="srvtoolu_1", name="web_search", input={}),
            delta(0, type="input_json_delta", partial_json='{"query": '),
            delta(0, type="input_json_delta", partial_json='"cats"}'),
            block_stop(0),
        ],
    )
    assert events == []
    assert parser.acc.response().tool_calls == ()


def test_stream_thinking_and_signature() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="thinking", thinking="", signature=""),
            delta(0, type="thinking_delta", thinking="Let me "),
            delta(0, type="thinking_delta", thinking="think."),
            delta(0, type="signature_delta", signature="EqQBCgIYAh"),
            block_stop(0),
            block_start(1, type="redacted_thinking", data="opaque"),
            block_stop(1),
            block_start(2, type="text", text=""),
            delta(2, type="text_delta", text="42"),
            delta(2, type="citations_delta", citation={"type": "char_location", "cited_text": "x"}),
            block_stop(2),
            message_delta("end_turn", output_tokens=3),
            sse("message_stop"),
        ],
    )
    assert events == [
        ThinkingDelta("Let me "),
        ThinkingDelta("think."),
        TextDelta("42"),
        UsageEvent(Usage(input_tokens=12, output_tokens=3, total_tokens=15)),
    ]
    assert parser.signatures == {0: "EqQBCgIYAh"}
    response = parser.acc.response()
    assert (response.thinking, response.text) == ("Let me think.", "42")
    assert response.thinking_blocks == (
        ThinkingBlock("Let me think.", "EqQBCgIYAh"),
        ThinkingBlock(redacted_data="opaque"),
    )


def test_stream_message_delta_usage_merges_with_message_start_usage() -> None:
    parser = StreamParser()
    start_usage = {
        "input_tokens": 25,
        "output_tokens": 1,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    feed_all(parser, [message_start(start_usage), block_start(0, type="text", text="")])
    assert parser.acc.usage == Usage(25, 1, 26, 1000, 200)
    events = parser.feed(message_delta("max_tokens", output_tokens=64))
    merged = Usage(
        input_tokens=25,
        output_tokens=64,
        total_tokens=89,
        cached_input_tokens=1000,
        cache_creation_input_tokens=200,
    )
    assert events == [UsageEvent(merged)]
    response = parser.acc.response()
    assert (response.usage, response.finish_reason, response.raw_finish_reason) == (
        merged,
        "length",
        "max_tokens",
    )


def test_stream_refusal_sets_refusal() -> None:
    parser = StreamParser()
    feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="text", text=""),
            delta(0, type="text_delta", text="I can't help."),
            block_stop(0),
            message_delta("refusal"),
            sse("message_stop"),
        ],
    )
    response = parser.acc.response()
    assert (response.refusal, response.finish_reason) == ("I can't help.", "refusal")


def test_stream_message_stop_finishes() -> None:
    parser = StreamParser()
    feed_all(parser, text_stream("x")[:-1])
    assert not parser.finished
    assert parser.feed(sse("message_stop")) == []
    assert parser.finished


@pytest.mark.parametrize(
    ("error_type", "error_class"),
    [("overloaded_error", OverloadedError), ("rate_limit_error", RateLimitError)],
)
def test_stream_error_event_raises_mapped_api_error(error_type: str, error_class: type[Exception]) -> None:
    parser = StreamParser()
    feed_all(parser, text_stream("partial")[:4])
    with pytest.raises(error_class) as info:
        parser.feed(sse("error", error={"type": error_type, "message": "Try later"}))
    error: Any = info.value
    assert (error.code, error.message, error.status) == (error_type, "Try later", None)
    assert parser.acc.response().text == "partial"


def test_stream_unknown_event_types_are_ignored() -> None:
    parser = StreamParser()
    feed_all(parser, [message_start(), sse("brand_new_event", payload=1)])
    assert parser.feed(ServerSentEvent(event="mystery", data='{"type": "mystery"}')) == []


def test_stream_deltas_of_unknown_block_types_are_ignored() -> None:
    parser = StreamParser()
    events = feed_all(
        parser,
        [
            message_start(),
            block_start(0, type="future_block"),
            delta(0, type="future_delta", stuff="x"),
            block_stop(0),
        ],
    )
    assert events == []


# -- illegal orders -----------------------------------------------------------------------------


def raises_stream_error(events: list[ServerSentEvent], match: str) -> None:
    parser = StreamParser()
    with pytest.raises(StreamError, match=match):
        feed_all(parser, events)


def test_delta_for_a_block_never_started_is_a_stream_error() -> None:
    raises_stream_error([message_start(), delta(3, type="text_delta", text="x")], "never started")


def test_delta_before_message_start_is_a_stream_error() -> None:
    raises_stream_error([delta(0, type="text_delta", text="x")], "before message_start")


def test_content_block_start_before_message_start_is_a_stream_error() -> None:
    raises_stream_error(
        [block_start(0, type="text", text="")], "content_block_start event before message_start"
    )


@pytest.mark.parametrize(
    ("block", "bad_delta"),
    [
        ({"type": "text", "text": ""}, {"type": "input_json_delta", "partial_json": "{"}),
        ({"type": "text", "text": ""}, {"type": "thinking_delta", "thinking": "x"}),
        ({"type": "tool_use", "id": "t", "name": "f", "input": {}}, {"type": "text_delta", "text": "x"}),
        ({"type": "thinking", "thinking": ""}, {"type": "text_delta", "text": "x"}),
        ({"type": "text", "text": ""}, {"type": "signature_delta", "signature": "s"}),
        ({"type": "redacted_thinking", "data": "x"}, {"type": "thinking_delta", "thinking": "x"}),
    ],
)
def test_delta_not_matching_its_block_type_is_a_stream_error(
    block: dict[str, Any], bad_delta: dict[str, Any]
) -> None:
    raises_stream_error(
        [message_start(), block_start(0, **block), delta(0, **bad_delta)],
        f"delta type '{bad_delta['type']}' for a {block['type']} block",
    )


def test_unknown_delta_type_for_a_known_block_is_a_stream_error() -> None:
    raises_stream_error(
        [message_start(), block_start(0, type="text", text=""), delta(0, type="sparkle_delta", text="x")],
        "unknown delta type 'sparkle_delta' for a text block",
    )


@pytest.mark.parametrize(
    "late",
    [
        sse("ping"),
        message_start(),
        block_start(1, type="text", text=""),
        delta(0, type="text_delta", text="x"),
        block_stop(0),
        message_delta("end_turn", output_tokens=1),
        sse("message_stop"),
        sse("error", error={"type": "overloaded_error", "message": "x"}),
        sse("brand_new_event"),
    ],
)
def test_anything_after_message_stop_is_a_stream_error(late: ServerSentEvent) -> None:
    raises_stream_error([*text_stream("a"), late], "after message_stop")


def test_delta_after_content_block_stop_is_a_stream_error() -> None:
    events = [message_start(), block_start(0, type="text", text=""), block_stop(0)]
    raises_stream_error([*events, delta(0, type="text_delta", text="x")], "already stopped")
    raises_stream_error([*events, block_stop(0)], "already stopped")


def test_content_block_stop_for_a_block_never_started_is_a_stream_error() -> None:
    raises_stream_error([message_start(), block_stop(0)], "never started")


def test_content_block_started_twice_is_a_stream_error() -> None:
    start = block_start(0, type="text", text="")
    raises_stream_error([message_start(), start, start], "already started")


def test_second_message_start_is_a_stream_error() -> None:
    raises_stream_error([message_start(), message_start()], "second message_start")


@pytest.mark.parametrize("kind", ["message_delta", "message_stop", "content_block_stop"])
def test_message_events_before_message_start_are_stream_errors(kind: str) -> None:
    raises_stream_error([sse(kind, index=0, delta={})], "before message_start")


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (ServerSentEvent(event="message_start", data="{not json"), "not valid JSON"),
        (ServerSentEvent(event="message_start", data="[1]"), "not a JSON object"),
        (sse("content_block_delta", delta={"type": "text_delta", "text": "x"}), "index"),
        (sse("content_block_delta", index="0", delta={"type": "text_delta", "text": "x"}), "index"),
        (sse("content_block_delta", index=0), "delta is missing"),
        (sse("content_block_delta", index=0, delta={"type": "text_delta"}), "no string 'text'"),
        (sse("content_block_start", index=1), "content_block is missing"),
    ],
)
def test_malformed_events_are_stream_errors_not_key_errors(event: ServerSentEvent, match: str) -> None:
    raises_stream_error([message_start(), block_start(0, type="text", text=""), event], match)


def test_malformed_message_start_is_a_stream_error() -> None:
    raises_stream_error([sse("message_start")], "message_start.message")
    raises_stream_error([sse("message_start", message={"usage": 5})], "usage")


def test_redacted_thinking_is_kept_and_sent_back_as_is() -> None:
    from relay_lite import ThinkingBlock

    payload = {
        "content": [
            {"type": "redacted_thinking", "data": "opaque-bytes"},
            {"type": "text", "text": "ok"},
        ],
        "stop_reason": "end_turn",
    }
    reply = parse_response(payload)
    assert reply.thinking_blocks == (ThinkingBlock(redacted_data="opaque-bytes"),)
    params = ChatParams(model="m", messages=(Message("user", "hi"), reply.message), max_tokens=5)
    body = build_request(params, stream=False).body
    assert body["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": "opaque-bytes"},
        {"type": "text", "text": "ok"},
    ]
