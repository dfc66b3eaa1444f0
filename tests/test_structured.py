"""Structured output over real sockets, against ``FakeServer.openai()`` and ``.anthropic()``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import pytest

import relay_lite
from relay_lite import BadRequestError, ConfigError, RetryPolicy, StructuredOutputError, ToolCall, Usage
from relay_lite._fake_chat import RENDERERS
from relay_lite._structured import (
    RefusalError,
    StructuredResult,
    StructuredUpdate,
    TruncatedOutputError,
)
from relay_lite.testing import ChatScript, FakeServer, Reply

needs_anthropic = pytest.mark.skipif(
    "anthropic" not in RENDERERS, reason="FakeServer does not speak the Anthropic protocol yet"
)


@dataclass
class Person:
    name: str
    age: int


@dataclass
class Address:
    city: str
    zip: Optional[str] = None


@dataclass
class Profile:
    person: Person
    address: Address
    tags: list[str]


PERSON_SCHEMA = {
    "type": "object",
    "title": "Person",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
GOOD = '{"name": "John Doe", "age": 30}'
BAD_AGE = '{"name": "John Doe", "age": "30"}'
AGE_FEEDBACK = (
    "Your reply did not match the required schema:\n"
    '- $.age: expected integer, got string "30"\n'
    "Reply again with only the corrected JSON."
)
PROFILE_DOC = (
    '{"person": {"name": "Ann Lee", "age": 41}, "address": {"city": "Zürich", "zip": null}, '
    '"tags": ["a", "b"]}'
)
PROFILE = Profile(Person("Ann Lee", 41), Address("Zürich", None), ["a", "b"])
PROFILE_FIELDS = (
    "person.name",
    "person.age",
    "person",
    "address.city",
    "address.zip",
    "address",
    "tags.0",
    "tags.1",
    "tags",
)


def tool_call(arguments: Any, name: str = "Person", id: str = "toolu_1") -> ToolCall:  # noqa: A002
    return ToolCall(id, name, arguments, json.dumps(arguments))


# -- OpenAI ----------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer.openai() as fake:
        yield fake


@pytest.fixture
def client(server: FakeServer) -> Iterator[relay_lite.Client]:
    with relay_lite.Client.openai(
        api_key="sk-test", base_url=server.url, model="gpt-test", retry=RetryPolicy(backoff=0.01)
    ) as c:
        yield c


def test_valid_first_reply_gives_the_value_in_one_attempt(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD, usage=Usage(10, 5, 15)))
    result = client.chat().user("John Doe is 30").structured(Person).send()
    assert isinstance(result, StructuredResult)
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1
    assert result.raw_attempts == (GOOD,)
    assert result.usage == Usage(10, 5, 15)
    assert result.response.text == GOOD
    assert len(server.requests) == 1


def test_openai_gets_the_exact_strict_response_format(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD))
    client.chat().user("John Doe is 30").structured(Person).send()
    assert server.requests[0].json() == {
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "John Doe is 30"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "Person", "schema": PERSON_SCHEMA, "strict": True},
        },
    }


def test_nested_type_uses_the_strict_dialect_and_accepts_null_for_defaults(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=PROFILE_DOC))
    result = client.chat().user("Ann").structured(Profile).send()
    assert result.value == PROFILE
    assert server.requests[0].json()["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "Profile",
            "strict": True,
            "schema": {
                "type": "object",
                "title": "Profile",
                "properties": {
                    "person": PERSON_SCHEMA,
                    "address": {
                        "type": "object",
                        "title": "Address",
                        "properties": {
                            "city": {"type": "string"},
                            "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        },
                        "required": ["city", "zip"],
                        "additionalProperties": False,
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["person", "address", "tags"],
                "additionalProperties": False,
            },
        },
    }


def test_type_strict_mode_cannot_express_falls_back_to_non_strict(
    server: FakeServer, client: relay_lite.Client
) -> None:
    @dataclass
    class Scores:
        by_name: dict[str, int]

    server.add(ChatScript(text='{"by_name": {"ann": 3}}'))
    result = client.chat().user("scores").structured(Scores).send()
    assert result.value == Scores({"ann": 3})
    spec = server.requests[0].json()["response_format"]["json_schema"]
    assert spec["strict"] is False
    assert spec["schema"]["properties"]["by_name"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    with pytest.raises(ConfigError, match="strict"):
        client.chat().user("scores").structured(Scores, strict=True)


def test_invalid_reply_is_re_asked_with_the_reply_and_the_exact_errors(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(
        ChatScript(text=BAD_AGE, usage=Usage(10, 5, 15)), ChatScript(text=GOOD, usage=Usage(20, 7, 27))
    )
    request = client.chat().system("Extract.").user("John Doe is 30")
    before = request.params
    result = request.structured(Person).send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 2
    assert result.raw_attempts == (BAD_AGE, GOOD)
    assert result.usage == Usage(30, 12, 42)
    assert result.response.text == GOOD
    assert len(server.requests) == 2
    second = server.requests[1].json()
    assert second["messages"] == [
        {"role": "system", "content": "Extract."},
        {"role": "user", "content": "John Doe is 30"},
        {"role": "assistant", "content": BAD_AGE},
        {"role": "user", "content": AGE_FEEDBACK},
    ]
    assert second["response_format"] == server.requests[0].json()["response_format"]
    # the caller's request is untouched and can be reused
    assert request.params is before
    assert len(request.params.messages) == 2
    assert request.params.response_format is None


def test_exhausted_attempts_raise_with_every_raw_attempt(
    server: FakeServer, client: relay_lite.Client
) -> None:
    first, second = "not json at all", '{"name": "John Doe"}'
    server.add(ChatScript(text=first), ChatScript(text=second), ChatScript(text=GOOD))
    with pytest.raises(StructuredOutputError) as caught:
        client.chat().user("John Doe is 30").structured(Person, max_retries=1).send()
    error = caught.value
    assert type(error) is StructuredOutputError
    assert error.raw_attempts == [first, second]
    assert error.attempt_errors == [
        ["$: reply is not valid JSON: Expecting value at line 1 column 1"],
        ['$: missing required field "age"'],
    ]
    assert [r.text for r in error.responses] == [first, second]
    assert error.attempts == 2
    assert "after 2 attempts" in str(error)
    assert len(server.requests) == 2  # the third script was never asked for


def test_max_retries_zero_asks_once(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=BAD_AGE))
    with pytest.raises(StructuredOutputError) as caught:
        client.chat().user("x").structured(Person, max_retries=0).send()
    assert caught.value.raw_attempts == [BAD_AGE]
    assert len(server.requests) == 1


def test_fenced_reply_is_accepted(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=f"```json\n{GOOD}\n```"))
    result = client.chat().user("x").structured(Person).send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1


def test_refusal_raises_at_once(server: FakeServer, client: relay_lite.Client) -> None:
    message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    payload = {
        "id": "c1",
        "model": "gpt-test",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    server.add(Reply.json(payload), ChatScript(text=GOOD))
    with pytest.raises(RefusalError) as caught:
        client.chat().user("x").structured(Person).send()
    assert "I can't help with that." in str(caught.value)
    assert caught.value.raw_attempts == [""]
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


def test_reply_cut_off_by_the_token_limit_raises_at_once(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text='{"name": "Jo', finish_reason="length"), ChatScript(text=GOOD))
    with pytest.raises(TruncatedOutputError) as caught:
        client.chat().user("x").max_tokens(5).structured(Person).send()
    assert isinstance(caught.value, StructuredOutputError)
    assert caught.value.raw_attempts == ['{"name": "Jo']
    assert len(server.requests) == 1


def test_truncation_after_a_re_ask_keeps_earlier_attempts(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=BAD_AGE), ChatScript(text='{"na', finish_reason="length"))
    with pytest.raises(TruncatedOutputError) as caught:
        client.chat().user("x").structured(Person).send()
    assert caught.value.raw_attempts == [BAD_AGE, '{"na']
    assert caught.value.attempt_errors[0] == ['$.age: expected integer, got string "30"']
    assert caught.value.attempts == 2


def test_api_error_is_not_re_asked(server: FakeServer, client: relay_lite.Client) -> None:
    error = {"error": {"message": "bad schema", "type": "invalid_request_error", "param": None, "code": None}}
    server.add(Reply.json(error, status=400), ChatScript(text=GOOD))
    with pytest.raises(BadRequestError):
        client.chat().user("x").structured(Person).send()
    assert len(server.requests) == 1


def test_list_root_is_wrapped_and_unwrapped(server: FakeServer, client: relay_lite.Client) -> None:
    bad = '{"value": [{"name": "A", "age": 1}, {"name": "B", "age": "2"}]}'
    good = '{"value": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]}'
    server.add(ChatScript(text=bad), ChatScript(text=good))
    result = client.chat().user("x").structured(list[Person]).send()
    assert result.value == [Person("A", 1), Person("B", 2)]
    spec = server.requests[0].json()["response_format"]["json_schema"]
    assert spec == {
        "name": "list_Person",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"value": {"type": "array", "items": PERSON_SCHEMA}},
            "required": ["value"],
            "additionalProperties": False,
        },
    }
    feedback = server.requests[1].json()["messages"][-1]["content"]
    assert '- $.value[1].age: expected integer, got string "2"' in feedback


def test_raw_schema_dict_validates_and_returns_the_data(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD))
    result = client.chat().user("x").structured(PERSON_SCHEMA, name="person_v2").send()
    assert result.value == {"name": "John Doe", "age": 30}
    spec = server.requests[0].json()["response_format"]["json_schema"]
    assert spec == {"name": "person_v2", "schema": PERSON_SCHEMA, "strict": True}


def test_json_mode_instructs_by_system_message(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD))
    result = client.chat().user("x").structured(Person, mode="json").send()
    assert result.value == Person("John Doe", 30)
    body = server.requests[0].json()
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][-1] == {
        "role": "system",
        "content": "Reply with only a JSON value, with no other text, that matches this JSON Schema:\n"
        + json.dumps(PERSON_SCHEMA),
    }


def test_tool_mode_on_openai_re_asks_with_a_tool_result(
    server: FakeServer, client: relay_lite.Client
) -> None:
    bad = tool_call({"name": "John Doe", "age": "30"}, id="call_1")
    server.add(
        ChatScript(tool_calls=[bad]), ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": 30})])
    )
    result = client.chat().user("x").structured(Person, mode="tool").send()
    assert result.value == Person("John Doe", 30)
    first, second = (r.json() for r in server.requests)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Person",
                "description": "Respond with the structured output",
                "parameters": PERSON_SCHEMA,
            },
        }
    ]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "Person", "arguments": bad.arguments_json},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "Your reply did not match the required schema:\n"
            '- $.age: expected integer, got string "30"\n'
            "Call the Person tool again with corrected input.",
        },
    ]


def test_bad_options_are_config_errors(client: relay_lite.Client) -> None:
    with pytest.raises(ConfigError, match="mode"):
        client.chat().user("x").structured(Person, mode="yaml")
    with pytest.raises(ConfigError, match="max_retries"):
        client.chat().user("x").structured(Person, max_retries=-1)


# -- OpenAI streaming ------------------------------------------------------------------------


def test_stream_yields_growing_complete_fields_and_a_validated_last_update(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=3, usage=Usage(8, 9, 17)))
    with client.chat().user("Ann").structured(Profile).stream() as updates:
        seen = [(u.complete_fields, u.done, u.value) for u in updates]
    *progress, last = seen
    assert len(progress) == len(range(0, len(PROFILE_DOC), 3))  # one update per non-empty delta
    assert all(not done and value is None for _, done, value in progress)
    fields = [f for f, _, _ in seen]
    assert all(a == b[: len(a)] for a, b in zip(fields, fields[1:]))  # only ever grows
    assert fields[-1] == PROFILE_FIELDS
    assert last == (PROFILE_FIELDS, True, PROFILE)
    assert updates.result is not None
    assert updates.result.value == PROFILE
    assert updates.result.usage == Usage(8, 9, 17)
    assert server.requests[0].json()["stream"] is True


def test_stream_partial_value_grows(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD, chunk_size=5))
    partials = [json.dumps(u.partial) for u in client.chat().user("x").structured(Person).stream()]
    assert partials[0] == "{}"  # '{"nam'
    assert '{"name": "John "}' in partials
    assert partials[-1] == json.dumps({"name": "John Doe", "age": 30})


def test_stream_of_a_fenced_reply(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=f"```json\n{GOOD}\n```", chunk_size=2))
    updates = list(client.chat().user("x").structured(Person).stream())
    assert updates[-1] == StructuredUpdate(
        {"name": "John Doe", "age": 30}, ("name", "age"), True, Person("John Doe", 30)
    )


def test_stream_that_fails_validation_raises_with_the_raw_text(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=BAD_AGE, chunk_size=4), ChatScript(text=GOOD))
    updates = client.chat().user("x").structured(Person).stream()
    with pytest.raises(StructuredOutputError) as caught:
        for _ in updates:
            pass
    assert caught.value.raw_attempts == [BAD_AGE]
    assert caught.value.attempt_errors == [['$.age: expected integer, got string "30"']]
    assert len(server.requests) == 1  # streaming never re-asks


def test_stream_cut_off_by_the_token_limit_raises(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text='{"name": "Jo', finish_reason="length"))
    with pytest.raises(TruncatedOutputError) as caught:
        list(client.chat().user("x").structured(Person).stream())
    assert caught.value.raw_attempts == ['{"name": "Jo']


def test_stream_closed_early_releases_the_connection(server: FakeServer, client: relay_lite.Client) -> None:
    # chunk_delay: the server is still writing when the client hangs up
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=2, chunk_delay=0.005), ChatScript(text=GOOD))
    with client.chat().user("x").structured(Profile).stream() as updates:
        first = next(updates)
    assert first.done is False
    pool = client.transport._direct.connection_from_url(server.url)
    assert pool.pool.qsize() == pool.pool.maxsize  # the slot is back in the pool
    assert client.chat().user("again").structured(Person).send().value == Person("John Doe", 30)


# -- Anthropic -------------------------------------------------------------------------------


@pytest.fixture
def anthropic_server() -> Iterator[FakeServer]:
    if "anthropic" not in RENDERERS:
        pytest.skip("FakeServer does not speak the Anthropic protocol yet")
    with FakeServer.anthropic() as fake:
        yield fake


@pytest.fixture
def anthropic(anthropic_server: FakeServer) -> Iterator[relay_lite.Client]:
    with relay_lite.Client.anthropic(
        api_key="test-key",
        base_url=anthropic_server.url,
        model="claude-test",
        retry=RetryPolicy(backoff=0.01),
    ) as c:
        yield c


@needs_anthropic
def test_anthropic_forces_a_tool_call_and_reads_its_input(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": 30})]))
    result = anthropic.chat().user("John Doe is 30").structured(Person).send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1
    assert result.raw_attempts == (GOOD,)
    body = anthropic_server.requests[0].json()
    assert body["tools"] == [
        {"name": "Person", "description": "Respond with the structured output", "input_schema": PERSON_SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "Person"}
    assert "response_format" not in body


@needs_anthropic
def test_anthropic_re_ask_sends_the_tool_use_and_a_tool_result(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(
        ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": "30"})], usage=Usage(10, 5)),
        ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": 30}, id="toolu_2")], usage=Usage(30, 6)),
    )
    request = anthropic.chat().user("John Doe is 30")
    result = request.structured(Person).send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 2
    assert result.raw_attempts == (BAD_AGE, GOOD)
    assert result.usage == Usage(input_tokens=40, output_tokens=11, total_tokens=51)
    assert anthropic_server.requests[1].json()["messages"] == [
        {"role": "user", "content": "John Doe is 30"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "Person",
                    "input": {"name": "John Doe", "age": "30"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "Your reply did not match the required schema:\n"
                    '- $.age: expected integer, got string "30"\n'
                    "Call the Person tool again with corrected input.",
                }
            ],
        },
    ]
    assert len(request.params.messages) == 1


@needs_anthropic
def test_anthropic_exhaustion_holds_every_raw_attempt(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(
        ChatScript(tool_calls=[tool_call({"name": "A"})]),
        ChatScript(tool_calls=[tool_call({"name": "A", "age": 1.5}, id="toolu_2")]),
    )
    with pytest.raises(StructuredOutputError) as caught:
        anthropic.chat().user("x").structured(Person, max_retries=1).send()
    assert caught.value.raw_attempts == ['{"name": "A"}', '{"name": "A", "age": 1.5}']
    assert caught.value.attempt_errors == [
        ['$: missing required field "age"'],
        ["$.age: expected integer, got number 1.5"],
    ]
    assert caught.value.attempts == 2


@needs_anthropic
def test_anthropic_text_instead_of_the_tool_is_re_asked(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(
        ChatScript(text="Sure!"), ChatScript(tool_calls=[tool_call({"name": "A", "age": 1})])
    )
    result = anthropic.chat().user("x").structured(Person).send()
    assert result.value == Person("A", 1)
    assert anthropic_server.requests[1].json()["messages"][1:] == [
        {"role": "assistant", "content": "Sure!"},
        {
            "role": "user",
            "content": "Your reply did not match the required schema:\n"
            "- $: the reply did not call the Person tool\n"
            "Call the Person tool again with corrected input.",
        },
    ]


@needs_anthropic
def test_anthropic_refusal_raises_at_once(anthropic_server: FakeServer, anthropic: relay_lite.Client) -> None:
    anthropic_server.add(ChatScript(text="I won't.", finish_reason="refusal"), ChatScript(text=GOOD))
    with pytest.raises(RefusalError) as caught:
        anthropic.chat().user("x").structured(Person).send()
    assert caught.value.raw_attempts == ["I won't."]
    assert len(anthropic_server.requests) == 1


@needs_anthropic
def test_anthropic_max_tokens_raises_truncated(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(ChatScript(tool_calls=[tool_call({"name": "A"})], finish_reason="length"))
    with pytest.raises(TruncatedOutputError) as caught:
        anthropic.chat().user("x").structured(Person).send()
    assert caught.value.raw_attempts == ['{"name": "A"}']
    assert len(anthropic_server.requests) == 1


@needs_anthropic
def test_anthropic_json_mode_uses_the_system_prompt(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(ChatScript(text=f"```json\n{GOOD}\n```"))
    result = anthropic.chat().system("Extract.").user("x").structured(Person, mode="json").send()
    assert result.value == Person("John Doe", 30)
    body = anthropic_server.requests[0].json()
    assert body["system"] == (
        "Extract.\n\nReply with only a JSON value, with no other text, that matches this JSON Schema:\n"
        + json.dumps(PERSON_SCHEMA)
    )
    assert "tools" not in body and "tool_choice" not in body


@needs_anthropic
def test_anthropic_rejects_json_schema_mode(anthropic: relay_lite.Client) -> None:
    with pytest.raises(ConfigError, match="json_schema"):
        anthropic.chat().user("x").structured(Person, mode="json_schema")


@needs_anthropic
def test_anthropic_stream_from_tool_argument_fragments(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    arguments = json.loads(PROFILE_DOC)
    call = ToolCall("toolu_9", "Profile", arguments, PROFILE_DOC)
    anthropic_server.add(ChatScript(tool_calls=[call], chunk_size=3))
    with anthropic.chat().user("Ann").structured(Profile).stream() as updates:
        seen = list(updates)
    *progress, last = seen
    assert len(progress) == len(range(0, len(PROFILE_DOC), 3))
    assert all(not u.done for u in progress)
    fields = [u.complete_fields for u in seen]
    assert all(a == b[: len(a)] for a, b in zip(fields, fields[1:]))
    assert last == StructuredUpdate(arguments, PROFILE_FIELDS, True, PROFILE)
    body = anthropic_server.requests[0].json()
    assert body["stream"] is True
    assert body["tool_choice"] == {"type": "tool", "name": "Profile"}


def test_tool_call_instead_of_json_is_named_and_answered_before_reasking(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(
        ChatScript(tool_calls=[tool_call({"q": "x"}, name="search", id="call_9")]),
        ChatScript(text='{"name": "Ann", "age": 3}'),
    )
    result = client.chat().user("x").tools([{"name": "search"}]).structured(Person).send()
    assert result.value == Person("Ann", 3)
    messages = server.requests[1].json()["messages"]
    assert messages[-3]["tool_calls"][0]["id"] == "call_9"
    assert messages[-2] == {
        "role": "tool",
        "content": "Not run: reply with the JSON instead.",
        "tool_call_id": "call_9",
    }
    assert "- $: the model called search instead of replying with JSON" in messages[-1]["content"]


def test_tool_mode_refuses_a_tool_name_already_taken(client: relay_lite.Client) -> None:
    request = client.chat().user("x").tools([{"name": "Person"}])
    with pytest.raises(ConfigError, match="already has a tool named 'Person'"):
        request.structured(Person, mode="tool")


def test_a_broken_reply_is_raised_not_reasked(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(Reply(chunks=[b'{"id": "x", "choices": ['], abort=True), ChatScript(text=GOOD))
    with pytest.raises(relay_lite.StreamError):
        client.chat().user("x").structured(Person, max_retries=2).send()
    assert len(server.requests) == 1


def test_structured_name_must_be_a_valid_api_name(client: relay_lite.Client) -> None:
    with pytest.raises(ConfigError, match="must match"):
        client.chat().user("x").structured(Person, name="my person!")


# -- StructuredStream.response: reads and validates like iteration, in either order ------------

GOOD_UPDATE = StructuredUpdate({"name": "John Doe", "age": 30}, ("name", "age"), True, Person("John Doe", 30))


def test_stream_response_first_validates_and_iteration_then_yields_the_last_update(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD, chunk_size=4, usage=Usage(3, 4, 7)))
    stream = client.chat().user("x").structured(Person).stream()
    response = stream.response
    assert response.text == GOOD
    assert response.finish_reason == "stop"
    assert response.usage == Usage(3, 4, 7)
    assert stream.result is not None
    assert stream.result.value == Person("John Doe", 30)
    assert stream.result.attempts == 1
    assert stream.result.response is response
    assert stream.result.usage == Usage(3, 4, 7)
    assert stream.result.raw_attempts == (GOOD,)
    assert list(stream) == [GOOD_UPDATE]  # no "ended without a response" StreamError
    assert list(stream) == []
    assert stream.response is response
    assert len(server.requests) == 1


def test_stream_response_in_the_middle_of_a_loop_ends_it_with_the_last_update(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD, chunk_size=4))  # 8 text deltas
    seen: list[StructuredUpdate] = []
    with client.chat().user("x").structured(Person).stream() as stream:
        for update in stream:
            seen.append(update)
            if len(seen) == 2:
                assert stream.response.text == GOOD
                assert stream.result is not None
    assert [u.done for u in seen] == [False, False, True]
    assert seen[-1] == GOOD_UPDATE
    assert len(server.requests) == 1


def test_stream_iterated_first_then_response_is_the_result_response(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD, chunk_size=4))
    stream = client.chat().user("x").structured(Person).stream()
    assert list(stream)[-1] == GOOD_UPDATE
    assert stream.result is not None
    assert stream.response is stream.result.response
    assert stream.response.text == GOOD


@pytest.mark.parametrize("response_first", [True, False], ids=["response-first", "iteration-first"])
def test_stream_invalid_reply_gives_the_response_and_iteration_raises_the_validation_error(
    server: FakeServer, client: relay_lite.Client, response_first: bool
) -> None:
    server.add(ChatScript(text=BAD_AGE, chunk_size=4), ChatScript(text=GOOD))
    stream = client.chat().user("x").structured(Person).stream()
    if response_first:
        assert stream.response.text == BAD_AGE
    with pytest.raises(StructuredOutputError) as caught:
        list(stream)
    assert type(caught.value) is StructuredOutputError
    assert caught.value.raw_attempts == [BAD_AGE]
    assert caught.value.attempt_errors == [['$.age: expected integer, got string "30"']]
    assert [r.text for r in caught.value.responses] == [BAD_AGE]
    assert list(stream) == []  # raised once, then the iterator is finished
    assert stream.result is None
    assert stream.response.text == BAD_AGE
    assert len(server.requests) == 1


@pytest.mark.parametrize("response_first", [True, False], ids=["response-first", "iteration-first"])
def test_stream_cut_midway_raises_the_same_stream_error_from_response_and_iteration(
    server: FakeServer, client: relay_lite.Client, response_first: bool
) -> None:
    # events: role chunk, then '{"na', 'me":', ' "Jo' -> the connection drops
    server.add(ChatScript(text=GOOD, chunk_size=4, cut_after=4))
    stream = client.chat().user("x").structured(Person).stream()
    if response_first:
        with pytest.raises(relay_lite.StreamError) as first:
            stream.response  # noqa: B018
        with pytest.raises(relay_lite.StreamError) as second:
            list(stream)
    else:
        with pytest.raises(relay_lite.StreamError) as first:
            list(stream)
        with pytest.raises(relay_lite.StreamError) as second:
            stream.response  # noqa: B018
    assert second.value is first.value
    assert first.value.partial.text == '{"name": "Jo'
    assert stream.result is None
    assert list(stream) == []


def test_stream_closed_early_then_response_says_so(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=2, chunk_delay=0.005), ChatScript(text=GOOD))
    with client.chat().user("x").structured(Profile).stream() as stream:
        assert next(stream).done is False
    with pytest.raises(relay_lite.StreamError, match="^structured stream was closed before its completion"):
        stream.response  # noqa: B018
    assert list(stream) == []
    assert stream.result is None


@needs_anthropic
def test_anthropic_stream_response_first_validates_the_tool_input(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(
        ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": 30})], chunk_size=5, usage=Usage(10, 5))
    )
    stream = anthropic.chat().user("John Doe is 30").structured(Person).stream()
    response = stream.response
    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_1", "Person", {"name": "John Doe", "age": 30})
    ]
    assert stream.result is not None
    assert stream.result.value == Person("John Doe", 30)
    assert stream.result.raw_attempts == (GOOD,)
    assert stream.result.usage == response.usage
    assert list(stream) == [GOOD_UPDATE]
    assert stream.response is response
    assert len(anthropic_server.requests) == 1


@needs_anthropic
def test_anthropic_stream_response_of_invalid_tool_input_then_iteration_raises(
    anthropic_server: FakeServer, anthropic: relay_lite.Client
) -> None:
    anthropic_server.add(ChatScript(tool_calls=[tool_call({"name": "John Doe", "age": "30"})], chunk_size=5))
    stream = anthropic.chat().user("x").structured(Person).stream()
    assert stream.response.tool_calls[0].arguments == {"name": "John Doe", "age": "30"}
    assert stream.result is None
    with pytest.raises(StructuredOutputError) as caught:
        list(stream)
    assert caught.value.raw_attempts == [BAD_AGE]
    assert caught.value.attempt_errors == [['$.age: expected integer, got string "30"']]
    assert len(anthropic_server.requests) == 1
