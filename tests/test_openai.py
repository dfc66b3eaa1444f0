"""The OpenAI chat-completions adapter, sans-I/O: bodies in, neutral values out."""

from __future__ import annotations

import json

import pytest

from relay_lite import (
    BadRequestError,
    ImagePart,
    Message,
    OverloadedError,
    RateLimitError,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageEvent,
)
from relay_lite._models import ChatParams
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import openai


def chunk(delta=None, finish=None, **extra) -> ServerSentEvent:
    payload = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    payload.update(extra)
    return ServerSentEvent(data=json.dumps(payload))


DONE = ServerSentEvent(data="[DONE]")


def test_request_body_has_every_parameter_in_openai_shape():
    params = ChatParams(
        model="gpt-4o-mini",
        messages=(
            Message("system", "Be brief."),
            Message(
                "user",
                (
                    ImagePart(url="https://x/cat.png", detail="low"),
                    ImagePart(data="AAA", media_type="image/png"),
                ),
            ),
            Message("assistant", "", (ToolCall("call_1", "lookup", {"q": "cats"}, '{"q":"cats"}'),)),
            Message("tool", "42", tool_call_id="call_1"),
        ),
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=("END",),
        seed=7,
        tools=(ToolSpec("lookup", "Look up", {"type": "object", "properties": {"q": {"type": "string"}}}),),
        tool_choice="lookup",
        metadata={"job": "nightly"},
        extra_body={"logprobs": True},
    )
    call = openai.build_request(params, stream=False, provider="openrouter")
    assert call.method == "POST"
    assert call.path == "/chat/completions"
    assert call.headers == {"Accept": "application/json"}
    assert call.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q":"cats"}'},
                    }
                ],
            },
            {"role": "tool", "content": "42", "tool_call_id": "call_1"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 50,
        "seed": 7,
        "metadata": {"job": "nightly"},
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "stop": ["END"],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "Look up",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ],
        "logprobs": True,
    }


def test_openai_itself_gets_max_completion_tokens():
    params = ChatParams(model="o3", messages=(Message("user", "hi"),), max_tokens=10)
    body = openai.build_request(params, stream=False, provider="openai").body
    assert body["max_completion_tokens"] == 10
    assert "max_tokens" not in body


def test_streaming_asks_for_usage_by_default():
    params = ChatParams(model="m", messages=(Message("user", "hi"),))
    call = openai.build_request(params, stream=True)
    assert call.body["stream"] is True
    assert call.body["stream_options"] == {"include_usage": True}
    assert call.headers == {"Accept": "text/event-stream"}


@pytest.mark.parametrize(
    ("given", "wire"),
    [("auto", "auto"), ("none", "none"), ("required", "required"), ("any", "required"), (None, None)],
)
def test_tool_choice_words_map_to_openai_values(given, wire):
    assert openai.tool_choice_to_wire(given) == wire


def test_response_parsing_fills_the_neutral_model():
    payload = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "Hi",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 3,
            "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    response = openai.parse_response(payload, request_id="req_9", attempts=2)
    assert response.text == "Hi"
    assert response.tool_calls == (ToolCall("c", "f", {"x": 1}, '{"x": 1}'),)
    assert response.finish_reason == "tool_calls"
    assert response.raw_finish_reason == "tool_calls"
    assert response.model == "gpt-4o-mini-2024"
    assert response.id == "chatcmpl-1"
    assert response.usage == Usage(9, 3, 12, cached_input_tokens=4, reasoning_tokens=2)
    assert response.request_id == "req_9"
    assert response.attempts == 2
    assert response.raw is payload


def test_refusal_is_kept():
    payload = {
        "choices": [
            {"message": {"content": None, "refusal": "I can't help with that."}, "finish_reason": "stop"}
        ]
    }
    response = openai.parse_response(payload)
    assert response.refusal == "I can't help with that."
    assert response.text == ""


def test_stream_text_tool_fragments_and_usage_chunk():
    parser = openai.StreamParser()
    events = []
    for event in [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "get", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk(
            {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "other", "arguments": "{}"}}]}
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
        chunk({}, "tool_calls"),
        ServerSentEvent(
            data=json.dumps(
                {
                    "id": "c1",
                    "choices": [],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                }
            )
        ),
        DONE,
    ]:
        events.extend(parser.feed(event))
    assert parser.finished
    assert events[:2] == [TextDelta("Hel"), TextDelta("lo")]
    assert ToolCallDelta(0, None, None, '{"ci') in events
    assert events[-1] == UsageEvent(Usage(5, 7, 12))
    response = parser.acc.response()
    assert response.text == "Hello"
    assert response.tool_calls == (
        ToolCall("call_1", "get", {"city": "Paris"}, '{"city": "Paris"}'),
        ToolCall("call_2", "other", {}, "{}"),
    )
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(5, 7, 12)
    assert response.model == "m"


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"message": "Overloaded", "type": "overloaded_error"}, OverloadedError),
        ({"message": "slow down", "type": "rate_limit_error", "code": "rate_limit_exceeded"}, RateLimitError),
        ({"message": "bad", "type": "invalid_request_error"}, BadRequestError),
    ],
)
def test_error_payload_inside_a_200_stream_raises_the_mapped_class(error, cls):
    parser = openai.StreamParser()
    parser.feed(chunk({"content": "partial"}))
    with pytest.raises(cls) as info:
        parser.feed(ServerSentEvent(data=json.dumps({"error": error})))
    assert info.value.message == error["message"]
    assert info.value.status is None
    assert parser.acc.response().text == "partial"


def test_malformed_chunk_raises_stream_error_naming_it():
    parser = openai.StreamParser()
    with pytest.raises(StreamError) as info:
        parser.feed(ServerSentEvent(data="{not json"))
    assert "{not json" in str(info.value)


def test_data_after_done_is_an_error():
    parser = openai.StreamParser()
    parser.feed(DONE)
    with pytest.raises(StreamError):
        parser.feed(chunk({"content": "late"}))


def test_message_dicts_are_accepted_and_coerced():
    message = Message.coerce(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"a": 2}'}}
            ],
        }
    )
    assert message == Message("assistant", "", (ToolCall("1", "f", {"a": 2}, '{"a": 2}'),))
    image = Message.coerce(
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QQ=="}}],
        }
    )
    assert image.content == (ImagePart(data="QQ==", media_type="image/jpeg"),)


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("completed", "stop"),
        ("max_len", "length"),
        ("max_context", "length"),
        ("end_turn", "stop"),
        ("weird", "weird"),
    ],
)
def test_finish_reason_normalisation_covers_every_provider(raw, neutral):
    from relay_lite.protocols._common import normalise_finish_reason

    assert normalise_finish_reason(raw) == neutral


def _tool_chunk(calls):
    return chunk({"tool_calls": calls})


def test_parallel_calls_all_at_index_zero_are_kept_apart():
    # Ollama numbers every parallel call 0; a new id means a new call.
    parser = openai.StreamParser()
    parser.feed(_tool_chunk([{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x":1}'}}]))
    parser.feed(_tool_chunk([{"index": 0, "id": "b", "function": {"name": "g", "arguments": '{"y":'}}]))
    parser.feed(_tool_chunk([{"index": 0, "function": {"arguments": "2}"}}]))
    parser.feed(DONE)
    assert parser.acc.response().tool_calls == (
        ToolCall("a", "f", {"x": 1}, '{"x":1}'),
        ToolCall("b", "g", {"y": 2}, '{"y":2}'),
    )


def test_tool_fragments_without_an_index_follow_their_call():
    parser = openai.StreamParser()
    parser.feed(_tool_chunk([{"id": "a", "function": {"name": "f", "arguments": "{"}}]))
    parser.feed(_tool_chunk([{"function": {"arguments": "}"}}]))
    parser.feed(_tool_chunk([{"id": "b", "function": {"name": "g", "arguments": "{}"}}]))
    assert parser.acc.response().tool_calls == (ToolCall("a", "f", {}, "{}"), ToolCall("b", "g", {}, "{}"))


def test_null_error_field_in_a_chunk_is_not_an_error():
    parser = openai.StreamParser()
    assert parser.feed(chunk({"content": "ok"}, error=None)) == [TextDelta("ok")]


def test_numeric_code_in_a_stream_error_is_its_status():
    from relay_lite import ServerError

    parser = openai.StreamParser()
    with pytest.raises(ServerError) as info:
        parser.feed(ServerSentEvent(data=json.dumps({"error": {"message": "upstream failed", "code": 502}})))
    assert info.value.status == 502


def test_openai_metadata_needs_store_said_before_sending():
    from relay_lite import ConfigError

    params = ChatParams(model="m", messages=(Message("user", "hi"),), metadata={"job": "x"})
    with pytest.raises(ConfigError) as info:
        openai.build_request(params, stream=False, provider="openai")
    assert "store" in str(info.value)
    stored = ChatParams(
        model="m", messages=(Message("user", "hi"),), metadata={"job": "x"}, extra_body={"store": True}
    )
    assert openai.build_request(stored, stream=False, provider="openai").body["store"] is True


def test_text_buffer_keeps_text_exact_across_compactions():
    from relay_lite.protocols._common import TextBuffer

    buffer = TextBuffer()
    pieces = [f"{i}é," for i in range(TextBuffer.COMPACT_EVERY * 3 + 7)]
    for piece in pieces:
        buffer.append(piece)
    assert buffer.text() == "".join(pieces)
    assert len(buffer._blocks) == 3
    assert len(buffer._pieces) == 7
    assert not TextBuffer()


def test_extra_body_none_removes_a_default_field():
    params = ChatParams(
        model="m", messages=(Message("user", "hi"),), extra_body={"stream_options": None, "x": 1}
    )
    body = openai.build_request(params, stream=True).body
    assert "stream_options" not in body
    assert body["x"] == 1
    assert body["stream"] is True
