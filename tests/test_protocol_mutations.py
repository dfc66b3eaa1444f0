"""Mutated payloads never let a bare Python error out of a protocol adapter.

Each test takes valid replies and stream chunks of one protocol, changes one field
anywhere inside them (type swapped, dropped, nulled, nested 100,000 levels deep) and
feeds the result to the adapter. Only two outcomes are allowed: a ``RelayError`` subclass,
or a ``ChatResponse`` whose every field has its declared type. The examples are bounded so
the suite stays fast; the shapes are the providers' documented ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay_lite import ChatResponse, RelayError, ToolCall, Usage
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import anthropic, modelrelay, openai

DEEP = 100_000

# -- valid samples --------------------------------------------------------------------------

OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hi",
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}

OPENAI_CHUNKS = [
    {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
    {
        "id": "c1",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": ""},
                        }
                    ]
                },
            }
        ],
    },
    {
        "id": "c1",
        "choices": [
            {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":1}'}}]}}
        ],
    },
    {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {"id": "c1", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
]

ANTHROPIC_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Hi"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 0},
}

ANTHROPIC_EVENTS = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [],
            "usage": {"input_tokens": 5, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'},
    },
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
]

MODELRELAY_REPLY = {
    "id": "resp_1",
    "content": ["Hel", "lo"],
    "stop_reason": "end_turn",
    "model": "gpt-4o-mini",
    "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}],
}

MODELRELAY_EVENTS = [
    ("message_start", {"type": "message_start", "response_id": "r1", "model": "m"}),
    ("message_delta", {"type": "message_delta", "delta": {"text": "Hi"}}),
    (
        "tool_use_start",
        {"type": "tool_use_start", "tool_call_delta": {"index": 0, "id": "c1", "function": {"name": "f"}}},
    ),
    (
        "tool_use_delta",
        {"type": "tool_use_delta", "tool_call_delta": {"index": 0, "function": {"arguments": '{"a":1}'}}},
    ),
    ("tool_use_stop", {"type": "tool_use_stop", "tool_call_delta": {"index": 0}}),
    (
        "message_stop",
        {"type": "message_stop", "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2}},
    ),
]

# -- the mutator ----------------------------------------------------------------------------


def _deep_list() -> Any:
    value: Any = []
    for _ in range(DEEP):
        value = [value]
    return value


REPLACEMENTS: list[Callable[[], Any]] = [
    lambda: None,
    lambda: 5,
    lambda: -1,
    lambda: 1.5,
    lambda: True,
    lambda: "x",
    lambda: "",
    lambda: [],
    lambda: ["x"],
    lambda: [5],
    lambda: {},
    lambda: {"type": "text"},
    _deep_list,
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _mutate(value: Any, path: tuple[Any, ...], action: str, replacement: Any) -> Any:
    if not path:
        return replacement
    value = copy.deepcopy(value)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "drop":
        del parent[last]
    else:
        parent[last] = replacement
    return value


@st.composite
def mutations(draw: Any, sample: Any) -> Any:
    path = draw(st.sampled_from(_paths(sample)))
    action = draw(st.sampled_from(["drop", "replace"])) if path else "replace"
    replacement = draw(st.sampled_from(REPLACEMENTS))()
    return _mutate(sample, path, action, replacement)


def _is_optional(value: Any, kind: type) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def _check_tool_call(call: Any) -> None:
    assert type(call) is ToolCall
    assert isinstance(call.id, str) and isinstance(call.name, str)
    assert isinstance(call.arguments_json, str)
    if call.arguments_error is None:
        assert isinstance(call.arguments, dict)
    else:
        assert isinstance(call.arguments_error, str)


def assert_well_typed(response: Any) -> None:
    """Every field of ``response`` has its declared type."""
    assert type(response) is ChatResponse
    assert isinstance(response.text, str)
    assert isinstance(response.thinking, str)
    assert isinstance(response.tool_calls, tuple)
    for call in response.tool_calls:
        _check_tool_call(call)
    for name in ("finish_reason", "raw_finish_reason", "model", "id", "refusal"):
        assert _is_optional(getattr(response, name), str), (name, getattr(response, name))
    assert type(response.usage) is Usage
    for name in Usage._fields:
        assert _is_optional(getattr(response.usage, name), int), (name, getattr(response.usage, name))
    for choice in response.all_choices:
        assert_well_typed(choice)


def _parse_or_relay_error(parse: Callable[[], Any]) -> Optional[Any]:
    try:
        return parse()
    except RelayError as exc:
        assert isinstance(str(exc), str)
        return None


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _event(data: Any, event: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event, json.dumps(data) if not isinstance(data, str) else data)


def _json_or_deep(value: Any) -> str:
    """JSON text of ``value``; a deeply nested list is written out by hand (json.dumps recurses)."""
    try:
        return json.dumps(value)
    except RecursionError:
        return "[" * DEEP + "]" * DEEP


def _run_stream(parser: Any, events: list[ServerSentEvent]) -> None:
    def feed_all() -> Any:
        for event in events:
            parser.feed(event)
        return parser.acc.response()

    response = _parse_or_relay_error(feed_all)
    if response is not None:
        assert_well_typed(response)
    else:  # what arrived before the error is still a well-typed partial reply
        assert_well_typed(parser.acc.response())


# -- OpenAI ---------------------------------------------------------------------------------


def test_valid_samples_parse_to_the_expected_values() -> None:
    reply = openai.parse_response(OPENAI_REPLY)
    assert (reply.text, reply.tool_calls[0].arguments, reply.usage.total_tokens) == (
        "Hi",
        {"city": "Paris"},
        12,
    )
    parser = openai.StreamParser()
    for chunk in OPENAI_CHUNKS:
        parser.feed(_event(chunk))
    streamed = parser.acc.response()
    assert (streamed.text, streamed.tool_calls[0].arguments, streamed.usage.total_tokens) == (
        "Hel",
        {"a": 1},
        3,
    )
    assert anthropic.parse_response(ANTHROPIC_REPLY).tool_calls[0].arguments == {"city": "Paris"}
    assert modelrelay.parse_response(MODELRELAY_REPLY).text == "Hello"


@FAST
@given(mutations(OPENAI_REPLY))
def test_openai_reply_mutations_raise_only_relay_errors(payload: Any) -> None:
    response = _parse_or_relay_error(lambda: openai.parse_response(payload))
    if response is not None:
        assert_well_typed(response)


@FAST
@given(st.integers(0, len(OPENAI_CHUNKS) - 1), st.data())
def test_openai_stream_chunk_mutations_raise_only_relay_errors(position: int, data: Any) -> None:
    mutated = data.draw(mutations(OPENAI_CHUNKS[position]))
    chunks = [_json_or_deep(c) for c in OPENAI_CHUNKS]
    chunks[position] = _json_or_deep(mutated)
    _run_stream(openai.StreamParser(), [ServerSentEvent("message", c) for c in chunks])


# -- Anthropic ------------------------------------------------------------------------------


@FAST
@given(mutations(ANTHROPIC_REPLY))
def test_anthropic_reply_mutations_raise_only_relay_errors(payload: Any) -> None:
    response = _parse_or_relay_error(lambda: anthropic.parse_response(payload))
    if response is not None:
        assert_well_typed(response)


@FAST
@given(st.integers(0, len(ANTHROPIC_EVENTS) - 1), st.data())
def test_anthropic_stream_event_mutations_raise_only_relay_errors(position: int, data: Any) -> None:
    mutated = data.draw(mutations(ANTHROPIC_EVENTS[position]))
    events = [_json_or_deep(e) for e in ANTHROPIC_EVENTS]
    events[position] = _json_or_deep(mutated)
    _run_stream(anthropic.StreamParser(), [ServerSentEvent("message", e) for e in events])


# -- ModelRelay -----------------------------------------------------------------------------


@FAST
@given(mutations(MODELRELAY_REPLY))
def test_modelrelay_reply_mutations_raise_only_relay_errors(payload: Any) -> None:
    response = _parse_or_relay_error(lambda: modelrelay.parse_response(payload))
    if response is not None:
        assert_well_typed(response)


@FAST
@given(st.integers(0, len(MODELRELAY_EVENTS) - 1), st.data())
def test_modelrelay_stream_event_mutations_raise_only_relay_errors(position: int, data: Any) -> None:
    name, payload = MODELRELAY_EVENTS[position]
    mutated = data.draw(mutations(payload))
    events = [ServerSentEvent(n, _json_or_deep(p)) for n, p in MODELRELAY_EVENTS]
    events[position] = ServerSentEvent(name, _json_or_deep(mutated))
    _run_stream(modelrelay.StreamParser(), events)


# -- deep nesting, named -----------------------------------------------------------------------


def test_a_reply_nested_100000_levels_deep_raises_a_relay_error_not_recursion_error() -> None:
    body = '{"choices": ' + "[" * DEEP + "]" * DEEP + "}"
    for parser in (openai.StreamParser(), anthropic.StreamParser(), modelrelay.StreamParser()):
        try:
            parser.feed(ServerSentEvent("message", body))
        except RelayError as exc:
            assert "nested too deeply" in str(exc)
        else:
            raise AssertionError(f"{type(parser).__module__} accepted a 100,000-deep body")
