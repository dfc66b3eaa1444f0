"""The OpenAI Responses API adapter, sans-I/O: request bodies out, hand-written replies and
SSE byte streams in, neutral values out.

The stream bodies below reproduce what ``POST /v1/responses`` with ``"stream": true``
sends (OpenAI's streaming-events reference and openai-python's ``types/responses``):
an ``event:`` line naming the type, ``data:`` JSON repeating it with a
``sequence_number``, ``item_id`` / ``output_index`` / ``content_index`` on every delta,
the ``obfuscation`` padding OpenAI adds to deltas, and a ``response`` object on the
lifecycle events.
"""

# Wire bodies stay one line each, as sent.
# ruff: noqa: E501
from __future__ import annotations

import json

import pytest

from relay_lite import (
    BadRequestError,
    ConfigError,
    DocumentPart,
    ImagePart,
    Message,
    RateLimitError,
    ResponseError,
    ServerError,
    StreamError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageEvent,
)
from relay_lite._models import ChatParams
from relay_lite._sse import SSEDecoder
from relay_lite.protocols import adapter_for
from relay_lite.protocols.openai_responses import (
    OpenAIResponsesAdapter,
    ResponsesStreamParser,
    build_request,
    parse_response,
)

# -- requests -----------------------------------------------------------------------------


def test_request_body_maps_every_neutral_field_to_the_responses_shape() -> None:
    params = ChatParams(
        model="gpt-5-mini",
        messages=(
            Message("system", "Be brief."),
            Message("system", "Answer in French."),
            Message(
                "user",
                (
                    ImagePart(url="https://x/cat.png", detail="low"),
                    ImagePart(data="AAA", media_type="image/png"),
                    DocumentPart(data="JVBERi0=", filename="a.pdf"),
                    DocumentPart(url="https://x/b.pdf"),
                ),
            ),
            Message(
                "assistant", "Let me look.", (ToolCall("call_1", "lookup", {"q": "cats"}, '{"q":"cats"}'),)
            ),
            Message("tool", "42", tool_call_id="call_1"),
        ),
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        tools=(ToolSpec("lookup", "Look up", {"type": "object", "properties": {"q": {"type": "string"}}}),),
        tool_choice="lookup",
        metadata={"job": "nightly"},
        reasoning_effort="low",
        parallel_tool_calls=False,
        end_user="u-42",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "P", "schema": {"type": "object"}, "strict": True},
        },
        extra_body={"previous_response_id": "resp_prev", "store": False},
    )
    call = build_request(params, stream=False)
    assert (call.method, call.path, call.headers) == ("POST", "/responses", {"Accept": "application/json"})
    assert call.body == {
        "model": "gpt-5-mini",
        "instructions": "Be brief.\n\nAnswer in French.",
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "auto"},
                    {
                        "type": "input_file",
                        "filename": "a.pdf",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                    },
                    {"type": "input_file", "file_url": "https://x/b.pdf"},
                ],
            },
            {"type": "message", "role": "assistant", "content": "Let me look."},
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q":"cats"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 50,
        "metadata": {"job": "nightly"},
        "tool_choice": {"type": "function", "name": "lookup"},
        "parallel_tool_calls": False,
        "safety_identifier": "u-42",
        "reasoning": {"effort": "low"},
        "text": {
            "format": {"type": "json_schema", "name": "P", "schema": {"type": "object"}, "strict": True}
        },
        "tools": [
            {
                "type": "function",
                "name": "lookup",
                "description": "Look up",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                "strict": False,
            }
        ],
        "previous_response_id": "resp_prev",
        "store": False,
    }


def test_stream_request_sets_stream_and_asks_for_an_event_stream() -> None:
    call = build_request(ChatParams(model="m", messages=(Message("user", "hi"),)), stream=True)
    assert call.body == {
        "model": "m",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
        "stream": True,
    }
    assert call.headers == {"Accept": "text/event-stream"}


def test_a_system_message_after_the_conversation_started_stays_in_input_in_place() -> None:
    params = ChatParams(model="m", messages=(Message("user", "hi"), Message("system", "Reply in JSON.")))
    body = build_request(params, stream=False).body
    assert "instructions" not in body
    assert body["input"] == [
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "message", "role": "system", "content": "Reply in JSON."},
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ({"type": "file_search"}, {"type": "file_search"}),
    ],
)
def test_tool_choice_words_and_dicts_pass_in_the_responses_shape(choice, wire) -> None:
    params = ChatParams(model="m", messages=(Message("user", "hi"),), tool_choice=choice)
    assert build_request(params, stream=False).body["tool_choice"] == wire


def test_json_mode_becomes_text_format_json_object() -> None:
    adapter = OpenAIResponsesAdapter()
    params = ChatParams(
        model="m", messages=(Message("user", "hi"),), response_format=adapter.json_mode_format()
    )
    assert build_request(params, stream=False).body["text"] == {"format": {"type": "json_object"}}


def test_chat_settings_the_responses_api_lacks_are_refused_before_sending() -> None:
    params = ChatParams(model="m", messages=(Message("user", "hi"),), stop=("END",), seed=3)
    with pytest.raises(ConfigError) as caught:
        build_request(params, stream=False)
    assert str(caught.value) == (
        "the OpenAI Responses API has no stop sequences, seed; remove it from the request"
    )


def test_the_adapter_is_registered_under_openai_responses() -> None:
    adapter = adapter_for("openai_responses", "openai")
    assert isinstance(adapter, OpenAIResponsesAdapter)
    assert adapter.auth_headers("sk-1") == {"Authorization": "Bearer sk-1"}
    assert adapter.request_id({"x-request-id": "req_9"}) == "req_9"


# -- whole replies ------------------------------------------------------------------------

# A whole reply as POST /v1/responses sends it (padding fields included): a reasoning
# item with two summary parts, a message with text, a function call; cached and
# reasoning token counts in the usage details.
WHOLE = {
    "id": "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b",
    "object": "response",
    "created_at": 1756315696,
    "status": "completed",
    "background": False,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "model": "gpt-5-mini-2025-08-07",
    "output": [
        {
            "id": "rs_68af40312d5c8193a5bd7a49b6fb4c9a05438e46b5f69a3b",
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": "**Checking the weather**"},
                {"type": "summary_text", "text": "Calling the tool."},
            ],
        },
        {
            "id": "msg_68af4033f0c08193a3a0c1c3d0fa8c7e05438e46b5f69a3b",
            "type": "message",
            "status": "completed",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Let me check."}],
            "role": "assistant",
        },
        {
            "id": "fc_68af4034c7d48193a0e2a1a1f0f1b61205438e46b5f69a3b",
            "type": "function_call",
            "status": "completed",
            "arguments": '{"city":"Paris"}',
            "call_id": "call_kSjFGSdqC5JKQMUOLBMyg4ol",
            "name": "get_weather",
        },
    ],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": "low", "summary": "auto"},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": {
        "input_tokens": 1520,
        "input_tokens_details": {"cached_tokens": 1408},
        "output_tokens": 212,
        "output_tokens_details": {"reasoning_tokens": 192},
        "total_tokens": 1732,
    },
    "user": None,
    "metadata": {},
}


def test_whole_reply_reads_text_tool_calls_thinking_usage_and_the_response_id() -> None:
    reply = parse_response(WHOLE, request_id="req_1", attempts=2)
    assert reply.text == "Let me check."
    assert reply.tool_calls == (
        ToolCall("call_kSjFGSdqC5JKQMUOLBMyg4ol", "get_weather", {"city": "Paris"}, '{"city":"Paris"}'),
    )
    assert reply.thinking == "**Checking the weather**\n\nCalling the tool."
    assert (reply.finish_reason, reply.raw_finish_reason) == ("tool_calls", "completed")
    assert reply.id == "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b"
    assert reply.model == "gpt-5-mini-2025-08-07"
    assert reply.usage == Usage(1520, 212, 1732, cached_input_tokens=1408, reasoning_tokens=192)
    assert (reply.request_id, reply.attempts, reply.raw) == ("req_1", 2, WHOLE)


def test_refusal_part_becomes_the_refusal_and_not_the_text() -> None:
    payload = dict(
        WHOLE,
        output=[
            {
                "id": "msg_1",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with that."}],
            }
        ],
    )
    reply = parse_response(payload)
    assert (reply.text, reply.refusal, reply.finish_reason) == ("", "I can't help with that.", "stop")


@pytest.mark.parametrize(
    ("reason", "finish"), [("max_output_tokens", "length"), ("content_filter", "content_filter")]
)
def test_incomplete_response_maps_its_reason_to_a_neutral_finish_reason(reason: str, finish: str) -> None:
    payload = dict(WHOLE, status="incomplete", incomplete_details={"reason": reason}, output=[])
    reply = parse_response(payload)
    assert (reply.finish_reason, reply.raw_finish_reason) == (finish, reason)


def test_failed_response_raises_the_typed_error_of_its_code() -> None:
    payload = dict(
        WHOLE, status="failed", output=[], error={"code": "server_error", "message": "The model failed."}
    )
    with pytest.raises(ServerError) as caught:
        parse_response(payload, request_id="req_7")
    assert (caught.value.message, caught.value.code, caught.value.request_id) == (
        "The model failed.",
        "server_error",
        "req_7",
    )


def test_failed_response_with_an_image_code_is_a_bad_request() -> None:
    payload = dict(
        WHOLE, status="failed", output=[], error={"code": "invalid_image_url", "message": "bad url"}
    )
    with pytest.raises(BadRequestError, match="bad url"):
        parse_response(payload)


def test_a_field_of_the_wrong_type_is_a_response_error_naming_it() -> None:
    payload = dict(WHOLE, output=[{"type": "function_call", "call_id": "c", "name": 5, "arguments": "{}"}])
    with pytest.raises(ResponseError) as caught:
        parse_response(payload)
    assert caught.value.message == "output[0].name is a number, expected a string"


def test_built_in_tool_items_are_left_in_raw_only() -> None:
    item = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search"}}
    reply = parse_response(dict(WHOLE, output=[item]))
    assert (reply.text, reply.tool_calls, reply.finish_reason) == ("", (), "stop")


# -- streams ------------------------------------------------------------------------------

START = (
    b'{"id":"resp_abc","object":"response","created_at":1741290958,"status":"in_progress",'
    b'"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,'
    b'"model":"gpt-5-mini-2025-08-07","output":[],"parallel_tool_calls":true,'
    b'"previous_response_id":null,"reasoning":{"effort":"low","summary":"auto"},"store":true,'
    b'"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],'
    b'"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}'
)


def _event(kind: str, body: str) -> bytes:
    return f'event: {kind}\ndata: {{"type":"{kind}",{body}}}\n\n'.encode()


def _final(kind: str, status: str, output: str, usage: str, extra: str = "") -> bytes:
    response = START.decode().replace('"status":"in_progress"', f'"status":"{status}"')
    response = response.replace('"output":[]', f'"output":[{output}]').replace(
        '"usage":null', f'"usage":{usage}'
    )
    if extra:
        response = response.replace('"incomplete_details":null', extra)
    return _event(kind, f'"sequence_number":99,"response":{response}')


USAGE = (
    '{"input_tokens":37,"input_tokens_details":{"cached_tokens":12},"output_tokens":11,'
    '"output_tokens_details":{"reasoning_tokens":4},"total_tokens":48}'
)
HEAD = _event("response.created", f'"sequence_number":0,"response":{START.decode()}') + _event(
    "response.in_progress", f'"sequence_number":1,"response":{START.decode()}'
)
TEXT_STREAM = (
    HEAD
    + _event(
        "response.output_item.added",
        '"sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}',
    )
    + _event(
        "response.content_part.added",
        '"sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}',
    )
    + _event(
        "response.output_text.delta",
        '"sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Grüße","logprobs":[],"obfuscation":"k2Hq"',
    )
    + _event(
        "response.output_text.delta",
        '"sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":", 你好!","logprobs":[],"obfuscation":"a"',
    )
    + _event(
        "response.output_text.done",
        '"sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Grüße, 你好!","logprobs":[]',
    )
    + _event(
        "response.output_item.done",
        '"sequence_number":7,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Grüße, 你好!"}],"role":"assistant"}',
    )
    + _final(
        "response.completed",
        "completed",
        '{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Grüße, 你好!"}],"role":"assistant"}',
        USAGE,
    )
)


def _run(body: bytes, *, byte_by_byte: bool = False) -> tuple[list, ResponsesStreamParser]:
    decoder = SSEDecoder()
    parser = ResponsesStreamParser()
    pieces = [body[i : i + 1] for i in range(len(body))] if byte_by_byte else [body]
    events = []
    for piece in pieces:
        for item in decoder.feed(piece):
            events += parser.feed(item)
    for item in decoder.close():
        events += parser.feed(item)
    return events, parser


@pytest.mark.parametrize("byte_by_byte", [False, True])
def test_text_stream_yields_text_deltas_and_the_final_reply_with_usage(byte_by_byte: bool) -> None:
    events, parser = _run(TEXT_STREAM, byte_by_byte=byte_by_byte)
    usage = Usage(37, 11, 48, cached_input_tokens=12, reasoning_tokens=4)
    assert events == [TextDelta("Grüße"), TextDelta(", 你好!"), UsageEvent(usage)]
    assert parser.finished
    reply = parser.partial()
    assert (reply.text, reply.id, reply.model, reply.usage) == (
        "Grüße, 你好!",
        "resp_abc",
        "gpt-5-mini-2025-08-07",
        usage,
    )
    assert (reply.finish_reason, reply.raw_finish_reason) == ("stop", "completed")


ARGUMENT_PIECES = ['{"', "city", '":"', "Par", "is", '","', "unit", '":"', "c", '"}']
CALL_STREAM = (
    HEAD
    + _event(
        "response.output_item.added",
        '"sequence_number":2,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_w1","name":"get_weather"}',
    )
    + b"".join(
        _event(
            "response.function_call_arguments.delta",
            f'"sequence_number":{3 + i},"item_id":"fc_1","output_index":0,"delta":{json.dumps(piece)},"obfuscation":"xY"',
        )
        for i, piece in enumerate(ARGUMENT_PIECES)
    )
    + _event(
        "response.function_call_arguments.done",
        '"sequence_number":13,"item_id":"fc_1","output_index":0,"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\",\\"unit\\":\\"c\\"}"',
    )
    + _final(
        "response.completed",
        "completed",
        '{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\\"city\\":\\"Paris\\",\\"unit\\":\\"c\\"}","call_id":"call_w1","name":"get_weather"}',
        USAGE,
    )
)


@pytest.mark.parametrize("byte_by_byte", [False, True])
def test_function_call_split_over_many_argument_deltas_is_merged(byte_by_byte: bool) -> None:
    events, parser = _run(CALL_STREAM, byte_by_byte=byte_by_byte)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(0, "call_w1", "get_weather", "")
    assert [d.arguments_delta for d in deltas[1:]] == ARGUMENT_PIECES
    assert {d.index for d in deltas} == {0}
    reply = parser.partial()
    assert reply.tool_calls == (
        ToolCall("call_w1", "get_weather", {"city": "Paris", "unit": "c"}, '{"city":"Paris","unit":"c"}'),
    )
    assert reply.finish_reason == "tool_calls"


def test_arguments_done_alone_still_gives_the_arguments() -> None:
    # A compatible server that skips the deltas and sends only .done.
    body = (
        HEAD
        + _event(
            "response.output_item.added",
            '"sequence_number":2,"output_index":1,"item":{"id":"fc_9","type":"function_call","arguments":"","call_id":"call_9","name":"f"}',
        )
        + _event(
            "response.function_call_arguments.done",
            '"sequence_number":3,"item_id":"fc_9","output_index":1,"arguments":"{\\"a\\":1}"',
        )
    )
    events, parser = _run(body)
    assert events == [ToolCallDelta(0, "call_9", "f", ""), ToolCallDelta(0, None, None, '{"a":1}')]
    assert parser.partial().tool_calls == (ToolCall("call_9", "f", {"a": 1}, '{"a":1}'),)


REASONING_STREAM = (
    HEAD
    + _event(
        "response.output_item.added",
        '"sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}',
    )
    + _event(
        "response.reasoning_summary_part.added",
        '"sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}',
    )
    + _event(
        "response.reasoning_summary_text.delta",
        '"sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"**Planning**","obfuscation":"q"',
    )
    + _event(
        "response.reasoning_summary_text.delta",
        '"sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":" the answer","obfuscation":"q"',
    )
    + _event(
        "response.reasoning_summary_text.delta",
        '"sequence_number":6,"item_id":"rs_1","output_index":0,"summary_index":1,"delta":"Done.","obfuscation":"q"',
    )
    + _event(
        "response.output_text.delta",
        '"sequence_number":7,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"42","logprobs":[]',
    )
    + _final(
        "response.completed",
        "completed",
        '{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"**Planning** the answer"},{"type":"summary_text","text":"Done."}]},'
        '{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"42"}],"role":"assistant"}',
        USAGE,
    )
)


def test_reasoning_summary_deltas_become_thinking_with_parts_set_apart() -> None:
    events, parser = _run(REASONING_STREAM)
    thinking = [e.text for e in events if isinstance(e, ThinkingDelta)]
    assert thinking == ["**Planning**", " the answer", "\n\nDone."]
    reply = parser.partial()
    assert reply.thinking == "**Planning** the answer\n\nDone." == "".join(thinking)
    assert reply.text == "42"


def test_refusal_deltas_fill_the_refusal() -> None:
    body = HEAD + _event(
        "response.refusal.delta",
        '"sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"No."',
    )
    events, parser = _run(body)
    assert events == []
    assert parser.partial().refusal == "No."
    assert not parser.finished


def test_response_incomplete_ends_the_stream_with_finish_reason_length() -> None:
    body = (
        HEAD
        + _event(
            "response.output_text.delta",
            '"sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"{\\"name\\": \\"Jo","logprobs":[]',
        )
        + _final(
            "response.incomplete",
            "incomplete",
            '{"id":"msg_1","type":"message","status":"incomplete","content":[{"type":"output_text","annotations":[],"text":"{\\"name\\": \\"Jo"}],"role":"assistant"}',
            USAGE,
            extra='"incomplete_details":{"reason":"max_output_tokens"}',
        )
    )
    _, parser = _run(body)
    assert parser.finished
    reply = parser.partial()
    assert (reply.text, reply.finish_reason, reply.raw_finish_reason) == (
        '{"name": "Jo',
        "length",
        "max_output_tokens",
    )


def test_a_terse_final_response_keeps_the_streamed_output() -> None:
    body = (
        HEAD
        + _event(
            "response.output_text.delta",
            '"sequence_number":2,"output_index":0,"content_index":0,"delta":"hi"',
        )
        + _final("response.completed", "completed", "", USAGE)
    )
    _, parser = _run(body)
    assert (parser.partial().text, parser.partial().finish_reason) == ("hi", "stop")


# The live API nests the error event's fields (openai/openai-dotnet#881).
LIVE_ERROR = _event(
    "error",
    '"sequence_number":3,"error":{"type":"tokens","code":"rate_limit_exceeded","message":"Rate limit reached for gpt-5-mini.","param":null}',
)
# The documented (flat) shape of the same event.
FLAT_ERROR = _event(
    "error", '"sequence_number":3,"code":"server_error","message":"Something went wrong.","param":null'
)


def _text_then(error: bytes) -> bytes:
    return (
        HEAD
        + _event(
            "response.output_text.delta",
            '"sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Half a rep","logprobs":[]',
        )
        + error
    )


def test_error_event_in_the_live_nested_shape_raises_its_typed_error() -> None:
    parser = ResponsesStreamParser()
    decoder = SSEDecoder()
    items = decoder.feed(_text_then(LIVE_ERROR))
    with pytest.raises(RateLimitError) as caught:
        for item in items:
            parser.feed(item)
    error = caught.value
    assert (error.message, error.code, error.status) == (
        "Rate limit reached for gpt-5-mini.",
        "rate_limit_exceeded",
        None,
    )
    assert parser.partial().text == "Half a rep"  # what the pump attaches as .partial


def test_error_event_in_the_documented_flat_shape_raises_its_typed_error() -> None:
    with pytest.raises(ServerError) as caught:
        _run(_text_then(FLAT_ERROR))
    assert (caught.value.message, caught.value.code) == ("Something went wrong.", "server_error")


def test_response_failed_raises_the_error_of_the_failed_response() -> None:
    failed = _final("response.failed", "failed", "", "null").replace(
        b'"error":null', b'"error":{"code":"server_error","message":"The server had an error."}'
    )
    with pytest.raises(ServerError) as caught:
        _run(_text_then(failed))
    assert (caught.value.message, caught.value.code) == ("The server had an error.", "server_error")


def test_unknown_event_types_are_ignored() -> None:
    body = (
        HEAD
        + _event(
            "response.output_text.annotation.added",
            '"sequence_number":2,"annotation":{"type":"url_citation"}',
        )
        + _event(
            "response.web_search_call.searching", '"sequence_number":3,"output_index":0,"item_id":"ws_1"'
        )
        + b'event: keepalive\ndata: {"type":"keepalive","sequence_number":4}\n\n'
    )
    events, parser = _run(body)
    assert events == []
    assert not parser.finished


def test_an_event_after_the_response_ended_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="event after the response ended"):
        _run(TEXT_STREAM + _event("response.output_text.delta", '"sequence_number":100,"delta":"x"'))


def test_a_delta_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(StreamError) as caught:
        _run(HEAD + _event("response.output_text.delta", '"sequence_number":2,"delta":5'))
    assert caught.value.message == "response.output_text.delta.delta is a number, expected a string"


def test_parallel_function_calls_keep_their_own_slots_by_output_index() -> None:
    def added(index: int, call_id: str) -> bytes:
        return _event(
            "response.output_item.added",
            f'"sequence_number":{2 + index},"output_index":{index},"item":{{"id":"fc_{index}","type":"function_call","arguments":"","call_id":"{call_id}","name":"f"}}',
        )

    def delta(index: int, piece: str) -> bytes:
        return _event(
            "response.function_call_arguments.delta",
            f'"sequence_number":9,"item_id":"fc_{index}","output_index":{index},"delta":{json.dumps(piece)}',
        )

    body = (
        HEAD
        + added(1, "call_a")
        + added(2, "call_b")
        + delta(2, '{"b":')
        + delta(1, '{"a":1}')
        + delta(2, "2}")
    )
    events, parser = _run(body)
    assert [(e.index, e.arguments_delta) for e in events] == [
        (0, ""),
        (1, ""),
        (1, '{"b":'),
        (0, '{"a":1}'),
        (1, "2}"),
    ]
    assert parser.partial().tool_calls == (
        ToolCall("call_a", "f", {"a": 1}, '{"a":1}'),
        ToolCall("call_b", "f", {"b": 2}, '{"b":2}'),
    )


def test_argument_deltas_without_indexes_continue_the_call_opened_last() -> None:
    # A compatible server that sends neither output_index nor item_id on its deltas.
    body = (
        HEAD
        + _event(
            "response.output_item.added",
            '"sequence_number":2,"item":{"id":"fc_1","type":"function_call","arguments":"","call_id":"call_1","name":"f"}',
        )
        + _event("response.function_call_arguments.delta", '"sequence_number":3,"delta":"{\\"a\\""')
        + _event("response.function_call_arguments.delta", '"sequence_number":4,"delta":":1}"')
    )
    _, parser = _run(body)
    assert parser.partial().tool_calls == (ToolCall("call_1", "f", {"a": 1}, '{"a":1}'),)


def test_an_error_body_in_a_200_reply_raises_its_typed_error() -> None:
    body = {
        "error": {
            "message": "Invalid 'input'.",
            "type": "invalid_request_error",
            "param": "input",
            "code": None,
        }
    }
    with pytest.raises(BadRequestError, match="Invalid 'input'."):
        parse_response(body)


def test_a_tool_result_without_its_call_id_is_refused() -> None:
    params = ChatParams(model="m", messages=(Message("user", "hi"), Message("tool", "42")))
    with pytest.raises(ConfigError) as caught:
        build_request(params, stream=False)
    assert str(caught.value) == "a tool result needs the call id it answers (tool_result(call.id, ...))"


# -- review fixes: reasoning summary, tool images, nested extra_body, logprobs, counts ----

USER_HI = (Message("user", "hi"),)


def test_reasoning_effort_sends_the_effort_alone_without_a_summary() -> None:
    # OpenAI answers 400 unsupported_value (param reasoning.summary) to an organization it
    # has not verified, so a summary is never asked for by default.
    params = ChatParams(model="gpt-5-mini", messages=USER_HI, reasoning_effort="high")
    assert build_request(params, stream=True).body["reasoning"] == {"effort": "high"}


def test_a_reasoning_summary_is_opt_in_through_extra_body_and_keeps_the_effort() -> None:
    params = ChatParams(
        model="gpt-5-mini",
        messages=USER_HI,
        reasoning_effort="high",
        extra_body={"reasoning": {"summary": "auto"}},
    )
    assert build_request(params, stream=False).body["reasoning"] == {"effort": "high", "summary": "auto"}


def test_extra_body_text_merges_into_the_built_text_and_keeps_the_schema() -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {"name": "P", "schema": {"type": "object"}, "strict": True},
    }
    params = ChatParams(
        model="m",
        messages=USER_HI,
        response_format=schema,
        reasoning_effort="low",
        extra_body={"text": {"verbosity": "low"}, "reasoning": {"effort": None, "summary": "concise"}},
    )
    body = build_request(params, stream=False).body
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "P", "schema": {"type": "object"}, "strict": True},
        "verbosity": "low",
    }
    assert body["reasoning"] == {"summary": "concise"}  # a None value removes that key


def test_extra_body_none_for_text_or_reasoning_still_removes_the_whole_object() -> None:
    params = ChatParams(
        model="m",
        messages=USER_HI,
        reasoning_effort="low",
        response_format={"type": "json_object"},
        extra_body={"text": None, "reasoning": None},
    )
    body = build_request(params, stream=False).body
    assert ("text" in body, "reasoning" in body) == (False, False)


def test_extra_body_text_without_a_built_text_drops_its_none_values() -> None:
    params = ChatParams(
        model="m", messages=USER_HI, extra_body={"text": {"verbosity": "high", "format": None}}
    )
    assert build_request(params, stream=False).body["text"] == {"verbosity": "high"}


def test_a_tool_result_with_an_image_or_document_sends_its_output_as_input_items() -> None:
    # openai-python FunctionCallOutput.output: a string or a list of input_text /
    # input_image / input_file items.
    result = Message(
        "tool",
        (
            TextPart("chart:"),
            ImagePart(url="https://x/y.png"),
            DocumentPart(data="JVBERi0=", filename="r.pdf"),
        ),
        tool_call_id="c1",
    )
    body = build_request(ChatParams(model="m", messages=(*USER_HI, result)), stream=False).body
    assert body["input"][1] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": [
            {"type": "input_text", "text": "chart:"},
            {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
            {"type": "input_file", "filename": "r.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
        ],
    }


def test_a_tool_result_of_text_parts_only_stays_a_string() -> None:
    result = Message("tool", (TextPart("4"), TextPart("2")), tool_call_id="c1")
    body = build_request(ChatParams(model="m", messages=(*USER_HI, result)), stream=False).body
    assert body["input"][1] == {"type": "function_call_output", "call_id": "c1", "output": "42"}


def test_a_leading_system_message_with_an_image_is_refused_naming_instructions() -> None:
    system = Message("system", (TextPart("Match this logo:"), ImagePart(url="https://x/logo.png")))
    with pytest.raises(ConfigError) as caught:
        build_request(ChatParams(model="m", messages=(system, *USER_HI)), stream=False)
    assert str(caught.value) == (
        "a leading system message becomes the Responses API's instructions, which take text only; "
        "put its images or documents in a user message"
    )


def test_logprobs_ask_for_top_logprobs_and_include_the_output_text_logprobs() -> None:
    params = ChatParams(model="m", messages=USER_HI, top_logprobs=2)
    body = build_request(params, stream=False).body
    assert (body["include"], body["top_logprobs"]) == (["message.output_text.logprobs"], 2)
    plain = build_request(ChatParams(model="m", messages=USER_HI, top_logprobs=0), stream=False).body
    assert (plain["include"], "top_logprobs" in plain) == (["message.output_text.logprobs"], False)


def test_extra_body_include_joins_the_logprobs_include_instead_of_replacing_it() -> None:
    params = ChatParams(
        model="m",
        messages=USER_HI,
        top_logprobs=1,
        extra_body={"include": ["reasoning.encrypted_content", "message.output_text.logprobs"]},
    )
    assert build_request(params, stream=False).body["include"] == [
        "message.output_text.logprobs",
        "reasoning.encrypted_content",
    ]


# An output_text part as POST /v1/responses sends it with include
# ["message.output_text.logprobs"] and top_logprobs 1 (openai-python ResponseOutputText.Logprob).
LOGPROB_PART = (
    '{"type":"output_text","annotations":[],"logprobs":['
    '{"token":"Hi","logprob":-0.0017,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.0017,"bytes":[72,105]}]},'
    '{"token":"!","logprob":-0.41,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.41,"bytes":[33]}]}'
    '],"text":"Hi!"}'
)
TOKENS = (
    TokenLogprob("Hi", -0.0017, (72, 105), (TokenLogprob("Hi", -0.0017, (72, 105)),)),
    TokenLogprob("!", -0.41, (33,), (TokenLogprob("!", -0.41, (33,)),)),
)


def test_whole_reply_reads_the_output_texts_logprobs_into_reply_logprobs() -> None:
    message = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant"}
    payload = dict(WHOLE, output=[dict(message, content=[json.loads(LOGPROB_PART)])])
    reply = parse_response(payload)
    assert (reply.text, reply.logprobs) == ("Hi!", TOKENS)


def test_a_reply_with_empty_logprobs_lists_has_logprobs_none() -> None:
    assert parse_response(WHOLE).logprobs is None


def test_a_logprob_of_the_wrong_type_is_a_response_error_naming_it() -> None:
    part = {
        "type": "output_text",
        "annotations": [],
        "text": "x",
        "logprobs": [{"token": "x", "logprob": "low"}],
    }
    payload = dict(WHOLE, output=[{"type": "message", "role": "assistant", "content": [part]}])
    with pytest.raises(ResponseError) as caught:
        parse_response(payload)
    assert caught.value.message == "output[0].content[0].logprobs[0].logprob is a string, expected a number"


@pytest.mark.parametrize("final_has_logprobs", [True, False])
def test_stream_reads_logprobs_from_the_final_response_or_else_the_deltas(final_has_logprobs: bool) -> None:
    final_part = (
        LOGPROB_PART
        if final_has_logprobs
        else '{"type":"output_text","annotations":[],"logprobs":[],"text":"Hi!"}'
    )
    body = (
        HEAD
        + _event(
            "response.output_text.delta",
            '"sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[{"token":"Hi","logprob":-0.0017,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.0017,"bytes":[72,105]}]}],"obfuscation":"q1"',
        )
        + _event(
            "response.output_text.delta",
            '"sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"!","logprobs":[{"token":"!","logprob":-0.41,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.41,"bytes":[33]}]}],"obfuscation":"Zk"',
        )
        + _final(
            "response.completed",
            "completed",
            f'{{"id":"msg_1","type":"message","status":"completed","content":[{final_part}],"role":"assistant"}}',
            USAGE,
        )
    )
    events, parser = _run(body, byte_by_byte=True)
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("Hi"), TextDelta("!")]
    assert parser.partial().logprobs == TOKENS


def test_a_stream_cut_after_logprob_deltas_keeps_them_in_the_partial_reply() -> None:
    body = HEAD + _event(
        "response.output_text.delta",
        '"sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[{"token":"Hi","logprob":-0.0017,"bytes":[72,105],"top_logprobs":[]}]',
    )
    _, parser = _run(body)
    assert parser.partial().logprobs == (TokenLogprob("Hi", -0.0017, (72, 105)),)


def test_a_failed_whole_reply_carries_its_http_status_not_in_stream() -> None:
    payload = dict(
        WHOLE, status="failed", output=[], error={"code": "server_error", "message": "The model failed."}
    )
    with pytest.raises(ServerError) as caught:
        parse_response(payload, request_id="req_7")
    assert caught.value.status == 200
    assert (
        str(caught.value)
        == "The model failed. (status 200, code server_error, request id req_7, after 1 attempt)"
    )


def test_an_error_body_in_a_200_reply_carries_status_200() -> None:
    body = {
        "error": {
            "message": "Invalid 'input'.",
            "type": "invalid_request_error",
            "param": "input",
            "code": None,
        }
    }
    with pytest.raises(BadRequestError) as caught:
        parse_response(body)
    assert str(caught.value) == "Invalid 'input'. (status 200, code invalid_request_error, after 1 attempt)"


def test_a_failed_response_in_a_stream_is_still_labelled_in_stream() -> None:
    failed = (
        START.decode()
        .replace('"status":"in_progress"', '"status":"failed"')
        .replace('"error":null', '"error":{"code":"server_error","message":"The model failed."}')
    )
    with pytest.raises(ServerError) as caught:
        _run(HEAD + _event("response.failed", f'"sequence_number":2,"response":{failed}'))
    assert (caught.value.status, str(caught.value)) == (
        None,
        "The model failed. (in stream, code server_error, after 1 attempt)",
    )


def test_count_tokens_call_sends_the_prompt_fields_only_to_input_tokens() -> None:
    params = ChatParams(
        model="gpt-5-mini",
        messages=(Message("system", "Be brief."), *USER_HI),
        temperature=0.3,
        max_tokens=100,
        metadata={"job": "x"},
        end_user="u1",
        reasoning_effort="low",
        tools=(ToolSpec("f", "F", {"type": "object"}),),
        extra_body={"store": False, "previous_response_id": "resp_1"},
    )
    call = OpenAIResponsesAdapter().count_tokens_call(params)
    assert (call.method, call.path, call.headers) == (
        "POST",
        "/responses/input_tokens",
        {"Accept": "application/json"},
    )
    assert call.body == {
        "model": "gpt-5-mini",
        "instructions": "Be brief.",
        "input": [{"type": "message", "role": "user", "content": "hi"}],
        "reasoning": {"effort": "low"},
        "tools": [
            {
                "type": "function",
                "name": "f",
                "description": "F",
                "parameters": {"type": "object"},
                "strict": False,
            }
        ],
        "previous_response_id": "resp_1",
    }


def test_parse_token_count_reads_input_tokens_and_refuses_anything_else() -> None:
    adapter = OpenAIResponsesAdapter()
    # openai-python InputTokenCountResponse: {"object": "response.input_tokens", "input_tokens": N}
    assert adapter.parse_token_count({"object": "response.input_tokens", "input_tokens": 1234}) == 1234
    with pytest.raises(ResponseError) as caught:
        adapter.parse_token_count({"object": "response.input_tokens"})
    assert caught.value.message == "input_tokens is missing or null, expected a non-negative whole number"
