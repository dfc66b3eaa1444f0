"""Sans-I/O decoder for AWS event streams (``application/vnd.amazon.eventstream``).

Theory of operation
-------------------

Amazon Bedrock's ConverseStream (and other AWS streaming APIs) frame each event as one
binary message, all integers big-endian::

    total length   u32   the whole message, these 4 bytes and the final CRC included
    headers length u32   bytes of the headers section
    prelude CRC    u32   CRC32 of the 8 bytes above
    headers              repeated: name length u8, name (UTF-8), value type u8, value
    payload              total - headers - 16 bytes (the event's JSON, for Bedrock)
    message CRC    u32   CRC32 of everything before it, prelude and its CRC included

Header value types: 0 true and 1 false (no value bytes), 2 byte (i8), 3 short (i16),
4 integer (i32), 5 long (i64), 6 bytes (u16 length, then the bytes), 7 string (u16
length, then UTF-8), 8 timestamp (i64 milliseconds since the epoch), 9 UUID (16 bytes).
(The format as botocore's ``eventstream.py`` and the AWS SDKs read it.)

``EventStreamDecoder`` is a push parser like ``relay_lite._sse.SSEDecoder``: feed it the
bytes as they arrive, cut anywhere, and it returns the messages they completed. The
prelude is checked as soon as its 12 bytes are in, so a corrupt length is refused before
anything is buffered for it; no message may be larger than ``max_message_bytes`` (16 MiB
by default) or carry more than 128 KiB of headers, so a bad peer cannot make us buffer
without bound. (botocore caps the payload at 24 MiB; a ConverseStream event is one small
delta, so a lower whole-message cap bounds memory sooner and still leaves ample headroom.)
A CRC mismatch, a length out of range, a malformed header or a stream that
stops inside a message raise ``StreamError``; the stream pump attaches the partial reply.
Bytes are only copied once into the buffer and once out per message, so decoding is
linear in the stream's size.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, ClassVar, Mapping, Optional

from ._errors import ConfigError, StreamError
from ._record import Record

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_HEADERS_BYTES",
    "EVENT_STREAM_MEDIA_TYPE",
    "EventStreamDecoder",
    "EventStreamMessage",
    "EventStreamTimestamp",
    "parse_headers",
]

EVENT_STREAM_MEDIA_TYPE = "application/vnd.amazon.eventstream"
#: Largest message the decoder accepts by default (16 MiB), prelude and CRCs included.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Largest headers section of one message (128 KiB, the AWS SDKs' limit).
MAX_HEADERS_BYTES = 128 * 1024

# total length, headers length, prelude CRC
_PRELUDE = struct.Struct("!III")
_PRELUDE_BYTES = 12
_CRC_BYTES = 4
# The smallest message: a prelude, no headers, no payload, the message CRC.
_MIN_MESSAGE_BYTES = _PRELUDE_BYTES + _CRC_BYTES

_U16 = struct.Struct("!H")
_FIXED_TYPES: dict[int, tuple[str, struct.Struct]] = {
    2: ("byte", struct.Struct("!b")),
    3: ("short", struct.Struct("!h")),
    4: ("integer", struct.Struct("!i")),
    5: ("long", struct.Struct("!q")),
    8: ("timestamp", struct.Struct("!q")),
}
_UUID_BYTES = 16


class EventStreamTimestamp(int):
    """A timestamp header: milliseconds since the Unix epoch (an ``int``)."""

    def __repr__(self) -> str:
        return f"EventStreamTimestamp({int(self)})"


class EventStreamMessage(Record):
    """One decoded message: its typed ``headers`` and raw ``payload`` bytes.

    Header values are ``bool``, ``int`` (byte, short, integer, long), ``bytes``, ``str``,
    ``EventStreamTimestamp`` (milliseconds) or ``uuid.UUID``.
    """

    headers: Mapping[str, Any]
    payload: bytes = b""

    @property
    def message_type(self) -> Optional[str]:
        """``:message-type``: ``event``, ``exception`` or ``error``."""
        return self._text(":message-type")

    @property
    def event_type(self) -> Optional[str]:
        """``:event-type`` of an event message (``contentBlockDelta``)."""
        return self._text(":event-type")

    @property
    def exception_type(self) -> Optional[str]:
        """``:exception-type`` of an exception message (``throttlingException``)."""
        return self._text(":exception-type")

    @property
    def content_type(self) -> Optional[str]:
        """``:content-type`` of the payload (``application/json``)."""
        return self._text(":content-type")

    def _text(self, name: str) -> Optional[str]:
        value = self.headers.get(name)
        return value if isinstance(value, str) else None


def parse_headers(data: bytes) -> dict[str, Any]:
    """The headers section of a message as a dict; ``StreamError`` if it is malformed."""
    headers: dict[str, Any] = {}
    view = memoryview(data)
    pos = 0
    end = len(data)
    while pos < end:
        name_length = view[pos]
        pos += 1
        if name_length == 0 or pos + name_length + 1 > end:
            raise StreamError(f"event-stream header at byte {pos - 1} is cut or has an empty name")
        name = _utf8(view[pos : pos + name_length], "header name")
        pos += name_length
        kind = view[pos]
        pos += 1
        value: Any
        if kind in (0, 1):
            value = kind == 0
        elif kind in _FIXED_TYPES:
            label, fixed = _FIXED_TYPES[kind]
            if pos + fixed.size > end:
                raise StreamError(f"event-stream header {name!r}: its {label} value is cut")
            number = fixed.unpack_from(view, pos)[0]
            value = EventStreamTimestamp(number) if kind == 8 else number
            pos += fixed.size
        elif kind in (6, 7):
            if pos + 2 > end:
                raise StreamError(f"event-stream header {name!r}: its length is cut")
            length = _U16.unpack_from(view, pos)[0]
            pos += 2
            if pos + length > end:
                raise StreamError(f"event-stream header {name!r}: its value is cut")
            raw = bytes(view[pos : pos + length])
            value = raw if kind == 6 else _utf8(raw, f"header {name!r}")
            pos += length
        elif kind == 9:
            if pos + _UUID_BYTES > end:
                raise StreamError(f"event-stream header {name!r}: its UUID value is cut")
            import uuid  # rare: only where a UUID header arrives

            value = uuid.UUID(bytes=bytes(view[pos : pos + _UUID_BYTES]))
            pos += _UUID_BYTES
        else:
            raise StreamError(f"event-stream header {name!r} has unknown value type {kind}")
        if name in headers:
            raise StreamError(f"event-stream message repeats header {name!r}")
        headers[name] = value
    return headers


def _utf8(data: Any, what: str) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise StreamError(f"event-stream {what} is not valid UTF-8") from None


class EventStreamDecoder:
    """Turn the bytes of an ``application/vnd.amazon.eventstream`` body into messages.

    Call ``feed()`` with each chunk and ``close()`` once at the end; each returns the
    ``EventStreamMessage``s completed. A stream that stops inside a message makes
    ``close()`` raise ``StreamError`` (a cut binary frame cannot be judged by anyone
    else). After an exception the decoder must not be used again.
    """

    MEDIA_TYPES: ClassVar[tuple[str, ...]] = (EVENT_STREAM_MEDIA_TYPE,)
    #: Always None: a message cut short is never handed on (``close()`` raises).
    unterminated: Optional[EventStreamMessage] = None

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes < _MIN_MESSAGE_BYTES:
            raise ConfigError(
                f"max_message_bytes must be at least {_MIN_MESSAGE_BYTES}, got {max_message_bytes}"
            )
        self.max_message_bytes = max_message_bytes
        #: After ``close()``: whether the stream stopped inside a message.
        self.ended_mid_event = False
        self._buffer = bytearray()
        # (total length, headers length, prelude CRC) of the message being read, once checked.
        self._prelude: Optional[tuple[int, int, int]] = None
        self._offset = 0  # bytes of the stream consumed by whole messages, for error messages

    def feed(self, data: bytes) -> list[EventStreamMessage]:
        """Consume a chunk; return the messages it completed, in order."""
        buffer = self._buffer
        buffer += data
        messages: list[EventStreamMessage] = []
        # Messages are read at a moving position and the buffer is cut once at the end:
        # a read holding hundreds of small messages is not shifted once per message.
        pos = 0
        held = len(buffer)
        try:
            while True:
                prelude = self._prelude
                if prelude is None:
                    if held - pos < _PRELUDE_BYTES:
                        break
                    prelude = self._prelude = self._check_prelude(bytes(buffer[pos : pos + _PRELUDE_BYTES]))
                total = prelude[0]
                if held - pos < total:
                    break
                messages.append(self._message(bytes(buffer[pos : pos + total]), prelude))
                pos += total
                self._prelude = None
                self._offset += total
        finally:
            del buffer[:pos]
        return messages

    def close(self) -> list[EventStreamMessage]:
        """Signal end of stream; raise ``StreamError`` if it stopped inside a message."""
        held = len(self._buffer)
        if held:
            self.ended_mid_event = True
            expected = f" of {self._prelude[0]}" if self._prelude is not None else ""
            raise StreamError(
                f"event stream ended inside a message at byte {self._offset}: {held}{expected} bytes arrived"
            )
        return []

    @classmethod
    def sniff(cls, head: bytes) -> Optional[bool]:
        """Whether a body starting with ``head`` is an event stream (its prelude CRC holds)."""
        if len(head) < _PRELUDE_BYTES:
            return None
        total, headers_length, crc = _PRELUDE.unpack_from(head)
        return bool(
            zlib.crc32(head[:8]) == crc
            and _MIN_MESSAGE_BYTES <= total
            and headers_length <= total - _MIN_MESSAGE_BYTES
        )

    def _check_prelude(self, prelude: bytes) -> tuple[int, int, int]:
        total, headers_length, crc = _PRELUDE.unpack(prelude)
        computed = zlib.crc32(prelude[:8])
        where = f"event-stream message at byte {self._offset}"
        if computed != crc:
            raise StreamError(f"{where}: prelude CRC mismatch (sent 0x{crc:08x}, computed 0x{computed:08x})")
        if total < _MIN_MESSAGE_BYTES:
            raise StreamError(f"{where}: total length {total} is shorter than a message can be")
        if total > self.max_message_bytes:
            raise StreamError(f"{where}: total length {total} is over the {self.max_message_bytes}-byte cap")
        if headers_length > MAX_HEADERS_BYTES or headers_length > total - _MIN_MESSAGE_BYTES:
            raise StreamError(
                f"{where}: headers length {headers_length} does not fit "
                f"(message {total} bytes, headers at most {MAX_HEADERS_BYTES})"
            )
        return total, headers_length, crc

    def _message(self, frame: bytes, prelude: tuple[int, int, int]) -> EventStreamMessage:
        total, headers_length, _ = prelude
        payload_end = total - _CRC_BYTES
        sent = int.from_bytes(frame[payload_end:], "big")
        computed = zlib.crc32(frame[:payload_end])
        if computed != sent:
            raise StreamError(
                f"event-stream message at byte {self._offset}: message CRC mismatch "
                f"(sent 0x{sent:08x}, computed 0x{computed:08x})"
            )
        headers_end = _PRELUDE_BYTES + headers_length
        headers = parse_headers(frame[_PRELUDE_BYTES:headers_end])
        return EventStreamMessage(headers, frame[headers_end:payload_end])
