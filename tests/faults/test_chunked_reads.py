"""The transport's own chunked-body decoding (``relay_lite._chunked``), sans-I/O and on sockets.

The transport de-chunks a streamed body itself, several HTTP chunks per socket read,
instead of ``http.client``'s one chunk per ``read1`` (issue 14). These pin that the
framing is read exactly however the bytes are split (size lines, ``;ext=1`` extensions,
trailers, the CRLF after the data), that malformed framing is a clear ``StreamError``,
and, over real sockets, that a cut or a stall inside a chunk keeps the text that arrived,
that the idle timeout still fires mid-chunk, and that the connection goes back to the pool
only when the body ended exactly at its last chunk.

Wire shapes: ``http.server``-style chunks (size in lower-case hex, CRLF everywhere) as
uvicorn and Go's ``net/http`` send them; extensions and trailers as RFC 9112 section 7.1
writes them (``1a;ext=1``, ``Trailer-Name: value``); bare-LF size lines as some proxies send.
"""

from __future__ import annotations

import time

import pytest
from faultserver import Peer, RawServer, http_head
from test_fault_injection import (
    QUICK,
    SSE_HEAD,
    WIRES,
    Wire,
    after_request,
    answers,
    chunk,
    chunked,
    each_protocol,
    stream_text,
)

from relay_lite import ReadTimeout, StreamError
from relay_lite._chunked import MAX_CHUNK_LINE_BYTES, ChunkedDecoder

PAYLOAD = b'data: {"a":1}\n\ndata: {"b":"\xc3\xa9"}\n\n'
# Every feature of the framing at once: an extension with and without a value, a chunk
# in upper-case hex, a last chunk with an extension, and two trailer fields.
FRAMED = (
    b"f;ext=1\r\n" + PAYLOAD[:15] + b"\r\n"
    b"A ; name\r\n" + PAYLOAD[15:25] + b"\r\n"
    b"%x\r\n" % len(PAYLOAD[25:]) + PAYLOAD[25:] + b"\r\n"
    b"0;last=yes\r\nX-Checksum: abc\r\nServer-Timing: total;dur=12\r\n\r\n"
)


def decode_pieces(pieces: list[bytes]) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    out = b"".join(b"".join(decoder.feed(piece)) for piece in pieces)
    return out, decoder


# -- sans-I/O ---------------------------------------------------------------------------


def test_whole_body_in_one_read_gives_the_payload_and_ends():
    out, decoder = decode_pieces([FRAMED])
    assert out == PAYLOAD
    assert decoder.done is True
    assert decoder.extra == 0


@pytest.mark.parametrize("at", range(1, len(FRAMED)))
def test_body_split_in_two_at_every_byte_offset_reads_the_same(at: int):
    out, decoder = decode_pieces([FRAMED[:at], FRAMED[at:]])
    assert out == PAYLOAD
    assert decoder.done is True
    assert decoder.extra == 0


def test_body_fed_one_byte_at_a_time_reads_the_same():
    decoder = ChunkedDecoder()
    out = b""
    for i in range(len(FRAMED)):
        assert decoder.done is False
        out += b"".join(decoder.feed(FRAMED[i : i + 1]))
    assert out == PAYLOAD
    assert decoder.done is True


@pytest.mark.parametrize("at", range(1, len(FRAMED) - 1))
def test_body_split_in_three_around_every_offset_reads_the_same(at: int):
    out, decoder = decode_pieces([FRAMED[:at], FRAMED[at : at + 2], FRAMED[at + 2 :]])
    assert out == PAYLOAD
    assert decoder.done is True


def test_payload_is_handed_over_as_it_arrives_not_per_whole_chunk():
    decoder = ChunkedDecoder()
    assert decoder.feed(b"10\r\n0123") == [b"0123"]
    assert decoder.missing == 12
    assert decoder.feed(b"456789abcdef\r") == [b"456789abcdef"]
    assert decoder.missing == 0
    assert decoder.feed(b"\n0\r\n\r\n") == []
    assert decoder.done is True


def test_many_chunks_in_one_read_come_back_one_piece_per_chunk():
    events = [b"data: %d\n\n" % i for i in range(50)]
    decoder = ChunkedDecoder()
    assert decoder.feed(chunked(events)) == events
    assert decoder.done is True


def test_size_and_trailer_lines_may_end_in_a_bare_lf():
    out, decoder = decode_pieces([b"3\nabc\r\n0\nTrailer: x\n\n"])
    assert out == b"abc"
    assert decoder.done is True


def test_bytes_after_the_last_chunk_are_counted_as_extra():
    out, decoder = decode_pieces([b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200", b" OK\r\n"])
    assert out == b"abc"
    assert decoder.done is True
    assert decoder.extra == len(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize(
    ("size_line", "shown"),
    [
        (b"zz\r\n", b"zz"),
        (b"\r\n", b""),
        (b"-5\r\n", b"-5"),
        (b"0x10\r\n", b"0x10"),
        (b";ext\r\n", b";ext"),
    ],
)
def test_malformed_chunk_size_line_is_a_stream_error_quoting_it(size_line: bytes, shown: bytes):
    with pytest.raises(StreamError) as info:
        ChunkedDecoder().feed(size_line + b"abc\r\n")
    assert type(info.value) is StreamError
    assert info.value.message == f"chunked response body: malformed chunk size line {shown!r}"


def test_chunk_data_without_its_crlf_is_a_stream_error_after_the_data_that_arrived():
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabcXY4\r\n") == [b"abc"]  # nothing that arrived is lost
    message = "chunked response body: chunk data is not followed by CRLF (got b'XY')"
    assert decoder.error is not None and decoder.error.message == message
    with pytest.raises(StreamError) as info:
        decoder.feed(b"more")
    assert info.value.message == message


def test_chunk_data_followed_by_a_lone_cr_and_garbage_is_a_stream_error_across_reads():
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabc\r") == [b"abc"]
    with pytest.raises(StreamError) as info:
        decoder.feed(b"X")
    assert info.value.message == "chunked response body: chunk data is not followed by CRLF (got b'\\rX')"


def test_endless_size_line_is_refused_at_the_cap():
    decoder = ChunkedDecoder()
    decoder.feed(b"1" * MAX_CHUNK_LINE_BYTES)
    with pytest.raises(StreamError) as info:
        decoder.feed(b"1")
    assert (
        info.value.message
        == f"chunked response body: chunk size line longer than {MAX_CHUNK_LINE_BYTES} bytes"
    )


def test_endless_trailer_line_is_refused_at_the_cap():
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\nX-Long: ")
    with pytest.raises(StreamError) as info:
        decoder.feed(b"a" * MAX_CHUNK_LINE_BYTES)
    assert (
        info.value.message == f"chunked response body: trailer line longer than {MAX_CHUNK_LINE_BYTES} bytes"
    )


# -- over sockets ---------------------------------------------------------------------------


def _framed_like_a_server(wire: Wire) -> bytes:
    """The wire's stream as chunks with extensions, upper-case hex, and trailers."""
    parts = [b"%X;n=%d\r\n%s\r\n" % (len(event), i, event) for i, event in enumerate(wire.head + wire.tail)]
    return b"".join(parts) + b"0;end\r\nX-Trailer: done\r\n\r\n"


@each_protocol
@pytest.mark.parametrize("write", [1, 3, 7, 64])
def test_stream_in_odd_writes_with_extensions_and_trailers_reads_whole_and_reuses_the_connection(
    wire: Wire, write: int
):
    body = _framed_like_a_server(wire)

    def script(peer: Peer) -> None:
        peer.read_request()
        peer.send(SSE_HEAD)
        for at in range(0, len(body), write):
            peer.send(body[at : at + write])
        # returning keeps the connection open for the server's next script

    with RawServer([script, answers(wire)]) as server:
        client = wire.client(server)
        assert stream_text(client) == "Hello world"
        assert client.chat().user("again?").send().text == "again"
        assert server.accepted == 1  # the stream's connection took the next request
        client.close()


@each_protocol
def test_bytes_after_the_last_chunk_keep_the_connection_out_of_the_pool(wire: Wire):
    def script(peer: Peer) -> None:
        peer.read_request()
        peer.send(SSE_HEAD + chunked(wire.head + wire.tail) + b"garbage")

    with RawServer([script, answers(wire)]) as server:
        client = wire.client(server)
        assert stream_text(client) == "Hello world"
        assert client.chat().user("again?").send().text == "again"
        assert server.accepted == 2  # a fresh connection: the first had stray bytes
        client.close()


@each_protocol
def test_events_after_the_terminator_in_the_same_read_keep_the_connection_out_of_the_pool(wire: Wire):
    # The terminator, then one more well-framed event, then the last chunk, in one send:
    # the drain after the terminator must see that event (the server kept talking).
    def script(peer: Peer) -> None:
        peer.read_request()
        peer.send(SSE_HEAD + chunked(wire.head + wire.tail + [wire.heartbeat]))

    with RawServer([script, answers(wire)]) as server:
        client = wire.client(server)
        assert stream_text(client) == "Hello world"
        assert client.chat().user("again?").send().text == "again"
        assert server.accepted == 2
        client.close()


@each_protocol
def test_stall_inside_a_chunk_is_a_read_timeout_that_keeps_the_text(wire: Wire):
    def fault(peer: Peer) -> None:
        # a chunk announcing 0x100 bytes, 10 of them sent, then silence
        peer.send(SSE_HEAD + chunked(wire.head, end=False) + b"100\r\n" + wire.tail[0][:10])
        peer.sleep(0.8)

    with RawServer([after_request(fault), answers(wire)]) as server:
        client = wire.client(server, timeouts=QUICK)
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            stream_text(client)
        elapsed = time.monotonic() - started
        assert info.value.message == "no data for 0.5 s while reading the response"
        assert info.value.partial.text == "Hello"
        assert 0.45 <= elapsed < 1.5
        client.close()


@each_protocol
def test_stall_inside_a_chunk_size_line_is_a_read_timeout_that_keeps_the_text(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False) + b"1")
        peer.sleep(0.8)

    with RawServer([after_request(fault), answers(wire)]) as server:
        client = wire.client(server, timeouts=QUICK)
        with pytest.raises(ReadTimeout) as info:
            stream_text(client)
        assert info.value.partial.text == "Hello"
        client.close()


@each_protocol
def test_cut_inside_a_size_line_is_a_stream_error_that_keeps_the_text(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False) + b"1")
        peer.close()

    with RawServer([after_request(fault), answers(wire)]) as server:
        client = wire.client(server)
        with pytest.raises(StreamError) as info:
            stream_text(client)
        assert (
            info.value.message == "connection broke while reading the response: IncompleteRead(0 bytes read)"
        )
        assert info.value.partial.text == "Hello"
        client.close()


@each_protocol
def test_malformed_size_line_mid_stream_is_a_stream_error_that_keeps_the_text(wire: Wire):
    def fault(peer: Peer) -> None:
        peer.send(SSE_HEAD + chunked(wire.head, end=False) + b"xyz\r\n")
        peer.sleep(0.2)

    with RawServer([after_request(fault), answers(wire)]) as server:
        client = wire.client(server)
        with pytest.raises(StreamError) as info:
            stream_text(client)
        assert info.value.message == "chunked response body: malformed chunk size line b'xyz'"
        assert info.value.partial.text == "Hello"
        client.close()


def test_chunked_json_reply_to_a_plain_call_is_read_whole():
    wire = WIRES["openai"]
    import json

    body = json.dumps(wire.reply).encode()

    def script(peer: Peer) -> None:
        peer.read_request()
        head = http_head(200, "OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        peer.send(head + chunk(body[:7]) + chunk(body[7:]) + b"0\r\n\r\n")

    with RawServer([script, answers(wire)]) as server:
        client = wire.client(server)
        assert client.chat().user("hi").send().text == "again"
        assert client.chat().user("again?").send().text == "again"
        assert server.accepted == 1
        client.close()
