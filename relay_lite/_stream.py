"""``ChatStream``: a streamed reply, iterated as typed events and accumulated.

The stream owns its HTTP response. It is closed (and the connection released) when the
stream ends or breaks, when the caller closes it or leaves its ``with`` block, and when a
``text()`` loop is abandoned early. It never ends
silently short: a stream that stops without its protocol's terminator raises
``StreamError`` carrying the partial ``ChatResponse``; every error raised while streaming
carries that partial response as ``.partial``.

What the body holds is decided once, before the first event (``open_stream_body``):

- Content-Type of the expected framing (``text/event-stream``), or none at all: decoded
  in that framing.
- Any other type on a body whose first line starts like SSE (``data:``, ``event:``,
  ``id:``, ``retry:``, ``:``): decoded as SSE too; gateways mislabel streams.
- ``application/json`` or ``+json``: a whole reply (gateways answer ``stream: true``
  that way on cache hits, for mocked models and for errors). It is read whole, up to
  ``MAX_WHOLE_REPLY_BYTES``, and parsed by the protocol's ``parse_response``: an error
  body raises its ``APIError``; a reply becomes the events a stream of it would have
  produced, and ``.response`` equals what ``send()`` returns for that body.
- Anything else (an HTML error page, plain text): ``StreamError`` naming the type and
  quoting the body's start.

At end of stream, an event left without its closing blank line (servers and recorders
close right after the final ``data:`` line) is handed to the protocol parser, which
decides: the terminator ends the stream cleanly; cut JSON raises ``StreamError`` (the
stream ended in the middle of an event); any other event is kept, and the stream still
raises for its missing terminator, so nothing that arrived is lost.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from ._errors import REQUEST_ID_HEADERS, APIError, RelayError, StreamError, scrub
from ._models import (
    ChatResponse,
    Done,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ._sse import ServerSentEvent, SSEDecoder
from ._transport import StreamResponse

if TYPE_CHECKING:
    from .protocols._adapter import Decoder, StreamParser

#: Most bytes a JSON reply to a streaming request may have (it is read whole).
MAX_WHOLE_REPLY_BYTES = 16 * 1024 * 1024
# How many bytes may be read to decide whether a mislabelled body is SSE.
_SNIFF_BYTES = 4096
# How much of an unexpected body or event an error message quotes.
_SNIPPET_CHARS = 200
# Enough bytes for that many characters of any UTF-8 text.
_SNIPPET_BYTES = 4 * _SNIPPET_CHARS

# Bad shapes a parser's checks may let through; turned into StreamError at the pump.
MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError)


def request_id_from(headers: Any) -> Optional[str]:
    """The provider's request id from response headers (lower-cased names)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def quote_start(text: str) -> str:
    """``text``'s start, quoted for an error message."""
    return repr(text[:_SNIPPET_CHARS] + "..." if len(text) > _SNIPPET_CHARS else text)


def _media_type(headers: Any) -> str:
    return str(headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or any ``+json`` type (``application/problem+json``, ...)."""
    return media_type == "application/json" or media_type.endswith("+json")


def open_stream_body(
    http: StreamResponse, framing: Any, *, json_ok: bool = True, what: str = "stream"
) -> tuple[bool, Iterator[bytes]]:
    """Decide what a 2xx streaming response holds; return (is_whole_json, its byte chunks).

    ``framing`` is the decoder class expected (its ``MEDIA_TYPES`` and ``sniff``). The
    chunks include any bytes read to decide. A body that is neither in the framing nor
    (with ``json_ok``) JSON raises ``StreamError`` (``what`` names the stream) and the
    response is closed.
    """
    chunks = http.iter_bytes()
    media_type = _media_type(http.headers)
    if not media_type or media_type in framing.MEDIA_TYPES:
        return False, chunks
    head = b""
    verdict: Optional[bool] = None
    for chunk in chunks:
        head += chunk
        verdict = framing.sniff(head)
        if verdict is not None or len(head) >= _SNIFF_BYTES:
            break
    if verdict:
        return False, chain((head,), chunks)
    if json_ok and is_json_media_type(media_type):
        return True, chain((head,), chunks)
    for chunk in chunks:  # enough of the body to show what it is
        if len(head) >= _SNIPPET_BYTES:
            break
        head += chunk
    http.close()
    shown = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    raise StreamError(
        f"{what} answered with Content-Type {media_type}, not {framing.MEDIA_TYPES[0]}: {quote_start(shown)}",
        attempts=http.attempts,
    )


def read_whole_json(http: StreamResponse, chunks: Iterator[bytes], *, what: str = "stream") -> Any:
    """Read a JSON body of at most ``MAX_WHOLE_REPLY_BYTES`` from ``chunks`` and parse it."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_WHOLE_REPLY_BYTES:
            http.close()
            raise StreamError(
                f"{what} answered with a JSON body larger than {MAX_WHOLE_REPLY_BYTES} bytes; not read",
                attempts=http.attempts,
            )
    text = b"".join(parts).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return json.loads(text)
    except ValueError:
        raise StreamError(
            f"{what} answered with Content-Type {_media_type(http.headers)} but a body that is not JSON: "
            f"{quote_start(text)}",
            attempts=http.attempts,
        ) from None
    except RecursionError:
        raise StreamError(
            f"{what} answered with JSON nested too deeply to read", attempts=http.attempts
        ) from None


def ended_mid_event_error(event: ServerSentEvent, what: str = "stream") -> StreamError:
    """The error for a final event, without its blank line, that its parser refused."""
    return StreamError(f"{what} ended in the middle of an event: {quote_start(event.data)}")


def events_of_whole(response: ChatResponse) -> list[StreamEvent]:
    """The events a stream of ``response`` would have produced, ``Done`` last."""
    events: list[StreamEvent] = []
    if response.thinking:
        events.append(ThinkingDelta(response.thinking))
    if response.text:
        events.append(TextDelta(response.text))
    for index, call in enumerate(response.tool_calls):
        events.append(ToolCallDelta(index, call.id, call.name, call.arguments_text))
    if response.usage != Usage():
        events.append(UsageEvent(response.usage))
    events.append(Done(response))
    return events


class ChatStream:
    """Iterate for ``TextDelta`` / ``ToolCallDelta`` / ``UsageEvent`` / ... and a final ``Done``.

    >>> with client.chat(model).user("Count to 5").stream() as stream:  # doctest: +SKIP
    ...     for piece in stream.text():
    ...         print(piece, end="")
    >>> stream.response.usage  # doctest: +SKIP
    """

    def __init__(
        self,
        http: StreamResponse,
        parser: StreamParser,
        decoder: Optional[Decoder] = None,
        parse_whole: Optional[Callable[..., ChatResponse]] = None,
        secrets: Callable[[], tuple[str, ...]] = tuple,
        request_id: Optional[str] = None,
    ) -> None:
        self._http = http
        # The call's credentials, worked out only when an error must be cleaned of them:
        # a server may echo the key inside an error event, as it may in an error status.
        self._secrets = secrets
        self._parser = parser
        self._decoder: Decoder = decoder if decoder is not None else SSEDecoder()
        # The protocol's parse_response, for a JSON reply to the streaming request.
        self._parse_whole = parse_whole
        self.request_id = request_id if request_id is not None else request_id_from(http.headers)
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
        from ._ratelimits import parse_rate_limits

        http = self._http
        partial: ChatResponse = self._parser.acc.response(request_id=self.request_id, attempts=http.attempts)
        # Parsed once, on the first call (at the end of the stream or when it breaks): an
        # OpenAI reset duration is then measured from a later moment than the headers' arrival,
        # which errs on the side of waiting longer.
        if "_rate_limits" not in self.__dict__:
            self._rate_limits = parse_rate_limits(http.headers)
        return partial.replace(status=http.status, headers=http.headers, rate_limits=self._rate_limits)

    def _events(self) -> Iterator[StreamEvent]:
        parser = self._parser
        decoder = self._decoder
        try:
            parse_whole = self._parse_whole
            whole, chunks = open_stream_body(self._http, type(decoder), json_ok=parse_whole is not None)
            if whole and parse_whole is not None:
                yield from self._whole_reply(parse_whole, chunks)
                return
            for chunk in chunks:
                for item in decoder.feed(chunk):
                    yield from parser.feed(item)
                    if parser.finished:
                        break
                if parser.finished:
                    break
            else:
                for item in decoder.close():
                    yield from parser.feed(item)
                final = decoder.unterminated
                if not parser.finished and final is not None:
                    yield from self._last_event(final)
            if not parser.finished:
                # Nothing is said of a final event that was read whole into the partial.
                cut = decoder.ended_mid_event and decoder.unterminated is None
                detail = " (in the middle of an event)" if cut else ""
                raise StreamError(f"stream ended before its terminator{detail}")
        except RelayError as exc:
            self._fail(exc)
            raise
        except MALFORMED as exc:
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

    def _last_event(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Feed the event the stream ended inside (no blank line after it) to the parser.

        The official SDKs' decoders drop such an event silently; here the protocol decides.
        """
        try:
            events: list[StreamEvent] = self._parser.feed(event)
        except StreamError as exc:  # cut JSON, or an event that cannot come here
            raise ended_mid_event_error(event) from exc
        return events

    def _whole_reply(
        self, parse_whole: Callable[..., ChatResponse], chunks: Iterator[bytes]
    ) -> Iterator[StreamEvent]:
        http = self._http
        payload = read_whole_json(http, chunks)
        response = parse_whole(payload, request_id=self.request_id, attempts=http.attempts)
        stamp = self._partial()  # status, headers and rate limits, stamped as send() does
        response = response.replace(status=stamp.status, headers=stamp.headers, rate_limits=stamp.rate_limits)
        http.close()  # a no-op when reading to the end already released the connection
        self._response = response
        yield from events_of_whole(response)

    def _fail(self, exc: RelayError) -> None:
        self._error = exc
        partial = exc.partial = self._partial()
        exc.attempts = self._http.attempts
        if isinstance(exc, APIError):
            if exc.request_id is None:
                exc.request_id = self.request_id
            # An error event inside a 200 stream: the response's own headers and limits.
            exc.headers = dict(partial.headers)
            exc.rate_limits = partial.rate_limits
        scrub(exc, self._secrets())
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
