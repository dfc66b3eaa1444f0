"""Sans-I/O decoders for streamed responses: Server-Sent Events and NDJSON.

Theory of operation
-------------------

Both decoders are push parsers: the caller hands them the bytes it read, in
whatever pieces the network produced, and gets back the complete items those
bytes finished. They never do I/O, never block and keep no reference to the
caller's buffers.

``SSEDecoder`` follows the WHATWG HTML Living Standard, section 9.2
"Server-sent events", subsection "Event stream interpretation":

1. The byte stream is decoded as UTF-8 with an incremental decoder, so a
   character split between two chunks still decodes as one character, and
   invalid bytes become U+FFFD. One leading BOM is dropped, once.
2. The text is cut into lines at CRLF, LF or CR -- and at nothing else, which
   is why ``str.splitlines()`` (it also splits at U+2028, U+0085, ...) is never
   used. A CR that ends one chunk and an LF that starts the next are a single
   line ending, so we remember "the last thing seen was a CR".
3. Each line is a comment (``:`` first), a ``field:value`` pair (one space
   after the colon is dropped), a bare field name (empty value) or blank. Blank
   lines dispatch the event built up from the fields before them.
4. At end of stream an event without its closing blank line is discarded.
   Real servers often close right after their last event's data line (``data:
   [DONE]`` then EOF), so ``close()`` also keeps that event, unfinished last line
   included, in ``unterminated``: the caller's protocol decides whether it counts.

Cost is linear in the bytes fed: each chunk is decoded once and only the new
text is searched for line endings; an unfinished line is kept as a list of
pieces and joined once, when its ending arrives. A line may not grow past
``max_line_bytes``, so a peer that never sends a newline cannot make us buffer
without bound.

``NDJSONDecoder`` shares the decoding and the line cap, splits at LF only
(a CR before the LF is JSON whitespace and is tolerated) and parses each
non-blank line as JSON.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, ClassVar, Optional

from ._errors import ConfigError, StreamError
from ._record import Record

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "NDJSONDecoder",
    "SSEDecoder",
    "ServerSentEvent",
]

#: Longest line either decoder will buffer, by default (16 MiB).
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024

# The only three line endings SSE knows. CRLF must be tried before a lone CR.
_SSE_LINE_END = re.compile("\r\n|\r|\n")

_BOM = "\ufeff"
_BOM_BYTES = _BOM.encode("utf-8")
# How an SSE body's first line can begin: a field we know, or a comment.
_SSE_STARTS = (b"data:", b"event:", b"id:", b"retry:", b":")

# How much of an unparsable NDJSON line goes into the error message.
_SNIPPET_CHARS = 200


class ServerSentEvent(Record):
    """One dispatched server-sent event.

    ``id`` is the stream's last event id at dispatch time (it persists across
    events until the server changes it). ``retry`` is set only on the first
    event dispatched after a valid ``retry`` field, otherwise None.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    # Optional, not "int | None": typing.get_type_hints() must work on Python 3.9.
    retry: Optional[int] = None  # noqa: UP045

    def json(self) -> Any:
        """Parse ``data`` as JSON (raises ``json.JSONDecodeError`` if it is not)."""
        return json.loads(self.data)


class _Utf8Text:
    """Incremental UTF-8 decoding (U+FFFD for bad bytes, one leading BOM dropped)
    and the capped buffer for the line still waiting for its line end."""

    _KIND = "stream"  # names the format in error messages
    #: Media types (lower case, no parameters) of a body in this framing.
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, max_line_bytes: int) -> None:
        if max_line_bytes < 1:
            raise ConfigError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
        #: The line cap, counted in decoded characters (see the class docstrings).
        self.max_line_bytes = max_line_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # True once the first character has been seen, BOM or not; the BOM rule
        # applies to the very start of the stream only.
        self._started = False
        # The unfinished line, as pieces joined only once it ends: many tiny chunks
        # of one long line stay linear instead of re-copying a growing string.
        self._pending: list[str] = []
        self._pending_len = 0

    @classmethod
    def sniff(cls, head: bytes) -> Optional[bool]:
        """Whether a body starting with ``head`` looks like this framing (None: undecided).

        The base answer is False: the framing is taken from the Content-Type only.
        """
        return False

    def _decode(self, data: bytes, final: bool = False) -> str:
        text: str = self._decoder.decode(data, final)
        if not self._started and text:
            self._started = True
            # The BOM's three bytes may arrive split; the incremental decoder
            # holds them back until they form the character, so this sees it whole.
            if text[0] == _BOM:
                text = text[1:]
        return text

    def _complete_lines(self, parts: list[str], text_len: int) -> bool:
        """Take ``parts`` (new text of length ``text_len`` cut at line ends) in place.

        The last part is the unfinished line: it is moved to the pending buffer,
        and the pending buffer is joined onto the first part. Returns False, leaving
        ``parts`` empty, when no line ended. Raises if a line is over the cap.
        """
        tail = parts.pop()  # "" when the text ended with a line end
        limit = self.max_line_bytes
        if not parts:
            self._pending.append(tail)
            self._pending_len += len(tail)
            if self._pending_len > limit:
                raise self._too_long()
            return False
        # Only when all the text could be one line can some line be too long.
        if self._pending_len + text_len > limit and (
            self._pending_len + len(parts[0]) > limit
            or len(tail) > limit
            or any(len(line) > limit for line in parts)
        ):
            raise self._too_long()
        if self._pending:
            self._pending.append(parts[0])
            parts[0] = "".join(self._pending)
            self._pending = [tail] if tail else []
        elif tail:
            self._pending.append(tail)
        self._pending_len = len(tail)
        return True

    def _too_long(self) -> StreamError:
        return StreamError(f"{self._KIND} line longer than max_line_bytes={self.max_line_bytes} characters")


class SSEDecoder(_Utf8Text):
    """Turn the bytes of a ``text/event-stream`` body into ``ServerSentEvent`` objects.

    Call ``feed()`` with each chunk as it arrives and ``close()`` once at the end.
    ``max_line_bytes`` caps one line, counted in decoded characters (equal to bytes
    for ASCII, fewer for other text); a longer line raises ``StreamError``. After an
    exception the decoder must not be used again.

    Attributes: ``retry`` is the latest reconnection time (ms) the server sent, or
    None; ``last_event_id`` is the current last event id; ``ended_mid_event`` and
    ``unterminated`` are meaningful after ``close()``.
    """

    _KIND = "SSE"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = ("text/event-stream",)

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)
        #: Reconnection time in milliseconds from the latest valid ``retry`` field.
        self.retry: int | None = None
        #: The last event id buffer; carried by every event dispatched.
        self.last_event_id = ""
        #: After ``close()``: True when the stream stopped inside an event, i.e. there
        #: was an unterminated line, or field lines with no blank line after them.
        self.ended_mid_event = False
        #: After ``close()``: the event the stream stopped inside, had it been dispatched
        #: (its data lines, a last line without a line ending included), or None when
        #: that event had no data line. WHATWG discards it; see ``close()``.
        self.unterminated: Optional[ServerSentEvent] = None
        self._after_cr = False  # the last text seen ended with CR
        self._event = ""  # event type buffer
        self._data: list[str] = []  # data buffer, one item per data line
        self._retry_pending: int | None = None  # retry for the next event
        self._in_event = False  # a field line arrived since the last blank line

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Consume a chunk of the stream; return the events it completed, in order."""
        text = self._decode(data)
        if not text:
            return []
        if self._after_cr or "\r" in text or len(text) > self.max_line_bytes:
            return self._lines(text)
        # No CR, and no line of the text alone can be over the cap: the event blocks of
        # the text can be read whole once the decoder is between events.
        if self._in_event or self._pending:  # finish the event under way line by line
            cut = text.find("\n\n")
            if cut < 0:
                return self._lines(text)
            events = self._lines(text[: cut + 2])
            text = text[cut + 2 :]
            if text:  # the blank line just read left the decoder between events
                events += self._blocks(text)
            return events
        return self._blocks(text)

    def _blocks(self, text: str) -> list[ServerSentEvent]:
        """``_lines`` for text that starts between events and has no CR, by whole events.

        A block between blank lines of the two shapes nearly every provider sends --
        ``data: X`` and ``event: E`` + ``data: X``, one line each -- becomes its event
        directly; any other block, and the unfinished rest, go through ``_lines``, which
        every block leaves between events again (it ends with the blank line).
        """
        blocks = text.split("\n\n")
        rest = blocks.pop()
        events: list[ServerSentEvent] = []
        for block in blocks:
            if block[:6] == "data: ":
                if "\n" not in block:
                    events.append(
                        ServerSentEvent("message", block[6:], self.last_event_id, self._retry_pending)
                    )
                    self._retry_pending = None
                    continue
            elif block[:7] == "event: ":
                cut = block.find("\n")
                if block[cut + 1 : cut + 7] == "data: " and block.find("\n", cut + 1) < 0:
                    events.append(
                        ServerSentEvent(
                            block[7:cut] or "message",
                            block[cut + 7 :],
                            self.last_event_id,
                            self._retry_pending,
                        )
                    )
                    self._retry_pending = None
                    continue
            events += self._lines(block + "\n\n")
        if rest:
            events += self._lines(rest)
        return events

    def close(self) -> list[ServerSentEvent]:
        """Signal end of stream.

        Per WHATWG an event that has not been ended by a blank line is discarded, so
        this always returns an empty list (it returns a list for symmetry with
        ``feed()``). It sets ``ended_mid_event``, and keeps that discarded event in
        ``unterminated`` for callers whose servers close the connection right after
        their final ``data:`` line (``data: [DONE]`` then EOF, a last line with no
        line ending at all): the caller decides whether the event completes its stream.
        """
        # Flush a truncated multi-byte sequence (it becomes U+FFFD in the partial line).
        text = self._decode(b"", final=True)
        events = self._lines(text) if text else []
        self.ended_mid_event = self._pending_len > 0 or self._in_event
        last_line = "".join(self._pending)
        self._pending = []
        self._pending_len = 0
        if last_line:  # read it as the complete line it would have been (never a CR here)
            events += self._lines(last_line + "\n")
        if self._data:
            self.unterminated = ServerSentEvent(
                self._event or "message", "\n".join(self._data), self.last_event_id, self._retry_pending
            )
            self._data.clear()
        return events

    @classmethod
    def sniff(cls, head: bytes) -> Optional[bool]:
        """Whether a body starting with ``head`` looks like SSE; None while undecided.

        True when its first non-blank line starts a field (``data:``, ``event:``,
        ``id:``, ``retry:``) or a comment (``:``). Used for a stream whose Content-Type
        says something else (gateways mislabel SSE as text/plain or application/json).
        """
        if _BOM_BYTES.startswith(head):  # nothing yet, or a BOM not whole yet
            return None
        text = head[3:] if head.startswith(_BOM_BYTES) else head
        text = text.lstrip(b"\r\n")
        if not text:
            return None
        for start in _SSE_STARTS:
            if text.startswith(start):
                return True
        if any(start.startswith(text) for start in _SSE_STARTS):
            return None
        return False

    def _lines(self, text: str) -> list[ServerSentEvent]:
        if self._after_cr:
            self._after_cr = False
            if text[0] == "\n":  # second half of a CRLF split across chunks
                text = text[1:]
                if not text:
                    return []
        # str.split is far cheaper than the regex, so use it whenever the chunk has
        # no CR at all, or only CRs that are part of a CRLF.
        if "\r" in text:
            self._after_cr = text[-1] == "\r"
            lf_only = text.replace("\r\n", "\n")
            if "\r" in lf_only:
                parts = _SSE_LINE_END.split(text)
            else:
                parts = lf_only.split("\n")
        else:
            parts = text.split("\n")
        if not self._complete_lines(parts, len(text)):
            return []

        events: list[ServerSentEvent] = []
        data_buf = self._data
        in_event = self._in_event  # kept in a local, stored back once (nothing here raises)
        for line in parts:
            # The line nearly every event is made of: a data field with its one space.
            if line[:6] == "data: ":
                data_buf.append(line[6:])
                in_event = True
                continue
            if not line:  # blank line: dispatch
                in_event = False
                if data_buf:
                    events.append(
                        ServerSentEvent(
                            self._event or "message",
                            data_buf[0] if len(data_buf) == 1 else "\n".join(data_buf),
                            self.last_event_id,
                            self._retry_pending,
                        )
                    )
                    data_buf.clear()
                    self._retry_pending = None
                self._event = ""
                continue
            if line[:7] == "event: ":  # the other common line (Anthropic names each event)
                self._event = line[7:]
                in_event = True
                continue
            name, _, value = line.partition(":")
            if not name:  # a comment (":..." -- the line is not blank here)
                continue
            in_event = True
            if value and value[0] == " ":
                value = value[1:]
            if name == "data":
                data_buf.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\0" not in value:  # a NUL makes the whole field be ignored
                    self.last_event_id = value
            # ASCII digits only: str.isdigit alone also accepts e.g. "²".
            elif name == "retry" and value.isdigit() and value.isascii():
                self.retry = self._retry_pending = int(value)
            # any other field name, or a bad retry value, is ignored
        self._in_event = in_event
        return events


class NDJSONDecoder(_Utf8Text):
    """Turn the bytes of a newline-delimited JSON body into parsed values.

    Lines end at LF; a CR before it is tolerated. Blank lines are skipped, and a
    final line without a newline is parsed by ``close()``. A line that is not JSON
    raises ``StreamError`` quoting it. ``max_line_bytes`` caps one line, counted in
    decoded characters, as for ``SSEDecoder``.
    """

    _KIND = "NDJSON"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = (
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
    )
    #: Always None: ``close()`` itself parses a last line that had no newline.
    unterminated: Optional[ServerSentEvent] = None

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)

    def feed(self, data: bytes) -> list[Any]:
        """Consume a chunk of the stream; return the values of the lines it completed."""
        text = self._decode(data)
        if not text:
            return []
        parts = text.split("\n")
        if not self._complete_lines(parts, len(text)):
            return []
        return [_parse_json_line(line) for line in parts if line and not line.isspace()]

    def close(self) -> list[Any]:
        """Signal end of stream; parse and return a final line that had no newline."""
        line = "".join(self._pending) + self._decode(b"", final=True)
        self._pending = []
        self._pending_len = 0
        if len(line) > self.max_line_bytes:
            raise self._too_long()
        if not line or line.isspace():
            return []
        return [_parse_json_line(line)]


def _parse_json_line(line: str) -> Any:
    try:
        # JSON whitespace includes CR, so a CRLF line ending needs no stripping.
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        shown = line.rstrip("\r")
        if len(shown) > _SNIPPET_CHARS:
            shown = shown[:_SNIPPET_CHARS] + "..."
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise StreamError(f"invalid JSON line in NDJSON stream ({reason}): {shown}") from None
