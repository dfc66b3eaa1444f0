"""The Bedrock Converse adapter, sans-I/O: requests built from ChatParams, replies and
event-stream messages parsed, error bodies mapped; and Client.bedrock's configuration."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import relay_lite
from relay_lite._errors import ResponseError, StreamError
from relay_lite._eventstream import EventStreamMessage
from relay_lite._models import ChatParams, DocumentPart, ImagePart, Message, ThinkingBlock, ToolCall, ToolSpec
from relay_lite.protocols.bedrock import (
    BedrockAdapter,
    StreamParser,
    build_request,
    converse_path,
    map_error,
    parse_response,
)

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def params(*messages: Message, **fields) -> ChatParams:
    return ChatParams(model=MODEL, messages=messages, **fields)


# -- requests ---------------------------------------------------------------------------------


def test_paths_encode_colons_and_slashes_of_model_ids():
    assert converse_path(MODEL, stream=False) == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    assert converse_path("arn:aws:bedrock:us-east-1:1:inference-profile/x", stream=True) == (
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse-stream"
    )
    with pytest.raises(relay_lite.ConfigError, match="Bedrock needs a model id"):
        converse_path(" ", stream=False)


def test_a_multi_turn_conversation_alternates_roles_with_tool_results_in_user_turns():
    call = ToolCall.from_json("tu_1", "lookup", '{"q": "x"}')
    call_2 = ToolCall.from_json("tu_2", "lookup", '{"q": "y"}')
    call_body = build_request(
        params(
            Message("system", "Rule one."),
            Message("system", "Rule two."),
            Message("user", "Look up x and y"),
            Message("assistant", "Looking.", (call, call_2)),
            Message("tool", "result x", tool_call_id="tu_1"),
            Message("tool", "", tool_call_id="tu_2"),
            Message("user", "Thanks"),
        ),
        stream=False,
    ).body
    assert call_body == {
        "system": [{"text": "Rule one."}, {"text": "Rule two."}],
        "messages": [
            {"role": "user", "content": [{"text": "Look up x and y"}]},
            {
                "role": "assistant",
                "content": [
                    {"text": "Looking."},
                    {"toolUse": {"toolUseId": "tu_1", "name": "lookup", "input": {"q": "x"}}},
                    {"toolUse": {"toolUseId": "tu_2", "name": "lookup", "input": {"q": "y"}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "tu_1", "content": [{"text": "result x"}]}},
                    {"toolResult": {"toolUseId": "tu_2", "content": [{"text": "(empty)"}]}},
                    {"text": "Thanks"},
                ],
            },
        ],
    }


def test_inference_config_holds_only_what_was_set():
    body = build_request(
        params(Message("user", "Hi"), max_tokens=10, top_p=0.9, stop=("END", "STOP")), stream=True
    ).body
    assert body["inferenceConfig"] == {"maxTokens": 10, "topP": 0.9, "stopSequences": ["END", "STOP"]}
    assert "inferenceConfig" not in build_request(params(Message("user", "Hi")), stream=False).body


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"auto": {}}),
        ("any", {"any": {}}),
        ("required", {"any": {}}),
        ("lookup", {"tool": {"name": "lookup"}}),
    ],
)
def test_tool_choice_spellings(choice, wire):
    tool = ToolSpec("lookup", "", {"type": "object", "properties": {}})
    body = build_request(params(Message("user", "Hi"), tools=(tool,), tool_choice=choice), stream=False).body
    assert body["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
        ],
        "toolChoice": wire,
    }


def test_tool_choice_none_and_a_choice_without_tools_are_refused():
    tool = ToolSpec("lookup")
    with pytest.raises(relay_lite.ConfigError, match="no tool_choice 'none'"):
        build_request(params(Message("user", "Hi"), tools=(tool,), tool_choice="none"), stream=False)
    with pytest.raises(relay_lite.ConfigError, match="tool_choice needs tools"):
        build_request(params(Message("user", "Hi"), tool_choice="auto"), stream=False)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"seed": 1}, "seed"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"top_logprobs": 2}, "logprobs"),
        ({"n": 2}, "n=2"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"end_user": "u1"}, "end_user"),
    ],
)
def test_settings_converse_has_no_field_for_are_refused_not_dropped(fields, named):
    with pytest.raises(relay_lite.ConfigError) as info:
        build_request(params(Message("user", "Hi"), **fields), stream=False)
    assert str(info.value).startswith(named)
    assert str(info.value).endswith("is not supported by the Bedrock Converse API")


def test_cache_marks_become_cache_points_and_thinking_goes_to_the_model():
    tool = ToolSpec("lookup")
    body = build_request(
        params(
            Message("system", "Long rules."),
            Message("user", "Hi"),
            cache_marks=(0, 1),
            tools=(tool,),
            cache_tools=True,
            thinking_budget=1024,
            metadata={"team": "search"},
        ),
        stream=False,
    ).body
    assert body["system"] == [{"text": "Long rules."}, {"cachePoint": {"type": "default"}}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Hi"}, {"cachePoint": {"type": "default"}}]}
    ]
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert body["requestMetadata"] == {"team": "search"}


def test_images_documents_and_signed_reasoning_go_as_converse_blocks():
    message = Message(
        "user",
        (
            ImagePart(url="data:image/jpeg;base64,/9j/AA=="),
            ImagePart(url="s3://bucket/cat.webp", media_type="image/webp"),
            DocumentPart(data=b"%PDF-1.7 x", filename="Q3 report (final).pdf"),
        ),
    )
    earlier = Message(
        "assistant", "ok", thinking=(ThinkingBlock("hmm", "sig"), ThinkingBlock(redacted_data="cmVk"))
    )
    body = build_request(params(message, earlier), stream=False).body
    assert body["messages"][0]["content"] == [
        {"image": {"format": "jpeg", "source": {"bytes": "/9j/AA=="}}},
        {"image": {"format": "webp", "source": {"s3Location": {"uri": "s3://bucket/cat.webp"}}}},
        {"document": {"format": "pdf", "name": "Q3 report (final)", "source": {"bytes": "JVBERi0xLjcgeA=="}}},
    ]
    assert body["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
        {"reasoningContent": {"redactedContent": "cmVk"}},
        {"text": "ok"},
    ]


def test_a_web_image_url_is_refused_naming_what_bedrock_takes():
    with pytest.raises(relay_lite.ConfigError, match="not https: URLs"):
        build_request(params(Message("user", (ImagePart(url="https://x/cat.png"),))), stream=False)


def test_extra_body_is_merged_last():
    body = build_request(
        params(Message("user", "Hi"), extra_body={"guardrailConfig": {"guardrailIdentifier": "g"}}),
        stream=False,
    ).body
    assert body["guardrailConfig"] == {"guardrailIdentifier": "g"}


def test_extra_model_fields_merge_with_thinking_one_level_and_none_removes_a_field():
    extra = {"additionalModelRequestFields": {"top_k": 50, "anthropic_beta": ["b1"]}}
    body = build_request(
        params(Message("user", "Hi"), thinking_budget=2048, extra_body=extra), stream=False
    ).body
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "top_k": 50,
        "anthropic_beta": ["b1"],
    }
    # The caller's value for a key replaces ours whole (one level, not deeper).
    extra = {"additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 99}}}
    body = build_request(
        params(Message("user", "Hi"), thinking_budget=2048, extra_body=extra), stream=False
    ).body
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 99}}
    # None removes a key; an object left empty is not sent at all.
    extra = {"additionalModelRequestFields": {"thinking": None, "top_k": 5}}
    body = build_request(
        params(Message("user", "Hi"), thinking_budget=2048, extra_body=extra), stream=False
    ).body
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    extra = {"additionalModelRequestFields": {"thinking": None}}
    body = build_request(
        params(Message("user", "Hi"), thinking_budget=2048, extra_body=extra), stream=False
    ).body
    assert "additionalModelRequestFields" not in body
    # None for the whole field still removes it, as for every other extra_body field.
    extra = {"additionalModelRequestFields": None}
    body = build_request(
        params(Message("user", "Hi"), thinking_budget=2048, extra_body=extra), stream=False
    ).body
    assert "additionalModelRequestFields" not in body
    # Without thinking() the caller's object goes as given.
    extra = {"additionalModelRequestFields": {"top_k": 50}}
    body = build_request(params(Message("user", "Hi"), extra_body=extra), stream=False).body
    assert body["additionalModelRequestFields"] == {"top_k": 50}


def test_extra_model_fields_that_are_not_an_object_are_refused():
    extra = {"additionalModelRequestFields": ["top_k"]}
    with pytest.raises(relay_lite.ConfigError) as info:
        build_request(params(Message("user", "Hi"), thinking_budget=1024, extra_body=extra), stream=False)
    assert str(info.value) == "extra_body additionalModelRequestFields must be an object (a dict), not a list"


@pytest.mark.parametrize(
    ("messages", "index", "role"),
    [
        ((Message("user", ""),), 0, "user"),
        ((Message("user", "  \n\t "),), 0, "user"),
        (
            (
                Message("system", "Rules."),
                Message("user", "Hi"),
                Message("assistant", ""),
                Message("user", "?"),
            ),
            2,
            "assistant",
        ),
        (
            (Message("user", "Hi"), Message("assistant", (relay_lite.TextPart(" "),)), Message("user", "?")),
            1,
            "assistant",
        ),
    ],
)
def test_a_turn_without_content_is_refused_naming_its_message(messages, index, role):
    # Bedrock answers 400 ValidationException "The content field in the Message object at
    # messages.N is empty" for a turn of no blocks, and calls whitespace-only text blank.
    with pytest.raises(relay_lite.ConfigError) as info:
        build_request(params(*messages), stream=False)
    assert str(info.value) == (
        f"message {index} ({role}) has no content: Bedrock refuses a turn without content "
        "(empty or whitespace-only text is not sent)"
    )


def test_whitespace_only_text_is_left_out_and_text_around_it_is_kept_as_written():
    body = build_request(
        params(
            Message("system", "   "),
            Message("user", (relay_lite.TextPart("\n"), relay_lite.TextPart(" Hi "))),
            Message("assistant", "  ", (ToolCall.from_json("tu_1", "now", "{}"),)),
            Message("tool", "12:00", tool_call_id="tu_1"),
        ),
        stream=False,
    ).body
    assert "system" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"text": " Hi "}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tu_1", "name": "now", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "tu_1", "content": [{"text": "12:00"}]}}]},
    ]


@pytest.mark.parametrize("result", ["", "  \n", (relay_lite.TextPart(" "),)])
def test_an_empty_tool_result_is_sent_as_a_placeholder_text(result):
    call = ToolCall.from_json("tu_1", "now", "{}")
    body = build_request(
        params(
            Message("user", "Hi"),
            Message("assistant", "", (call,)),
            Message("tool", result, tool_call_id="tu_1"),
        ),
        stream=False,
    ).body
    assert body["messages"][2] == {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": "tu_1", "content": [{"text": "(empty)"}]}}],
    }


# -- replies ----------------------------------------------------------------------------------

# A Converse reply as the Bedrock Runtime API reference documents it (reasoning first).
CONVERSE_REPLY = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "EqQB"}}},
                {"text": "Calling the tool."},
                {"toolUse": {"toolUseId": "tooluse_X", "name": "top_song", "input": {"sign": "WZPZ"}}},
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {
        "inputTokens": 397,
        "outputTokens": 57,
        "totalTokens": 454,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 20,
    },
    "metrics": {"latencyMs": 1245},
}


def test_a_converse_reply_parses_to_the_neutral_response():
    reply = parse_response(CONVERSE_REPLY, request_id="req-1", attempts=2)
    assert reply.text == "Calling the tool."
    assert reply.tool_calls == (ToolCall("tooluse_X", "top_song", {"sign": "WZPZ"}, '{"sign": "WZPZ"}'),)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "tool_use")
    assert reply.usage == relay_lite.Usage(
        input_tokens=397,
        output_tokens=57,
        total_tokens=454,
        cached_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    assert (reply.thinking, reply.thinking_blocks) == ("Think.", (ThinkingBlock("Think.", "EqQB"),))
    assert (reply.request_id, reply.attempts, reply.raw) == ("req-1", 2, CONVERSE_REPLY)


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("malformed_tool_use", "malformed_tool_use"),
    ],
)
def test_stop_reasons_are_normalised_and_the_raw_value_kept(raw, neutral):
    reply = parse_response({"output": {"message": {"content": []}}, "stopReason": raw})
    assert (reply.finish_reason, reply.raw_finish_reason) == (neutral, raw)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected a Converse reply object, got an array"),
        (
            {"output": {"message": {"content": "text"}}},
            "output.message.content is a string, expected an array",
        ),
        ({"output": {"message": {"content": [{"text": 5}]}}}, "output.message.content[0].text is a number"),
        ({"output": None}, "output is missing or null, expected an object"),
    ],
)
def test_a_reply_of_the_wrong_shape_is_a_response_error_naming_the_field(payload, message):
    with pytest.raises(ResponseError) as info:
        parse_response(payload, request_id="req-2")
    assert info.value.message.startswith(message)
    assert info.value.request_id == "req-2"


# -- streams ----------------------------------------------------------------------------------


def event(event_type: str, payload: dict) -> EventStreamMessage:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    # Bedrock pads each payload with a "p" field of varying length.
    return EventStreamMessage(headers, json.dumps({**payload, "p": "abcdefgh"}).encode())


def run(parser: StreamParser, *messages: EventStreamMessage) -> list:
    return [e for m in messages for e in parser.feed(m)]


def test_reasoning_text_and_signature_stream_into_a_thinking_block():
    parser = StreamParser()
    events = run(
        parser,
        event("messageStart", {"role": "assistant"}),
        event(
            "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Let me "}}}
        ),
        event(
            "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think."}}}
        ),
        event(
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQB"}}},
        ),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "42"}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event("messageStop", {"stopReason": "end_turn"}),
        event(
            "metadata",
            {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {"latencyMs": 9}},
        ),
    )
    assert events == [
        relay_lite.ThinkingDelta("Let me "),
        relay_lite.ThinkingDelta("think."),
        relay_lite.TextDelta("42"),
        relay_lite.UsageEvent(relay_lite.Usage(input_tokens=3, output_tokens=2, total_tokens=5)),
    ]
    assert parser.finished
    reply = parser.partial()
    assert reply.thinking_blocks == (ThinkingBlock("Let me think.", "EqQB"),)
    assert reply.raw == {
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 9},
    }


def test_a_tool_call_without_input_fragments_is_announced_at_its_stop():
    parser = StreamParser()
    start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tu_9", "name": "now"}}}
    events = run(
        parser,
        event("messageStart", {"role": "assistant"}),
        event("contentBlockStart", start),
        event("contentBlockStop", {"contentBlockIndex": 0}),
    )
    assert events == [relay_lite.ToolCallDelta(0, "tu_9", "now", "")]
    assert parser.partial().tool_calls == (ToolCall("tu_9", "now", {}, ""),)


# Every StopReason of botocore's bedrock-runtime service model (2023-09-30), with the
# neutral finish reason it maps to; the last two have no neutral spelling and pass through.
BEDROCK_STOP_REASONS = [
    ("end_turn", "stop"),
    ("tool_use", "tool_calls"),
    ("max_tokens", "length"),
    ("stop_sequence", "stop"),
    ("guardrail_intervened", "content_filter"),
    ("content_filtered", "content_filter"),
    ("model_context_window_exceeded", "length"),
    ("malformed_model_output", "malformed_model_output"),
    ("malformed_tool_use", "malformed_tool_use"),
]


@pytest.mark.parametrize(("raw", "neutral"), BEDROCK_STOP_REASONS)
def test_a_streamed_stop_reason_maps_as_in_a_whole_reply(raw, neutral):
    parser = StreamParser()
    run(
        parser,
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": raw}),
        event("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}),
    )
    streamed = parser.partial()
    whole = parse_response({"output": {"message": {"content": [{"text": "x"}]}}, "stopReason": raw})
    assert (streamed.finish_reason, streamed.raw_finish_reason) == (neutral, raw)
    assert (whole.finish_reason, whole.raw_finish_reason) == (neutral, raw)
    assert streamed.raw == {
        "stopReason": raw,
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    }


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (
            [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})],
            "contentBlockDelta event before messageStart",
        ),
        ([event("messageStart", {}), event("messageStart", {})], "a second messageStart event"),
        (
            [
                event("messageStart", {}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{"}}}),
            ],
            "toolUse delta for block 0, which no toolUse contentBlockStart began",
        ),
        (
            [
                event("messageStart", {}),
                event("contentBlockDelta", {"contentBlockIndex": -1, "delta": {"text": "x"}}),
            ],
            "contentBlockDelta has no whole-number contentBlockIndex: -1",
        ),
        (
            [
                event("messageStart", {}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}),
                event("contentBlockStop", {"contentBlockIndex": 0}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "y"}}),
            ],
            "contentBlockDelta for block 0, which had already stopped",
        ),
        (
            [
                event("messageStart", {}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}),
                event(
                    "contentBlockDelta",
                    {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "y"}}},
                ),
            ],
            "reasoningContent delta for block 0, a text block",
        ),
        (
            [
                event("messageStart", {}),
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": 7}}),
            ],
            "contentBlockDelta.delta.text is a number, expected a string",
        ),
        (
            [EventStreamMessage({":message-type": "event", ":event-type": "messageStart"}, b"{oops")],
            "messageStart event is not valid JSON",
        ),
        (
            [EventStreamMessage({":message-type": "mystery"}, b"")],
            "event-stream message of unknown :message-type 'mystery'",
        ),
    ],
)
def test_out_of_grammar_messages_raise_stream_error(messages, error):
    parser = StreamParser()
    with pytest.raises(StreamError) as info:
        run(parser, *messages)
    assert info.value.message.startswith(error)


def test_unknown_event_types_are_ignored():
    parser = StreamParser()
    assert run(parser, event("messageStart", {}), event("somethingNew", {"x": 1})) == []


def test_an_exception_message_raises_the_mapped_error():
    exception = EventStreamMessage(
        {
            ":exception-type": "modelStreamErrorException",
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        b'{"message":"Model stream error","originalStatusCode":500}',
    )
    parser = StreamParser()
    run(
        parser,
        event("messageStart", {}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "So"}}),
    )
    with pytest.raises(relay_lite.ServerError) as info:
        parser.feed(exception)
    assert (info.value.message, info.value.code, info.value.status) == (
        "Model stream error",
        "modelStreamErrorException",
        None,
    )
    assert parser.partial().text == "So"


# -- errors -----------------------------------------------------------------------------------


def test_the_error_type_header_wins_and_its_suffix_is_dropped():
    error = map_error(
        429,
        b'{"message":"Too many requests, please wait before trying again."}',
        {
            "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "x-amzn-requestid": "r-1",
        },
    )
    assert type(error) is relay_lite.RateLimitError
    assert (error.code, error.message, error.request_id) == (
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
        "r-1",
    )


def test_a_body_type_with_a_namespace_and_a_capitalised_message_is_read():
    # The shape AWS's front door sends for an unknown access key.
    body = (
        b'{"__type":"com.amazon.coral.service#UnrecognizedClientException",'
        b'"Message":"The security token included in the request is invalid."}'
    )
    error = map_error(403, body, {})
    assert type(error) is relay_lite.AuthenticationError
    assert (error.status, error.code, error.message) == (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def test_a_plain_text_error_body_keeps_its_text_and_status_class():
    error = map_error(502, b"Bad Gateway", {})
    assert type(error) is relay_lite.ServerError
    assert (error.message, error.code) == ("Bad Gateway", None)


# -- Client.bedrock ---------------------------------------------------------------------------


def test_client_bedrock_builds_the_regional_url_from_the_environment():
    client = relay_lite.Client.bedrock(
        model=MODEL,
        env={
            "AWS_DEFAULT_REGION": "eu-west-3",
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "s3cr3tvalue",
        },
    )
    assert client.config.base_url == "https://bedrock-runtime.eu-west-3.amazonaws.com"
    assert (client.config.provider, client.config.model) == ("bedrock", MODEL)
    assert isinstance(client.adapter, BedrockAdapter)
    assert "s3cr3tvalue" not in repr(client) + repr(client.session.authorizer)


def test_client_bedrock_reads_the_sdks_endpoint_variable():
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_BEARER_TOKEN_BEDROCK": "k" * 20,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://localhost:4566",
    }
    assert relay_lite.Client.bedrock(env=env).config.base_url == "http://localhost:4566"


def test_client_bedrock_refuses_a_region_that_is_not_one():
    with pytest.raises(relay_lite.ConfigError, match="is not an AWS region name"):
        relay_lite.Client.bedrock("us-east-1.evil.com/", api_key="k" * 20, env={})


def test_importing_relay_lite_loads_no_bedrock_module():
    code = (
        "import sys, relay_lite; "
        "print(sorted(m for m in sys.modules if 'bedrock' in m or 'eventstream' in m or 'sigv4' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"


def test_a_protocol_error_message_raises_with_its_header_code():
    # The event-stream protocol's own errors carry their code and text in headers.
    message = EventStreamMessage(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "stream broke"}, b""
    )
    with pytest.raises(relay_lite.APIError) as info:
        StreamParser().feed(message)
    assert (info.value.code, info.value.message) == ("InternalFailure", "stream broke")
