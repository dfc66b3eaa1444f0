"""The only module that does I/O: one urllib3 pool, retries, backoff, deadlines.

Theory of operation:

- urllib3 is asked for a single attempt (``retries=False``, no redirects); this module
  owns the retry loop so that every rule of DESIGN.md section 5 lives in one place.
- Bodies are read straight from the underlying ``http.client`` response with ``read1``,
  which returns whatever bytes have arrived instead of waiting to fill a block. That is
  what makes a stream deliver each event as soon as it lands, on urllib3 1.26 and 2.x.
- Before every read the socket timeout is set to the smaller of the read timeout and the
  time left before the total deadline, and the deadline is checked after every read: a
  server dripping one byte a second cannot hold a call past its deadline.
- A retry happens only before the caller has seen a byte of a successful response.
- Header values are checked for CR/LF before anything is sent. Header values never go
  into logs or error messages, so neither does the API key; and when a server echoes a
  credential back, the secret header values of the call (and any user info of the URL or
  proxy) are scrubbed from the error and its log lines (``_errors.scrub``).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import zlib
from typing import Any, Iterator, Mapping, Optional, Union

import urllib3
from urllib3 import exceptions as u3

from ._config import DEFAULT_POOL_SIZE, ProxySettings, RetryPolicy, Timeouts
from ._errors import (
    APIError,
    ConfigError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    ReadTimeout,
    RelayError,
    StreamError,
    TransportError,
    api_error,
    safe_url,
    scrub,
    secret_values,
    url_secrets,
)

logger = logging.getLogger("relay_lite")

# How much of an error body is kept; an error page larger than this is cut.
MAX_ERROR_BODY_BYTES = 1024 * 1024
# Size asked of each read1(); it returns sooner with whatever has arrived.
READ_CHUNK_BYTES = 64 * 1024
# How long to wait for the end of a body after a stream's own terminator arrived.
DRAIN_GRACE_SECONDS = 1.0

_SOCKET_TIMEOUTS = (socket.timeout, TimeoutError)


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse header names or values with CR or LF (header injection) before sending."""
    for name, value in headers.items():
        if not isinstance(value, str):
            raise ConfigError(f"header {name!r} must be a string, got {type(value).__name__}")
        if any(ch in name or ch in value for ch in "\r\n") or not name or ":" in name:
            raise ConfigError(f"header {name!r} contains CR, LF or another forbidden character")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            # Named without its value: a pasted key with a stray character must not leak.
            raise ConfigError(f"header {name!r} contains characters outside Latin-1") from None


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date (RFC 9110 section 10.2.3). Returns None
    when neither header is present or parseable.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
            if value >= 0:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare path: keep it off import time

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Decompressor:
    """gzip or deflate, incrementally; a corrupt or truncated body raises ``StreamError``."""

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._started = False
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> bytes:
        try:
            try:
                out = self._zlib.decompress(data)
            except zlib.error:
                if self._encoding != "deflate" or self._started:
                    raise
                # "deflate" is sent both zlib-wrapped (as the RFC says) and raw: try raw.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._zlib.decompress(data)
        except zlib.error as exc:
            raise StreamError(f"response body is not valid {self._encoding}: {exc}") from None
        self._started = True
        return out

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

    def __init__(self, raw: Any, read_timeout: Optional[float], deadline: Optional[float]) -> None:
        self._raw = raw
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._decoder = _decompressor_for(raw.headers)

    def limit_read_timeout(self, seconds: float) -> None:
        """Wait at most ``seconds`` for each further read."""
        self._read_timeout = seconds if self._read_timeout is None else min(self._read_timeout, seconds)

    def _set_socket_timeout(self) -> None:
        timeout = self._read_timeout
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded("total deadline passed while reading the response")
            timeout = remaining if timeout is None else min(timeout, remaining)
        sock = getattr(getattr(self._raw, "_connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(timeout)

    def chunks(self) -> Iterator[bytes]:
        """Yield body bytes (decompressed) as soon as they arrive; b'' never yielded."""
        # http.client's response object, present on urllib3 1.26 and 2.x alike.
        fp = self._raw._fp
        while True:
            self._set_socket_timeout()
            try:
                data = fp.read1(READ_CHUNK_BYTES) if fp is not None else b""
            except _SOCKET_TIMEOUTS:
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    raise DeadlineExceeded("total deadline passed while reading the response") from None
                raise ReadTimeout(f"no data for {self._read_timeout} s while reading the response") from None
            except (OSError, ValueError, u3.HTTPError, http.client.HTTPException) as exc:
                # ValueError: http.client raises it when the connection was closed under us.
                raise StreamError(f"connection broke while reading the response: {exc!r}") from exc
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
            if self._decoder is not None:
                data = self._decoder.feed(data)
                if not data:
                    continue
            yield data
            if self._deadline is not None and time.monotonic() >= self._deadline:
                raise DeadlineExceeded("total deadline passed while reading the response")


class Response:
    """A complete (non-streamed) successful response."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, attempts: int) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts

    def json(self) -> Any:
        """The body parsed as JSON; a body that is not JSON raises ``StreamError``."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can parse
            snippet = self.body[:200].decode("utf-8", "replace")
            raise StreamError(
                f"response body is not valid JSON: {snippet!r}", attempts=self.attempts
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
        if not self._finished:
            # Unread bytes would corrupt the next request on a kept-alive connection,
            # so the socket is closed; the pool slot is still returned.
            self._raw.close()
        self._raw.release_conn()

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _lower_headers(raw: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in raw.headers.items()}


class Transport:
    """Sends HTTP requests with retries; one connection pool, safe to share between threads."""

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
        self._direct = urllib3.PoolManager(**self._pool_kwargs)
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
                pool = urllib3.ProxyManager(proxy_url, proxy_headers=proxy_headers, **self._pool_kwargs)
                self._proxied[proxy_url] = pool
            return pool

    def close(self) -> None:
        """Close every pooled connection."""
        self._direct.clear()
        with self._lock:
            for pool in self._proxied.values():
                pool.clear()

    # -- public calls -------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: Any = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
    ) -> Response:
        """Send one request (with retries) and read the whole successful body."""
        timeouts = timeouts or self.timeouts
        deadline = _deadline(timeouts)
        raw, attempts = self._send(method, url, headers, json_body, body, timeouts, deadline, stream=False)
        reader = _Body(raw, timeouts.read, deadline)
        try:
            data = b"".join(reader.chunks())
        except BaseException as exc:
            if isinstance(exc, RelayError):
                exc.attempts = attempts
            raw.close()
            raw.release_conn()
            raise
        raw.release_conn()
        return Response(raw.status, _lower_headers(raw), data, attempts)

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        json_body: Any = None,
        body: Optional[bytes] = None,
        timeouts: Optional[Timeouts] = None,
    ) -> StreamResponse:
        """Send one request (with retries until a 2xx arrives) and return its open body."""
        timeouts = timeouts or self.timeouts
        deadline = _deadline(timeouts)
        raw, attempts = self._send(method, url, headers, json_body, body, timeouts, deadline, stream=True)
        return StreamResponse(
            raw, _lower_headers(raw), _Body(raw, timeouts.read, deadline), attempts, deadline
        )

    # -- the retry loop -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]],
        json_body: Any,
        body: Optional[bytes],
        timeouts: Timeouts,
        deadline: Optional[float],
        *,
        stream: bool,
    ) -> tuple[Any, int]:
        all_headers = dict(self._default_headers)
        all_headers["Accept-Encoding"] = "identity" if stream else "gzip, deflate"
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        check_headers(all_headers)
        pool = self._pool_for(url)

        attempt = 0
        while True:
            attempt += 1
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(
                    f"total deadline passed before attempt {attempt}", attempts=attempt - 1
                )
            started = time.monotonic()
            try:
                raw = pool.urlopen(
                    method,
                    url,
                    body=body,
                    headers=all_headers,
                    retries=False,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                    timeout=_attempt_timeout(timeouts, deadline),
                )
            except u3.HTTPError as exc:
                error, retryable = _transport_error(exc, url, deadline)
                error.attempts = attempt
                scrub(error, self._secrets(all_headers, url))
                logger.debug("%s %s failed on attempt %d: %s", method, safe_url(url), attempt, error.message)
                if not retryable or attempt > self.retry.max_retries:
                    raise error from exc
                self._wait(self.retry.backoff_delay(attempt), deadline, error, attempt)
                continue

            elapsed = time.monotonic() - started
            if 200 <= raw.status < 300:
                logger.debug(
                    "%s %s -> %d in %.3f s (attempt %d)", method, safe_url(url), raw.status, elapsed, attempt
                )
                return raw, attempt

            response_headers = _lower_headers(raw)
            error_body = self._read_error_body(raw, timeouts, deadline)
            api_exc = api_error(
                raw.status,
                error_body,
                response_headers,
                attempts=attempt,
                secrets=self._secrets(all_headers, url),
            )
            logger.debug("%s %s -> %d on attempt %d", method, safe_url(url), raw.status, attempt)
            if (
                not self._should_retry(raw.status, response_headers, api_exc)
                or attempt > self.retry.max_retries
            ):
                raise api_exc
            demanded = parse_retry_after(response_headers)
            if demanded is not None and demanded > self.retry.max_retry_after:
                api_exc.message += (
                    f"; the server asked to retry after {demanded:g} s, more than the "
                    f"{self.retry.max_retry_after:g} s cap (max_retry_after), so not waiting"
                )
                raise api_exc
            wait = demanded if demanded is not None else self.retry.backoff_delay(attempt)
            self._wait(wait, deadline, api_exc, attempt)

    def _secrets(self, headers: Mapping[str, str], url: str) -> tuple[str, ...]:
        """What must not appear in an error of this call: credential headers, URL user info.

        Worked out only on the error paths, so a successful call pays nothing for it.
        """
        proxy = self._proxies.proxy_for(url)
        extra = url_secrets(url) + (url_secrets(proxy) if proxy else ())
        return secret_values(headers, extra)

    def _should_retry(self, status: int, headers: Mapping[str, str], error: APIError) -> bool:
        override = headers.get("x-should-retry", "").strip().lower()
        if override == "true":
            return True
        if override == "false":
            return False
        if getattr(error, "quota_exhausted", False):
            return False
        return status in self.retry.retry_statuses

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
        raw.release_conn()
        return b"".join(parts)[:MAX_ERROR_BODY_BYTES]

    def _wait(self, seconds: float, deadline: Optional[float], error: RelayError, attempt: int) -> None:
        if deadline is not None and time.monotonic() + seconds >= deadline:
            raise DeadlineExceeded(
                f"total deadline would pass during the {seconds:.2f} s wait before retry {attempt}; "
                f"last error: {error}",
                attempts=attempt,
            ) from error
        logger.info("retrying in %.2f s after attempt %d: %s", seconds, attempt, error.message)
        self.sleep(seconds)


def _deadline(timeouts: Timeouts) -> Optional[float]:
    return None if timeouts.total is None else time.monotonic() + timeouts.total


def _attempt_timeout(timeouts: Timeouts, deadline: Optional[float]) -> urllib3.Timeout:
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
    if isinstance(exc, u3.ProtocolError):
        # The connection dropped before any response: the server did not answer this
        # request, so trying again on a fresh connection is safe.
        return ConnectError(f"connection to {host} dropped before a response: {_reason(exc)}"), True
    return TransportError(f"request to {host} failed: {exc}"), False


def _reason(exc: Exception) -> str:
    text = str(exc)
    # urllib3 prefixes messages with an object repr; keep the human part.
    return text.split(": ", 1)[-1] if ": " in text else text
