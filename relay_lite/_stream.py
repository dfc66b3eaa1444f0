"""The stream pump, and ``ChatStream``: a streamed chat reply built on it.

Theory of operation
-------------------
Every streamed body relay_lite reads -- a chat reply, an agent run, ModelRelay's
structured record stream -- goes through one ``StreamPump``. It takes the open response,
a sans-I/O *decoder* that frames bytes into items (``SSEDecoder``, ``NDJSONDecoder``) and
a sans-I/O *parser* that turns items into typed events and keeps the partial result
(the ``StreamParser`` protocol of ``protocols._adapter``: ``feed``, ``finished``,
``partial()``). Iterating the pump yields the parser's events; the user (``ChatStream``,
``platform.agents.AgentRun``, ``_structured.RecordStructuredStream``) only chooses the
messages, stamps the partial, and says what a whole JSON body means. The pump guarantees
the rules below, so each stream obeys them the same way (``tests/test_stream_pump.py``
pins them once, then for each user).

What the body holds is decided once, before the first event (``open_stream_body``):

- Content-Type of the expected framing, or none at all: decoded in that framing.
- Any other type on a body whose start the decoder recognises (``sniff``: SSE's ``data:``,
  ``event:``, ``id:``, ``retry:``, ``:``): decoded in the framing too; gateways mislabel
  streams.
- ``application/json`` or ``+json``, where the user gave a ``whole`` handler: a whole
  body (gateways answer ``stream: true`` that way on cache hits, for mocked models and
  for errors), read up to ``MAX_WHOLE_REPLY_BYTES``. A chat stream turns a reply into the
  events a stream of it would have produced (``.response`` equals what ``send()`` returns
  for that body); every user raises an error body's ``APIError``; an agent run or a
  record stream refuses any other JSON with ``StreamError`` quoting it.
- Anything else (an HTML error page, plain text): ``StreamError`` naming the type and
  quoting the body's start.

How the stream ends:

- The parser's terminator (``finished``) ends it cleanly: nothing after it is parsed, and
  the rest of the body is drained (briefly) so the connection goes back to the pool.
- At EOF, an event left without its closing blank line (servers and recorders close right
  after the final ``data:`` line) is handed to the parser, which decides: the terminator
  ends the stream cleanly; cut JSON raises ``StreamError`` ("... ended in the middle of an
  event: <quoted data>"); any other event is kept (and yielded).
- EOF without the terminator raises ``StreamError`` ("<what> ended before <terminator>"),
  with " (in the middle of an event)" when the body stopped inside an event that gave
  nothing -- unless the user's ``may_end`` accepts the end (an agent run that stops after
  a HITL interrupt is paused, not broken).

Errors: whatever the decoder, the parser or the transport raises while streaming is a
``RelayError`` carrying ``.partial`` (the parser's partial result, stamped by the user:
a ``ChatResponse`` with status, headers and rate limits; a ``RunSnapshot``; the last
structured payload), ``.attempts``, and for an ``APIError`` (an error event inside a 200
stream) the request id, the response's headers and rate limits; its text is scrubbed of
the call's secrets. A parser check that let a bad shape through (``KeyError``,
``TypeError``, ``RecursionError``, ... -- ``MALFORMED``) becomes ``StreamError``; no bare
one escapes. The response is closed on any error, and when the caller stops early
(``close()``, leaving a ``with`` block, abandoning a loop: ``GeneratorExit``), which
``closed_early`` records; then the connection is discarded, not drained. Nothing ends
silently short: a stream either reaches its terminator (or an end its user accepts) or
raises.
"""

from __future__ import annotations

import json
import logging
import time
from itertools import chain
from typing import (
    TYPE_CHECKING,
    Callable,
    Generator,
    Generic,
    Iterator,
    Mapping,
    Optional,
    Protocol,
    TypeVar,
    Union,
)

from ._errors import REQUEST_ID_HEADERS, APIError, RelayError, StreamError, api_error, scrub
from ._hook_events import StreamStats, gap_stats
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
from ._ratelimits import RateLimits, parse_rate_limits
from ._sse import ServerSentEvent, SSEDecoder
from ._transport import StreamResponse

if TYPE_CHECKING:
    from ._hooks import CallEvents
    from .protocols._adapter import ChatDecoder, ChatStreamParser, Decoder, StreamParser

logger = logging.getLogger("relay_lite")

#: Most bytes a JSON reply to a streaming request may have (it is read whole).
MAX_WHOLE_REPLY_BYTES = 16 * 1024 * 1024
# How many bytes may be read to decide whether a mislabelled body is in the framing.
_SNIFF_BYTES = 4096
# How much of an unexpected body or event an error message quotes.
_SNIPPET_CHARS = 200
# Enough bytes for that many characters of any UTF-8 text.
_SNIPPET_BYTES = 4 * _SNIPPET_CHARS

# Bad shapes a parser's checks may let through; turned into StreamError at the pump.
MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError)

ItemT = TypeVar("ItemT")
EventT = TypeVar("EventT")
PartialT = TypeVar("PartialT")


class Framing(Protocol):
    """What ``open_stream_body`` needs of a decoder (class or instance)."""

    @property
    def MEDIA_TYPES(self) -> tuple[str, ...]: ...  # noqa: N802 - the decoders' class constant

    def sniff(self, head: bytes) -> Optional[bool]: ...


class WholeReplyParser(Protocol):
    """A protocol's ``parse_response``: a whole reply body (parsed JSON) as a ``ChatResponse``."""

    def __call__(
        self, payload: object, *, request_id: Optional[str] = ..., attempts: int = ...
    ) -> ChatResponse: ...


class _ReadFromHeaders:
    """The default of ``request_id=``: read it from the generic request-id headers."""


#: Callers that know their adapter pass its answer (None included); without one the
#: generic header list is read.
READ_FROM_HEADERS = _ReadFromHeaders()


def request_id_from(headers: Mapping[str, str]) -> Optional[str]:
    """The provider's request id from response headers (lower-cased names)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def quote_start(text: str) -> str:
    """``text``'s start, quoted for an error message."""
    return repr(text[:_SNIPPET_CHARS] + "..." if len(text) > _SNIPPET_CHARS else text)


def _media_type(headers: Mapping[str, str]) -> str:
    return str(headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    """``application/json`` or any ``+json`` type (``application/problem+json``, ...)."""
    return media_type == "application/json" or media_type.endswith("+json")


def open_stream_body(
    http: StreamResponse, framing: Framing, *, json_ok: bool = True, what: str = "stream"
) -> tuple[bool, Iterator[bytes]]:
    """Decide what a 2xx streaming response holds; return (is_whole_json, its byte chunks).

    ``framing`` is the decoder expected (its ``MEDIA_TYPES`` and ``sniff``). The chunks
    include any bytes read to decide. A body that is neither in the framing nor (with
    ``json_ok``) JSON raises ``StreamError`` (``what`` names the stream) and the response
    is closed.
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


def read_whole_json(http: StreamResponse, chunks: Iterator[bytes], *, what: str = "stream") -> object:
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


def whole_json_error(
    data: object,
    headers: Mapping[str, str],
    *,
    what: str,
    expected: str,
    map_error: Callable[..., APIError] = api_error,
) -> RelayError:
    """The error for a whole JSON body where only a stream will do.

    An error body (``{"error": ...}``, a ``{"code": 40001, "message": ...}`` envelope) is
    its ``APIError``, mapped by ``map_error`` (the adapter's, so provider codes and request
    id headers apply); anything else is ``StreamError`` quoting it (``expected`` names the
    framing: "an event stream").
    """
    if isinstance(data, dict):
        failed_envelope = data.get("code") not in (None, 0, "0", 200) and ("message" in data or "msg" in data)
        if "error" in data or failed_envelope:
            return map_error(None, data, headers)
    shown = json.dumps(data, ensure_ascii=False)
    return StreamError(f"{what} answered with a JSON body, not {expected}: {quote_start(shown)}")


def _quoted_item(item: object) -> str:
    if isinstance(item, ServerSentEvent):
        return quote_start(item.data)
    return quote_start(item if isinstance(item, str) else repr(item))


class StreamPump(Generic[ItemT, EventT, PartialT]):
    """Drives one streamed response: bytes -> decoder -> parser -> typed events.

    Iterate it once for the parser's events (see the module docstring for its rules).
    ``what`` names the stream in messages; ``ended_early`` is the message for EOF before
    the terminator; ``malformed`` starts the message for a shape the parser's checks let
    through. ``whole`` handles a whole JSON body (returns its events or raises; without
    it such a body is refused by its Content-Type). ``stamp`` finishes the parser's
    partial result with the response's facts; ``may_end`` (given whether the body
    stopped inside an event) may accept an end without the terminator; ``on_error`` adds
    the user's facts to an error before it is scrubbed of ``secrets()`` and raised.
    """

    def __init__(
        self,
        http: StreamResponse,
        decoder: Decoder[ItemT],
        parser: StreamParser[ItemT, EventT, PartialT],
        *,
        what: str = "stream",
        ended_early: str = "stream ended before its terminator",
        malformed: str = "malformed stream event",
        whole: Optional[Callable[[object], list[EventT]]] = None,
        stamp: Optional[Callable[[PartialT], PartialT]] = None,
        may_end: Optional[Callable[[bool], bool]] = None,
        on_error: Optional[Callable[[RelayError], None]] = None,
        secrets: Callable[[], tuple[str, ...]] = tuple,
        request_id: Union[str, None, _ReadFromHeaders] = READ_FROM_HEADERS,
    ) -> None:
        self.http = http
        self.decoder = decoder
        self.parser = parser
        self.what = what
        self._ended_early = ended_early
        self._malformed = malformed
        self._whole = whole
        self._stamp = stamp
        self._may_end = may_end
        self._on_error = on_error
        # The call's credentials, worked out only when an error must be cleaned of them:
        # a server may echo the key inside an error event, as it may in an error status.
        self._secrets = secrets
        self.request_id = (
            request_id_from(http.headers) if isinstance(request_id, _ReadFromHeaders) else request_id
        )
        #: True once the stream ended as it should (terminator, accepted end, whole body).
        self.done = False
        #: True when the caller stopped reading before the end.
        self.closed_early = False
        #: The error that ended the stream, once raised.
        self.error: Optional[RelayError] = None
        self._iterator: Optional[Generator[EventT, None, None]] = None
        self._rate_limits: Optional[RateLimits] = None
        self._rate_limits_read = False
        # Timing: from the call's start (set by the transport) to each read that made events.
        #: The call's hook reporter (None when the client has no hooks).
        self.call_events: Optional[CallEvents] = getattr(http, "events", None)
        self._started: float = getattr(http, "started", None) or time.monotonic()
        self._chunks = 0
        self._bytes = 0
        self._event_count = 0
        self._ttft: Optional[float] = None
        self._last_mark = 0.0
        self._gaps: list[float] = []
        #: Timing figures (``StreamStats``), set when the stream ends, cleanly or not.
        self.stats: Optional[StreamStats] = None

    def __iter__(self) -> Iterator[EventT]:
        if self._iterator is None:
            self._iterator = self._pump()
        return self._iterator

    @property
    def started(self) -> bool:
        """Whether iteration has begun."""
        return self._iterator is not None

    @property
    def rate_limits(self) -> Optional[RateLimits]:
        """The response headers' rate limits, parsed once."""
        if not self._rate_limits_read:
            # Parsed on first use (at the end of the stream or when it breaks): an OpenAI
            # reset duration is then measured from a later moment than the headers'
            # arrival, which errs on the side of waiting longer.
            self._rate_limits = parse_rate_limits(self.http.headers)
            self._rate_limits_read = True
        return self._rate_limits

    @property
    def partial(self) -> PartialT:
        """The parser's result so far, stamped by the user."""
        partial = self.parser.partial()
        return self._stamp(partial) if self._stamp is not None else partial

    def _pump(self) -> Generator[EventT, None, None]:
        http = self.http
        parser = self.parser
        decoder = self.decoder
        try:
            whole, chunks = open_stream_body(http, decoder, json_ok=self._whole is not None, what=self.what)
            if whole and self._whole is not None:
                events = self._whole(read_whole_json(http, chunks, what=self.what))
                http.close()  # a no-op when reading to the end already released the connection
                self.done = True
                self._mark(len(events))
                self._finish(True)
                yield from events
                return
            feed = parser.feed
            decode = decoder.feed
            for chunk in chunks:
                self._chunks += 1
                self._bytes += len(chunk)
                marked = False
                for item in decode(chunk):
                    produced = feed(item)
                    if produced:
                        if marked:
                            self._event_count += len(produced)
                        else:  # one timing mark per read: gaps are between reads
                            self._mark(len(produced))
                            marked = True
                        if len(produced) == 1:  # the usual case; skips a list iterator
                            yield produced[0]
                        else:
                            yield from produced
                        if parser.finished:
                            break
                    elif parser.finished:
                        break
                if parser.finished:
                    break
            else:
                for item in decoder.close():
                    yield from parser.feed(item)
                    if parser.finished:
                        break
                cut = decoder.ended_mid_event
                final = decoder.unterminated
                if not parser.finished and final is not None:
                    last = self._last_item(final)
                    cut = cut and not last
                    yield from last
                if not parser.finished and not (self._may_end is not None and self._may_end(cut)):
                    detail = " (in the middle of an event)" if cut else ""
                    raise StreamError(f"{self._ended_early}{detail}")
        except RelayError as exc:
            self._fail(exc)
            raise
        except MALFORMED as exc:
            # An item of an unexpected shape slipped past the parser's checks.
            error = StreamError(f"{self._malformed}: {exc!r}")
            self._fail(error)
            raise error from exc
        except GeneratorExit:
            self.closed_early = not self.done
            http.close()
            self._finish(False)
            raise
        http.drain()
        self.done = True
        self._finish(True)

    def _mark(self, count: int) -> None:
        """A read produced ``count`` events: note the time to first token or the gap."""
        now = time.monotonic()
        if self._ttft is None:
            self._ttft = now - self._started
            if self.call_events is not None:
                self.call_events.first_token(self._ttft, self.request_id)
        else:
            self._gaps.append(now - self._last_mark)
        self._last_mark = now
        self._event_count += count

    def _finish(self, ok: bool) -> None:
        """Work out ``stats`` once, log them at debug and report them to the hooks."""
        if self.stats is not None:
            return
        mean, p50, p95, largest = gap_stats(self._gaps)
        stats = StreamStats(
            self._chunks,
            self._bytes,
            self._event_count,
            time.monotonic() - self._started,
            self._ttft,
            mean,
            p50,
            p95,
            largest,
            self.request_id,
            ok,
        )
        self.stats = stats
        if logger.isEnabledFor(logging.DEBUG):
            gaps = (
                "-"
                if mean is None
                else "/".join(f"{g:.3f}" for g in (mean, p50, p95, largest) if g is not None)
            )
            logger.debug(
                "%s ended%s: %d chunks, %d bytes, %d events in %.3f s; ttft %s; gaps mean/p50/p95/max %s s",
                self.what,
                "" if ok else " early",
                stats.chunks,
                stats.bytes,
                stats.events,
                stats.duration,
                "-" if stats.ttft is None else f"{stats.ttft:.3f} s",
                gaps,
            )
        if self.call_events is not None:
            self.call_events.stream_end(stats)

    def _last_item(self, item: ItemT) -> list[EventT]:
        """Feed the item the stream ended inside (an SSE event with no blank line after it).

        The official SDKs' decoders drop such an event silently; here the parser decides.
        """
        try:
            return self.parser.feed(item)
        except StreamError as exc:  # cut JSON, or an event that cannot come here
            raise StreamError(f"{self.what} ended in the middle of an event: {_quoted_item(item)}") from exc

    def _fail(self, exc: RelayError) -> None:
        self.error = exc
        http = self.http
        exc.partial = self.partial
        exc.attempts = http.attempts
        if isinstance(exc, APIError):
            if exc.request_id is None:
                exc.request_id = self.request_id
            # An error event inside a 200 stream: the response's own headers and limits.
            exc.headers = dict(http.headers)
            exc.rate_limits = self.rate_limits
        if self._on_error is not None:
            self._on_error(exc)
        scrub(exc, self._secrets())
        http.close()
        self._finish(False)

    def close(self) -> None:
        """Stop reading and release the connection now."""
        if not self.done:
            self.closed_early = True
        if self._iterator is not None:
            self._iterator.close()
        self.http.close()
        if self.started:
            self._finish(self.done)


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

    A ``StreamPump`` over the protocol's decoder and parser; every error raised while
    streaming carries the partial ``ChatResponse`` as ``.partial``.

    >>> with client.chat(model).user("Count to 5").stream() as stream:  # doctest: +SKIP
    ...     for piece in stream.text():
    ...         print(piece, end="")
    >>> stream.response.usage  # doctest: +SKIP
    """

    def __init__(
        self,
        http: StreamResponse,
        parser: ChatStreamParser,
        decoder: Optional[ChatDecoder] = None,
        parse_whole: Optional[WholeReplyParser] = None,
        secrets: Callable[[], tuple[str, ...]] = tuple,
        request_id: Union[str, None, _ReadFromHeaders] = READ_FROM_HEADERS,
    ) -> None:
        self._http = http
        # The protocol's parse_response, for a JSON reply to the streaming request.
        self._parse_whole = parse_whole
        self._pump: StreamPump[ServerSentEvent, StreamEvent, ChatResponse] = StreamPump(
            http,
            decoder if decoder is not None else SSEDecoder(),
            parser,
            whole=self._whole_reply if parse_whole is not None else None,
            stamp=self._stamp,
            secrets=secrets,
            request_id=request_id,
        )
        self.request_id = self._pump.request_id
        self._response: Optional[ChatResponse] = None
        self._iterator: Optional[Generator[StreamEvent, None, None]] = None

    # -- iteration ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def text(self) -> Iterator[str]:
        """Yield only the reply's text pieces; leaving the loop early closes the stream."""
        try:
            if self._iterator is None and hasattr(self._pump.parser, "text_only"):
                # Only this loop will see the events: the OpenAI and Anthropic parsers then
                # hand text deltas on as plain strings instead of a TextDelta each (issue 14).
                setattr(self._pump.parser, "text_only", True)  # noqa: B010
            events: Iterator[object] = iter(self)  # StreamEvents, or strs as said above
            for event in events:
                if type(event) is str:
                    yield event
                elif type(event) is TextDelta:
                    yield event.text
        finally:
            if self._response is None:
                self.close()

    def _stamp(self, partial: ChatResponse) -> ChatResponse:
        """The parser's reply with what the response says: request id, attempts, status,
        headers and rate limits (as ``send()`` stamps them)."""
        http = self._http
        if partial.all_choices:  # each choice names the request too, as send()'s do
            choices = tuple(
                c.replace(request_id=self.request_id, attempts=http.attempts) for c in partial.all_choices
            )
            partial = partial.replace(all_choices=choices)
        return partial.replace(
            request_id=self.request_id,
            attempts=http.attempts,
            status=http.status,
            headers=http.headers,
            rate_limits=self._pump.rate_limits,
        )

    def _events(self) -> Generator[StreamEvent, None, None]:
        yield from self._pump
        if self._response is None:  # a whole JSON reply set it, and yielded its Done
            self._response = self._pump.partial
            self._report_usage(self._response)
            yield Done(self._response)
        else:
            self._report_usage(self._response)

    def _report_usage(self, response: ChatResponse) -> None:
        events = self._pump.call_events
        if events is not None:
            events.usage(response.usage, response.model, self.request_id)

    @property
    def stats(self) -> Optional[StreamStats]:
        """Timing figures (chunks, bytes, duration, time to first token, gaps between
        reads: mean, p50, p95, max) once the stream has ended; None before."""
        return self._pump.stats

    def _whole_reply(self, payload: object) -> list[StreamEvent]:
        assert self._parse_whole is not None  # only given to the pump with it
        http = self._http
        response = self._parse_whole(payload, request_id=self.request_id, attempts=http.attempts)
        response = response.replace(
            status=http.status, headers=http.headers, rate_limits=self._pump.rate_limits
        )
        self._response = response
        return events_of_whole(response)

    # -- results and lifecycle ----------------------------------------------------------

    @property
    def response(self) -> ChatResponse:
        """The whole reply. Reads the rest of the stream first if it is still open."""
        pump = self._pump
        if pump.error is not None:
            raise pump.error
        if self._response is None:
            if pump.closed_early or (self._http.closed and self._iterator is None):
                raise StreamError("stream was closed before it ended", partial=pump.partial)
            for _ in self:
                pass
        if self._response is None:  # only if the loop above ended without raising
            raise StreamError("stream ended without a response", partial=pump.partial)
        return self._response

    @property
    def partial(self) -> ChatResponse:
        """What has arrived so far, whether or not the stream has ended."""
        return self._response or self._pump.partial

    def close(self) -> None:
        """Stop reading and release the connection now."""
        if self._response is None:
            self._pump.closed_early = True
        if self._iterator is not None:
            self._iterator.close()
        self._pump.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
