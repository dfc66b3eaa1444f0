"""Tests for relay_lite._errors against DESIGN.md section 6: status and in-stream error
mapping for every provider body shape, request ids, attempts in messages, and the
class hierarchy."""

from __future__ import annotations

import builtins
import json
from types import SimpleNamespace
from typing import Any, Optional

import pytest

import relay_lite
from relay_lite._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ReadTimeout,
    RelayError,
    ServerError,
    StreamError,
    StructuredOutputError,
    TransportError,
    UnprocessableEntityError,
    api_error,
)
from relay_lite._errors import TimeoutError as RelayTimeoutError
from relay_lite.protocols import anthropic as anthropic_protocol
from relay_lite.protocols import modelrelay as modelrelay_protocol
from relay_lite.protocols import openai as openai_protocol

# Each provider's error shapes, codes and request-id headers live in its protocol module;
# ``api_error`` is the generic mapper (common shapes and words only).
openai_error = openai_protocol.map_error
anthropic_error = anthropic_protocol.map_error
modelrelay_error = modelrelay_protocol.map_error

# -- status -> class ------------------------------------------------------------------------

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (529, OverloadedError),
    (418, APIError),
]


def openai_body(message: str, type_: Optional[str], code: Optional[str]) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_maps_to_its_class(status: int, cls: type[APIError]) -> None:
    error = api_error(status, json.dumps(openai_body("boom", None, None)).encode())
    assert type(error) is cls
    assert error.status == status
    assert error.message == "boom"


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_maps_to_its_class_with_an_empty_body(status: int, cls: type[APIError]) -> None:
    error = api_error(status, b"")
    assert type(error) is cls
    assert error.message == f"HTTP {status}"


def test_overloaded_error_is_a_server_error() -> None:
    assert issubclass(OverloadedError, ServerError)
    assert isinstance(api_error(529, b""), ServerError)


def test_plain_api_error_for_an_unmapped_4xx() -> None:
    error = api_error(418, "I'm a teapot")
    assert type(error) is APIError
    assert error.status == 418
    assert error.message == "I'm a teapot"


# -- body shapes ----------------------------------------------------------------------------


def test_openai_body_gives_message_code_request_id_and_body() -> None:
    body = openai_body("Incorrect API key provided", "invalid_request_error", "invalid_api_key")
    error = api_error(401, json.dumps(body).encode(), {"x-request-id": "req_openai_1"}, attempts=1)
    assert type(error) is AuthenticationError
    assert error.status == 401
    assert error.message == "Incorrect API key provided"
    assert error.code == "invalid_api_key"  # code preferred over type
    assert error.request_id == "req_openai_1"
    assert error.body == body
    assert error.attempts == 1


def test_openai_body_without_code_falls_back_to_type() -> None:
    body = openai_body("Unrecognized request argument", "invalid_request_error", None)
    error = api_error(400, json.dumps(body))
    assert type(error) is BadRequestError
    assert error.code == "invalid_request_error"
    assert error.message == "Unrecognized request argument"


def test_openai_insufficient_quota_is_a_rate_limit_with_quota_exhausted() -> None:
    body = openai_body("You exceeded your current quota", "insufficient_quota", "insufficient_quota")
    error = api_error(429, json.dumps(body).encode(), {"X-Request-Id": "req_q"}, attempts=1)
    assert isinstance(error, RateLimitError)
    assert error.code == "insufficient_quota"
    assert error.quota_exhausted is True
    assert error.request_id == "req_q"


def test_ordinary_rate_limit_is_not_quota_exhausted() -> None:
    body = openai_body("Rate limit reached", "requests", "rate_limit_exceeded")
    error = api_error(429, json.dumps(body))
    assert isinstance(error, RateLimitError)
    assert error.code == "rate_limit_exceeded"
    assert error.quota_exhausted is False


def test_anthropic_overloaded_body_gives_overloaded_error() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = api_error(529, json.dumps(body).encode(), {"request-id": "req_ant_1"}, attempts=3)
    assert type(error) is OverloadedError
    assert isinstance(error, ServerError)
    assert error.status == 529
    assert error.code == "overloaded_error"
    assert error.message == "Overloaded"
    assert error.request_id == "req_ant_1"
    assert error.body == body
    assert error.attempts == 3


def test_anthropic_invalid_request_body_code_is_the_error_type() -> None:
    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    error = api_error(400, json.dumps(body))
    assert type(error) is BadRequestError
    assert error.code == "invalid_request_error"
    assert error.message == "max_tokens: Field required"


def test_anthropic_rate_limit_body_is_not_quota_exhausted() -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}}
    error = api_error(429, json.dumps(body))
    assert isinstance(error, RateLimitError)
    assert error.code == "rate_limit_error"
    assert error.quota_exhausted is False


def test_modelrelay_nested_body_gives_code_message_and_request_id_from_body() -> None:
    body = {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "tier_id is invalid",
            "fields": [{"field": "tier_id", "message": "unknown tier"}],
            "status": 422,
        },
        "request_id": "req_mr_body",
    }
    error = modelrelay_error(422, json.dumps(body).encode(), attempts=2)
    assert type(error) is UnprocessableEntityError
    assert error.status == 422
    assert error.code == "VALIDATION_ERROR"
    assert error.message == "tier_id is invalid"
    assert error.request_id == "req_mr_body"
    assert error.body == body
    assert error.body["error"]["fields"][0]["field"] == "tier_id"
    assert error.attempts == 2


def test_modelrelay_flat_body_gives_code_and_message() -> None:
    body = {
        "message": "model is required",
        "code": "INVALID_INPUT",
        "fields": [{"field": "model", "message": "required"}],
    }
    error = modelrelay_error(400, json.dumps(body).encode(), {"X-ModelRelay-Chat-Request-Id": "chat_42"})
    assert type(error) is BadRequestError
    assert error.code == "INVALID_INPUT"
    assert error.message == "model is required"
    assert error.request_id == "chat_42"
    assert error.body == body


def test_modelrelay_flat_not_found() -> None:
    error = api_error(404, json.dumps({"message": "customer not found", "code": "NOT_FOUND"}))
    assert type(error) is NotFoundError
    assert error.code == "NOT_FOUND"
    assert error.message == "customer not found"


def test_plain_text_body_becomes_the_message() -> None:
    error = api_error(502, b"Bad Gateway: upstream connect error", {"x-request-id": "req_txt"})
    assert type(error) is ServerError
    assert error.status == 502
    assert error.message == "Bad Gateway: upstream connect error"
    assert error.code is None
    assert error.request_id == "req_txt"
    assert error.body == "Bad Gateway: upstream connect error"


@pytest.mark.parametrize("body", [b"", "", None, b"   \n"])
def test_empty_body_message_is_http_status(body: Any) -> None:
    error = api_error(502, body)
    assert type(error) is ServerError
    assert error.message == "HTTP 502"
    assert error.code is None
    assert error.request_id is None
    assert error.body is None
    assert "HTTP 502" in str(error)
    assert "status 502" in str(error)


def test_body_given_as_dict_is_accepted() -> None:
    body = openai_body("nope", "invalid_request_error", "model_not_found")
    error = api_error(404, body)
    assert type(error) is NotFoundError
    assert error.code == "model_not_found"
    assert error.body == body


# -- request ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapper", "header"),
    [
        (api_error, "x-request-id"),
        (api_error, "X-Request-Id"),
        (api_error, "request-id"),
        (openai_error, "X-Request-Id"),
        (anthropic_error, "request-id"),
        (modelrelay_error, "x-modelrelay-chat-request-id"),
        (modelrelay_error, "X-ModelRelay-Chat-Request-Id"),
        (modelrelay_error, "x-request-id"),
    ],
)
def test_request_id_is_read_from_each_header(mapper: Any, header: str) -> None:
    error = mapper(500, b"", {header: "req_from_header", "content-type": "text/plain"})
    assert error.request_id == "req_from_header"


def test_each_provider_reads_only_its_own_request_id_header() -> None:
    # Anthropic names its request id "request-id"; an "x-request-id" there is not one.
    assert anthropic_error(500, b"", {"x-request-id": "req_other"}).request_id is None
    assert openai_error(500, b"", {"x-modelrelay-chat-request-id": "chat_1"}).request_id is None


def test_modelrelay_request_id_is_read_from_body_when_no_header() -> None:
    error = modelrelay_error(500, json.dumps({"error": {"message": "x"}, "request_id": "req_body"}))
    assert error.request_id == "req_body"


def test_no_request_id_anywhere_is_none() -> None:
    error = api_error(500, json.dumps(openai_body("x", "server_error", None)), {"content-type": "json"})
    assert error.request_id is None


# -- errors inside a 200 stream -------------------------------------------------------------

IN_STREAM = [
    ("overloaded_error", OverloadedError),
    ("rate_limit_error", RateLimitError),
    ("invalid_request_error", BadRequestError),
    ("authentication_error", AuthenticationError),
    ("api_error", ServerError),
    ("something_new_error", APIError),
]
# (OpenRouter relays an upstream provider's error types in OpenAI-shaped bodies.)


@pytest.mark.parametrize("status", [None, 200])
@pytest.mark.parametrize(("error_type", "cls"), IN_STREAM)
def test_anthropic_in_stream_error_maps_by_type(
    status: Optional[int], error_type: str, cls: type[APIError]
) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": "went wrong"}}
    error = anthropic_error(status, json.dumps(body).encode(), attempts=1)
    assert type(error) is cls
    assert error.status is None
    assert error.code == error_type
    assert error.message == "went wrong"


@pytest.mark.parametrize("status", [None, 200])
@pytest.mark.parametrize(("error_type", "cls"), IN_STREAM)
def test_openai_style_in_stream_error_maps_by_type(
    status: Optional[int], error_type: str, cls: type[APIError]
) -> None:
    error = openai_error(status, openai_body("went wrong", error_type, None))
    assert type(error) is cls
    assert error.code == error_type


def test_openai_in_stream_error_with_unknown_code_maps_by_its_type() -> None:
    body = openai_body("context too long", "invalid_request_error", "context_length_exceeded")
    error = openai_error(None, body)
    assert type(error) is BadRequestError


def test_in_stream_insufficient_quota_is_quota_exhausted() -> None:
    error = openai_error(200, openai_body("quota gone", "insufficient_quota", "insufficient_quota"))
    assert isinstance(error, RateLimitError)
    assert error.quota_exhausted is True


def test_in_stream_error_str_says_in_stream_and_attempts() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    text = str(api_error(None, body, attempts=1))
    assert "Overloaded" in text
    assert "overloaded_error" in text
    assert "after 1 attempt" in text


def test_in_stream_error_carries_partial() -> None:
    partial = SimpleNamespace(text="half an ans")
    error = api_error(None, {"error": {"type": "api_error", "message": "x"}}, partial=partial)
    assert error.partial is partial


# -- messages -------------------------------------------------------------------------------


def test_str_includes_status_code_request_id_and_attempts() -> None:
    body = openai_body("You exceeded your current quota", "insufficient_quota", "insufficient_quota")
    text = str(api_error(429, json.dumps(body), {"x-request-id": "req_abc123"}, attempts=3))
    assert "You exceeded your current quota" in text
    assert "status 429" in text
    assert "insufficient_quota" in text
    assert "req_abc123" in text
    assert "after 3 attempts" in text


def test_str_says_after_1_attempt_in_the_singular() -> None:
    text = str(api_error(500, b"oops", {"request-id": "req_1"}, attempts=1))
    assert "after 1 attempt" in text
    assert "after 1 attempts" not in text
    assert "status 500" in text
    assert "req_1" in text


@pytest.mark.parametrize(
    "error",
    [
        RelayError("x", attempts=3),
        ConnectError("connection refused", attempts=3),
        ConnectTimeout("connect timed out", attempts=3),
        ReadTimeout("read timed out", attempts=3),
        DeadlineExceeded("deadline passed", attempts=3),
        StreamError("stream cut", attempts=3),
        StructuredOutputError("never valid", attempts=3),
        APIError("x", status=500, attempts=3),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_says_how_many_attempts(error: RelayError) -> None:
    assert error.attempts == 3
    assert "after 3 attempts" in str(error)
    assert error.message in str(error)


def test_default_attempts_is_one() -> None:
    assert RelayError("x").attempts == 1
    assert "after 1 attempt" in str(ReadTimeout("slow"))


# -- hierarchy ------------------------------------------------------------------------------


def test_connect_timeout_is_both_connect_error_and_timeout_error() -> None:
    assert issubclass(ConnectTimeout, ConnectError)
    assert issubclass(ConnectTimeout, RelayTimeoutError)
    error = ConnectTimeout("slow connect")
    with pytest.raises(ConnectError):
        raise error
    with pytest.raises(RelayTimeoutError):
        raise error


@pytest.mark.parametrize("cls", [ReadTimeout, DeadlineExceeded, ConnectTimeout])
def test_timeouts_are_timeout_errors(cls: type[RelayError]) -> None:
    assert issubclass(cls, RelayTimeoutError)
    assert issubclass(cls, TransportError)


def test_read_timeout_and_deadline_are_not_connect_errors() -> None:
    assert not issubclass(ReadTimeout, ConnectError)
    assert not issubclass(DeadlineExceeded, ConnectError)


@pytest.mark.parametrize(
    "cls",
    [
        ConfigError,
        APIError,
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        ServerError,
        OverloadedError,
        TransportError,
        ConnectError,
        RelayTimeoutError,
        ConnectTimeout,
        ReadTimeout,
        DeadlineExceeded,
        StreamError,
        StructuredOutputError,
    ],
)
def test_every_error_is_a_relay_error(cls: type[Exception]) -> None:
    assert issubclass(cls, RelayError)


@pytest.mark.parametrize(
    "cls",
    [
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        ServerError,
        OverloadedError,
    ],
)
def test_every_status_error_is_an_api_error(cls: type[Exception]) -> None:
    assert issubclass(cls, APIError)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert str(ConfigError("RELAY_LITE_LOG='loud' is bad")) == "RELAY_LITE_LOG='loud' is bad"


def test_relay_lite_timeout_error_is_not_the_builtin() -> None:
    assert relay_lite.TimeoutError is RelayTimeoutError
    assert relay_lite.TimeoutError is not builtins.TimeoutError


def test_public_names_are_the_same_classes() -> None:
    assert relay_lite.APIError is APIError
    assert relay_lite.OverloadedError is OverloadedError
    assert relay_lite.ConnectTimeout is ConnectTimeout
    assert relay_lite.ConfigError is ConfigError


# -- StreamError ----------------------------------------------------------------------------


def test_stream_error_text_returns_partial_text() -> None:
    error = StreamError("cut short", partial=SimpleNamespace(text="Hello, wor"))
    assert error.text == "Hello, wor"
    assert error.partial.text == "Hello, wor"


def test_stream_error_text_is_empty_without_partial() -> None:
    assert StreamError("cut short").text == ""
    assert StreamError("cut short", partial=None).text == ""


def test_stream_error_text_is_empty_when_partial_text_is_none() -> None:
    assert StreamError("cut short", partial=SimpleNamespace(text=None)).text == ""


def test_stream_error_text_from_a_chat_response() -> None:
    partial = relay_lite.ChatResponse(text="partial reply")
    assert StreamError("cut", partial=partial).text == "partial reply"


def test_modelrelay_upper_case_codes_in_a_stream_map_to_their_class() -> None:
    from relay_lite import AuthenticationError, RateLimitError, UnprocessableEntityError

    cases = {
        "RATE_LIMIT": RateLimitError,
        "UNAUTHORIZED": AuthenticationError,
        "VALIDATION_ERROR": UnprocessableEntityError,
    }
    for code, cls in cases.items():
        error = modelrelay_error(None, {"error": {"code": code, "message": "m"}})
        assert type(error) is cls, code
        assert error.code == code


def test_error_facts_replace_makes_a_changed_copy() -> None:
    from relay_lite._errors import ErrorFacts

    facts = ErrorFacts("m", "c")
    assert facts.replace(request_id="req_1") == ErrorFacts("m", "c", request_id="req_1")
    assert facts == ErrorFacts("m", "c")
    assert repr(facts) == "ErrorFacts(message='m', code='c', kind=None, status=None, request_id=None)"
