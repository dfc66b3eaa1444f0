"""Bedrock Runtime error bodies and in-stream exceptions onto relay_lite's error tree.

The type comes from the ``x-amzn-ErrorType`` header (``ThrottlingException:http://...``,
the part before ``:``), else the body's ``__type`` (``com.amazon.coral.service#
UnrecognizedClientException``, the part after ``#``), or, inside a ConverseStream, the
``:exception-type`` header; the text is the body's ``message`` (``Message`` where AWS's
front door answers); the request id is ``x-amzn-RequestId``. The type decides the class
over the HTTP status where both speak: AWS answers a bad signature with 403, which means
"who are you" (``AuthenticationError``), not "you may not" (``PermissionDeniedError``).
Retries follow the status as for every provider (429, 408 ``ModelTimeoutException``, 5xx).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ErrorFacts,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    build_api_error,
    read_error_body,
    scalar_text,
)

__all__ = ["ERROR_CODES", "RESPONSE_ID_HEADERS", "map_error", "read_error_type"]

#: Response headers carrying the request id.
RESPONSE_ID_HEADERS = ("x-amzn-requestid",)

#: Error types (lower-cased) naming a class; they decide over the HTTP status, since AWS
#: answers a bad signature with 403 where the meaning is "who are you" (401).
ERROR_CODES: Mapping[str, type[APIError]] = {
    "throttlingexception": RateLimitError,
    "toomanyrequestsexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "validationexception": BadRequestError,
    "serializationexception": BadRequestError,
    "accessdeniedexception": PermissionDeniedError,
    "resourcenotfoundexception": NotFoundError,
    "unrecognizedclientexception": AuthenticationError,
    "invalidsignatureexception": AuthenticationError,
    "incompletesignatureexception": AuthenticationError,
    "missingauthenticationtokenexception": AuthenticationError,
    "expiredtokenexception": AuthenticationError,
    "modeltimeoutexception": ServerError,
    "serviceunavailableexception": ServerError,
    "internalserverexception": ServerError,
    "modelstreamerrorexception": ServerError,
    "modelerrorexception": ServerError,
    "modelnotreadyexception": ServerError,
}


def read_error_type(headers: Optional[Mapping[str, str]], body: Any) -> Optional[str]:
    """The AWS error type: ``x-amzn-ErrorType`` (before any ``:``), else the body's ``__type``
    (after any ``#`` namespace)."""
    raw = None
    if headers:
        raw = next((v for k, v in headers.items() if k.lower() == "x-amzn-errortype" and v), None)
    if raw is None and isinstance(body, Mapping):
        raw = scalar_text(body.get("__type")) or scalar_text(body.get("code"))
    if not raw:
        return None
    return raw.split(":", 1)[0].rsplit("#", 1)[-1].strip() or None


def map_error(
    status: Optional[int],
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    error_type: Optional[str] = None,
) -> APIError:
    """The ``APIError`` for a Bedrock error (``status`` None: an exception inside a stream).

    ``error_type`` names the exception when neither headers nor body do (the stream's
    ``:exception-type``).
    """
    parsed, text = read_error_body(body)
    code = error_type or read_error_type(headers, parsed)
    if isinstance(parsed, Mapping):
        message = scalar_text(parsed.get("message")) or scalar_text(parsed.get("Message"))
    else:
        message = (text or (parsed if isinstance(parsed, str) else "") or "").strip()[:500] or None
    facts = ErrorFacts(message, code)
    error = build_api_error(
        status,
        parsed,
        facts,
        headers,
        request_id_headers=RESPONSE_ID_HEADERS,
        attempts=attempts,
    )
    wanted = ERROR_CODES.get((code or "").lower())
    if wanted is not None and type(error) is not wanted:
        error = _as_class(error, wanted)
    return error


def _as_class(error: APIError, cls: type[APIError]) -> APIError:
    """``error`` rebuilt as ``cls`` (the error type knows better than the status)."""
    return cls(
        error.message,
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        body=error.body,
        attempts=error.attempts,
        partial=error.partial,
        headers=error.headers,
        rate_limits=error.rate_limits,
    )
