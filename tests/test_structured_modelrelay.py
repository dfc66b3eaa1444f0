"""Structured streaming on ModelRelay: NDJSON records (``Accept: application/x-ndjson``).

Sans-I/O tests of ``StructuredRecordParser`` and the call builder, then real sockets
against ``FakeServer.modelrelay()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import pytest

import relay_lite
from relay_lite import (
    APIError,
    ConfigError,
    OverloadedError,
    RateLimitError,
    RetryPolicy,
    StreamError,
    StructuredOutputError,
    Usage,
)
from relay_lite._config import VERSION
from relay_lite._models import ChatParams, ChatResponse, Message
from relay_lite._structured import RecordStructuredStream, StructuredUpdate, TruncatedOutputError
from relay_lite.protocols.modelrelay import (
    StructuredRecord,
    StructuredRecordParser,
    build_request,
    build_structured_stream_request,
)
from relay_lite.testing import ChatScript, FakeServer, MockTransport, Reply


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


CLIENT = f"relay-lite/{VERSION}"
PERSON_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "Person",
        "schema": {
            "type": "object",
            "title": "Person",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
GOOD = '{"name": "John Doe", "age": 30}'
PROFILE_DOC = (
    '{"person": {"name": "Ann Lee", "age": 41}, "address": {"city": "Zürich", "zip": null}, '
    '"tags": ["a", "b"]}'
)
PROFILE_PAYLOAD = json.loads(PROFILE_DOC)
PROFILE = Profile(Person("Ann Lee", 41), Address("Zürich", None), ["a", "b"])
ALL_PROFILE_FIELDS = (
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
# PROFILE_DOC in 12-character pieces: the fields finished after each update record the
# fake server sends (it skips pieces that change nothing), then the completion's.
PROFILE_FIELD_STEPS = [
    (),  # '{"person": {'
    (),  # '"name": "Ann'
    ("person.name",),
    ("person.name", "person.age", "person"),
    ("person.name", "person.age", "person"),  # '"address": {' adds an empty object
    ALL_PROFILE_FIELDS[:4],
    ALL_PROFILE_FIELDS[:5],
    ALL_PROFILE_FIELDS[:6],
    ALL_PROFILE_FIELDS,
    ALL_PROFILE_FIELDS,  # the completion
]


def ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def ndjson_reply(*records: dict[str, Any], headers: Optional[dict[str, str]] = None) -> Reply:
    """A cleanly ended NDJSON stream, one record per chunk."""
    all_headers = {"Content-Type": "application/x-ndjson", "x-request-id": "req_raw"}
    all_headers.update(headers or {})
    return Reply(headers=all_headers, chunks=[ndjson(r) for r in records])


# -- sans-I/O: the request -------------------------------------------------------------------


def test_structured_stream_request_is_the_send_body_with_ndjson_accept() -> None:
    params = ChatParams(model="m", messages=(Message("user", "Hi"),), response_format=PERSON_FORMAT)
    call = build_structured_stream_request(params)
    plain = build_request(params, stream=False)
    assert (call.method, call.path) == ("POST", "/llm/proxy")
    assert call.body == plain.body
    assert call.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "response_format": PERSON_FORMAT,
    }
    assert call.headers == {"Accept": "application/x-ndjson", "X-ModelRelay-Client": CLIENT}


@pytest.mark.parametrize("response_format", [None, {"type": "text"}])
def test_structured_stream_request_needs_a_structured_response_format(
    response_format: Optional[dict[str, Any]],
) -> None:
    params = ChatParams(model="m", messages=(Message("user", "Hi"),), response_format=response_format)
    with pytest.raises(ConfigError, match="json_schema"):
        build_structured_stream_request(params)


# -- sans-I/O: the record parser -------------------------------------------------------------


def test_parser_reads_a_whole_stream() -> None:
    parser = StructuredRecordParser()
    start = {"type": "start", "request_id": "req-1", "provider": "anthropic", "model": "claude"}
    assert parser.feed(start) is None
    assert parser.feed({"type": "keepalive"}) is None
    first = parser.feed({"type": "update", "payload": {"title": "Hel"}, "complete_fields": []})
    assert first == StructuredRecord("update", {"title": "Hel"}, ())
    second = parser.feed({"type": "update", "payload": {"title": "Hello"}, "complete_fields": ["title"]})
    assert second == StructuredRecord("update", {"title": "Hello"}, ("title",))
    assert not parser.finished
    completion = {
        "type": "completion",
        "payload": {"title": "Hello", "body": "World"},
        "complete_fields": ["title", "body"],
        "usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8},
        "stop_reason": "end_turn",
    }
    last = parser.feed(completion)
    assert last == StructuredRecord("completion", {"title": "Hello", "body": "World"}, ("title", "body"))
    assert parser.finished
    assert parser.usage == Usage(3, 5, 8)
    assert (parser.raw_finish_reason, parser.model, parser.request_id) == ("end_turn", "claude", "req-1")
    response = parser.response('{"title": "Hello", "body": "World"}', attempts=2)
    assert response == ChatResponse(
        text='{"title": "Hello", "body": "World"}',
        finish_reason="stop",
        raw_finish_reason="end_turn",
        model="claude",
        usage=Usage(3, 5, 8),
        request_id="req-1",
        attempts=2,
    )
    assert response.raw is completion


def test_parser_types_are_trimmed_and_case_blind_and_unknown_ones_ignored() -> None:
    parser = StructuredRecordParser()
    assert parser.feed({"type": " Update ", "payload": {}}) == StructuredRecord("update", {}, ())
    assert parser.feed({"type": "progress", "percent": 50}) is None
    assert parser.feed({"type": "COMPLETION", "payload": {"a": 1}}) == StructuredRecord(
        "completion", {"a": 1}, ()
    )
    assert parser.usage == Usage()  # no usage sent


def test_parser_drops_blank_complete_fields() -> None:
    parser = StructuredRecordParser()
    record = {"type": "update", "payload": {"name": "x"}, "complete_fields": ["name", "", "  ", "other"]}
    assert parser.feed(record) == StructuredRecord("update", {"name": "x"}, ("name", "other"))


@pytest.mark.parametrize(
    ("record", "error_class", "status", "code"),
    [
        (
            {"type": "error", "code": "rate_limit", "message": "slow down", "status": 429},
            RateLimitError,
            429,
            "rate_limit",
        ),
        ({"type": "error", "code": "overloaded", "message": "busy"}, OverloadedError, None, "overloaded"),
        (
            {"type": "error", "error": {"code": "SERVICE_UNAVAILABLE", "message": "down", "status": 503}},
            relay_lite.ServerError,
            503,
            "SERVICE_UNAVAILABLE",
        ),
        # neither status nor known code: a server failure, as the SDKs assume
        ({"type": "error", "message": "something"}, relay_lite.ServerError, 500, None),
    ],
)
def test_parser_error_records_raise_the_mapped_error(
    record: dict[str, Any], error_class: type[APIError], status: Optional[int], code: Optional[str]
) -> None:
    parser = StructuredRecordParser()
    parser.feed({"type": "update", "payload": {"a": 1}})
    with pytest.raises(error_class) as caught:
        parser.feed(record)
    assert type(caught.value) is error_class
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize(
    ("records", "match"),
    [
        ([["not", "an", "object"]], "not a JSON object"),
        ([{"payload": {}}], "no type"),
        ([{"type": "update"}], "update record has no payload"),
        ([{"type": "completion", "payload": None}], "completion record has no payload"),
        ([{"type": "update", "payload": {}, "complete_fields": "a"}], "complete_fields is not a list"),
        ([{"type": "completion", "payload": {}}, {"type": "update", "payload": {}}], "after the completion"),
    ],
)
def test_parser_malformed_records_raise_stream_error(records: list[Any], match: str) -> None:
    parser = StructuredRecordParser()
    with pytest.raises(StreamError, match=match):
        for record in records:
            parser.feed(record)


# -- over sockets ----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer.modelrelay() as fake:
        yield fake


@pytest.fixture
def client(server: FakeServer) -> Iterator[relay_lite.Client]:
    with relay_lite.Client.modelrelay(
        api_key="mr_sk_test", base_url=server.url, model="m", retry=RetryPolicy(backoff=0.01)
    ) as c:
        yield c


def test_request_accept_header_and_body_are_exact(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD))
    updates = list(client.chat().user("John Doe is 30").structured(Person).stream())
    assert updates[-1].value == Person("John Doe", 30)
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "/llm/proxy")
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.headers["x-modelrelay-api-key"] == "mr_sk_test"
    assert request.headers["x-modelrelay-client"] == CLIENT
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert request.json() == {
        "model": "m",
        "messages": [{"role": "user", "content": "John Doe is 30"}],
        "response_format": PERSON_FORMAT,
    }


def test_updates_follow_the_records_and_the_last_is_validated(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=12, usage=Usage(8, 9, 17)))
    with client.chat().user("Ann").structured(Profile).stream() as updates:
        assert isinstance(updates, RecordStructuredStream)
        seen = list(updates)
    assert [u.complete_fields for u in seen] == PROFILE_FIELD_STEPS
    assert [u.done for u in seen] == [False] * (len(seen) - 1) + [True]
    assert all(u.value is None for u in seen[:-1])
    assert seen[0].partial == {"person": {}}
    assert seen[2].partial == {"person": {"name": "Ann Lee"}}
    assert seen[-2].partial == PROFILE_PAYLOAD
    assert seen[-1] == StructuredUpdate(PROFILE_PAYLOAD, ALL_PROFILE_FIELDS, True, PROFILE)
    # every update has its own snapshot of the payload
    assert len({id(u.partial) for u in seen}) == len(seen)
    result = updates.result
    assert result is not None
    assert result.value == PROFILE
    assert result.attempts == 1
    assert result.usage == Usage(8, 9, 17)
    assert result.raw_attempts == (json.dumps(PROFILE_PAYLOAD, ensure_ascii=False),)
    assert result.response.usage == Usage(8, 9, 17)
    assert result.response.finish_reason == "stop"
    assert result.response.model == "fake-model"
    assert result.response.request_id == "req_fake"
    assert updates.response is result.response


def test_records_split_across_chunks_at_any_byte(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=12, split_bytes=5))
    seen = list(client.chat().user("Ann").structured(Profile).stream())
    assert [u.complete_fields for u in seen] == PROFILE_FIELD_STEPS
    assert seen[-1].value == PROFILE


def test_fenced_reply_streams_from_the_first_brace(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=f"```json\n{GOOD}\n```", chunk_size=2))
    seen = list(client.chat().user("x").structured(Person).stream())
    assert seen[0].partial == {}
    assert seen[-1] == StructuredUpdate(
        {"name": "John Doe", "age": 30}, ("name", "age"), True, Person("John Doe", 30)
    )


def test_non_object_root_is_unwrapped(server: FakeServer, client: relay_lite.Client) -> None:
    doc = '{"value": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]}'
    server.add(ChatScript(text=doc, chunk_size=100))
    seen = list(client.chat().user("x").structured(list[Person]).stream())
    assert server.requests[0].json()["response_format"]["json_schema"]["schema"]["required"] == ["value"]
    assert seen[-1] == StructuredUpdate(
        [{"name": "A", "age": 1}, {"name": "B", "age": 2}],
        ("0.name", "0.age", "0", "1.name", "1.age", "1"),
        True,
        [Person("A", 1), Person("B", 2)],
    )


def test_error_record_raises_the_mapped_error_with_the_last_partial(
    server: FakeServer, client: relay_lite.Client
) -> None:
    error = {"code": "rate_limit", "message": "slow down", "status": 429}
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=12, error=error, error_after=3))
    seen: list[StructuredUpdate] = []
    with pytest.raises(RateLimitError) as caught:
        for update in client.chat().user("Ann").structured(Profile).stream():
            seen.append(update)
    assert len(seen) == 3
    assert caught.value.status == 429
    assert caught.value.message == "slow down"
    assert caught.value.request_id == "req_fake"
    assert caught.value.partial == {"person": {"name": "Ann Lee"}} == seen[-1].partial


def test_error_record_named_by_type_maps_to_overloaded(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD, error={"type": "overloaded_error", "message": "busy"}))
    with pytest.raises(OverloadedError) as caught:
        list(client.chat().user("x").structured(Person).stream())
    assert caught.value.partial is None  # no update came before it


def test_stream_ending_without_completion_is_a_stream_error_with_the_last_partial(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(
        ndjson_reply(
            {"type": "start"},
            {"type": "update", "payload": {"name": "Jo"}, "complete_fields": []},
            {"type": "update", "payload": {"name": "John"}, "complete_fields": ["name"]},
        )
    )
    stream = client.chat().user("x").structured(Person).stream()
    seen: list[StructuredUpdate] = []
    with pytest.raises(StreamError, match="without a completion or error") as caught:
        for update in stream:
            seen.append(update)
    assert [u.complete_fields for u in seen] == [(), ("name",)]
    assert caught.value.partial == {"name": "John"}
    with pytest.raises(StreamError):
        stream.response  # noqa: B018 - the same error again


def test_stream_cut_mid_way_is_a_stream_error_with_the_last_partial(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=12, cut_after=4))  # start + 3 updates
    seen: list[StructuredUpdate] = []
    with pytest.raises(StreamError) as caught:
        for update in client.chat().user("Ann").structured(Profile).stream():
            seen.append(update)
    assert len(seen) == 3
    assert caught.value.partial == {"person": {"name": "Ann Lee"}}


def test_reply_that_is_not_json_is_an_error_record(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text='{"name": "Jo" oops'))
    with pytest.raises(relay_lite.ServerError, match="not JSON") as caught:
        list(client.chat().user("x").structured(Person).stream())
    assert caught.value.status == 502
    assert caught.value.partial == {"name": "Jo"}


def test_completion_that_fails_validation_raises_without_re_asking(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text='{"name": "John Doe", "age": "30"}'), ChatScript(text=GOOD))
    stream = client.chat().user("x").structured(Person).stream()
    with pytest.raises(StructuredOutputError) as caught:
        list(stream)
    assert caught.value.raw_attempts == ['{"name": "John Doe", "age": "30"}']
    assert caught.value.attempt_errors == [['$.age: expected integer, got string "30"']]
    assert len(server.requests) == 1
    assert stream.result is None
    assert stream.response.text == '{"name": "John Doe", "age": "30"}'


def test_truncated_completion_raises(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD, finish_reason="length"))
    with pytest.raises(TruncatedOutputError):
        list(client.chat().user("x").structured(Person).stream())


def test_non_ndjson_content_type_is_a_stream_error(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(Reply.sse([b"event: message_start\ndata: {}\n\n"]))
    with pytest.raises(StreamError) as caught:
        list(client.chat().user("x").structured(Person).stream())
    assert str(caught.value) == (
        "structured stream answered with Content-Type text/event-stream, not application/x-ndjson: "
        "'event: message_start\\ndata: {}\\n\\n' (after 1 attempt)"
    )


def test_request_id_is_sent_and_reaches_the_result(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD))
    with client.chat().user("x").request_id("mine-1").structured(Person).stream() as updates:
        list(updates)
    assert server.requests[0].headers["x-modelrelay-chat-request-id"] == "mine-1"
    assert updates.result is not None
    assert updates.result.response.request_id == "mine-1"


def test_for_customer_sends_customer_header_and_no_model(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text=GOOD))
    updates = list(client.for_customer("cust-9").user("x").structured(Person).stream())
    assert updates[-1].value == Person("John Doe", 30)
    request = server.requests[0]
    assert request.headers["x-modelrelay-customer-id"] == "cust-9"
    assert "model" not in request.json()
    assert request.headers["accept"] == "application/x-ndjson"


def test_closing_early_releases_the_connection(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=PROFILE_DOC, chunk_size=2, chunk_delay=0.005), ChatScript(text=GOOD))
    with client.chat().user("x").structured(Profile).stream() as updates:
        first = next(updates)
    assert first.done is False
    assert list(updates) == []
    with pytest.raises(StreamError, match="closed before its completion"):
        updates.response  # noqa: B018
    assert client.chat().user("again").structured(Person).send().value == Person("John Doe", 30)


def test_connection_is_reused_after_a_completed_stream(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text=GOOD), ChatScript(text=GOOD))
    for _ in range(2):
        assert list(client.chat().user("x").structured(Person).stream())[-1].value == Person("John Doe", 30)
    assert len(server.requests) == 2


def test_tool_mode_keeps_the_sse_path(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(
        ChatScript(
            tool_calls=[
                relay_lite.ToolCall("call_1", "Person", {"name": "A", "age": 1}, '{"name": "A", "age": 1}')
            ]
        )
    )
    updates = list(client.chat().user("x").structured(Person, mode="tool").stream())
    assert updates[-1].value == Person("A", 1)
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_mock_transport_speaks_the_same_records() -> None:
    transport = MockTransport(protocol="modelrelay")
    transport.add(ChatScript(text=GOOD, chunk_size=100))
    client = relay_lite.Client.modelrelay(api_key="mr_sk_test", model="m", transport=transport)
    updates = list(client.chat().user("x").structured(Person).stream())
    assert updates == [
        StructuredUpdate({"name": "John Doe", "age": 30}, ("name", "age"), False),
        StructuredUpdate({"name": "John Doe", "age": 30}, ("name", "age"), True, Person("John Doe", 30)),
    ]
    assert transport.requests[0].headers["accept"] == "application/x-ndjson"


def test_json_error_answering_a_record_stream_is_mapped_by_modelrelay(
    server: FakeServer, client: relay_lite.Client
) -> None:
    # A gateway in front of ModelRelay answers the NDJSON request with a whole JSON error:
    # ModelRelay's own codes and request-id header apply, as for any of its errors.
    body = {"error": {"code": "RATE_LIMIT", "message": "slow down"}}
    server.add(Reply.json(body, headers={"X-ModelRelay-Chat-Request-Id": "req-rl-1"}))
    with pytest.raises(relay_lite.RateLimitError) as caught:
        list(client.chat().user("x").structured(Person).stream())
    assert (caught.value.code, caught.value.request_id, caught.value.message) == (
        "RATE_LIMIT",
        "req-rl-1",
        "slow down",
    )
