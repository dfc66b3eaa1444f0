"""Fault injection: raw-socket servers that misbehave on purpose, for every protocol.

Each case pins four things: the exact error class, a message naming the cause, the
partial reply kept where text had arrived, and the client still usable afterwards with no
socket of it left open after ``close()``. The server's last script always answers
correctly, so "usable afterwards" is one more call on the same client.

Stream bodies are written by hand in each provider's wire shape (cited per protocol in
``WIRES``); the text is always "Hello" then " world".
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Iterator, Optional

import pytest
from faultserver import NO_RETRY, Peer, RawServer, client_sockets_to, http_head, json_reply

import relay_lite
from relay_lite import (
    APIError,
    ConnectError,
    DeadlineExceeded,
    RateLimitError,
    ReadTimeout,
    RetryPolicy,
    StreamError,
    Timeouts,
)
from relay_lite._transport import parse_retry_after

QUICK = Timeouts(connect=2, read=0.5)
API_KEY = "sk-fault-test-key-0123456789"


# -- the three wire protocols ---------------------------------------------------------------


@dataclass
class Wire:
    """One protocol's client and hand-written stream: events up to and including "Hello",
    the rest (" world" and the terminator), a heartbeat, and a whole JSON reply."""

    provider: str
    base_path: str
    head: list[bytes]
    tail: list[bytes]
    heartbeat: bytes
    reply: dict

    def client(self, server: RawServer, timeouts: Timeouts = QUICK, retry: RetryPolicy = NO_RETRY):
        return relay_lite.Client(
            self.provider,
            api_key=API_KEY,
            base_url=server.url + self.base_path,
            model="m",
            timeouts=timeouts,
            retry=retry,
        )

    @property
    def body(self) -> bytes:
        return b"".join(self.head + self.tail)


def openai_chunk(delta: dict, finish: Optional[str] = None) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def named(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


WIRES = {
    # OpenAI chat completions (also what OpenRouter sends, with its ": OPENROUTER
    # PROCESSING" comment lines as heartbeats); the stream ends with "data: [DONE]".
    "openai": Wire(
        "compatible",
        "/v1",
        head=[openai_chunk({"role": "assistant", "content": ""}), openai_chunk({"content": "Hello"})],
        tail=[openai_chunk({"content": " world"}), openai_chunk({}, "stop"), b"data: [DONE]\n\n"],
        heartbeat=b": OPENROUTER PROCESSING\n\n",
        reply={
            "id": "chatcmpl-2",
            "object": "chat.completion",
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "again"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        },
    ),
    # Anthropic Messages: named events, "ping" as heartbeat, ends with message_stop.
    "anthropic": Wire(
        "anthropic",
        "",
        head=[
            named(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": "m",
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 3, "output_tokens": 1},
                    },
                },
            ),
            named(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            named(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
            ),
        ],
        tail=[
            named(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": " world"},
                },
            ),
            named("content_block_stop", {"type": "content_block_stop", "index": 0}),
            named(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 2},
                },
            ),
            named("message_stop", {"type": "message_stop"}),
        ],
        heartbeat=b'event: ping\ndata: {"type": "ping"}\n\n',
        reply={
            "id": "msg_2",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [{"type": "text", "text": "again"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        },
    ),
    # ModelRelay /llm/proxy: keepalive events as heartbeats, ends with message_stop.
    "modelrelay": Wire(
        "modelrelay",
        "/api/v1",
        head=[
            named("message_start", {"type": "message_start", "response_id": "resp_1", "model": "m"}),
            named("message_delta", {"type": "message_delta", "delta": "Hello", "response_id": "resp_1"}),
        ],
        tail=[
            named("message_delta", {"type": "message_delta", "delta": " world", "response_id": "resp_1"}),
            named(
                "message_stop",
                {
                    "type": "message_stop",
                    "response_id": "resp_1",
                    "model": "m",
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
                },
            ),
        ],
        heartbeat=b"event: keepalive\ndata: {}\n\n",
        reply={
            "id": "resp_2",
            "content": ["again"],
            "stop_reason": "end_turn",
            "model": "m",
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
        },
    ),
}

each_protocol = pytest.mark.parametrize("wire", list(WIRES.values()), ids=list(WIRES))

SSE_HEAD = http_head(200, "OK", {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def chunked(events: list[bytes], end: bool = True) -> bytes:
    return b"".join(chunk(e) for e in events) + (b"0\r\n\r\n" if end else b"")


def answers(wire: Wire) -> Callable[[Peer], None]:
    """A correct server: every request on the connection gets the whole JSON reply."""

    def script(peer: Peer) -> None:
        while peer.read_request() is not None:
            peer.send(json_reply(json.dumps(wire.reply).encode()))

    return script


@contextmanager
def faulty(wire: Wire, fault: Callable[[Peer], None], **client_options) -> Iterator[tuple]:
    """Serve ``fault`` on the first connection and correct answers after it; on exit
    check that the client still works and that close() leaves no socket open."""
    with RawServer([fault, answers(wire)]) as server:
        client = wire.client(server, **client_options)
        yield server, client
        assert client.chat().user("again?").send().text == "again"
        client.close()
        assert client_sockets_to(server.port) == 0
        assert server.wait_until_all_closed()


def stream_text(client) -> str:
    return "".join(client.chat().user("hi").stream().text())


def after_request(then: Callable[[Peer], None]) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        peer.read_request()
        then(peer)

    return script


# -- the happy path the faults are measured against ------------------------------------------


@each_protocol
def test_hand_written_stream_reads_whole_and_one_byte_per_chunk(wire: Wire):
    whole = after_request(lambda peer: peer.send(SSE_HEAD + chunked(wire.head + wire.tail)))
    bytewise = after_request(lambda peer: peer.send(SSE_HEAD + chunked([bytes([b]) for b in wire.body])))
    for fault in (whole, bytewise):
        with faulty(wire, fault) as (_, client):
            assert stream_text(client) == "Hello world"


# -- connection faults ----------------------------------------------------------------------


def test_connection_refused_is_a_connect_error_after_every_attempt():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = relay_lite.Client.compatible(
        f"http://127.0.0.1:{port}/v1", timeouts=QUICK, retry=RetryPolicy(max_retries=1, backoff=0.01)
    )
    with pytest.raises(ConnectError) as info:
        client.chat("m").user("hi").send()
    assert type(info.value) is ConnectError
    assert info.value.message.startswith(f"could not connect to 127.0.0.1:{port}: ")
    assert "refused" in info.value.message.lower()
    assert info.value.attempts == 2
    client.close()
    assert client_sockets_to(port) == 0


@each_protocol
def test_reset_before_the_status_line_is_a_connect_error_without_retries(wire: Wire):
    with faulty(wire, after_request(Peer.reset)) as (server, client):
        with pytest.raises(ConnectError) as info:
            stream_text(client)
    assert type(info.value) is ConnectError
    assert info.value.message.startswith(f"connection to 127.0.0.1:{server.port} dropped before a response: ")
    assert info.value.attempts == 1


@each_protocol
def test_reset_before_the_status_line_is_retried_on_a_fresh_connection(wire: Wire):
    fault = after_request(Peer.reset)
    with RawServer([fault, answers(wire)]) as server:
        client = wire.client(server, retry=RetryPolicy(max_retries=1, backoff=0.01))
        reply = client.chat().user("hi").send()
        client.close()
        assert client_sockets_to(server.port) == 0
    assert (reply.text, reply.attempts, server.accepted) == ("again", 2, 2)


@each_protocol
def test_reset_after_the_headers_is_a_stream_error_with_an_empty_partial(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD)
        peer.sleep(0.05)
        peer.reset()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert type(info.value) is StreamError
    assert info.value.message.startswith("connection broke while reading the response: ")
    assert "ConnectionResetError" in info.value.message
    assert info.value.text == ""


@each_protocol
def test_reset_mid_stream_keeps_the_text_that_arrived(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))
        peer.sleep(0.05)
        peer.reset()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message.startswith("connection broke while reading the response: ")
    assert info.value.text == "Hello"
    assert info.value.partial.text == "Hello"


@each_protocol
def test_chunked_body_cut_inside_a_chunk_keeps_the_text_that_arrived(wire: Wire):
    def fault(peer: Peer) -> None:
        # the chunk announces 0x100 bytes, 10 arrive, then a clean FIN
        peer.send(SSE_HEAD + chunked(wire.head, end=False) + b"100\r\n" + wire.tail[0][:10])
        peer.close()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message.startswith("connection broke while reading the response: IncompleteRead(")
    assert info.value.text == "Hello"


@each_protocol
def test_chunked_body_without_its_last_chunk_keeps_the_text_that_arrived(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))  # no terminating 0-size chunk
        peer.close()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message.startswith("connection broke while reading the response: ")
    assert info.value.text == "Hello"


@each_protocol
def test_stream_that_ends_cleanly_without_its_terminator_is_an_error_with_the_text(wire: Wire):
    with faulty(wire, after_request(lambda peer: peer.send(SSE_HEAD + chunked(wire.head)))) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message == "stream ended before its terminator"
    assert info.value.text == "Hello"


# -- timeouts and deadlines -----------------------------------------------------------------


def test_stall_before_the_status_line_is_a_read_timeout():
    wire = WIRES["openai"]
    with faulty(wire, after_request(lambda peer: peer.sleep(0.8))) as (server, client):
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            client.chat().user("hi").send()
        elapsed = time.monotonic() - started
    assert info.value.message == f"127.0.0.1:{server.port} sent no response in time"
    assert 0.45 <= elapsed < 1.5


@each_protocol
def test_stall_mid_stream_past_the_read_timeout_keeps_the_text(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))
        peer.sleep(0.8)

    with faulty(wire, after_request(fault)) as (_, client):
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            stream_text(client)
        elapsed = time.monotonic() - started
    assert info.value.message == "no data for 0.5 s while reading the response"
    assert info.value.partial.text == "Hello"
    assert 0.45 <= elapsed < 1.5


@each_protocol
def test_body_dripped_past_the_total_deadline_is_cut_at_the_deadline(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))
        for byte in wire.tail[0]:  # one byte per chunk, never idle for a read timeout
            if not peer.send(chunk(bytes([byte]))) or peer.sleep(0.05):
                return
        peer.sleep(1)

    with faulty(wire, after_request(fault), timeouts=Timeouts(connect=2, read=0.5, total=0.8)) as (_, client):
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            stream_text(client)
        elapsed = time.monotonic() - started
    assert info.value.message == "total deadline passed while reading the response"
    assert info.value.partial.text == "Hello"
    assert 0.75 <= elapsed < 1.6


@each_protocol
def test_response_head_dripped_past_the_total_deadline_is_cut_at_the_deadline(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.drip(SSE_HEAD, 0.05)  # ~4 s of head, a byte at a time

    with faulty(wire, after_request(fault), timeouts=Timeouts(connect=2, read=0.5, total=0.8)) as (
        server,
        client,
    ):
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            stream_text(client)
        elapsed = time.monotonic() - started
    assert info.value.message == f"total deadline passed waiting for 127.0.0.1:{server.port}"
    assert 0.75 <= elapsed < 1.6


@each_protocol
def test_heartbeats_alone_do_not_hold_a_stream_past_its_deadline(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))
        while peer.send(chunk(wire.heartbeat)) and not peer.sleep(0.1):
            pass

    with faulty(wire, after_request(fault), timeouts=Timeouts(connect=2, read=0.5, total=0.8)) as (_, client):
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            stream_text(client)
        elapsed = time.monotonic() - started
    assert info.value.message == "total deadline passed while reading the response"
    assert info.value.partial.text == "Hello"
    assert 0.75 <= elapsed < 1.6


# -- interim responses ----------------------------------------------------------------------


@each_protocol
def test_100_and_103_before_a_stream_are_skipped(wire: Wire):
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload\r\n\r\n"
    with faulty(
        wire, after_request(lambda peer: peer.send(interim + SSE_HEAD + chunked(wire.head + wire.tail)))
    ) as (
        server,
        client,
    ):
        assert stream_text(client) == "Hello world"
        assert client.chat().user("and now?").send().text == "again"
        assert server.accepted == 1  # the same connection, correctly reused


# -- sizes -----------------------------------------------------------------------------------


def test_huge_announced_content_length_is_refused_before_reading_for_send():
    wire = WIRES["openai"]
    head = http_head(200, "OK", {"Content-Type": "application/json", "Content-Length": str(10**15)})
    with faulty(wire, after_request(lambda peer: peer.send(head + b'{"id": "x"'))) as (_, client):
        with pytest.raises(StreamError) as info:
            client.chat().user("hi").send()
    assert info.value.message == (
        f"response announces a body of {10**15} bytes, "
        "more than the 268435456-byte limit for a whole response"
    )


@each_protocol
def test_stream_shorter_than_its_huge_content_length_keeps_the_text(wire: Wire):
    body = b"".join(wire.head)
    head = http_head(200, "OK", {"Content-Type": "text/event-stream", "Content-Length": str(10**12)})

    def fault(peer: Peer) -> None:
        peer.send(head + body)
        peer.close()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message == f"connection closed with {10**12 - len(body)} bytes of the body missing"
    assert info.value.text == "Hello"


def long_line_stream(encoding: Optional[str]) -> Callable[[Peer], None]:
    line = b"data: " + b"x" * (17 * 1024 * 1024)  # over the 16 MiB cap, no newline
    body = zlib.compress(line) if encoding == "deflate" else line
    headers = {"Content-Type": "text/event-stream", "Content-Length": str(len(body))}
    if encoding:
        headers["Content-Encoding"] = encoding
    return after_request(lambda peer: peer.send(http_head(200, "OK", headers) + body))


@pytest.mark.parametrize("encoding", [None, "deflate"])
def test_over_long_sse_line_is_refused_at_the_line_cap(encoding: Optional[str]):
    wire = WIRES["openai"]
    with faulty(wire, long_line_stream(encoding)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message == "SSE line longer than max_line_bytes=16777216 characters"
    assert info.value.text == ""


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("gzip", "Error -3 while decompressing data: "),
        ("deflate", "Error -3 while decompressing data: "),
    ],
)
def test_body_that_does_not_decompress_is_a_stream_error_naming_the_encoding(encoding: str, reason: str):
    wire = WIRES["openai"]
    body = b"this is not compressed at all"
    head = http_head(
        200, "OK", {"Content-Type": "application/json", "Content-Encoding": encoding, "Content-Length": "29"}
    )
    with faulty(wire, after_request(lambda peer: peer.send(head + body))) as (_, client):
        with pytest.raises(StreamError) as info:
            client.chat().user("hi").send()
    # zlib's own reason follows ("incorrect header check", "invalid code lengths set", ...)
    assert info.value.message.startswith(f"response body is not valid {encoding}: {reason}")


def test_gzip_stream_cut_inside_its_compressed_data_keeps_the_text():
    wire = WIRES["openai"]
    compressor = zlib.compressobj(wbits=31)
    first = compressor.compress(b"".join(wire.head)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    head = http_head(200, "OK", {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"})

    def fault(peer: Peer) -> None:
        peer.send(head + first)  # no Content-Length: the body ends when the server hangs up
        peer.close()

    with faulty(wire, after_request(fault)) as (_, client):
        with pytest.raises(StreamError) as info:
            stream_text(client)
    assert info.value.message == "response body ended in the middle of its gzip data"
    assert info.value.text == "Hello"


# -- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_to_another_host_is_not_followed_and_sends_no_credentials_there(status: int):
    wire = WIRES["openai"]
    with RawServer([answers(wire)]) as elsewhere:
        target = f"http://127.0.0.1:{elsewhere.port}/v1/chat/completions?sig=abc"
        head = http_head(status, "Moved", {"Location": target, "Content-Length": "0"})
        with faulty(wire, after_request(lambda peer: peer.send(head))) as (server, client):
            with pytest.raises(APIError) as info:
                client.chat().user("hi").send()
        assert elsewhere.accepted == 0
    assert type(info.value) is APIError
    assert info.value.status == status
    assert info.value.message == (
        f"HTTP {status}; the server redirected to http://127.0.0.1:{elsewhere.port}/v1/chat/completions; "
        "relay_lite does not follow redirects (set base_url to it)"
    )
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in str(info.value)


# -- Retry-After ------------------------------------------------------------------------------


def rate_limited(retry_after: str, count: int = 1) -> Callable[[Peer], None]:
    body = b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'

    def script(peer: Peer) -> None:
        for _ in range(count):
            if peer.read_request() is None:
                return
            peer.send(
                http_head(
                    429,
                    "Too Many Requests",
                    {
                        "Content-Type": "application/json",
                        "Content-Length": str(len(body)),
                        "Retry-After": retry_after,
                    },
                )
                + body
            )

    return script


@pytest.mark.parametrize(
    ("retry_after", "max_wait"),
    [
        (formatdate(time.time() - 3600, usegmt=True), 0.1),  # a date in the past: at once
        ("0", 0.1),
        ("-5", 0.1),  # malformed: the backoff (0.01 s) applies
        ("soon", 0.1),
        ("nan", 0.1),
        ("Wed, 99 Foo 2026 25:61:00 GMT", 0.1),
    ],
)
def test_retry_after_in_the_past_or_malformed_retries_without_a_long_wait(retry_after: str, max_wait: float):
    wire = WIRES["openai"]
    with RawServer([rate_limited(retry_after), answers(wire)]) as server:
        client = wire.client(server, retry=RetryPolicy(max_retries=1, backoff=0.01, max_backoff=0.01))
        started = time.monotonic()
        reply = client.chat().user("hi").send()
        elapsed = time.monotonic() - started
        client.close()
        assert client_sockets_to(server.port) == 0
    assert (reply.text, reply.attempts) == ("again", 2)
    assert elapsed < max_wait + 0.9


def test_retry_after_as_a_date_one_second_ahead_is_waited_for():
    wire = WIRES["openai"]
    with RawServer([rate_limited(formatdate(time.time() + 1, usegmt=True)), answers(wire)]) as server:
        client = wire.client(server, retry=RetryPolicy(max_retries=1, backoff=0.01))
        started = time.monotonic()
        reply = client.chat().user("hi").send()
        elapsed = time.monotonic() - started
        client.close()
    assert reply.attempts == 2
    assert elapsed < 1.8  # at most a second (HTTP dates have whole seconds)


@pytest.mark.parametrize("retry_after", ["99999999", "inf"])
def test_absurd_retry_after_raises_at_once_instead_of_blocking(retry_after: str):
    wire = WIRES["openai"]
    with faulty(wire, rate_limited(retry_after), retry=RetryPolicy(max_retries=2)) as (_, client):
        started = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            client.chat().user("hi").send()
        elapsed = time.monotonic() - started
    assert info.value.message == (
        f"Rate limit reached; the server asked to retry after {float(retry_after):g} s, more than the "
        "60 s cap (max_retry_after), so not waiting"
    )
    assert info.value.attempts == 1
    assert elapsed < 1.0


def test_429_storm_longer_than_the_retry_budget_raises_the_last_rate_limit_error():
    wire = WIRES["openai"]
    with faulty(wire, rate_limited("0.05", count=3), retry=RetryPolicy(max_retries=2)) as (server, client):
        with pytest.raises(RateLimitError) as info:
            client.chat().user("hi").send()
    assert info.value.message == "Rate limit reached"
    assert (info.value.status, info.value.code, info.value.attempts) == (429, "rate_limit_exceeded", 3)
    assert len(server.requests) == 3 + 1  # three attempts, then the call that shows it still works


def test_429_storm_longer_than_the_deadline_raises_deadline_exceeded_naming_the_last_error():
    wire = WIRES["openai"]
    options = {"retry": RetryPolicy(max_retries=5), "timeouts": Timeouts(connect=2, read=1, total=1.5)}
    with faulty(wire, rate_limited("1", count=2), **options) as (_, client):
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            client.chat().user("hi").send()
        elapsed = time.monotonic() - started
    assert info.value.message.startswith(
        "total deadline would pass during the 1.00 s wait before retry 2; last error: Rate limit reached"
    )
    assert info.value.attempts == 2
    assert 0.9 <= elapsed < 1.45  # raised before the deadline, not slept into it


# -- the request side and idle connections -----------------------------------------------------


def test_upload_the_server_never_reads_is_a_write_timeout_and_the_client_recovers():
    wire = WIRES["openai"]

    def never_read(peer: Peer) -> None:
        peer.read_request(read_body=False)
        peer.sleep(3)

    big = "x" * (24 * 1024 * 1024)
    with RawServer([never_read, answers(wire)], receive_buffer=4096) as server:
        client = wire.client(server)
        with pytest.raises(relay_lite.TimeoutError) as info:
            client.chat().user(big).send()
        assert client.chat().user("again?").send().text == "again"
        client.close()
        assert client_sockets_to(server.port) == 0
    assert type(info.value) is relay_lite.TimeoutError
    assert info.value.message.startswith(f"write timeout: 127.0.0.1:{server.port} stopped reading")


@pytest.mark.parametrize("hang_up", [Peer.close, Peer.reset], ids=["fin", "rst"])
def test_idle_kept_alive_connection_closed_by_the_server_is_replaced_silently(hang_up):
    wire = WIRES["openai"]

    def serve_once_then_hang_up(peer: Peer) -> None:
        peer.read_request()
        peer.send(json_reply(json.dumps(wire.reply).encode()))
        peer.sleep(0.05)
        hang_up(peer)

    with RawServer([serve_once_then_hang_up, answers(wire)]) as server:
        client = wire.client(server)  # no retries: the stale socket must never be used
        assert client.chat().user("one").send().text == "again"
        time.sleep(0.2)
        reply = client.chat().user("two").send()
        client.close()
        assert client_sockets_to(server.port) == 0
    assert (reply.text, reply.attempts, server.accepted) == ("again", 1, 2)


def test_server_that_hangs_up_on_a_reused_connection_without_answering_is_retried():
    wire = WIRES["openai"]

    def answer_once_then_drop_the_next(peer: Peer) -> None:
        peer.read_request()
        peer.send(json_reply(json.dumps(wire.reply).encode()))
        peer.read_request()  # the keep-alive race: the server closes as the request lands
        peer.close()

    with RawServer([answer_once_then_drop_the_next, answers(wire)]) as server:
        client = wire.client(server, retry=RetryPolicy(max_retries=1, backoff=0.01))
        client.chat().user("one").send()
        reply = client.chat().user("two").send()
        client.close()
        assert client_sockets_to(server.port) == 0
    assert (reply.text, reply.attempts, server.accepted) == ("again", 2, 2)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "-5"}, None),  # RFC 9110 delay-seconds are digits only
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Wed, 99 Foo 2026 25:61:00 GMT"}, None),
        ({"retry-after": "Thu, 01 Jan 2015 00:00:00 GMT"}, 0.0),  # in the past: at once
        ({"retry-after": "inf"}, float("inf")),  # absurd: returned for the cap to refuse
        ({"retry-after-ms": "-1", "retry-after": "2"}, 2.0),  # a bad ms value falls through
    ],
)
def test_retry_after_values_are_read_or_ignored_as_malformed(headers: dict, seconds: Optional[float]):
    assert parse_retry_after(headers) == seconds


# -- close() while a stream is open -------------------------------------------------------------


@each_protocol
def test_client_close_during_a_stream_lets_it_finish_then_closes_its_socket(wire: Wire):
    def slow_stream(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False))
        peer.sleep(0.1)
        peer.send(chunked(wire.tail))

    with RawServer([after_request(slow_stream), answers(wire)]) as server:
        client = wire.client(server)
        stream = client.chat().user("hi").stream()
        pieces = stream.text()
        first = next(pieces)
        client.close()  # the open stream keeps its socket until it ends...
        rest = "".join(pieces)
        assert client_sockets_to(server.port) == 0  # ...and then it is closed, not pooled
        assert client.chat().user("again?").send().text == "again"  # the client reconnects
        client.close()
        assert client_sockets_to(server.port) == 0
    assert (first + rest, stream.response.text) == ("Hello world", "Hello world")
