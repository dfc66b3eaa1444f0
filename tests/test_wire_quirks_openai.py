"""Real shapes from OpenAI-compatible servers that are not OpenAI's own, over real sockets.

Every body here is written by hand to reproduce what a provider sends, byte for byte, and
is served whole and one byte per chunk.
"""

from __future__ import annotations

import json

import pytest

from relay_lite import (
    ChatResponse,
    Client,
    ResponseError,
    RetryPolicy,
    StreamError,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsError,
    ToolCallDelta,
    Usage,
)
from relay_lite.testing import FakeServer, Reply

CHUNKINGS = ["whole", "bytewise"]


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def client(server):
    with Client.compatible(server.url, retry=RetryPolicy(max_retries=0), model="m") as c:
        yield c


def _json_reply(body: str) -> Reply:
    return Reply(body=body.encode(), headers={"Content-Type": "application/json"})


def _sse_reply(body: str, chunking: str) -> Reply:
    data = body.encode()
    chunks = [data] if chunking == "whole" else [data[i : i + 1] for i in range(len(data))]
    return Reply(headers={"Content-Type": "text/event-stream"}, chunks=chunks)


# -- content as a list of parts ----------------------------------------------------------------

# Mistral's Magistral models answer with content as a list of chunks: the reasoning in a
# "thinking" chunk whose own "thinking" is a list of text chunks, then the answer.
MISTRAL_REPLY = (
    '{"id":"0f2c","object":"chat.completion","created":1733000000,"model":"magistral-medium-2509",'
    '"choices":[{"index":0,"message":{"role":"assistant","tool_calls":null,"content":['
    '{"type":"thinking","thinking":[{"type":"text","text":"The user greets me. "},'
    '{"type":"text","text":"Answer in French."}]},'
    '{"type":"text","text":"Bonjour !"}]},"finish_reason":"stop"}],'
    '"usage":{"prompt_tokens":9,"total_tokens":40,"completion_tokens":31}}'
)

MISTRAL_STREAM = (
    'data: {"id":"a1","object":"chat.completion.chunk","created":1733000000,"model":"magistral-small-2509",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    'data: {"id":"a1","object":"chat.completion.chunk","created":1733000000,"model":"magistral-small-2509",'
    '"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text",'
    '"text":"Short answer."}]}]},"finish_reason":null}]}\n\n'
    'data: {"id":"a1","object":"chat.completion.chunk","created":1733000000,"model":"magistral-small-2509",'
    '"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Bon"}]},"finish_reason":null}]}\n\n'
    'data: {"id":"a1","object":"chat.completion.chunk","created":1733000000,"model":"magistral-small-2509",'
    '"choices":[{"index":0,"delta":{"content":"jour"},"finish_reason":"stop"}],'
    '"usage":{"prompt_tokens":9,"total_tokens":14,"completion_tokens":5}}\n\n'
    "data: [DONE]\n\n"
)


def test_mistral_content_parts_give_text_and_thinking_on_send(server, client):
    server.add(_json_reply(MISTRAL_REPLY))
    reply = client.chat().user("Salut").send()
    assert reply.text == "Bonjour !"
    assert reply.thinking == "The user greets me. Answer in French."
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(9, 31, 40)
    assert reply.raw["choices"][0]["message"]["content"][0]["type"] == "thinking"


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_mistral_content_parts_stream_as_text_and_thinking_deltas(server, client, chunking):
    server.add(_sse_reply(MISTRAL_STREAM, chunking))
    with client.chat().user("Salut").stream() as stream:
        events = [e for e in stream if isinstance(e, (TextDelta, ThinkingDelta))]
    assert events == [ThinkingDelta("Short answer."), TextDelta("Bon"), TextDelta("jour")]
    assert (stream.response.text, stream.response.thinking) == ("Bonjour", "Short answer.")
    assert stream.response.usage == Usage(9, 5, 14)


def test_unknown_content_parts_are_skipped_and_kept_in_raw(server, client):
    # OpenRouter passes provider-specific parts through (here a reference chunk).
    body = (
        '{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":['
        '{"type":"reference","reference_ids":[1,2]},{"type":"text","text":"See [1]."}]},'
        '"finish_reason":"stop"}]}'
    )
    server.add(_json_reply(body))
    reply = client.chat().user("q").send()
    assert reply.text == "See [1]."
    assert reply.raw["choices"][0]["message"]["content"][0] == {"type": "reference", "reference_ids": [1, 2]}


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_deepseek_reasoning_content_becomes_thinking(server, client, chunking):
    # DeepSeek (and vLLM's reasoning parsers) stream reasoning in its own delta field.
    body = (
        'data: {"id":"d","object":"chat.completion.chunk","model":"deepseek-reasoner","choices":[{"index":0,'
        '"delta":{"role":"assistant","content":null,"reasoning_content":"Think."},"finish_reason":null}]}\n\n'
        'data: {"id":"d","object":"chat.completion.chunk","model":"deepseek-reasoner","choices":[{"index":0,'
        '"delta":{"content":"Done.","reasoning_content":null},"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    server.add(_sse_reply(body, chunking))
    with client.chat().user("q").stream() as stream:
        events = [e for e in stream if isinstance(e, (TextDelta, ThinkingDelta))]
    assert events == [ThinkingDelta("Think."), TextDelta("Done.")]
    assert (stream.response.text, stream.response.thinking) == ("Done.", "Think.")


# -- several choices ---------------------------------------------------------------------------

N3_REPLY = (
    '{"id":"chatcmpl-n3","object":"chat.completion","model":"gpt-4o-mini","choices":['
    '{"index":1,"message":{"role":"assistant","content":"Two"},"finish_reason":"stop"},'
    '{"index":0,"message":{"role":"assistant","content":"One"},"finish_reason":"stop"},'
    '{"index":2,"message":{"role":"assistant","content":"Thr"},"finish_reason":"length"}],'
    '"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}'
)


def test_send_with_three_choices_keeps_every_choice_in_index_order(server, client):
    server.add(_json_reply(N3_REPLY))
    reply = client.chat().user("count").extra_body({"n": 3}).send()
    assert reply.text == "One"
    assert [c.text for c in reply.choices] == ["One", "Two", "Thr"]
    assert [c.finish_reason for c in reply.choices] == ["stop", "stop", "length"]
    assert all(c.usage == Usage(4, 6, 10) for c in reply.choices)


def test_a_single_choice_reply_is_its_own_only_choice(server, client):
    server.add(
        _json_reply('{"id":"x","choices":[{"index":0,"message":{"content":"Hi"},"finish_reason":"stop"}]}')
    )
    reply = client.chat().user("q").send()
    assert reply.choices == (reply,)


def _chunk(index: int, delta: dict[str, object], finish: object = None) -> str:
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [choice]}) + "\n\n"


def _call(index: int, arguments: str, call_id: object = None, name: object = None) -> dict[str, object]:
    call: dict[str, object] = {"index": 0, "function": {"arguments": arguments}}
    if call_id:
        call.update(id=call_id, type="function")
        call["function"] = {"name": name, "arguments": arguments}
    return {"tool_calls": [call]}


# OpenAI interleaves the choices of an n=3 stream, each choice's tool call at tool index 0.
N3_TOOL_STREAM = (
    _chunk(0, _call(0, "", "call_a", "weather"))
    + _chunk(1, _call(0, "", "call_b", "weather"))
    + _chunk(2, _call(0, "", "call_c", "weather"))
    + _chunk(0, _call(0, '{"city'))
    + _chunk(1, _call(0, '{"city'))
    + _chunk(2, _call(0, '{"city'))
    + _chunk(0, _call(0, '": "Paris"}'))
    + _chunk(1, _call(0, '": "Lyon"}'))
    + _chunk(2, _call(0, '": "Nice"}'))
    + _chunk(0, {}, "tool_calls")
    + _chunk(1, {}, "tool_calls")
    + _chunk(2, {}, "tool_calls")
    + 'data: {"id":"c","object":"chat.completion.chunk","choices":[],'
    '"usage":{"prompt_tokens":8,"completion_tokens":30,"total_tokens":38}}\n\n'
    "data: [DONE]\n\n"
)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_stream_with_three_choices_keeps_each_choices_tool_call_apart(server, client, chunking):
    server.add(_sse_reply(N3_TOOL_STREAM, chunking))
    with client.chat().user("weather").extra_body({"n": 3}).stream() as stream:
        fragments = [e for e in stream if isinstance(e, ToolCallDelta)]
    # Events describe choice 0 only; the others are on the response.
    assert [(f.id, f.arguments_delta) for f in fragments] == [
        ("call_a", ""),
        (None, '{"city'),
        (None, '": "Paris"}'),
    ]
    response = stream.response
    assert [c.tool_calls[0].arguments for c in response.choices] == [
        {"city": "Paris"},
        {"city": "Lyon"},
        {"city": "Nice"},
    ]
    assert [c.tool_calls[0].id for c in response.choices] == ["call_a", "call_b", "call_c"]
    assert response.tool_calls == response.choices[0].tool_calls
    assert [c.finish_reason for c in response.choices] == ["tool_calls"] * 3
    assert all(c.usage == Usage(8, 30, 38) for c in response.choices)


# -- tool arguments that are not a JSON object -------------------------------------------------


def _reply_with_arguments(arguments: str) -> Reply:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": arguments}}
        ],
    }
    body = {"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": "length"}]}
    return _json_reply(json.dumps(body))


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"city": "Par', "arguments are not valid JSON (Unterminated string starting at: line 1 column 10"),
        ("[1, 2]", "arguments are JSON an array, not an object"),
        ('"Paris"', "arguments are JSON a string, not an object"),
        ("null", "arguments are JSON null, not an object"),
    ],
)
def test_tool_arguments_that_are_not_an_object_are_never_handed_out(server, client, arguments, error):
    # A reply cut by max_tokens mid-arguments (finish_reason "length"), or a model's mistake.
    server.add(_reply_with_arguments(arguments))
    call = client.chat().user("q").send().tool_calls[0]
    assert call.arguments_json == arguments
    assert call.arguments_error is not None and call.arguments_error.startswith(error)
    with pytest.raises(ToolArgumentsError) as info:
        _ = call.arguments
    assert str(info.value).startswith(f"tool call 'weather' (id 'call_1'): {error}")
    assert isinstance(info.value, ValueError)
    assert "call_1" in repr(call)  # repr does not raise


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_streamed_arguments_cut_by_the_token_limit_are_flagged(server, client, chunking):
    body = (
        _chunk(0, _call(0, "", "call_1", "weather"))
        + _chunk(0, _call(0, '{"city": "Pa'))
        + _chunk(0, {}, "length")
        + "data: [DONE]\n\n"
    )
    server.add(_sse_reply(body, chunking))
    with client.chat().user("q").stream() as stream:
        response = stream.response
    call = response.tool_calls[0]
    assert (response.finish_reason, call.arguments_json) == ("length", '{"city": "Pa')
    assert call.arguments_error is not None
    with pytest.raises(ToolArgumentsError):
        _ = call.arguments


def test_a_reply_with_a_flagged_call_can_still_be_sent_back(server, client):
    # The conversation goes on (with a tool result saying the call was invalid).
    server.add(_reply_with_arguments("[1, 2]"))
    first = client.chat().user("q").send()
    server.add(
        _json_reply('{"id":"y","choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]}')
    )
    second = (
        client.chat().user("q").messages([first.message]).tool_result("call_1", "invalid arguments").send()
    )
    assert second.text == "ok"
    sent = server.requests[1].json()["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert sent == "[1, 2]"


# -- values of the wrong type are named, never passed through ----------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"id":"x","choices":{}}', "choices is an object, expected an array"),
        ('{"id":"x","choices":null}', "the reply has no choices (choices is missing or null)"),
        ('{"id":"x","choices":[]}', "the reply has no choices (choices is an array)"),
        (
            '{"id":"x","choices":[{"index":0,"message":{"content":5}}]}',
            "choices[0].message.content is a number, expected a string or an array of parts",
        ),
        (
            '{"id":"x","choices":[{"index":0,"message":{"content":"hi"}}],"usage":"x"}',
            "usage is a string, expected an object",
        ),
        (
            '{"id":"x","choices":[{"index":0,"message":{"content":"","tool_calls":{}}}]}',
            "choices[0].message.tool_calls is an object, expected an array",
        ),
        (
            '{"id":"x","choices":[{"index":0,"message":{"tool_calls":[{"id":"c","function":'
            '{"name":"f","arguments":5}}]}}]}',
            "choices[0].message.tool_calls[0].function.arguments is a number, expected a string",
        ),
        ('{"id":5,"choices":[{"index":0,"message":{"content":"hi"}}]}', "id is a number, expected a string"),
    ],
)
def test_send_names_the_field_of_the_wrong_type(server, client, body, message):
    server.add(_json_reply(body))
    with pytest.raises(ResponseError) as info:
        client.chat().user("q").send()
    assert str(info.value) == f"{message} (after 1 attempt)"


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ('{"choices":{}}', "chunk.choices is an object, expected an array"),
        ('{"choices":[{"index":0,"delta":[]}]}', "chunk.choices[0].delta is an array, expected an object"),
        (
            '{"choices":[{"index":0,"delta":{"content":5}}]}',
            "chunk.choices[0].delta.content is a number, expected a string or an array of parts",
        ),
        ('{"choices":[],"usage":"x"}', "chunk.usage is a string, expected an object"),
        (
            '{"choices":[{"index":0,"delta":{"tool_calls":{}}}]}',
            "chunk.choices[0].delta.tool_calls is an object, expected an array",
        ),
        (
            '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":5}}]}}]}',
            "chunk.choices[0].delta.tool_calls[0].function.arguments is a number, expected a string",
        ),
        ('{"choices":[{"index":true,"delta":{"content":"x"}}]}', "chunk.choices[0].index is a boolean"),
    ],
)
def test_stream_names_the_field_of_the_wrong_type_and_keeps_the_text_before(server, client, chunk, message):
    body = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n' + f"data: {chunk}\n\n"
    server.add(_sse_reply(body, "whole"))
    with pytest.raises(StreamError) as info:
        with client.chat().user("q").stream() as stream:
            list(stream)
    assert str(info.value).startswith(message)
    assert info.value.partial.text == "Hello"


def test_a_chunk_nested_100000_levels_deep_is_a_stream_error(server, client):
    deep = "[" * 100_000 + "]" * 100_000
    server.add(_sse_reply(f'data: {{"choices": {deep}}}\n\n', "whole"))
    with pytest.raises(StreamError) as info:
        list(client.chat().user("q").stream())
    assert str(info.value).startswith("stream chunk is nested too deeply to parse")


def test_send_result_fields_have_their_declared_types(server, client):
    server.add(_json_reply(MISTRAL_REPLY))
    reply = client.chat().user("q").send()
    assert type(reply) is ChatResponse
    assert (type(reply.text), type(reply.thinking), type(reply.model)) == (str, str, str)
