"""The exception tree.

One root, ``RelayError``, split by cause so callers catch by family:

- ``ConfigError`` (also a ``ValueError``): a bad argument or environment value.
- ``APIError``: the server answered with an error, one subclass per meaning.
- ``TransportError``: the request never got a full answer (connect, timeouts).
- ``StreamError``: a stream was malformed or cut short; carries the partial response.
- ``StructuredOutputError``: structured output failed on every attempt.

Every error carries ``attempts`` (how many HTTP attempts were made) and says it in its
message. Nothing here ever formats a credential.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Union

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
    "StreamError",
    "StructuredOutputError",
    "api_error",
    "REQUEST_ID_HEADERS",
]

# Response headers that carry the provider's request id, most specific first.
REQUEST_ID_HEADERS = ("x-modelrelay-chat-request-id", "x-request-id", "request-id")

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
        return f"{self.message} ({_attempts_suffix(self.attempts)})"


class ConfigError(RelayError, ValueError):
    """A bad argument or environment value; the message names it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, attempts=0)

    def __str__(self) -> str:
        return self.message


class APIError(RelayError):
    """The API answered with an error (an HTTP status, or an error event inside a stream)."""

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
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body
        self.partial = partial

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

# Error "type"/"code" strings that name a class, for errors inside a 200 stream.
_CODE_CLASSES: dict[str, type[APIError]] = {
    "invalid_request_error": BadRequestError,
    "request_too_large": BadRequestError,
    "bad_request": BadRequestError,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "unauthorized": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "permission_denied": PermissionDeniedError,
    "forbidden": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "not_found": NotFoundError,
    "model_not_found": NotFoundError,
    "conflict": ConflictError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "overloaded_error": OverloadedError,
    "overloaded": OverloadedError,
    "api_error": ServerError,
    "server_error": ServerError,
    "internal_error": ServerError,
    "timeout_error": ServerError,
    # ModelRelay's upper-case codes, looked up lower-cased
    "rate_limit": RateLimitError,
    "validation_error": UnprocessableEntityError,
    "invalid_input": BadRequestError,
    "service_unavailable": ServerError,
}


def _class_for(status: Optional[int], code: Optional[str], kind: Optional[str]) -> type[APIError]:
    if "overloaded_error" in (code, kind) or "overloaded" in (code, kind):
        return OverloadedError
    if status is not None and status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status is not None and status >= 500:
        return ServerError
    # Without a status (an error inside a stream) the specific code decides, then the
    # family named by the type: OpenAI's context_length_exceeded is an invalid_request_error.
    for name in (code, kind):
        if name and name.lower() in _CODE_CLASSES:
            return _CODE_CLASSES[name.lower()]
    return APIError


def _parse_body(body: Union[bytes, str, Mapping[str, Any], None]) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body) if body.strip() else None
        except ValueError:
            return body
    return body


def _header(headers: Optional[Mapping[str, str]], names: tuple[str, ...]) -> Optional[str]:
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        if lowered.get(name):
            return lowered[name]
    return None


def _describe(parsed: Any) -> tuple[Optional[str], Optional[str], Optional[str], Optional[int]]:
    """Pull (message, code, type, status) out of any known error body shape."""
    if not isinstance(parsed, Mapping):
        text = parsed.strip()[:500] if isinstance(parsed, str) and parsed.strip() else None
        return text, None, None, None
    inner = parsed.get("error", parsed)
    if isinstance(inner, str):  # {"error": "text"}
        return inner, _as_str(parsed.get("code")), None, None
    if not isinstance(inner, Mapping):
        inner = parsed
    message = inner.get("message") or parsed.get("message")
    kind = _as_str(inner.get("type"))
    if kind == "error":  # Anthropic's outer {"type": "error"} names no family
        kind = None
    # OpenAI puts the specific reason in "code" and the family in "type";
    # Anthropic only has "type". The code shown is the more specific one.
    code = _as_str(inner.get("code")) or kind
    status = inner.get("status") if isinstance(inner.get("status"), int) else None
    raw_code = inner.get("code")
    if status is None and isinstance(raw_code, int) and 400 <= raw_code <= 599:
        status = raw_code  # OpenRouter and vLLM put the HTTP status in "code" inside streams
    return (str(message) if message is not None else None), code, kind, status


def _as_str(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def api_error(
    status: Optional[int],
    body: Union[bytes, str, Mapping[str, Any], None],
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    partial: Any = None,
) -> APIError:
    """Build the right ``APIError`` subclass from a status and an error body.

    ``status`` is None (or 200) for an error event inside a stream; the class then
    follows the error's type or code. Understands the OpenAI, Anthropic, ModelRelay
    (nested and flat) and agent-platform body shapes.
    """
    parsed = _parse_body(body)
    message, code, kind, body_status = _describe(parsed)
    if status == 200:
        status = None
    effective_status = status if status is not None else body_status
    request_id = _header(headers, REQUEST_ID_HEADERS)
    if request_id is None and isinstance(parsed, Mapping) and parsed.get("request_id"):
        request_id = str(parsed["request_id"])
    cls = _class_for(effective_status, code, kind)
    if not message:
        message = f"HTTP {status}" if status is not None else "error event in stream"
    return cls(
        message,
        status=effective_status,
        code=code,
        request_id=request_id,
        body=parsed,
        attempts=attempts,
        partial=partial,
    )
