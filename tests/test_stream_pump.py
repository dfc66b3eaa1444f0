"""The stream pump (``relay_lite._stream.StreamPump``): its rules pinned once, then for each user.

First sans-I/O: the pump over a stand-in for relay_lite's own ``StreamResponse`` (chunks
in, a record of close/drain out; no urllib3 anywhere), the real ``SSEDecoder`` and a toy
parser whose stream ends at ``data: [END]`` (the shape of OpenAI's ``data: [DONE]``).
Then the same faults over real sockets (``FakeServer``) for the pump's three users: a
chat stream (OpenAI chat completions), an agent run (llmrix agent events) and
ModelRelay's structured record stream (NDJSON) -- each answer hand-written, sent whole
and one byte per chunk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pytest

import relay_lite
from relay_lite import APIError, Client, RetryPolicy, StreamError
from relay_lite._errors import REDACTED, RelayError, api_error
from relay_lite._sse import ServerSentEvent, SSEDecoder
from relay_lite._stream import StreamPump
from relay_lite.platform.agents import AgentClient, MessageChunk, RunSnapshot, RunStart
from relay_lite.testing import FakeServer, Reply

CHUNKINGS = ["whole", "bytewise"]
NO_RETRY = RetryPolicy(max_retries=0)


def chunks_of(body: bytes, chunking: str) -> list[bytes]:
    return [body] if chunking == "whole" else [body[i : i + 1] for i in range(len(body))]


# -- sans-I/O: the pump's rules, once ------------------------------------------------------


class Body:
    """Stands in for ``relay_lite._transport.StreamResponse``: hands out chunks, records
    whether it was closed (connection discarded) or drained (connection reused)."""

    def __init__(
        self,
        chunks: list[bytes],
        headers: Optional[dict[str, str]] = None,
        *,
        attempts: int = 1,
        status: int = 200,
    ) -> None:
        self._chunks = chunks
        self.headers = {"content-type": "text/event-stream", **(headers or {})}
        self.attempts = attempts
        self.status = status
        self.closed = False
        self.drained = False
        self.chunks_read = 0

    def iter_bytes(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if self.closed:
                return
            self.chunks_read += 1
            yield chunk

    def drain(self) -> None:
        self.drained = True
        self.closed = True

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class Said:
    text: str


class ToyParser:
    """``data: {"say": ...}`` events; ``data: [END]`` ends the stream; an ``error`` event
    is an APIError. ``payload["say"]`` is read unchecked, as a careless parser would."""

    def __init__(self) -> None:
        self.finished = False
        self.said: list[str] = []

    def feed(self, event: ServerSentEvent) -> list[Said]:
        if self.finished:
            raise StreamError("event after [END]")
        if event.data == "[END]":
            self.finished = True
            return []
        try:
            payload = json.loads(event.data)
        except ValueError:
            raise StreamError(f"not JSON: {event.data!r}") from None
        if event.event == "error":
            raise api_error(None, payload)
        self.said.append(payload["say"])
        return [Said(payload["say"])]

    def partial(self) -> str:
        return "".join(self.said)


def toy_pump(body: Body, **options: Any) -> StreamPump[ServerSentEvent, Said, str]:
    return StreamPump(
        body,  # type: ignore[arg-type]  # a stand-in for StreamResponse
        SSEDecoder(),
        ToyParser(),
        what="toy stream",
        ended_early="toy stream ended before [END]",
        malformed="malformed toy event",
        **options,
    )


def failure(pump: StreamPump[Any, Any, Any]) -> RelayError:
    with pytest.raises(RelayError) as caught:
        list(pump)
    return caught.value


TWO = b'data: {"say": "a"}\n\ndata: {"say": "b"}\n\n'


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_pump_stops_at_the_terminator_and_drains_without_parsing_what_follows(chunking: str) -> None:
    # Nothing after [END] is parsed: this stream's parser would refuse any event there.
    body = Body(chunks_of(TWO + b"data: [END]\n\n" + b'data: {"say": "late"}\n\n', chunking))
    pump = toy_pump(body)
    assert list(pump) == [Said("a"), Said("b")]
    assert (pump.done, pump.closed_early, pump.error, pump.partial) == (True, False, None, "ab")
    assert body.drained is True


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_pump_takes_a_terminator_without_its_blank_line_as_the_end(chunking: str) -> None:
    body = Body(chunks_of(TWO + b"data: [END]", chunking))
    pump = toy_pump(body)
    assert list(pump) == [Said("a"), Said("b")]
    assert (pump.done, body.drained) == (True, True)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_pump_keeps_a_last_event_without_its_blank_line_then_raises_for_the_terminator(chunking: str) -> None:
    body = Body(chunks_of(TWO + b'data: {"say": "c"}', chunking), attempts=2)
    pump = toy_pump(body)
    seen: list[Said] = []
    with pytest.raises(StreamError) as caught:
        for event in pump:
            seen.append(event)
    assert seen == [Said("a"), Said("b"), Said("c")]
    assert str(caught.value) == "toy stream ended before [END] (after 2 attempts)"
    assert (caught.value.partial, caught.value.attempts) == ("abc", 2)
    assert (body.closed, body.drained, pump.error) == (True, False, caught.value)


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_pump_names_a_last_event_cut_in_its_json(chunking: str) -> None:
    body = Body(chunks_of(TWO + b'data: {"say": "c', chunking))
    error = failure(toy_pump(body))
    assert type(error) is StreamError
    assert error.message == 'toy stream ended in the middle of an event: \'{"say": "c\''
    assert error.partial == "ab"
    assert body.closed is True


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_pump_says_the_stream_stopped_inside_an_event_that_gave_nothing(chunking: str) -> None:
    # An event line with no data line yet: nothing to hand to the parser.
    body = Body(chunks_of(TWO + b"event: more\n", chunking))
    error = failure(toy_pump(body))
    assert error.message == "toy stream ended before [END] (in the middle of an event)"
    assert error.partial == "ab"


def test_pump_turns_a_shape_the_parser_let_through_into_stream_error() -> None:
    body = Body([b'data: {"say": "a"}\n\ndata: {"shout": "b"}\n\n'])
    error = failure(toy_pump(body))
    assert type(error) is StreamError
    assert error.message == "malformed toy event: KeyError('say')"
    assert isinstance(error.__cause__, KeyError)
    assert (error.partial, body.closed) == ("a", True)


def test_pump_stamps_an_error_event_with_the_response_facts_and_scrubs_secrets() -> None:
    error_event = (
        b'event: error\ndata: {"error": {"message": "bad key sk-live-123", "type": "server_error"}}\n\n'
    )
    headers = {"x-request-id": "req_9", "x-ratelimit-remaining-requests": "7"}
    body = Body([TWO, error_event], headers, attempts=3)
    noted: list[RelayError] = []
    error = failure(toy_pump(body, secrets=lambda: ("sk-live-123",), on_error=noted.append))
    assert isinstance(error, APIError)
    assert error.message == f"bad key {REDACTED}"
    assert (error.partial, error.attempts, error.request_id) == ("ab", 3, "req_9")
    assert error.headers == body.headers
    assert error.rate_limits is not None and error.rate_limits.requests_remaining == 7
    assert noted == [error]
    assert body.closed is True


def test_pump_stamp_finishes_the_partial_everywhere() -> None:
    body = Body([TWO])
    pump = toy_pump(body, stamp=str.upper)
    error = failure(pump)
    assert (error.partial, pump.partial) == ("AB", "AB")


def test_pump_closed_early_releases_the_connection_without_draining() -> None:
    body = Body(chunks_of(TWO + b"data: [END]\n\n", "bytewise"))
    pump = toy_pump(body)
    for event in pump:
        assert event == Said("a")
        break
    pump.close()
    assert (pump.closed_early, pump.done, body.closed, body.drained) == (True, False, True, False)
    assert list(pump) == []  # the stream is over


def test_pump_closed_before_reading_is_closed_early() -> None:
    body = Body([TWO])
    pump = toy_pump(body)
    pump.close()
    assert (pump.closed_early, body.closed, body.chunks_read) == (True, True, 0)


def test_pump_may_end_accepts_an_end_without_terminator_and_is_told_whether_it_was_cut() -> None:
    asked: list[bool] = []

    def may_end(cut: bool) -> bool:
        asked.append(cut)
        return True

    body = Body([TWO])
    pump = toy_pump(body, may_end=may_end)
    assert list(pump) == [Said("a"), Said("b")]
    assert (asked, pump.done, body.drained) == ([False], True, True)
    cut_body = Body([TWO + b"event: more\n"])
    cut_pump = toy_pump(cut_body, may_end=lambda cut: asked.append(cut) or not cut)
    with pytest.raises(StreamError, match=r"^toy stream ended before \[END\] \(in the middle of an event\)"):
        list(cut_pump)
    assert asked == [False, True]


def test_pump_refuses_an_html_body_naming_its_type_and_quoting_it() -> None:
    # What a gateway's error page looks like when it answers the streaming request.
    body = Body(
        [b"<html><body>502 Bad Gateway</body></html>\r\n"], {"content-type": "text/html; charset=utf-8"}
    )
    error = failure(toy_pump(body))
    assert error.message == (
        "toy stream answered with Content-Type text/html, not text/event-stream: "
        "'<html><body>502 Bad Gateway</body></html>\\r\\n'"
    )
    assert (error.partial, body.closed) == ("", True)


def test_pump_decodes_a_mislabelled_stream_whose_start_is_sse() -> None:
    body = Body(chunks_of(TWO + b"data: [END]\n\n", "bytewise"), {"content-type": "text/plain"})
    assert list(toy_pump(body)) == [Said("a"), Said("b")]


def test_pump_hands_a_whole_json_body_to_whole_and_refuses_it_without() -> None:
    payload = b'{"say": "all at once"}'
    body = Body([payload], {"content-type": "application/json"})
    pump = toy_pump(body, whole=lambda data: [Said(data["say"])])  # type: ignore[index]
    assert list(pump) == [Said("all at once")]
    assert (pump.done, body.closed) == (True, True)
    refused = Body([payload], {"content-type": "application/json"})
    error = failure(toy_pump(refused))
    assert error.message == (
        "toy stream answered with Content-Type application/json, not text/event-stream: "
        '\'{"say": "all at once"}\''
    )


def test_pump_whole_handler_errors_get_the_same_stamping() -> None:
    body = Body([b'{"error": {"message": "no"}}'], {"content-type": "application/json", "x-request-id": "r1"})

    def whole(data: object) -> list[Said]:
        raise api_error(None, data)  # type: ignore[arg-type]

    error = failure(toy_pump(body, whole=whole))
    assert isinstance(error, APIError)
    assert (error.message, error.request_id, error.partial, body.closed) == ("no", "r1", "", True)


# -- each user gets the rules: chat, agent run, structured record stream -------------------

# OpenAI chat completions chunks (api.openai.com sends exactly this framing: one data line
# per event, a blank line after each, ``data: [DONE]`` last).
CHAT_HEAD = (
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
    b'"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
)
CHAT_END = b"data: [DONE]"
CHAT_CUT = b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"ind'

# llmrix agent events (the SDK's servers name each event's channel and repeat it in JSON).
RUN_HEAD = (
    b'event: lifecycle\ndata: {"channel":"lifecycle","type":"run_start","run_id":"r1","thread_id":"c1"}\n\n'
    b'event: messages\ndata: {"channel":"messages","type":"message_chunk","content":"Hello","id":"m1"}\n\n'
)
RUN_END = b'event: lifecycle\ndata: {"channel":"lifecycle","type":"run_end","run_id":"r1"}'
RUN_CUT = b'event: lifecycle\ndata: {"channel":"lifecycle","ty'

# ModelRelay's structured NDJSON records (start, updates, completion), LF-terminated.
RECORDS_HEAD = (
    b'{"type":"start","request_id":"req_s","model":"m"}\n'
    b'{"type":"update","payload":{"name":"Jo"},"complete_fields":[]}\n'
    b'{"type":"update","payload":{"name":"John","age":30},"complete_fields":["name","age"]}\n'
)
RECORDS_END = b'{"type":"completion","payload":{"name":"John","age":30},"complete_fields":["name","age"]}'
RECORDS_CUT = b'{"type":"update","payload":{"na'


@dataclass
class Person:
    name: str
    age: int


@dataclass
class User:
    """One of the pump's users, with its wire shapes and what it says about them."""

    name: str
    content_type: str
    head: bytes
    end: bytes
    cut: bytes
    partial: Any  # what errors carry after ``head`` (seen through ``view``)
    ended_early: str
    cut_message: str
    open: Callable[[FakeServer], Any]  # starts the stream; returns the streaming object
    what: str  # how messages name the stream
    framing: str
    view: Callable[[Any], Any] = lambda partial: partial


KEY = "sk-pump-0123456789"


def open_chat(server: FakeServer) -> Any:
    client = Client.compatible(server.url, api_key=KEY, retry=NO_RETRY, model="m", env={})
    return client.chat().user("hi").stream()


def open_run(server: FakeServer) -> Any:
    return AgentClient(server.url, api_key=KEY, retry=NO_RETRY, env={}).chat("c1").send("hi")


def open_records(server: FakeServer) -> Any:
    client = relay_lite.Client.modelrelay(api_key=KEY, base_url=server.url, model="m", retry=NO_RETRY)
    return client.chat().user("hi").structured(Person).stream()


USERS = [
    User(
        "chat",
        "text/event-stream",
        CHAT_HEAD,
        CHAT_END,
        CHAT_CUT,
        "Hello",
        "stream ended before its terminator",
        "stream ended in the middle of an event: "
        '\'{"id":"c1","object":"chat.completion.chunk","choices":[{"ind\'',
        open_chat,
        "stream",
        "text/event-stream",
        lambda partial: partial.text,  # a ChatResponse
    ),
    User(
        "agent run",
        "text/event-stream",
        RUN_HEAD,
        RUN_END,
        RUN_CUT,
        RunSnapshot("Hello", (), "r1"),
        "agent run ended before run_end, error or cancelled",
        'agent run ended in the middle of an event: \'{"channel":"lifecycle","ty\'',
        open_run,
        "agent run",
        "text/event-stream",
    ),
    User(
        "structured stream",
        "application/x-ndjson",
        RECORDS_HEAD,
        RECORDS_END,
        RECORDS_CUT,
        {"name": "John", "age": 30},
        "structured stream ended without a completion or error record",
        # NDJSON's close() reads a last line without its newline itself, so the decoder names it.
        "invalid JSON line in NDJSON stream (Unterminated string starting at: line 1 column 29 (char 28)): "
        '{"type":"update","payload":{"na',
        open_records,
        "structured stream",
        "application/x-ndjson",
    ),
]
IDS = [user.name for user in USERS]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def answer(server: FakeServer, user: User, body: bytes, chunking: str) -> None:
    server.add(Reply(headers={"Content-Type": user.content_type}, chunks=chunks_of(body, chunking)))


def items(stream: Any) -> list[Any]:
    return list(stream)


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_ends_cleanly_at_a_terminator_without_its_blank_line(
    server: FakeServer, user: User, chunking: str
) -> None:
    answer(server, user, user.head + user.end, chunking)
    with user.open(server) as stream:
        seen = items(stream)
    assert seen  # events arrived
    assert stream._pump.done is True
    assert stream._pump.http.closed is True  # drained: released to the pool


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_raises_for_a_missing_terminator_with_the_partial(
    server: FakeServer, user: User, chunking: str
) -> None:
    answer(server, user, user.head, chunking)
    stream = user.open(server)
    with pytest.raises(StreamError) as caught:
        items(stream)
    assert str(caught.value) == user.ended_early + " (after 1 attempt)"
    assert user.view(caught.value.partial) == user.partial
    stream.close()


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_raises_for_a_stream_cut_mid_event_with_the_partial(
    server: FakeServer, user: User, chunking: str
) -> None:
    answer(server, user, user.head + user.cut, chunking)
    stream = user.open(server)
    with pytest.raises(StreamError) as caught:
        items(stream)
    assert caught.value.message == user.cut_message
    assert user.view(caught.value.partial) == user.partial
    assert stream._pump.http.closed is True


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_closed_early_releases_the_connection(server: FakeServer, user: User) -> None:
    server.add(
        Reply(headers={"Content-Type": user.content_type}, chunks=chunks_of(user.head + user.end, "bytewise"))
    )
    with user.open(server) as stream:
        next(iter(stream))
    assert (stream._pump.closed_early, stream._pump.done, stream._pump.http.closed) == (True, False, True)


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_names_an_html_answer_and_quotes_it(server: FakeServer, user: User) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head></html>"
    server.add(Reply(headers={"Content-Type": "text/html"}, body=page))
    with pytest.raises(StreamError) as caught:
        items(user.open(server))
    assert caught.value.message == (
        f"{user.what} answered with Content-Type text/html, not {user.framing}: "
        "'<html><head><title>502 Bad Gateway</title></head></html>'"
    )


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_raises_a_json_error_body_as_its_api_error_scrubbed_of_the_key(
    server: FakeServer, user: User
) -> None:
    # The OpenAI error envelope, as gateways return it with 200 to a streaming request,
    # echoing the key the way OpenAI's invalid_api_key message does.
    error = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}
    server.add(Reply.json(error, headers={"x-request-id": "req_e"}))
    with pytest.raises(APIError) as caught:
        items(user.open(server))
    assert caught.value.request_id == "req_e"
    assert caught.value.message == f"Incorrect API key provided: {REDACTED}"
    assert caught.value.headers["x-request-id"] == "req_e"


def test_agent_run_keeps_the_pump_rules_and_its_own_event_types(server: FakeServer) -> None:
    answer(server, USERS[1], RUN_HEAD + RUN_END, "whole")
    with open_run(server) as run:
        assert items(run)[:2] == [RunStart("r1", "c1"), MessageChunk("Hello", "m1")]
    assert (run.finished, run.paused, run.text, run.request_id) == (True, False, "Hello", None)


def test_record_stream_refuses_json_that_is_not_an_error(server: FakeServer) -> None:
    server.add(Reply.json({"name": "John", "age": 30}))
    with pytest.raises(StreamError) as caught:
        items(open_records(server))
    assert caught.value.message == (
        'structured stream answered with a JSON body, not an NDJSON stream: \'{"name": "John", "age": 30}\''
    )


@pytest.mark.parametrize("user", USERS, ids=IDS)
def test_each_user_scrubs_the_key_from_a_stream_error_quoting_an_event(
    server: FakeServer, user: User
) -> None:
    # A broken last line that echoes the key (a proxy's debug output, say).
    prefix = b"" if user.name == "structured stream" else b"data: "
    answer(server, user, user.head + prefix + b'{"echo": "' + KEY.encode() + b'"', "whole")
    with pytest.raises(StreamError) as caught:
        items(user.open(server))
    assert KEY not in str(caught.value)
    assert REDACTED in caught.value.message
