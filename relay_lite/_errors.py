"""The exception tree.

One root, ``RelayError``, split by cause so callers catch by family:

- ``ConfigError`` (also a ``ValueError``): a bad argument or environment value.
- ``APIError``: the server answered with an error, one subclass per meaning.
- ``TransportError``: the request never got a full answer (connect, timeouts).
- ``ResponseError``: a whole (non-streamed) reply could not be read: its body is not JSON,
  or a field has the wrong type. Carries the start of the body.
- ``StreamError``: a stream was malformed or cut short; carries the partial response.
- ``StructuredOutputError``: structured output failed on every attempt; its children
  ``RefusalError`` and ``TruncatedOutputError`` say why when no re-ask can help.
- ``ToolArgumentsError``: a tool call's arguments are not a JSON object.

Every error carries ``attempts`` (how many HTTP attempts were made) and says it in its
message. Nothing here ever formats a credential, and ``redact`` / ``scrub`` remove the
ones a server echoes back (see "Secrets" below).

Mapping an error body to a class is split in two. This module holds the generic half:
``read_error_body`` (bytes to JSON or text), ``describe_error_body`` (the common shapes
into ``ErrorFacts``), ``build_api_error`` (status, facts and a code table to the right
class, request id, rate limits, secrets scrubbed) and the generic words and headers. Each
protocol adapter's ``map_error`` (``relay_lite/protocols/*.py``) holds its provider's
half: body quirks, code table, request-id headers. ``api_error`` is the generic mapper
alone, for calls without a provider (the transport's default). Bodies of unknown shape,
odd types, invalid UTF-8 or absurd nesting fall back to text, never to a bare Python
exception.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from ._ratelimits import parse_rate_limits

if TYPE_CHECKING:
    from ._ratelimits import RateLimits

__all__ = [
    "RelayError",
    "ConfigError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "ServerError",
    "OverloadedError",
    "TransportError",
    "ConnectError",
    "TimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "DeadlineExceeded",
    "ResponseError",
    "StreamError",
    "StructuredOutputError",
    "RefusalError",
    "TruncatedOutputError",
    "ToolArgumentsError",
    "api_error",
    "build_api_error",
    "read_error_body",
    "ErrorFacts",
    "GENERIC_CODE_CLASSES",
    "describe_error_body",
    "error_object",
    "scalar_text",
    "status_of",
    "unreadable_reply",
    "REQUEST_ID_HEADERS",
    "REDACTED",
    "secret_values",
    "url_secrets",
    "redact",
    "safe_url",
    "scrub",
]

# Response headers that commonly carry a request id, for a mapper that knows no provider.
# Each adapter names its own (``Adapter.response_id_headers``).
REQUEST_ID_HEADERS = ("x-request-id", "request-id")

# How much of an unreadable body a ``ResponseError`` keeps.
BODY_SNIPPET_CHARS = 200

# Error codes meaning the account is out of money: retrying cannot help.
QUOTA_EXHAUSTED_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


def _attempts_suffix(attempts: int) -> str:
    return f"after {attempts} attempt{'s' if attempts != 1 else ''}"


class RelayError(Exception):
    """Root of every error relay_lite raises."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        #: For an error during a stream: the ChatResponse accumulated before it broke.
        self.partial: Any = None

    def __str__(self) -> str:
        if not self.attempts:  # nothing was sent (a map item that never ran): no count to give
            return self.message
        return f"{self.message} ({_attempts_suffix(self.attempts)})"

    def __repr__(self) -> str:
        # From the current message: it may have been redacted or extended after __init__.
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(RelayError, ValueError):
    """A bad argument or environment value; the message names it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, attempts=0)

    def __str__(self) -> str:
        return self.message


class APIError(RelayError):
    """The API answered with an error (an HTTP status, or an error event inside a stream).

    ``status`` is the HTTP status (None for an error event inside a stream), ``headers``
    the response's headers with lower-cased names, ``rate_limits`` what they said about
    the caller's rate limits (``RateLimits`` or None), ``body`` the parsed error body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        body: Any = None,
        attempts: int = 1,
        partial: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        rate_limits: Optional[RateLimits] = None,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body
        self.partial = partial
        self.headers: dict[str, str] = dict(headers or {})
        self.rate_limits = rate_limits

    def in_whole_reply(self) -> APIError:
        """This error, read from a whole reply's 200 body: its ``status`` is then 200 (unless
        the body named one), so it does not read as an error event inside a stream."""
        if self.status is None:
            self.status = 200
        return self

    def __str__(self) -> str:
        details = [f"status {self.status}" if self.status is not None else "in stream"]
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        details.append(_attempts_suffix(self.attempts))
        return f"{self.message} ({', '.join(details)})"


class BadRequestError(APIError):
    """400: the request was malformed or invalid."""


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the key is valid but may not do this."""


class NotFoundError(APIError):
    """404: no such model, path or object."""


class ConflictError(APIError):
    """409: the request conflicts with the current state."""


class UnprocessableEntityError(APIError):
    """422: the request was well formed but semantically wrong."""


class RateLimitError(APIError):
    """429: too many requests, or the quota is gone (see ``quota_exhausted``)."""

    @property
    def quota_exhausted(self) -> bool:
        """True when the code says the account is out of quota, so a retry cannot help."""
        return self.code in QUOTA_EXHAUSTED_CODES


class ServerError(APIError):
    """5xx: the server failed."""


class OverloadedError(ServerError):
    """529 or an ``overloaded_error``: the provider is overloaded; try later."""


class TransportError(RelayError):
    """No complete answer arrived: the connection or a timeout failed."""


class ConnectError(TransportError):
    """The connection could not be made (refused, DNS, TLS, proxy)."""


class TimeoutError(TransportError):  # noqa: A001 - the name is part of the public API
    """A time limit ran out."""


class ConnectTimeout(ConnectError, TimeoutError):
    """Connecting took longer than the connect timeout."""


class ReadTimeout(TimeoutError):
    """No byte arrived within the read timeout."""


class DeadlineExceeded(TimeoutError):
    """The total deadline over the whole call (retries and stream included) passed."""


class StreamError(RelayError):
    """A stream was malformed or ended early; ``partial`` holds what arrived before."""

    def __init__(self, message: str, *, partial: Any = None, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.partial = partial

    @property
    def text(self) -> str:
        """The text received before the stream broke ('' when nothing arrived)."""
        return getattr(self.partial, "text", "") or ""


class ResponseError(RelayError):
    """A whole (non-streamed) reply could not be read as the protocol's answer.

    Its body is not valid JSON, or a field has the wrong type (the message names it by its
    JSON path). ``body`` holds the start of the body text (at most ``BODY_SNIPPET_CHARS``
    characters) and ``request_id`` the provider's request id when known. A stream that
    breaks raises ``StreamError`` instead, with the partial reply.
    """

    def __init__(
        self,
        message: str,
        *,
        body: Optional[str] = None,
        request_id: Optional[str] = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.body = body[:BODY_SNIPPET_CHARS] if body is not None else None
        self.request_id = request_id


def unreadable_reply(
    message: str, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
) -> ResponseError:
    """The ``ResponseError`` for a parsed reply ``payload`` the protocol cannot read."""
    try:
        body = json.dumps(payload, ensure_ascii=False)[:BODY_SNIPPET_CHARS]
    except (ValueError, TypeError, RecursionError):
        body = f"<{type(payload).__name__}>"
    return ResponseError(message, body=body, request_id=request_id, attempts=attempts)


class StructuredOutputError(RelayError):
    """Structured output failed validation on every attempt.

    ``raw_attempts`` holds each attempt's raw text and ``attempt_errors`` the list of
    error messages for each, in order.
    """

    def __init__(
        self,
        message: str,
        *,
        raw_attempts: Optional[list[str]] = None,
        attempt_errors: Optional[list[list[str]]] = None,
        responses: Optional[list[Any]] = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.raw_attempts = list(raw_attempts or [])
        self.attempt_errors = list(attempt_errors or [])
        self.responses = list(responses or [])


class RefusalError(StructuredOutputError):
    """The model refused to answer (or a content filter stopped it); not re-asked."""


class TruncatedOutputError(StructuredOutputError):
    """The reply was cut off by the token limit; raise ``max_tokens``. Not re-asked."""


class ToolArgumentsError(RelayError, ValueError):
    """A tool call's arguments are not a JSON object, so there is nothing safe to run it with.

    Raised when ``ToolCall.arguments`` is read for such a call (cut off by the token limit,
    or a model's mistake); ``arguments_json`` keeps the text the model sent.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, attempts=0)

    def __str__(self) -> str:
        return self.message


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    529: OverloadedError,
}

# Error "type"/"code" words any HTTP API may use, naming a class for an error without a
# status (inside a 200 stream). Each adapter adds its provider's own words to these.
GENERIC_CODE_CLASSES: Mapping[str, type[APIError]] = {
    "bad_request": BadRequestError,
    "invalid_request": BadRequestError,
    "unauthorized": AuthenticationError,
    "forbidden": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "conflict": ConflictError,
    "unprocessable_entity": UnprocessableEntityError,
    "too_many_requests": RateLimitError,
    "overloaded": OverloadedError,
    # Anthropic's word, which gateways (OpenRouter, LiteLLM) relay in other bodies too.
    "overloaded_error": OverloadedError,
    "server_error": ServerError,
    "internal_error": ServerError,
    "service_unavailable": ServerError,
}


def _class_for(
    status: Optional[int],
    code: Optional[str],
    kind: Optional[str],
    code_classes: Mapping[str, type[APIError]],
) -> type[APIError]:
    # Overloaded is not a status of its own (Anthropic uses 529 or a 500 with the code).
    if any(
        name and name.lower() in code_classes and code_classes[name.lower()] is OverloadedError
        for name in (code, kind)
    ):
        return OverloadedError
    if status is not None and status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status is not None and status >= 500:
        return ServerError
    # Without a status (an error inside a stream) the specific code decides, then the
    # family named by the type: OpenAI's context_length_exceeded is an invalid_request_error.
    for name in (code, kind):
        if name and name.lower() in code_classes:
            return code_classes[name.lower()]
    return APIError


# Longest error text kept from a body that is not JSON, or from a value of an odd type.
MAX_MESSAGE_CHARS = 500


def _parse_body(body: Union[bytes, str, Mapping[str, Any], None]) -> tuple[Any, Optional[str]]:
    """(parsed JSON or the text itself, the text) of an error body."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        if not body.strip():
            return None, None
        try:
            return json.loads(body), body
        except (ValueError, RecursionError):
            # RecursionError: JSON nested deeper than the parser allows is kept as text.
            return body, body
    return body, None


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> Optional[str]:
    for name in names:
        value = headers.get(name)
        if value and isinstance(value, str):
            return value
    return None


def _scalar(value: Any) -> Optional[str]:
    """A string, number or None as text; containers and booleans name nothing (None)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _text_of(value: Any) -> Optional[str]:
    """Any JSON value as a message: strings as they are, other values as short JSON."""
    if value is None or isinstance(value, str):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text[:MAX_MESSAGE_CHARS]


def _status_of(value: Any) -> Optional[int]:
    """An HTTP status from a body field; ``True`` (an int in Python), 0 or 99999 are not one."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def describe_error_body(parsed: Any, text: Optional[str] = None) -> ErrorFacts:
    """Read the common error-body shapes: ``{"error": {"message", "type", "code",
    "status"}}``, ``{"error": "text"}``, a flat ``{"message", "code", "status"}``, or text.

    Adapters call this and add what their provider does differently. A value of any odd
    type becomes text, never an exception. ``text`` is the body as received.
    """
    if not isinstance(parsed, Mapping):
        # Text as sent (a JSON string as its content); JSON null says nothing.
        raw = parsed if isinstance(parsed, str) or parsed is None else (text or _text_of(parsed))
        message = raw.strip()[:MAX_MESSAGE_CHARS] if raw and raw.strip() else None
        return ErrorFacts(message)
    inner: Any = parsed.get("error", parsed)
    if not isinstance(inner, Mapping):
        # {"error": "text"}, or an error that is a number or a list.
        message = _text_of(parsed.get("message")) or _text_of(inner)
        return ErrorFacts(message, _scalar(parsed.get("code")), None, _status_of(parsed.get("status")))
    message = inner.get("message")
    if message is None or message == "":
        message = parsed.get("message")
    kind = _scalar(inner.get("type"))
    if kind == "error":  # a flat {"type": "error", ...} names no family
        kind = None
    # The specific reason is usually in "code" and the family in "type"; the code shown is
    # the more specific one.
    raw_code = inner.get("code")
    code = _scalar(raw_code) or kind
    status = _status_of(inner.get("status"))
    if status is None and isinstance(raw_code, int) and not isinstance(raw_code, bool):
        # OpenRouter, vLLM and the agent platform put the HTTP status in "code".
        status = _status_of(raw_code)
    return ErrorFacts(_text_of(message), code, kind, status)


def error_object(parsed: Any) -> Any:
    """The error object of a body: ``parsed["error"]`` when there is one, else ``parsed``."""
    return parsed.get("error", parsed) if isinstance(parsed, Mapping) else parsed


def scalar_text(value: Any) -> Optional[str]:
    """A string or number as text; containers, booleans and null give None."""
    return _scalar(value)


def status_of(value: Any) -> Optional[int]:
    """An HTTP status from a body field (100-599, a 3-digit string too); else None."""
    return _status_of(value)


class ErrorFacts:
    """What an adapter read from an error body, for ``build_api_error``.

    ``code`` is the most specific reason (``insufficient_quota``), ``kind`` the family
    (``invalid_request_error``), ``status`` an HTTP status the body states itself (inside a
    200 stream), ``request_id`` one the body carries. (A plain class, not a NamedTuple:
    building one of those costs ``import relay_lite`` almost half a millisecond.)
    """

    __slots__ = ("message", "code", "kind", "status", "request_id")

    def __init__(
        self,
        message: Optional[str] = None,
        code: Optional[str] = None,
        kind: Optional[str] = None,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
    ) -> None:
        self.message = message
        self.code = code
        self.kind = kind
        self.status = status
        self.request_id = request_id

    def _fields(self) -> tuple[Any, ...]:
        return (self.message, self.code, self.kind, self.status, self.request_id)

    def replace(self, **changes: Any) -> ErrorFacts:
        """A copy with ``changes`` applied (``facts.replace(request_id="req_1")``)."""
        values = dict(zip(self.__slots__, self._fields()))
        values.update(changes)
        return ErrorFacts(**values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorFacts) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self.__slots__, self._fields()))
        return f"ErrorFacts({inner})"


def read_error_body(body: Union[bytes, str, Mapping[str, Any], None]) -> tuple[Any, Optional[str]]:
    """(the parsed JSON, or the text itself when it is not JSON; the text) of an error body.

    Bytes are decoded as UTF-8 with replacement; a body nested deeper than the JSON parser
    allows is kept as text; an already-parsed value passes through (text None).
    """
    return _parse_body(body)


def build_api_error(
    status: Optional[int],
    parsed: Any,
    facts: ErrorFacts,
    headers: Optional[Mapping[str, str]] = None,
    *,
    request_id_headers: Iterable[str] = (),
    code_classes: Optional[Mapping[str, type[APIError]]] = None,
    attempts: int = 1,
    partial: Any = None,
    secrets: Iterable[str] = (),
) -> APIError:
    """The ``APIError`` for an error an adapter has read (the generic half of every mapper).

    The class follows the HTTP status (``status``, else the body's own); without one (an
    error event inside a stream) ``facts.code`` then ``facts.kind`` are looked up,
    lower-cased, in ``code_classes`` (the adapter's table). ``overloaded`` always means
    ``OverloadedError``. The request id is the first of ``request_id_headers`` present in
    ``headers``, else ``facts.request_id``. ``secrets`` are removed from everything.
    """
    if status == 200:
        status = None
    effective_status = status if status is not None else facts.status
    lowered = {str(k).lower(): v for k, v in (headers or {}).items() if isinstance(v, str)}
    request_id = _header(lowered, tuple(request_id_headers)) or facts.request_id or None
    cls = _class_for(effective_status, facts.code, facts.kind, code_classes or {})
    message = facts.message
    if not message or not message.strip():
        message = f"HTTP {status}" if status is not None else "error event in stream"
    error = cls(
        message,
        status=effective_status,
        code=facts.code,
        request_id=request_id,
        body=parsed,
        attempts=attempts,
        partial=partial,
        headers=lowered,
        rate_limits=parse_rate_limits(lowered),
    )
    if secrets:
        scrub(error, secrets)
    return error


def api_error(
    status: Optional[int],
    body: Union[bytes, str, Mapping[str, Any], None],
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    partial: Any = None,
    secrets: Iterable[str] = (),
) -> APIError:
    """Build the right ``APIError`` subclass from a status and an error body.

    The generic mapper, for a call whose adapter adds nothing (and the transport's
    default): the common body shapes (``describe_error_body``), the generic code words
    and request-id headers. Each protocol adapter's ``map_error`` knows its provider's
    shapes, codes and headers on top (``relay_lite/protocols/*.py``). ``status`` is None
    (or 200) for an error event inside a stream; the class then follows the error's type
    or code. Any body of unknown shape becomes text. ``secrets`` (see ``secret_values``)
    are removed from everything the error carries.
    """
    parsed, text = _parse_body(body)
    return build_api_error(
        status,
        parsed,
        describe_error_body(parsed, text),
        headers,
        request_id_headers=REQUEST_ID_HEADERS,
        code_classes=GENERIC_CODE_CLASSES,
        attempts=attempts,
        partial=partial,
        secrets=secrets,
    )


# -- secrets ----------------------------------------------------------------------------------
#
# The transport knows which outgoing header values are credentials for each call; a server
# that echoes one back (in an error message, an error body or a header) must not put it into
# an error or a log line. ``secret_values`` names them and ``scrub`` removes them. URL
# credentials (``https://user:password@host``) are cut out of any text by ``redact`` too.

REDACTED = "[REDACTED]"
# Request headers whose values are credentials, besides any whose name says so.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "x-modelrelay-api-key"}
)
_SECRET_NAME_PARTS = ("key", "token", "secret", "auth", "password", "credential", "signature")
# Shorter values are not real credentials, and redacting them would mangle ordinary words.
MIN_SECRET_LENGTH = 6
# "scheme://userinfo@": the user info of any URL in a text. A string, compiled on first
# use (re caches it), so that import does not pay for it.
_URL_CREDENTIALS = r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s'\"]+@"


def _is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(part in lowered for part in _SECRET_NAME_PARTS)


def secret_values(headers: Mapping[str, str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The credentials among outgoing ``headers`` (and ``extra`` ones), longest first.

    A value with an auth scheme (``Bearer sk-...``, ``Basic ...``) also yields its token
    alone, which is what servers usually echo.
    """
    found: set[str] = set()
    for name, value in headers.items():
        if not isinstance(value, str) or not _is_secret_header(name):
            continue
        value = value.strip()
        found.add(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            found.add(token.strip())
    found.update(extra)
    candidates = {v for v in found if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    # As JSON escapes them, too: a key with "/" or a quote appears so inside a JSON body.
    candidates |= {json.dumps(v)[1:-1] for v in candidates}
    return tuple(sorted(candidates, key=len, reverse=True))


def url_secrets(url: str) -> tuple[str, ...]:
    """The user info of ``url`` and its password, raw and percent-decoded ('' parts skipped)."""
    rest = url.split("://", 1)[-1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return ()
    from urllib.parse import unquote

    userinfo = authority.rsplit("@", 1)[0]
    password = userinfo.partition(":")[2]
    values = {userinfo, unquote(userinfo), password, unquote(password)}
    return tuple(v for v in values if v)


# The shortest start of a secret that is redacted on its own: messages quote the first
# 200 characters of a body, and a key crossing that cut must not survive as a prefix.
MIN_SECRET_PREFIX = 8


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret and any URL's user info replaced by ``[REDACTED]``.

    A secret cut short (a quote that ends inside it) is redacted too: any start of it
    ``MIN_SECRET_PREFIX`` characters or longer.
    """
    secrets = [secret for secret in secrets if secret]
    for secret in secrets:  # whole secrets first, then what is left of cut ones
        if secret in text:
            text = text.replace(secret, REDACTED)
    for secret in secrets:
        for length in range(len(secret) - 1, MIN_SECRET_PREFIX - 1, -1):
            prefix = secret[:length]
            if prefix in text:
                text = text.replace(prefix, REDACTED)
                break
    if "@" in text:
        text = re.sub(_URL_CREDENTIALS, r"\1" + REDACTED + "@", text)
    return text


def safe_url(url: str) -> str:
    """``url`` fit for a log line or a message: its user info (if any) redacted."""
    return redact(url) if "@" in url else url


def _redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """A JSON value with the secrets removed from every string in it."""
    if isinstance(value, str):
        return redact(value, secrets)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return redact(_text_of(value) or "", secrets)
    cleaned = redact(text, secrets)
    if cleaned == text:
        return value
    try:
        return json.loads(cleaned)
    except (ValueError, RecursionError):
        return cleaned


def scrub(error: RelayError, secrets: Iterable[str]) -> RelayError:
    """Remove ``secrets`` from ``error``'s message (and an API error's code, body, headers)."""
    secrets = tuple(secrets)
    error.message = redact(error.message, secrets)
    error.args = (error.message,)
    if isinstance(error, ResponseError) and error.body is not None:
        error.body = redact(error.body, secrets)
    if isinstance(error, APIError):
        if error.code is not None:
            error.code = redact(error.code, secrets)
        if error.request_id is not None:
            error.request_id = redact(error.request_id, secrets)
        error.body = _redact_value(error.body, secrets)
        error.headers = {name: redact(value, secrets) for name, value in error.headers.items()}
    return error
