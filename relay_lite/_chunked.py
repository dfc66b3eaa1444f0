"""Sans-I/O decoding of the HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1).

Why the transport does this itself: token-streaming servers flush one HTTP chunk per
SSE event, and ``http.client``'s ``read1`` hands over one chunk per call, paying a
buffered ``readline`` for its size line and a second read for the CRLF after its data.
Fed whatever one socket read returned, ``ChunkedDecoder.feed`` gives back the payload of
every chunk in it at once, so a reader that fell behind catches up without a system call
or a Python-level ``readline`` per chunk (issue 14).

The grammar (RFC 9112 section 7.1)::

    chunked-body = *chunk last-chunk trailer-section CRLF
    chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    last-chunk   = 1*("0") [ chunk-ext ] CRLF

Size lines and trailer lines may end in a bare LF (RFC 9112 section 2.2 lets a
recipient accept it); chunk extensions and trailer fields are read and dropped, as
``http.client`` does. Bytes may arrive split anywhere, a size line or the CRLF after the
data included: what cannot be decided yet is kept for the next ``feed``.
"""

from __future__ import annotations

from typing import Iterator, Optional

from ._errors import StreamError

__all__ = ["ChunkedDecoder", "MAX_CHUNK_LINE_BYTES"]

#: Longest chunk-size or trailer line accepted (http.client's own limit, ``_MAXLINE``).
MAX_CHUNK_LINE_BYTES = 65536

_HEX_DIGITS = b"0123456789abcdefABCDEF"
# Where the decoder is in the grammar.
_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedDecoder:
    """Turns the bytes of a chunked body, however they are split, into its payload.

    ``done`` becomes True once the last chunk and the trailer section are read;
    ``extra`` then counts bytes that came after the body (the connection holding them
    must not be reused). ``missing`` is what a body cut now would lack: the bytes left of
    the current chunk's data (0 between chunks). Malformed framing raises ``StreamError``;
    when the same bytes also completed some payload, that payload is returned first and
    the error kept in ``error``, raised by the next ``feed`` (nothing that arrived is lost);
    ``pieces`` does the same lazily, for the transport.
    """

    __slots__ = ("_buffer", "_left", "_state", "done", "extra", "error")

    def __init__(self) -> None:
        self._buffer = b""  # bytes not yet decided (an unfinished size or trailer line)
        self._left = 0  # data bytes left in the current chunk
        self._state = _SIZE
        self.done = False
        self.extra = 0
        self.error: Optional[StreamError] = None

    @property
    def missing(self) -> int:
        """Bytes of the current chunk's data not yet seen (0 outside chunk data)."""
        return self._left if self._state == _DATA else 0

    @property
    def in_trailer(self) -> bool:
        """Whether the last chunk was read and only the trailer section is left."""
        return self._state == _TRAILER

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the payload it brought, one piece per chunk it touched.

        One piece per chunk, not one joined piece: a reader sees each chunk as it would
        from ``http.client`` (stream statistics count reads and the gaps between them).
        """
        if self.error is not None:
            raise self.error
        out: list[bytes] = []
        try:
            out.extend(self._decode(data))
        except StreamError as exc:
            if not out:
                raise
            self.error = exc
        return out

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """Consume ``data`` lazily: each chunk's payload as soon as its framing is read.

        What the transport uses: the first event of a read that brought many is handed on
        before the rest are de-chunked (time to first chunk). Malformed framing raises
        (and is kept in ``error``) after the payload before it was yielded. The decoder's
        state is final once the iterator is exhausted; one left unfinished can be resumed
        later, and no other ``feed`` or ``pieces`` may run meanwhile.
        """
        if self.error is not None:
            raise self.error
        return self._decode(data)  # not wrapped in a generator of its own: one resume per piece

    def _decode(self, data: bytes) -> Iterator[bytes]:
        # One generator (no inner one to delegate to): it is resumed once per chunk. The
        # state is written back when it is exhausted; a resumed one carries on from its
        # locals, so nothing is lost in between.
        try:
            if self._buffer:
                data = self._buffer + data
                self._buffer = b""
            if self.done:
                self.extra += len(data)
                return
            end = len(data)
            pos = 0
            state = self._state
            left = self._left
            while pos < end:
                if state == _DATA:
                    take = min(left, end - pos)
                    piece = data[pos : pos + take]  # the whole of data, uncopied, when it is all payload
                    pos += take
                    left -= take
                    if not left:
                        state = _DATA_END
                    yield piece
                elif state == _DATA_END:
                    if end - pos < 2:
                        if data[pos : pos + 1] != b"\r":
                            raise self._bad_data_end(data[pos : pos + 2])
                        break  # the CR arrived, its LF has not: wait for it
                    if data[pos : pos + 2] != b"\r\n":
                        raise self._bad_data_end(data[pos : pos + 2])
                    pos += 2
                    state = _SIZE
                else:  # a size line or a trailer line
                    stop = data.find(b"\n", pos)
                    if stop < 0:
                        if end - pos > MAX_CHUNK_LINE_BYTES:
                            raise self._line_too_long(state)
                        break
                    if stop - pos > MAX_CHUNK_LINE_BYTES:
                        raise self._line_too_long(state)
                    line = data[pos:stop]
                    pos = stop + 1
                    if state == _SIZE:
                        left = _chunk_size(line)
                        state = _DATA if left else _TRAILER
                    elif line == b"" or line == b"\r":  # the blank line ending the trailers
                        state = _DONE
                        self.done = True
                        self.extra = end - pos
                        pos = end
            self._state = state
            self._left = left
            if pos < end:
                self._buffer = data[pos:]
        except StreamError as exc:
            self.error = exc
            raise

    def _bad_data_end(self, seen: bytes) -> StreamError:
        return StreamError(f"chunked response body: chunk data is not followed by CRLF (got {seen!r})")

    def _line_too_long(self, state: int) -> StreamError:
        what = "chunk size" if state == _SIZE else "trailer"
        return StreamError(f"chunked response body: {what} line longer than {MAX_CHUNK_LINE_BYTES} bytes")


def _chunk_size(line: bytes) -> int:
    """The size a chunk-size line announces (its extensions dropped)."""
    digits = line.split(b";", 1)[0].strip(b" \t\r")
    if not digits or digits.strip(_HEX_DIGITS):
        shown = line[:80].rstrip(b"\r")
        raise StreamError(f"chunked response body: malformed chunk size line {shown!r}")
    return int(digits, 16)
