"""The only module that does I/O: one urllib3 pool, retries, backoff, deadlines.

Theory of operation:

- urllib3 is asked for a single attempt (``retries=False``, no redirects); this module
  owns the retry loop so that every retry, backoff and deadline rule lives in one place.
- Bodies are read straight from the underlying ``http.client`` response with ``read1``,
  which returns whatever bytes have arrived instead of waiting to fill a block. That is
  what makes a stream deliver each event as soon as it lands, on urllib3 1.26 and 2.x.
- Every ``recv`` of a response -- its status line and headers included, which urllib3
  reads inside ``urlopen`` -- waits at most the read timeout and never past the total
  deadline, and every ``send`` of a request waits at most the read timeout for progress
  and never past the deadline: a server dripping one byte a second, or never reading an
  upload, cannot hold a call past its deadline (``_TimedSocketIO``, ``_TimedConnectionMixin``).
- Interim ``1xx`` responses are skipped (RFC 9110 section 15.2); a connection goes back to
  the pool only when its response was read to its end (``_release``).
- Compressed bodies are inflated at most ``INFLATE_CHUNK_BYTES`` at a time, so the
  decoders' caps apply to inflated bytes before a small gzip bomb can grow.
- A retry happens only before the caller has seen a byte of a successful response.
- The body is serialized once, before the first attempt; then, on every attempt, the
  call's ``Authorizer`` is given the final method, URL, headers and body bytes and the
  headers it returns are added last. A static key is such an authorizer; a request signer
  (AWS SigV4: a fresh timestamp and signature per attempt, over the exact bytes sent)
  fits the same slot.
- An error status becomes an exception through the call's ``ErrorMapper`` (the protocol
  adapter's ``map_error``, which knows its provider's error bodies); this module knows
  no provider. Without one, the generic ``_errors.api_error`` is used.
- ``HTTPTransport`` is the seam above this module: ``Transport`` and
  ``relay_lite.testing.MockTransport`` both satisfy it.
- Header values are checked for CR/LF before anything is sent. Header values never go
  into logs or error messages, so neither does the API key; and when a server echoes a
  credential back, the secret header values of the call (and any user info of the URL or
  proxy) are scrubbed from the error and its log lines (``_errors.scrub``).
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Protocol, Union

import urllib3
from urllib3 import connection as u3_connection
from urllib3 import exceptions as u3
from urllib3.util import url as u3_url

from ._config import DEFAULT_POOL_SIZE, ProxySettings, RetryPolicy, Timeouts
from ._errors import (
    APIError,
    ConfigError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    ReadTimeout,
    RelayError,
    ResponseError,
    StreamError,
    TransportError,
    api_error,
    safe_url,
    scrub,
    secret_values,
    url_secrets,
)
from ._errors import TimeoutError as RelayTimeoutError  # not the builtin of the same name

if TYPE_CHECKING:
    from ._chunked import ChunkedDecoder
    from ._hooks import CallEvents


def _new_chunked_decoder() -> ChunkedDecoder:
    """A fresh ``ChunkedDecoder``.

    _chunked loads with the first chunked body: the first call imports it and rebinds this
    name to the class itself, so later bodies run no import.
    """
    from ._chunked import ChunkedDecoder as decoder_class

    globals()["_new_chunked_decoder"] = decoder_class
    return decoder_class()


logger = logging.getLogger("relay_lite")

# How much of an error body is kept; an error page larger than this is cut.
MAX_ERROR_BODY_BYTES = 1024 * 1024
# Size asked of each read1(); it returns sooner with whatever has arrived.
READ_CHUNK_BYTES = 64 * 1024
# A chunked read larger than this is de-chunked piece by piece as it is handed on.
LAZY_DECHUNK_BYTES = 2048
# How long to wait for the end of a body after a stream's own terminator arrived.
DRAIN_GRACE_SECONDS = 1.0
# Most bytes one inflate step may produce: a gzip bomb grows by this much at a time,
# so the stream decoders' line caps stop it long before it is fully inflated.
INFLATE_CHUNK_BYTES = 64 * 1024
# Largest whole (non-streamed) body read into memory, counted after inflating.
MAX_RESPONSE_BODY_BYTES = 256 * 1024 * 1024
# Request bodies are sent in pieces this big, each with its own stall timeout.
WRITE_CHUNK_BYTES = 64 * 1024

_SOCKET_TIMEOUTS = (socket.timeout, TimeoutError)
# What ``retries=False, redirect=False`` becomes inside urlopen, built there per call
# (~4 us); retries are ours, so one shared, never-incremented object does.
_NO_URLLIB3_RETRIES = urllib3.Retry(total=False, redirect=False)
# How many header sets a transport keeps merged and checked (see ``Transport._headers``),
# and how many URLs it keeps routed to their pools (``Transport._urlopen``).
_HEADER_CACHE_SIZE = 64
_ROUTE_CACHE_SIZE = 256
# Pools a PoolManager keeps (urllib3's default ``num_pools``, which Transport keeps).
_MANAGER_POOLS = 10


# -- the seams: what a call hands the transport, and what a transport is --------------------


class OutgoingRequest:
    """One attempt as it will go on the wire, for an ``Authorizer`` to sign or decorate.

    ``headers`` are every header of the attempt except the authorizer's own; ``body`` is
    the exact bytes sent (``b""`` for none). The same object is never reused between
    attempts, so a signer may read the clock on each one.
    """

    __slots__ = ("method", "url", "headers", "body", "attempt")

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes, attempt: int) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.attempt = attempt

    def __repr__(self) -> str:  # never the headers: they hold credentials
        where = safe_url(self.url)
        return f"OutgoingRequest({self.method} {where}, {len(self.body)} bytes, attempt {self.attempt})"


class Authorizer(Protocol):
    """Adds credentials to each attempt of a call, after its body is serialized.

    An authorizer whose ``per_attempt`` attribute is False (static keys: what
    ``KeyAuthorizer`` is) promises that what it adds depends only on the names of the
    request's headers; the transport then asks it once per set of headers and reuses the
    answer. Without the attribute every attempt is authorized afresh (signers, tokens).
    """

    def authorize(self, request: OutgoingRequest) -> Mapping[str, str]:
        """The headers to add to this attempt (they replace same-named ones)."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every credential value it may send, for scrubbing echoes from errors and logs."""
        ...


class ErrorMapper(Protocol):
    """Builds the ``APIError`` for an error status (an adapter's ``map_error``)."""

    def __call__(
        self, status: int, body: bytes, headers: Mapping[str, str], *, attempts: int
    ) -> APIError: ...


class HTTPTransport(Protocol):
    """What the request path needs from a transport: ``Transport``, or ``MockTransport``."""

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> Response:
        """Send one call (with retries) and read the whole successful body.

        ``events`` (given only when the client has hooks) hears of each attempt,
        response and retry; ``retry`` replaces the transport's policy for this call
        (given only when a request or a client copy sets one).
        """
        ...

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> StreamResponse:
        """Send one call (with retries until a 2xx arrives) and return its open body."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


# Built once: json.dumps with options builds a new encoder on every call (~2 us of each).
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json_body(json_body: object) -> bytes:
    """The one JSON serialization of a request body (compact, UTF-8, non-ASCII kept)."""
    return _JSON_ENCODER.encode(json_body).encode("utf-8")


def authorized_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    authorizer: Optional[Authorizer],
    attempt: int,
) -> dict[str, str]:
    """``headers`` plus what ``authorizer`` adds for this attempt (checked for CR/LF)."""
    result = dict(headers)
    if authorizer is not None:
        added = dict(authorizer.authorize(OutgoingRequest(method, url, dict(headers), body, attempt)))
        check_headers(added)
        result.update(added)
    return result


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse header names or values with CR or LF (header injection) before sending."""
    for name, value in headers.items():
        if not isinstance(value, str):
            raise ConfigError(f"header {name!r} must be a string, got {type(value).__name__}")
        # Plain ``in`` tests: this runs for every header of every call.
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or not name or ":" in name:
            raise ConfigError(f"header {name!r} contains CR, LF or another forbidden character")
        if value.isascii():
            continue
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            # Named without its value: a pasted key with a stray character must not leak.
            raise ConfigError(f"header {name!r} contains characters outside Latin-1") from None


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date (RFC 9110 section 10.2.3). Returns None
    when neither header is present or readable: a negative or NaN number is malformed
    (RFC 9110 allows only digits) and ignored, so the usual backoff applies. A date in the
    past means 0; an absurd demand is returned as is, for the caller's cap to refuse.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
            if value >= 0:  # False for NaN too
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    from email.utils import parsedate_to_datetime  # rare path: keep it off import time

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Decompressor:
    """gzip or deflate, incrementally; a corrupt or truncated body raises ``StreamError``.

    Output is bounded per step (zlib's ``max_length``, the rest kept in
    ``unconsumed_tail``): 256 KiB of gzip can hold 64 MiB of one byte, and inflating a
    read in one go would grow the process by all of it before any cap could look.
    """

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._started = False
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def _inflate(self, data: bytes) -> bytes:
        try:
            try:
                out = self._zlib.decompress(data, INFLATE_CHUNK_BYTES)
            except zlib.error:
                if self._encoding != "deflate" or self._started:
                    raise
                # "deflate" is sent both zlib-wrapped (as the RFC says) and raw: try raw.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._zlib.decompress(data, INFLATE_CHUNK_BYTES)
        except zlib.error as exc:
            raise StreamError(f"response body is not valid {self._encoding}: {exc}") from None
        self._started = True
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Inflate ``data``, yielding at most ``INFLATE_CHUNK_BYTES`` at a time."""
        while True:
            out = self._inflate(data)
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            # A full step may leave output pending inside zlib even with no input left.
            if not data and len(out) < INFLATE_CHUNK_BYTES:
                return

    def finish(self) -> bytes:
        if not self._zlib.eof:
            raise StreamError(f"response body ended in the middle of its {self._encoding} data")
        return self._zlib.flush()


def _decompressor_for(headers: Any) -> Optional[_Decompressor]:
    encoding = (headers.get("content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Decompressor("deflate" if encoding == "deflate" else "gzip")
    return None


class _Body:
    """Reads a urllib3 response's body as it arrives, enforcing read timeout and deadline."""

    def __init__(
        self,
        raw: Any,
        read_timeout: Optional[float],
        deadline: Optional[float],
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._raw = raw
        self._read_timeout = read_timeout
        self._deadline = deadline
        # ``headers``: the lower-cased copy the caller already made (a plain dict lookup
        # instead of urllib3's case-insensitive one).
        self._decoder = _decompressor_for(raw.headers if headers is None else headers)
        # The socket reader under http.client's response; every recv it makes obeys these.
        self._timing: Optional[_TimedSocketIO] = getattr(raw._fp, "timing", None)
        # A chunked body is de-chunked here (``_chunked``), from the buffered socket reader
        # under http.client, several chunks per read; only before http.client itself has
        # started on it (it then leaves its chunk_left at None) and over our own reader.
        self._chunked: Optional[ChunkedDecoder] = None
        # The payload of the last read, de-chunked as it is taken (``ChunkedDecoder.pieces``);
        # what a chunks() left unread stays here for the next.
        self._pending: Optional[Iterator[bytes]] = None
        if self._timing is not None:
            self._timing.read_timeout = read_timeout
            self._timing.deadline = deadline
            fp = raw._fp
            if fp.chunked and fp.chunk_left is None and fp.length is None and fp.fp is not None:
                self._chunked = _new_chunked_decoder()

    def limit_read_timeout(self, seconds: float) -> None:
        """Wait at most ``seconds`` for each further read."""
        self._read_timeout = seconds if self._read_timeout is None else min(self._read_timeout, seconds)
        if self._timing is not None:
            self._timing.read_timeout = self._read_timeout

    def _check_deadline(self) -> None:
        if _passed(self._deadline):
            raise DeadlineExceeded("total deadline passed while reading the response")

    def chunks(self) -> Iterator[bytes]:
        """Yield body bytes (decompressed) as soon as they arrive; b'' never yielded."""
        if self._chunked is not None:
            return self._dechunked(self._chunked)
        return self._read1_chunks()

    def _read_error(self, exc: BaseException) -> RelayError:
        return _read_error(exc, self._read_timeout, self._deadline)

    def _dechunked(self, chunked: ChunkedDecoder) -> Iterator[bytes]:
        """Chunked bodies: the payload of every chunk one read brought, a piece per chunk,
        each handed on as soon as its framing is read (the first event of a read that
        brought many goes out before the rest are de-chunked).

        The pieces not yet handed over stay on ``self``, so a later ``chunks()`` (the drain
        after a stream's terminator) sees what an abandoned one left: a plain ``for`` (not
        ``yield from``) leaves the pending iterator open when this generator is dropped.
        """
        fp = self._raw._fp
        deadline = self._deadline
        decoder = self._decoder
        while True:
            pending = self._pending
            if pending is not None:
                for payload in pending:
                    if decoder is None:
                        yield payload
                    else:
                        for piece in decoder.feed(payload):
                            yield piece
                            self._check_deadline()
                self._pending = None
            if chunked.done:
                break
            if chunked.error is not None:  # bad framing after the payload just yielded
                raise chunked.error
            if deadline is not None and _passed(deadline):
                raise DeadlineExceeded("total deadline passed while reading the response")
            source = fp.fp  # None once the response was closed under us
            try:
                if source is None:
                    raise ValueError("the response was closed")
                # Whatever the buffer holds, else one recv (timed by _TimedSocketIO).
                data = source.read1(READ_CHUNK_BYTES)
                if not data:  # EOF before the last chunk: what http.client reports
                    if chunked.in_trailer:  # as http.client, a body cut in its trailers is whole
                        break
                    missing = chunked.missing
                    raise (
                        http.client.IncompleteRead(b"", missing)
                        if missing
                        else http.client.IncompleteRead(b"")
                    )
            except (OSError, ValueError, http.client.HTTPException) as exc:
                raise self._read_error(exc) from (None if isinstance(exc, _SOCKET_TIMEOUTS) else exc)
            # A read bringing several events (a quick reply's first reads) is de-chunked as
            # it is handed on, so its first event goes out before the rest are decoded (time
            # to first chunk); a small one, as a steadily read stream brings, at once, which
            # costs less per chunk.
            if len(data) > LAZY_DECHUNK_BYTES:
                self._pending = chunked.pieces(data)
            else:
                self._pending = iter(chunked.feed(data))
        # The body is complete: close http.client's response (not the socket) so that its
        # connection takes the next request; bytes after the body mean it must not.
        fp.close()
        if chunked.extra:
            self._raw.close()
        if decoder is not None:
            tail = decoder.finish()
            if tail:
                yield tail

    def _read1_chunks(self) -> Iterator[bytes]:
        # http.client's response object, present on urllib3 1.26 and 2.x alike.
        fp = self._raw._fp
        while True:
            self._check_deadline()
            try:
                data = fp.read1(READ_CHUNK_BYTES) if fp is not None else b""
            except (OSError, ValueError, u3.HTTPError, http.client.HTTPException) as exc:
                raise self._read_error(exc) from (None if isinstance(exc, _SOCKET_TIMEOUTS) else exc)
            if not data:
                missing = getattr(fp, "length", None)
                if fp is not None:
                    # http.client's read1() never marks a Content-Length body as done, so
                    # its connection would refuse the next request: close the response
                    # object (not the socket) as read() would have.
                    fp.close()
                if missing:  # read1() reports a short Content-Length body as a clean end
                    raise StreamError(f"connection closed with {missing} bytes of the body missing")
                if self._decoder is not None:
                    tail = self._decoder.finish()
                    if tail:
                        yield tail
                return
            if self._decoder is None:
                yield data
            else:
                for piece in self._decoder.feed(data):
                    yield piece
                    self._check_deadline()
            self._check_deadline()


def _read_error(exc: BaseException, read_timeout: Optional[float], deadline: Optional[float]) -> RelayError:
    """The error for a failed read of a response body: a socket timeout is the deadline's
    or the read timeout's; anything else is a broken connection."""
    if isinstance(exc, _SOCKET_TIMEOUTS):
        if _passed(deadline):
            return DeadlineExceeded("total deadline passed while reading the response")
        return ReadTimeout(f"no data for {read_timeout} s while reading the response")
    # ValueError: http.client raises it when the connection was closed under us.
    return StreamError(f"connection broke while reading the response: {exc!r}")


def _passed(deadline: Optional[float]) -> bool:
    # A socket timeout set to the time left can fire a hair early; 1 ms of slack.
    return deadline is not None and time.monotonic() >= deadline - 0.001


# -- sockets that obey the deadline --------------------------------------------------------
#
# urllib3 reads the status line and headers inside urlopen(), with one socket timeout per
# recv(): a server sending a byte every 0.2 s never trips a 5 s read timeout and holds
# the call for as long as it likes. The total deadline must therefore be enforced at
# each recv() and send() of the socket itself. Three ways were weighed:
#   - a watchdog that shuts the socket down at the deadline needs a timer thread per call
#     (the house promise is no threads of our own outside bulk map);
#   - urllib3's Timeout(total=...) only shortens the per-recv timeout once, up front;
#   - recomputing the socket timeout before every recv()/send(), from the deadline, is
#     plain code on the calling thread and works the same on urllib3 1.26 and 2.x, since
#     both build responses through http.client's ``response_class`` and send through
#     ``HTTPConnection.send``. That is what is done here.
# The connection classes below are installed only in this module's own pool managers.


class _CallLimits(threading.local):
    """The running attempt's limits, for the connection urllib3 picks inside urlopen().

    urllib3 offers no way to hand a connection anything per request, and urlopen() runs
    wholly on the calling thread, so the attempt's limits ride in a thread-local that
    ``Transport._send`` sets around it. A response copies them when it is created.
    """

    deadline: Optional[float] = None
    read_timeout: Optional[float] = None


_call_limits = _CallLimits()


def _timeout_until(read_timeout: Optional[float], deadline: Optional[float]) -> Optional[float]:
    """The socket timeout for the next recv/send: the read timeout, cut at the deadline."""
    if deadline is None:
        return read_timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("the total deadline has passed")
    return remaining if read_timeout is None else min(read_timeout, remaining)


def _set_timeout(sock: Any, seconds: Optional[float]) -> None:
    """``sock.settimeout(seconds)``, skipped when already so (each set is a system call)."""
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


class _TimedSocketIO(io.RawIOBase):
    """A socket's reads, each waiting at most ``read_timeout`` and never past ``deadline``."""

    def __init__(self, sock: Any, read_timeout: Optional[float], deadline: Optional[float]) -> None:
        super().__init__()
        self._referenced = False  # read by close(), which io may call from __del__
        self._sock = sock
        # The socket must stay open while the response holds it, as http.client expects
        # when a "Connection: close" response outlives its connection: what the socket's
        # own makefile() does, by counting a reference that socket.close() waits for.
        # Counted here directly where the socket allows it: a SocketIO per response cost
        # ~3 us of every call.
        self._file: Any = None
        if hasattr(sock, "_decref_socketios") and isinstance(getattr(sock, "_io_refs", None), int):
            sock._io_refs += 1
        else:
            self._file = sock.makefile("rb", buffering=0)
        self._referenced = True
        self.read_timeout = read_timeout
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Optional[int]:
        sock = self._sock
        deadline = self.deadline
        # Inline _set_timeout(_timeout_until(...)): this runs for every recv of every call.
        seconds = self.read_timeout if deadline is None else _timeout_until(self.read_timeout, deadline)
        if sock.gettimeout() != seconds:
            sock.settimeout(seconds)
        if not self._referenced:
            raise ValueError("I/O operation on closed socket reader")
        # The socket itself, not its SocketIO: one Python layer less per recv. SocketIO
        # adds only a guard against reading after a timeout, which ends the call here.
        result: int = sock.recv_into(buffer)
        return result

    def close(self) -> None:
        if self._referenced:
            self._referenced = False
            if self._file is not None:
                self._file.close()
            else:
                self._sock._decref_socketios()
        super().close()


class _TimedSocket:
    """What http.client's response is given as its socket: only ``makefile`` is used."""

    def __init__(self, sock: Any, timing: _TimedSocketIO) -> None:
        self._sock = sock
        self._timing = timing

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(self._timing)


class _TimedResponse(http.client.HTTPResponse):
    """http.client's response over a ``_TimedSocketIO``, skipping interim 1xx responses."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        self.timing = _TimedSocketIO(sock, _call_limits.read_timeout, _call_limits.deadline)
        super().__init__(_TimedSocket(sock, self.timing), *args, **kwargs)  # type: ignore[arg-type]

    def _read_status(self) -> tuple[str, int, str]:
        # RFC 9110 section 15.2: a client must accept (and here skip) any number of 1xx
        # responses before the final one. http.client skips only 100 Continue; a 103
        # Early Hints would otherwise be taken as the answer and the real one left in the
        # socket for the next request to read. 101 Switching Protocols is returned (we
        # never ask to upgrade, so it fails the call and its connection is closed).
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not (100 <= status < 200) or status == 101:
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim response's headers, dropped


class _WriteStalled(socket.timeout):
    """The peer stopped reading the request: a send made no progress in time."""

    def __init__(self, seconds: Optional[float]) -> None:
        super().__init__("timed out sending the request")
        self.seconds = seconds


class _TimedConnectionMixin:
    """Sends the request in pieces, each waiting at most the read timeout for progress."""

    sock: Any

    def send(self, data: Any) -> None:
        if self.sock is None or not isinstance(data, (bytes, bytearray, memoryview)):
            super().send(data)  # type: ignore[misc]  # connects first, or a file-like body
            return
        limits = _call_limits
        sock = self.sock
        if len(data) <= WRITE_CHUNK_BYTES and limits.deadline is None:
            # One piece and no deadline (a request head, a usual body): the plain path.
            seconds = limits.read_timeout
            try:
                if sock.gettimeout() != seconds:
                    sock.settimeout(seconds)
                sock.sendall(data)
            except _SOCKET_TIMEOUTS:
                raise _WriteStalled(seconds) from None
            return
        view = memoryview(data)
        for start in range(0, max(len(view), 1), WRITE_CHUNK_BYTES):
            try:
                _set_timeout(self.sock, _timeout_until(limits.read_timeout, limits.deadline))
                self.sock.sendall(view[start : start + WRITE_CHUNK_BYTES])
            except _SOCKET_TIMEOUTS:
                raise _WriteStalled(limits.read_timeout) from None


class _TimedHTTPConnection(_TimedConnectionMixin, u3_connection.HTTPConnection):
    response_class = _TimedResponse  # type: ignore[assignment]


class _TimedHTTPSConnection(_TimedConnectionMixin, u3_connection.HTTPSConnection):
    response_class = _TimedResponse  # type: ignore[assignment]


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _TimedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


def _timed_manager(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


def _release(raw: Any) -> None:
    """Give the connection back to the pool only if its response was read to its end.

    Anything left unread (a body, a protocol after 101) would be taken by the next request
    on that connection as its own answer, so such a connection is closed first.
    """
    fp = raw._fp
    if raw.status < 200 or (fp is not None and not fp.isclosed()):
        raw.close()
    raw.release_conn()


class Response:
    """A complete (non-streamed) successful response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, attempts: int) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts

    def json(self) -> Any:
        """The body parsed as JSON; a body that is not JSON raises ``ResponseError``."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can parse
            snippet = self.body[:200].decode("utf-8", "replace")
            raise ResponseError(
                f"response body is not valid JSON: {snippet!r}", body=snippet, attempts=self.attempts
            ) from None


class StreamResponse:
    """A successful response whose body is read incrementally; close it when done."""

    def __init__(
        self, raw: Any, headers: dict[str, str], body: _Body, attempts: int, deadline: Optional[float]
    ) -> None:
        self._raw = raw
        self.status: int = raw.status
        self.headers = headers
        self.attempts = attempts
        self.deadline = deadline
        self._body = body
        self._finished = False
        self.closed = False
        #: The call's hook reporter (set by the transport when the client has hooks).
        self.events: Optional[CallEvents] = None
        #: When the call began (``time.monotonic()``; set by the transport), for timing.
        self.started: float = time.monotonic()

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield raw body bytes as they arrive. Errors carry the attempt count."""
        try:
            yield from self._body.chunks()
            self._finished = True
        except RelayError as exc:
            exc.attempts = self.attempts
            self.close()
            raise
        finally:
            if self._finished:
                self.close()

    def drain(self, grace: float = DRAIN_GRACE_SECONDS) -> None:
        """Read what is left of a body whose content is complete, then release it.

        After a stream's terminator only the transfer framing should remain; reading it
        lets the connection be reused. A server that keeps talking (or stays silent for
        ``grace`` seconds) just gets its connection closed instead.
        """
        if self.closed:
            return
        self._body.limit_read_timeout(grace)
        try:
            for _ in self._body.chunks():
                break  # unexpected extra bytes: do not reuse this connection
            else:
                self._finished = True
        except RelayError:
            pass
        self.close()

    def close(self) -> None:
        """Release the connection now. An unfinished body is discarded with its socket."""
        if self.closed:
            return
        self.closed = True
        _release(self._raw)

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _lower_headers(raw: Any) -> dict[str, str]:
    """The response headers as a plain dict with lower-cased names (the last value of a
    repeated header)."""
    # urllib3's HTTPHeaderDict (1.26 and 2.x) keeps {lower name: [name, *values]}: read
    # it directly, a third of the cost of items(), which lower-cases and yields each pair.
    container = getattr(raw.headers, "_container", None)
    if isinstance(container, dict):  # a dict on 2.x, an OrderedDict on 1.26
        return {name: values[-1] for name, values in container.items()}
    return {k.lower(): v for k, v in raw.headers.items()}


class _Call:
    """One call's inputs, as ``Transport._send`` takes them."""

    __slots__ = (
        "method",
        "url",
        "headers",
        "json_body",
        "body",
        "authorizer",
        "map_error",
        "events",
        "retry",
    )

    def __init__(
        self,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]],
        json_body: object,
        body: Optional[bytes],
        authorizer: Optional[Authorizer],
        map_error: Optional[ErrorMapper],
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.json_body = json_body
        self.body = body
        self.authorizer = authorizer
        self.map_error = map_error
        self.events = events
        self.retry = retry


class Transport:
    """Sends HTTP requests with retries; one connection pool, safe to share between threads.

    ``pool_size`` is urllib3's ``maxsize``: how many connections per host are kept for
    reuse. More may be open at once under concurrency; the extra ones are closed when
    their calls end.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        ca_bundle: Optional[str] = None,
        proxies: Optional[ProxySettings] = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.timeouts = timeouts
        self.retry = retry
        self._pool_kwargs: dict[str, Any] = {
            "maxsize": pool_size,
            "cert_reqs": "CERT_REQUIRED",  # verification is never off
            "ca_certs": ca_bundle,
        }
        self._proxies = proxies if proxies is not None else ProxySettings.from_env()
        self._default_headers = dict(default_headers or {})
        self._header_cache: dict[Any, dict[str, str]] = {}
        self._routes: dict[str, tuple[Any, str]] = {}  # see _urlopen
        self._direct = _timed_manager(urllib3.PoolManager(num_pools=_MANAGER_POOLS, **self._pool_kwargs))
        self._proxied: dict[str, urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self.sleep = time.sleep  # replaceable in tests

    def _pool_for(self, url: str) -> urllib3.PoolManager:
        proxy_url = self._proxies.proxy_for(url)
        if proxy_url is None:
            return self._direct
        with self._lock:
            pool = self._proxied.get(proxy_url)
            if pool is None:
                proxy_headers = None
                user_info = proxy_url.split("://", 1)[1].split("@", 1)
                if len(user_info) == 2:
                    from urllib.parse import unquote

                    proxy_headers = urllib3.make_headers(proxy_basic_auth=unquote(user_info[0]))
                try:
                    manager = urllib3.ProxyManager(
                        proxy_url, proxy_headers=proxy_headers, **self._pool_kwargs
                    )
                except u3.ProxySchemeUnknown:
                    scheme = proxy_url.split("://", 1)[0]
                    raise ConfigError(
                        f"proxy {safe_url(proxy_url)} (from the *_PROXY settings) has the scheme "
                        f"{scheme!r}; relay_lite goes through http:// and https:// proxies only"
                    ) from None
                pool = _timed_manager(manager)
                self._proxied[proxy_url] = pool
            return pool

    def _urlopen(self, method: str, url: str, **options: Any) -> Any:
        """urllib3's ``urlopen`` on the connection pool of ``url``'s host, found once per URL.

        Going through ``PoolManager.urlopen`` parses the URL and normalises a pool key on
        every call (~40 us); a client calls the same few URLs, so each is routed once: its
        pool and request target are kept, as the manager itself would pick them. Proxied
        URLs still go through their ``ProxyManager``, which shapes the request per proxy.
        """
        route = self._routes.get(url)
        if route is None or (route[0] is not None and route[0].pool is None):
            # Unknown, or its pool was closed (the manager evicted it, or close()).
            route = self._route(url)
        pool, target = route
        if pool is None:
            return self._pool_for(url).urlopen(method, url, **options)
        return pool.urlopen(method, target, assert_same_host=False, **options)

    def _route(self, url: str) -> tuple[Any, str]:
        """(the connection pool, the request target) of a direct URL; (None, url) if proxied."""
        if self._proxies.proxy_for(url) is not None:
            route: tuple[Any, str] = (None, url)
        else:
            parsed = u3_url.parse_url(url)
            pool = self._direct.connection_from_host(parsed.host, port=parsed.port, scheme=parsed.scheme)
            route = (pool, parsed.request_uri)
            routed = {id(known) for known, _ in self._routes.values() if known is not None}
            if id(pool) not in routed and len(routed) >= _MANAGER_POOLS:
                # The manager has just evicted a pool (urllib3 2.x and 1.26.17+ drop it
                # open): forget every route, so none keeps an evicted pool's sockets alive
                # or gives its host a second pool beside the one the manager hands out.
                self._routes.clear()
        if len(self._routes) >= _ROUTE_CACHE_SIZE:  # URLs made per call (a query each)
            self._routes.clear()
        self._routes[url] = route
        return route

    def close(self) -> None:
        """Close every pooled connection now; the transport stays usable (it reconnects)."""
        # Routed pools too: urllib3 2.x drops a pool it evicts without closing it, and a
        # route may still hold one.
        routed = {id(pool): pool for pool, _ in list(self._routes.values()) if pool is not None}
        self._routes.clear()
        for pool in routed.values():
            pool.close()
        with self._lock:
            managers = [self._direct, *self._proxied.values()]
        for manager in managers:
            # Each pool is closed by hand: urllib3 2.x's PoolManager.clear() only forgets
            # its pools, whose sockets then stay open for as long as anything (such as an
            # error's traceback) still refers to them.
            for key in list(manager.pools.keys()):
                try:
                    pool = manager.pools[key]
                except KeyError:  # dropped by another thread meanwhile
                    continue
                pool.close()
            manager.clear()

    # -- public calls -------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> Response:
        """Send one request (with retries) and read the whole successful body."""
        timeouts = timeouts or self.timeouts
        deadline = _deadline(timeouts)
        call = _Call(method, url, headers, json_body, body, authorizer, map_error, events, retry)
        raw, attempts = self._send(call, timeouts, deadline, stream=False)
        response_headers = _lower_headers(raw)
        try:
            data = _read_whole_body(raw, timeouts, deadline, response_headers)
        except BaseException as exc:
            if isinstance(exc, RelayError):
                exc.attempts = attempts
            raw.close()
            raw.release_conn()
            raise
        _release(raw)
        return Response(raw.status, response_headers, data, attempts)

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: object = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
        authorizer: Optional[Authorizer] = None,
        map_error: Optional[ErrorMapper] = None,
        events: Optional[CallEvents] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> StreamResponse:
        """Send one request (with retries until a 2xx arrives) and return its open body."""
        started = time.monotonic()
        timeouts = timeouts or self.timeouts
        deadline = _deadline(timeouts)
        call = _Call(method, url, headers, json_body, body, authorizer, map_error, events, retry)
        raw, attempts = self._send(call, timeouts, deadline, stream=True)
        response_headers = _lower_headers(raw)
        response = StreamResponse(
            raw, response_headers, _Body(raw, timeouts.read, deadline, response_headers), attempts, deadline
        )
        response.events = events
        response.started = started
        return response

    # -- the retry loop -----------------------------------------------------------------

    def _send(
        self, call: _Call, timeouts: Timeouts, deadline: Optional[float], *, stream: bool
    ) -> tuple[Any, int]:
        method, url, body = call.method, call.url, call.body
        is_json = call.json_body is not None
        if is_json:
            body = encode_json_body(call.json_body)
        authorizer = call.authorizer
        static_auth = authorizer is not None and getattr(authorizer, "per_attempt", True) is False
        all_headers = self._headers(call.headers, stream, is_json, authorizer if static_auth else None)
        body_bytes = body or b""
        events = call.events
        policy = call.retry or self.retry
        debug = logger.isEnabledFor(logging.DEBUG)

        attempt = 0
        while True:
            attempt += 1
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(
                    f"total deadline passed before attempt {attempt}", attempts=attempt - 1
                )
            # Per attempt, after serializing: a signer needs the exact bytes and a fresh clock.
            attempt_headers = (
                all_headers
                if static_auth or authorizer is None
                else authorized_headers(method, url, all_headers, body_bytes, authorizer, attempt)
            )
            if events is not None:
                events.request(method, url, attempt, policy.max_retries + 1)
            started = time.monotonic()
            _call_limits.deadline, _call_limits.read_timeout = deadline, timeouts.read
            try:
                raw = self._urlopen(
                    method,
                    url,
                    body=body,
                    headers=attempt_headers,
                    retries=_NO_URLLIB3_RETRIES,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                    timeout=_attempt_timeout(timeouts, deadline),
                )
            except u3.HTTPError as exc:
                _call_limits.deadline = _call_limits.read_timeout = None
                error, retryable = _transport_error(exc, url, deadline)
                error.attempts = attempt
                scrub(error, self._secrets(attempt_headers, url, call.authorizer))
                logger.debug("%s %s failed on attempt %d: %s", method, safe_url(url), attempt, error.message)
                if not retryable or attempt > policy.max_retries:
                    raise error from exc
                wait = policy.backoff_delay(attempt)
                self._allow_wait(wait, deadline, error, attempt)
                if events is not None:
                    events.retry(method, url, attempt, wait, error.message)
                self.sleep(wait)
                continue

            _call_limits.deadline = _call_limits.read_timeout = None
            elapsed = time.monotonic() - started
            if events is not None:
                events.response(method, url, raw.status, elapsed, _lower_headers(raw), attempt)
            if 200 <= raw.status < 300:
                if debug:  # checked first: safe_url() is not free, and this is every call
                    message = "%s %s -> %d in %.3f s (attempt %d)"
                    logger.debug(message, method, safe_url(url), raw.status, elapsed, attempt)
                return raw, attempt

            response_headers = _lower_headers(raw)
            error_body = self._read_error_body(raw, timeouts, deadline)
            map_error = call.map_error or api_error
            api_exc = map_error(raw.status, error_body, response_headers, attempts=attempt)
            # The mapper sees the body as sent; credentials a server echoed go here, once.
            scrub(api_exc, self._secrets(attempt_headers, url, call.authorizer))
            logger.debug("%s %s -> %d on attempt %d", method, safe_url(url), raw.status, attempt)
            if 300 <= raw.status < 400:
                api_exc.message += _redirect_note(response_headers)
            if (
                not self._should_retry(raw.status, response_headers, api_exc, policy)
                or attempt > policy.max_retries
            ):
                raise api_exc
            demanded = parse_retry_after(response_headers)
            if demanded is not None and demanded > policy.max_retry_after:
                api_exc.message += (
                    f"; the server asked to retry after {demanded:g} s, more than the "
                    f"{policy.max_retry_after:g} s cap (max_retry_after), so not waiting"
                )
                raise api_exc
            wait = demanded if demanded is not None else policy.backoff_delay(attempt)
            self._allow_wait(wait, deadline, api_exc, attempt)
            if events is not None:
                events.retry(method, url, attempt, wait, api_exc.message, raw.status, demanded is not None)
            self.sleep(wait)

    def _headers(
        self,
        call_headers: Optional[Mapping[str, str]],
        stream: bool,
        is_json: bool,
        static_authorizer: Optional[Authorizer],
    ) -> dict[str, str]:
        """Every header of an attempt, checked: the transport's own, the call's, and a
        static authorizer's (one whose answer depends only on the header names).

        A client sends the same few header sets call after call, so each is merged and
        checked once and the result reused (~5 us of every call). Callers never change the
        returned dict: it is shared.
        """
        key: Any = None
        try:
            key = (stream, is_json, static_authorizer, tuple(call_headers.items()) if call_headers else ())
            known = self._header_cache.get(key)
        except TypeError:  # a value that cannot be hashed; check_headers names it below
            key = known = None
        if known is not None:
            return known
        merged = dict(self._default_headers)
        merged["Accept-Encoding"] = "identity" if stream else "gzip, deflate"
        if is_json:
            merged["Content-Type"] = "application/json"
        merged.update(call_headers or {})
        check_headers(merged)
        if static_authorizer is not None:
            # Only the header names matter to it, so the other fields are placeholders.
            merged = authorized_headers("", "", merged, b"", static_authorizer, 0)
        if key is not None:
            if len(self._header_cache) >= _HEADER_CACHE_SIZE:  # per-call header values
                self._header_cache.clear()
            self._header_cache[key] = merged
        return merged

    def _secrets(
        self, headers: Mapping[str, str], url: str, authorizer: Optional[Authorizer] = None
    ) -> tuple[str, ...]:
        """What must not appear in an error of this call: credential headers, the
        authorizer's credentials, URL user info.

        Worked out only on the error paths, so a successful call pays nothing for it.
        """
        proxy = self._proxies.proxy_for(url)
        extra = url_secrets(url) + (url_secrets(proxy) if proxy else ())
        if authorizer is not None:
            extra += authorizer.secrets()
        return secret_values(headers, extra)

    def _should_retry(
        self, status: int, headers: Mapping[str, str], error: APIError, policy: RetryPolicy
    ) -> bool:
        override = headers.get("x-should-retry", "").strip().lower()
        if override == "true":
            return True
        if override == "false":
            return False
        if getattr(error, "quota_exhausted", False):
            return False
        return status in policy.retry_statuses

    def _read_error_body(self, raw: Any, timeouts: Timeouts, deadline: Optional[float]) -> bytes:
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in _Body(raw, timeouts.read, deadline).chunks():
                parts.append(chunk)
                size += len(chunk)
                if size >= MAX_ERROR_BODY_BYTES:
                    raw.close()
                    break
        except RelayError:
            raw.close()  # the status is what matters; keep what arrived
        _release(raw)
        return b"".join(parts)[:MAX_ERROR_BODY_BYTES]

    def _allow_wait(self, seconds: float, deadline: Optional[float], error: RelayError, attempt: int) -> None:
        """Refuse (``DeadlineExceeded``) a wait that would cross the deadline; log it otherwise."""
        if deadline is not None and time.monotonic() + seconds >= deadline:
            raise DeadlineExceeded(
                f"total deadline would pass during the {seconds:.2f} s wait before retry {attempt}; "
                f"last error: {error}",
                attempts=attempt,
            ) from error
        logger.info("retrying in %.2f s after attempt %d: %s", seconds, attempt, error.message)


def _read_whole_body(
    raw: Any, timeouts: Timeouts, deadline: Optional[float], headers: Mapping[str, str]
) -> bytes:
    """A whole body, refusing one (announced or inflated) above ``MAX_RESPONSE_BODY_BYTES``.

    ``headers`` are the response's, names lower-cased.
    """
    fp = raw._fp  # http.client's response, on urllib3 1.26 and 2.x alike
    # The length http.client will read by (its int() of Content-Length: "+5" and "1_0"
    # count; None when chunked, absent or unreadable), not our own reading of the header.
    announced = fp.length if fp is not None else None
    if announced is not None and announced > MAX_RESPONSE_BODY_BYTES:
        raise StreamError(
            f"response announces a body of {announced} bytes, more than the "
            f"{MAX_RESPONSE_BODY_BYTES}-byte limit for a whole response"
        )
    if (
        announced is not None  # Content-Length framing (not chunked, not until close)
        and getattr(fp, "timing", None) is not None  # reads timed by our _TimedSocketIO
        and "content-encoding" not in headers
    ):
        return _read_exact_body(fp, timeouts.read, deadline)
    parts: list[bytes] = []
    size = 0
    for chunk in _Body(raw, timeouts.read, deadline, headers).chunks():
        size += len(chunk)
        if size > MAX_RESPONSE_BODY_BYTES:
            raise StreamError(
                f"response body is longer than the {MAX_RESPONSE_BODY_BYTES}-byte limit for a "
                "whole response (after decompression)"
            )
        parts.append(chunk)
    return b"".join(parts)


def _read_exact_body(fp: Any, read_timeout: Optional[float], deadline: Optional[float]) -> bytes:
    """A Content-Length body in one ``read()`` (the usual whole reply: ~5 us less than the
    chunk loop). Every recv under it still obeys the read timeout and the deadline
    (``_TimedSocketIO``); http.client closes its response, not the socket, at the end."""
    if _passed(deadline):
        raise DeadlineExceeded("total deadline passed while reading the response")
    try:
        data: bytes = fp.read()
    except http.client.IncompleteRead as exc:
        raise StreamError(f"connection closed with {exc.expected} bytes of the body missing") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        cause = None if isinstance(exc, _SOCKET_TIMEOUTS) else exc
        raise _read_error(exc, read_timeout, deadline) from cause
    return data


def _redirect_note(headers: Mapping[str, str]) -> str:
    """Why a 3xx is an error here: redirects are never followed, so credentials never
    travel to another host; names where the server pointed (no query, no user info)."""
    location = headers.get("location", "").strip()
    if not location:
        return "; relay_lite does not follow redirects"
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    host = parts.netloc.rsplit("@", 1)[-1]  # never the user info
    where = f"{parts.scheme}://{host}{parts.path}" if host else parts.path
    return f"; the server redirected to {where}; relay_lite does not follow redirects (set base_url to it)"


def _deadline(timeouts: Timeouts) -> Optional[float]:
    return None if timeouts.total is None else time.monotonic() + timeouts.total


# urllib3.Timeout per Timeouts without a deadline: built (and validated) once, not per call.
_STATIC_TIMEOUTS: dict[Timeouts, urllib3.Timeout] = {}


# The last pair looked up, checked by identity first: hashing a Timeouts record costs
# more than the rest of the lookup, and a client passes the same object every call.
_LAST_TIMEOUTS: tuple[Optional[Timeouts], Optional[urllib3.Timeout]] = (None, None)


def _attempt_timeout(timeouts: Timeouts, deadline: Optional[float]) -> urllib3.Timeout:
    global _LAST_TIMEOUTS
    if deadline is None:
        last_timeouts, last_timeout = _LAST_TIMEOUTS  # one tuple: read whole across threads
        if last_timeouts is timeouts and last_timeout is not None:
            return last_timeout
        known = _STATIC_TIMEOUTS.get(timeouts)
        if known is None:
            if len(_STATIC_TIMEOUTS) > 64:  # per-call Timeouts: keep the cache small
                _STATIC_TIMEOUTS.clear()
            known = _STATIC_TIMEOUTS[timeouts] = urllib3.Timeout(connect=timeouts.connect, read=timeouts.read)
        _LAST_TIMEOUTS = (timeouts, known)
        return known
    connect: Optional[float] = timeouts.connect
    read = timeouts.read
    if deadline is not None:
        remaining = max(0.001, deadline - time.monotonic())
        connect = min(timeouts.connect, remaining)
        read = remaining if read is None else min(read, remaining)
    return urllib3.Timeout(connect=connect, read=read)


def _transport_error(
    exc: u3.HTTPError, url: str, deadline: Optional[float]
) -> tuple[Union[TransportError, ConfigError], bool]:
    """Map a urllib3 failure before a response to (our error, whether a retry may help)."""
    past_deadline = deadline is not None and time.monotonic() >= deadline - 0.001
    host = url.split("://", 1)[-1].split("/", 1)[0]
    if past_deadline and isinstance(exc, (u3.ConnectTimeoutError, u3.ReadTimeoutError)):
        return DeadlineExceeded(f"total deadline passed waiting for {host}"), False
    if isinstance(exc, u3.SSLError):
        # A certificate problem does not fix itself on retry.
        return ConnectError(f"TLS handshake with {host} failed: {exc}"), False
    if isinstance(exc, u3.LocationValueError):
        return ConfigError(f"bad URL {url!r}: {exc}"), False
    if isinstance(exc, u3.ProxyError):
        return ConnectError(f"could not connect through the proxy to {host}: {exc}"), True
    if isinstance(exc, u3.NewConnectionError):  # before ConnectTimeoutError: it subclasses it
        return ConnectError(f"could not connect to {host}: {_reason(exc)}"), True
    if isinstance(exc, u3.ConnectTimeoutError):
        return ConnectTimeout(f"connecting to {host} timed out"), True
    if isinstance(exc, u3.ReadTimeoutError):
        return ReadTimeout(f"{host} sent no response in time"), True
    stalled = _write_stall(exc)
    if stalled is not None:
        if past_deadline:
            return DeadlineExceeded(f"total deadline passed while sending the request to {host}"), False
        # Nothing was answered, so like any timeout before a response it may be retried.
        waited = f" for {stalled.seconds:g} s" if stalled.seconds is not None else ""
        return RelayTimeoutError(
            f"write timeout: {host} stopped reading the request body (no progress sending it{waited})"
        ), True
    if isinstance(exc, u3.ProtocolError):
        # The connection dropped before any response: the server did not answer this
        # request, so trying again on a fresh connection is safe.
        return ConnectError(f"connection to {host} dropped before a response: {_reason(exc)}"), True
    return TransportError(f"request to {host} failed: {exc}"), False


def _write_stall(exc: BaseException) -> Optional[_WriteStalled]:
    """The send timeout urllib3 wrapped (as ProtocolError("Connection aborted.", ...))."""
    seen: Optional[BaseException] = exc
    for _ in range(5):  # urllib3 nests the cause in args or the exception chain
        if seen is None:
            return None
        if isinstance(seen, _WriteStalled):
            return seen
        inner = [arg for arg in getattr(seen, "args", ()) if isinstance(arg, BaseException)]
        seen = inner[0] if inner else (seen.__cause__ or seen.__context__)
    return None


def _reason(exc: Exception) -> str:
    text = str(exc)
    # urllib3 prefixes messages with an object repr; keep the human part.
    return text.split(": ", 1)[-1] if ": " in text else text
