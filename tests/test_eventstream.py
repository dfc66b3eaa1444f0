"""The AWS event-stream decoder, sans-I/O: frames built by hand here (CRCs computed in the
test), AWS's published test vectors, every split point, and every way a frame can be bad."""

from __future__ import annotations

import json
import struct
import uuid
import zlib

import pytest

from relay_lite._errors import ConfigError, StreamError
from relay_lite._eventstream import (
    EventStreamDecoder,
    EventStreamMessage,
    EventStreamTimestamp,
    parse_headers,
)
from relay_lite._fake_bedrock import encode_message


def header(name: str, kind: int, value: bytes = b"") -> bytes:
    raw = name.encode()
    return bytes([len(raw)]) + raw + bytes([kind]) + value


def string_header(name: str, value: str) -> bytes:
    data = value.encode()
    return header(name, 7, struct.pack("!H", len(data)) + data)


def frame(headers: bytes, payload: bytes) -> bytes:
    """A message laid out by hand: prelude, prelude CRC, headers, payload, message CRC."""
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(headers))
    head = prelude + struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = head + headers + payload
    return body + struct.pack("!I", zlib.crc32(body) & 0xFFFFFFFF)


# A ConverseStream text delta as Bedrock frames it: three string headers and a JSON payload
# that carries the "p" padding field Bedrock adds to every event.
DELTA_PAYLOAD = b'{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghijklmnopq"}'
DELTA_HEADERS = (
    string_header(":event-type", "contentBlockDelta")
    + string_header(":content-type", "application/json")
    + string_header(":message-type", "event")
)
DELTA = frame(DELTA_HEADERS, DELTA_PAYLOAD)
STOP = frame(
    string_header(":event-type", "messageStop")
    + string_header(":content-type", "application/json")
    + string_header(":message-type", "event"),
    b'{"stopReason":"end_turn","p":"abcd"}',
)


def decode_all(data: bytes, cuts: list[int]) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    messages: list[EventStreamMessage] = []
    start = 0
    for cut in [*cuts, len(data)]:
        messages += decoder.feed(data[start:cut])
        start = cut
    messages += decoder.close()
    return messages


def test_a_hand_built_bedrock_delta_decodes_to_its_headers_and_payload():
    [message] = decode_all(DELTA, [])
    assert message.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert message.payload == DELTA_PAYLOAD
    assert (message.message_type, message.event_type, message.content_type) == (
        "event",
        "contentBlockDelta",
        "application/json",
    )
    assert message.exception_type is None


def test_aws_published_vectors_decode_as_documented():
    # Byte vectors of the AWS event-stream test suite (as in botocore's unit tests).
    empty = b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff"
    int8 = b"\x00\x00\x00\x17\x00\x00\x00\x07)\x86\x01X\x04byte\x02\xff\xc2\xf8i\xdc"
    one_string = (
        b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10"
        b"application/json{'foo':'bar'}\x8d\x9c\x08\xb1"
    )
    assert decode_all(empty, []) == [EventStreamMessage({}, b"")]
    assert decode_all(int8, []) == [EventStreamMessage({"byte": -1}, b"")]
    assert decode_all(one_string, []) == [
        EventStreamMessage({"content-type": "application/json"}, b"{'foo':'bar'}")
    ]
    assert frame(b"", b"") == empty  # the hand-built layout is AWS's


def test_a_stream_split_at_every_byte_offset_decodes_the_same():
    data = DELTA + STOP
    whole = decode_all(data, [])
    assert [m.event_type for m in whole] == ["contentBlockDelta", "messageStop"]
    for cut in range(len(data) + 1):
        assert decode_all(data, [cut]) == whole, cut


def test_a_stream_fed_one_byte_at_a_time_yields_each_message_on_its_last_byte():
    data = DELTA + STOP
    decoder = EventStreamDecoder()
    seen = [(i, m.event_type) for i in range(len(data)) for m in decoder.feed(data[i : i + 1])]
    assert seen == [(len(DELTA) - 1, "contentBlockDelta"), (len(data) - 1, "messageStop")]
    assert decoder.close() == []
    assert decoder.ended_mid_event is False


def test_every_header_value_type_decodes_to_its_python_value():
    the_uuid = uuid.UUID("0123456789abcdef0123456789abcdef")
    headers = (
        header("yes", 0)
        + header("no", 1)
        + header("byte", 2, struct.pack("!b", -7))
        + header("short", 3, struct.pack("!h", -300))
        + header("int", 4, struct.pack("!i", 70000))
        + header("long", 5, struct.pack("!q", -(2**40)))
        + header("bytes", 6, struct.pack("!H", 3) + b"\x00\xff\x10")
        + string_header("text", "héllo")
        + header("when", 8, struct.pack("!q", 1_700_000_000_123))
        + header("id", 9, the_uuid.bytes)
    )
    [message] = decode_all(frame(headers, b"{}"), [])
    assert message.headers == {
        "yes": True,
        "no": False,
        "byte": -7,
        "short": -300,
        "int": 70000,
        "long": -(2**40),
        "bytes": b"\x00\xff\x10",
        "text": "héllo",
        "when": 1_700_000_000_123,
        "id": the_uuid,
    }
    assert type(message.headers["when"]) is EventStreamTimestamp
    assert type(message.headers["yes"]) is bool


def test_the_fakes_encoder_round_trips_through_the_decoder():
    headers = {
        "flag": True,
        "off": False,
        "small": ("byte", 5),
        "short": ("short", -2),
        "int": 9,
        "long": ("long", 2**33),
        "blob": b"\x01\x02",
        "name": "value",
        "at": EventStreamTimestamp(12345),
        "id": uuid.UUID(int=7),
    }
    data = encode_message(headers, b"payload")
    assert decode_all(data, [5]) == [
        EventStreamMessage(
            {
                "flag": True,
                "off": False,
                "small": 5,
                "short": -2,
                "int": 9,
                "long": 2**33,
                "blob": b"\x01\x02",
                "name": "value",
                "at": 12345,
                "id": uuid.UUID(int=7),
            },
            b"payload",
        )
    ]


def test_a_corrupt_prelude_crc_is_refused_as_soon_as_the_prelude_arrives():
    bad = bytearray(DELTA)
    bad[8] ^= 0x01
    decoder = EventStreamDecoder()
    with pytest.raises(StreamError) as info:
        decoder.feed(bytes(bad[:12]))
    expected_crc = zlib.crc32(bytes(bad[:8]))
    sent = int.from_bytes(bad[8:12], "big")
    assert info.value.message == (
        f"event-stream message at byte 0: prelude CRC mismatch "
        f"(sent 0x{sent:08x}, computed 0x{expected_crc:08x})"
    )


def test_a_corrupt_payload_byte_fails_the_message_crc():
    bad = bytearray(DELTA + STOP)
    bad[len(DELTA) + 40] ^= 0x20  # inside the second message's headers/payload
    decoder = EventStreamDecoder()
    assert [m.event_type for m in decoder.feed(bytes(bad[: len(DELTA)]))] == ["contentBlockDelta"]
    with pytest.raises(StreamError) as info:
        decoder.feed(bytes(bad[len(DELTA) :]))
    assert info.value.message.startswith(
        f"event-stream message at byte {len(DELTA)}: message CRC mismatch (sent 0x"
    )


def test_a_corrupt_message_crc_itself_is_refused():
    bad = DELTA[:-1] + bytes([DELTA[-1] ^ 0xFF])
    with pytest.raises(StreamError, match=r"^event-stream message at byte 0: message CRC mismatch"):
        EventStreamDecoder().feed(bad)


def prelude_only(total: int, headers_length: int) -> bytes:
    prelude = struct.pack("!II", total, headers_length)
    return prelude + struct.pack("!I", zlib.crc32(prelude))


def test_a_total_length_over_the_cap_is_refused_before_buffering_it():
    decoder = EventStreamDecoder()
    with pytest.raises(StreamError) as info:
        decoder.feed(prelude_only(16 * 1024 * 1024 + 1, 0))
    assert info.value.message == (
        "event-stream message at byte 0: total length 16777217 is over the 16777216-byte cap"
    )


def test_a_smaller_cap_applies_too():
    decoder = EventStreamDecoder(max_message_bytes=64)
    with pytest.raises(StreamError, match="total length 65 is over the 64-byte cap"):
        decoder.feed(prelude_only(65, 0))
    with pytest.raises(ConfigError):
        EventStreamDecoder(max_message_bytes=15)


def test_a_total_length_shorter_than_any_message_is_refused():
    with pytest.raises(StreamError, match="total length 15 is shorter than a message can be"):
        EventStreamDecoder().feed(prelude_only(15, 0))


def test_a_headers_length_that_does_not_fit_the_message_is_refused():
    with pytest.raises(StreamError) as info:
        EventStreamDecoder().feed(prelude_only(40, 25))
    assert info.value.message == (
        "event-stream message at byte 0: headers length 25 does not fit "
        "(message 40 bytes, headers at most 131072)"
    )
    with pytest.raises(StreamError, match="headers length 131073 does not fit"):
        EventStreamDecoder().feed(prelude_only(200_000, 128 * 1024 + 1))


def test_a_frame_cut_in_the_middle_raises_at_close_saying_how_much_arrived():
    decoder = EventStreamDecoder()
    assert decoder.feed(DELTA + STOP[:30]) != []
    with pytest.raises(StreamError) as info:
        decoder.close()
    assert info.value.message == (
        f"event stream ended inside a message at byte {len(DELTA)}: 30 of {len(STOP)} bytes arrived"
    )
    assert decoder.ended_mid_event is True


def test_a_frame_cut_inside_its_prelude_raises_at_close():
    decoder = EventStreamDecoder()
    decoder.feed(DELTA[:5])
    with pytest.raises(StreamError) as info:
        decoder.close()
    assert info.value.message == "event stream ended inside a message at byte 0: 5 bytes arrived"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (header("x", 10), "event-stream header 'x' has unknown value type 10"),
        (b"\x05ab", "event-stream header at byte 0 is cut or has an empty name"),
        (b"\x00\x07", "event-stream header at byte 0 is cut or has an empty name"),
        (header("n", 4, b"\x00\x01"), "event-stream header 'n': its integer value is cut"),
        (header("s", 7, b"\x00\x09abc"), "event-stream header 's': its value is cut"),
        (header("s", 7, b"\x00"), "event-stream header 's': its length is cut"),
        (header("u", 9, b"\x00" * 15), "event-stream header 'u': its UUID value is cut"),
        (string_header("a", "1") + string_header("a", "2"), "event-stream message repeats header 'a'"),
        (header("s", 7, b"\x00\x02\xff\xfe"), "event-stream header 's' is not valid UTF-8"),
    ],
)
def test_malformed_headers_raise_naming_the_fault(headers: bytes, message: str):
    with pytest.raises(StreamError) as info:
        EventStreamDecoder().feed(frame(headers, b""))
    assert info.value.message == message
    with pytest.raises(StreamError):
        parse_headers(headers)


def test_sniff_recognises_a_prelude_by_its_crc():
    assert EventStreamDecoder.sniff(DELTA[:11]) is None
    assert EventStreamDecoder.sniff(DELTA[:12]) is True
    assert EventStreamDecoder.sniff(b'{"message": "x"}') is False
    assert EventStreamDecoder.sniff(b"data: {}\n\n\n\n") is False


def test_payload_json_is_left_to_the_protocol():
    [message] = decode_all(DELTA, [])
    assert json.loads(message.payload)["delta"] == {"text": "Hello"}
