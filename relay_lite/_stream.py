"""``ChatStream``: a streamed reply, iterated as typed events and accumulated.

The stream owns its HTTP response. It is closed (and the connection released) when the
stream ends or breaks, when the caller closes it or leaves its ``with`` block, and when a
``text()`` loop is abandoned early. It never ends
silently short: a stream that stops without its protocol's terminator raises
``StreamError`` carrying the partial ``ChatResponse``; every error raised while streaming
carries that partial response as ``.partial``.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from ._errors import REQUEST_ID_HEADERS, APIError, RelayError, StreamError
from ._models import ChatResponse, Done, StreamEvent, TextDelta
from ._sse import SSEDecoder
from ._transport import StreamResponse


def request_id_from(headers: Any) -> Optional[str]:
    """The provider's request id from response headers (lower-cased names)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


class ChatStream:
    """Iterate for ``TextDelta`` / ``ToolCallDelta`` / ``UsageEvent`` / ... and a final ``Done``.

    >>> with client.chat(model).user("Count to 5").stream() as stream:  # doctest: +SKIP
    ...     for piece in stream.text():
    ...         print(piece, end="")
    >>> stream.response.usage  # doctest: +SKIP
    """

    def __init__(self, http: StreamResponse, parser: Any, decoder: Any = None) -> None:
        self._http = http
        self._parser = parser
        self._decoder = decoder if decoder is not None else SSEDecoder()
        self.request_id = request_id_from(http.headers)
        self._response: Optional[ChatResponse] = None
        self._iterator: Optional[Iterator[StreamEvent]] = None
        self._closed_early = False
        self._error: Optional[RelayError] = None

    # -- iteration ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def text(self) -> Iterator[str]:
        """Yield only the reply's text pieces; leaving the loop early closes the stream."""
        try:
            for event in self:
                if type(event) is TextDelta:
                    yield event.text
        finally:
            if self._response is None:
                self.close()

    def _partial(self) -> ChatResponse:
        partial: ChatResponse = self._parser.acc.response(
            request_id=self.request_id, attempts=self._http.attempts
        )
        return partial

    def _events(self) -> Iterator[StreamEvent]:
        parser = self._parser
        decoder = self._decoder
        try:
            for chunk in self._http.iter_bytes():
                for item in decoder.feed(chunk):
                    yield from parser.feed(item)
                    if parser.finished:
                        break
                if parser.finished:
                    break
            else:
                for item in decoder.close():
                    yield from parser.feed(item)
            if not parser.finished:
                detail = " (in the middle of an event)" if getattr(decoder, "ended_mid_event", False) else ""
                raise StreamError(f"stream ended before its terminator{detail}")
        except RelayError as exc:
            self._fail(exc)
            raise
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            # A chunk of an unexpected shape slipped past the parser's checks.
            error = StreamError(f"malformed stream event: {exc!r}")
            self._fail(error)
            raise error from exc
        except GeneratorExit:
            self._closed_early = True
            self._http.close()
            raise
        self._http.drain()
        self._response = self._partial()
        yield Done(self._response)

    def _fail(self, exc: RelayError) -> None:
        self._error = exc
        exc.partial = self._partial()
        exc.attempts = self._http.attempts
        if isinstance(exc, APIError) and exc.request_id is None:
            exc.request_id = self.request_id
        self._http.close()

    # -- results and lifecycle ----------------------------------------------------------

    @property
    def response(self) -> ChatResponse:
        """The whole reply. Reads the rest of the stream first if it is still open."""
        if self._error is not None:
            raise self._error
        if self._response is None:
            if self._closed_early or (self._http.closed and self._iterator is None):
                raise StreamError("stream was closed before it ended", partial=self._partial())
            for _ in self:
                pass
        if self._response is None:  # only if the loop above ended without raising
            raise StreamError("stream ended without a response", partial=self._partial())
        return self._response

    @property
    def partial(self) -> ChatResponse:
        """What has arrived so far, whether or not the stream has ended."""
        return self._response or self._partial()

    def close(self) -> None:
        """Stop reading and release the connection now."""
        if self._response is None:
            self._closed_early = True
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]
        self._http.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
