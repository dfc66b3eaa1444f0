"""Anthropic Messages shapes that broke or bent the adapter, over real sockets.

Bodies are written by hand as the API (or a gateway in front of it) sends them, and served
whole and one byte per chunk.
"""

from __future__ import annotations

import json

import pytest

from relay_lite import (
    Client,
    ResponseError,
    RetryPolicy,
    StreamError,
    TextDelta,
    ToolArgumentsError,
    ToolCallDelta,
)
from relay_lite.testing import FakeServer, Reply

CHUNKINGS = ["whole", "bytewise"]


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def client(server):
    with Client.anthropic(
        api_key="k", base_url=server.url, model="claude", retry=RetryPolicy(max_retries=0)
    ) as c:
        yield c


def _json_reply(body: str) -> Reply:
    return Reply(body=body.encode(), headers={"Content-Type": "application/json"})


def _sse_reply(body: str, chunking: str) -> Reply:
    data = body.encode()
    chunks = [data] if chunking == "whole" else [data[i : i + 1] for i in range(len(data))]
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=chunks)


def _message(content: str, stop_reason: str = "end_turn") -> str:
    return (
        '{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",'
        f'"content":{content},"stop_reason":"{stop_reason}","stop_sequence":null,'
        '"usage":{"input_tokens":12,"output_tokens":6}}'
    )


@pytest.mark.parametrize(
    ("tool_input", "error"),
    [
        ('"Paris"', "arguments are JSON a string, not an object"),
        ("[1,2]", "arguments are JSON an array, not an object"),
        ("null", "arguments are JSON null, not an object"),
    ],
)
def test_tool_use_input_that_is_not_an_object_is_flagged_not_wrapped(server, client, tool_input, error):
    content = f'[{{"type":"tool_use","id":"toolu_01","name":"weather","input":{tool_input}}}]'
    server.add(_json_reply(_message(content, "tool_use")))
    call = client.chat().user("q").send().tool_calls[0]
    assert (call.arguments_error, call.arguments_json) == (error, json.dumps(json.loads(tool_input)))
    with pytest.raises(ToolArgumentsError) as info:
        _ = call.arguments
    assert str(info.value) == f"tool call 'weather' (id 'toolu_01'): {error}: {call.arguments_json!r}"


def _events(*events: str) -> str:
    out = []
    for event in events:
        kind = json.loads(event)["type"]
        out.append(f"event: {kind}\ndata: {event}\n\n")
    return "".join(out)


MESSAGE_START = (
    '{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",'
    '"model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,'
    '"usage":{"input_tokens":12,"output_tokens":1}}}'
)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_streamed_tool_input_cut_by_max_tokens_is_flagged(server, client, chunking):
    body = _events(
        MESSAGE_START,
        '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01",'
        '"name":"weather","input":{}}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"ci"}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},'
        '"usage":{"output_tokens":4}}',
        '{"type":"message_stop"}',
    )
    server.add(_sse_reply(body, chunking))
    with client.chat().user("q").stream() as stream:
        fragments = [e for e in stream if isinstance(e, ToolCallDelta)]
    assert fragments == [ToolCallDelta(0, "toolu_01", "weather", '{"ci')]
    call = stream.response.tool_calls[0]
    assert (stream.response.finish_reason, call.arguments_json) == ("length", '{"ci')
    assert call.arguments_error is not None and call.arguments_error.startswith(
        "arguments are not valid JSON"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"text":"Hi"}]', "content[0].type is missing or null, expected a string"),
        ('[{"type":"text","text":5}]', "content[0].text is a number, expected a string"),
        ('"Hi"', "content is a string, expected an array of content blocks"),
        ("null", "content is missing or null, expected an array of content blocks"),
        (
            '[{"type":"tool_use","id":5,"name":"f","input":{}}]',
            "content[0].id is a number, expected a string",
        ),
        ('["Hi"]', "content[0] is a string, expected an object"),
    ],
)
def test_send_names_the_block_field_of_the_wrong_type(server, client, content, message):
    server.add(_json_reply(_message(content)))
    with pytest.raises(ResponseError) as info:
        client.chat().user("q").send()
    assert str(info.value) == f"{message} (after 1 attempt)"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            '{"type":"content_block_start","index":1,"content_block":{"text":"x"}}',
            "content_block_start.content_block.type is missing or null, expected a string",
        ),
        (
            '{"type":"content_block_delta","index":0,"delta":{"type":["text_delta"],"text":"x"}}',
            "content_block_delta.delta.type is an array, expected a string",
        ),
        (
            '{"type":"message_delta","delta":{"stop_reason":5},"usage":{"output_tokens":2}}',
            "message_delta.delta.stop_reason is a number, expected a string",
        ),
    ],
)
def test_stream_names_the_field_of_the_wrong_type_and_keeps_the_text(server, client, event, message):
    body = _events(
        MESSAGE_START,
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}',
        event,
    )
    server.add(_sse_reply(body, "whole"))
    with pytest.raises(StreamError) as info:
        with client.chat().user("q").stream() as stream:
            list(stream)
    assert str(info.value) == f"{message} (after 1 attempt)"
    assert info.value.partial.text == "Hello"


def test_an_event_nested_100000_levels_deep_is_a_stream_error(server, client):
    deep = "[" * 100_000 + "]" * 100_000
    server.add(_sse_reply(f'event: message_start\ndata: {{"message": {deep}}}\n\n', "whole"))
    with pytest.raises(StreamError) as info:
        list(client.chat().user("q").stream())
    assert str(info.value).startswith("stream event is nested too deeply to parse")


def test_unknown_block_types_are_skipped_and_kept_in_raw(server, client):
    content = (
        '[{"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"x"}},'
        '{"type":"web_search_tool_result","tool_use_id":"srvtoolu_01","content":[]},'
        '{"type":"text","text":"Found it."}]'
    )
    server.add(_json_reply(_message(content)))
    reply = client.chat().user("q").send()
    assert (reply.text, reply.tool_calls) == ("Found it.", ())
    assert [b["type"] for b in reply.raw["content"]] == ["server_tool_use", "web_search_tool_result", "text"]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_text_delta_stream_still_gives_exact_text(server, client, chunking):
    body = _events(
        MESSAGE_START,
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '{"type":"ping"}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße "}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"🌸"}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}',
        '{"type":"message_stop"}',
    )
    server.add(_sse_reply(body, chunking))
    with client.chat().user("q").stream() as stream:
        texts = [e.text for e in stream if isinstance(e, TextDelta)]
    assert texts == ["Grüße ", "🌸"]
    assert stream.response.usage.output_tokens == 6


def test_stream_and_send_read_the_request_id_from_the_same_headers(server, client):
    # A proxy adds x-request-id; Anthropic's own id is request-id. Both paths agree.
    message = _message('[{"type":"text","text":"Hi"}]')
    server.add(
        Reply(body=message.encode(), headers={"Content-Type": "application/json", "x-request-id": "p-1"})
    )
    body = _events(
        MESSAGE_START,
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_stop"}',
    )
    server.add(
        Reply(headers={"Content-Type": "text/event-stream", "x-request-id": "p-1"}, chunks=[body.encode()])
    )
    sent = client.chat().user("q").send()
    with client.chat().user("q").stream() as stream:
        streamed = stream.response
    assert streamed.request_id == sent.request_id == client.adapter.request_id({"x-request-id": "p-1"})
