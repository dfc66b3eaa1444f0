"""``api_error`` never lets a bare Python error out: whatever the error body (odd types,
unknown shapes, invalid UTF-8, absurd nesting), it returns an ``APIError`` subclass with a
string message and an int-or-None status. Hand-written cases first, then hypothesis
mutating the providers' real error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay_lite import (
    APIError,
    AuthenticationError,
    BadRequestError,
    OverloadedError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from relay_lite._errors import api_error
from relay_lite._transport import Response
from relay_lite.protocols import anthropic, modelrelay
from relay_lite.protocols.openai import map_error as openai_error

# The generic mapper and each provider's own, which all build on it.
MAPPERS = [api_error, openai_error, anthropic.map_error, modelrelay.map_error]

# Real shapes, byte for byte as the providers send them.
# OpenAI 401 (pretty-printed with a trailing newline).
OPENAI_401 = (
    b'{\n    "error": {\n        "message": "Incorrect API key provided: sk-abc***xyz. You can find '
    b'your API key at https://platform.openai.com/account/api-keys.",\n'
    b'        "type": "invalid_request_error",\n'
    b'        "param": null,\n        "code": "invalid_api_key"\n    }\n}\n'
)
# Anthropic 529 (compact, no final newline).
ANTHROPIC_529 = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
# ModelRelay nested error record with its status and request id.
MODELRELAY_429 = (
    b'{"error":{"code":"RATE_LIMIT","message":"Too many requests","fields":[],"status":429},'
    b'"request_id":"req_mr_1"}'
)
# ModelRelay flat error.
MODELRELAY_FLAT = b'{"message":"invalid input","code":"INVALID_INPUT","fields":[{"field":"model"}]}'
BODIES = [OPENAI_401, ANTHROPIC_529, MODELRELAY_429, MODELRELAY_FLAT]


def check(error: Any) -> None:
    """The invariants every built error keeps."""
    assert isinstance(error, APIError)
    assert type(error.message) is str and error.message
    assert error.status is None or (type(error.status) is int and 100 <= error.status <= 599)
    assert error.code is None or type(error.code) is str
    assert error.request_id is None or type(error.request_id) is str
    str(error)
    repr(error)


# -- odd values in known shapes ---------------------------------------------------------------


def test_in_stream_status_true_is_not_status_one() -> None:
    # bool is an int in Python: {"status": true} must not become status True (== 1).
    error = api_error(None, {"error": {"message": "nope", "status": True}})
    check(error)
    assert error.status is None
    assert type(error) is APIError


def test_in_stream_status_code_as_a_boolean_is_ignored() -> None:
    error = api_error(None, {"error": {"message": "nope", "code": True}})
    check(error)
    assert (error.status, error.code) == (None, None)


def test_status_outside_http_range_is_ignored() -> None:
    for status in (0, 1, 99, 600, 99999, -429):
        error = api_error(None, {"error": {"message": "x", "status": status}})
        assert error.status is None


def test_status_as_digit_string_counts() -> None:
    error = api_error(None, {"error": {"message": "slow", "status": "429"}})
    assert type(error) is RateLimitError
    assert error.status == 429


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (42, "42"),
        (1.5, "1.5"),
        (["first problem", "second"], '["first problem", "second"]'),
        ({"detail": "bad"}, '{"detail": "bad"}'),
        (True, "true"),
    ],
)
def test_message_of_another_type_becomes_text(message: Any, expected: str) -> None:
    error = api_error(
        400, json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
    )
    check(error)
    assert type(error) is BadRequestError
    assert error.message == expected


def test_empty_or_null_message_falls_back_to_the_status() -> None:
    for message in ("", None, "   "):
        error = api_error(503, json.dumps({"error": {"message": message}}).encode())
        check(error)
        assert error.message == "HTTP 503"


def test_error_that_is_a_list_uses_its_first_object() -> None:
    # An OpenAI-compatible server's shape (the openai adapter unwraps it).
    error = openai_error(
        None, {"error": [{"message": "first", "type": "rate_limit_error"}, {"message": "second"}]}
    )
    check(error)
    assert (type(error), error.message, error.code) == (RateLimitError, "first", "rate_limit_error")


def test_error_that_is_a_list_of_strings_becomes_text() -> None:
    error = api_error(400, b'{"error": ["model is required", "messages is required"]}')
    check(error)
    assert error.message == '["model is required", "messages is required"]'


def test_error_that_is_a_number_becomes_text() -> None:
    error = api_error(500, b'{"error": 500}')
    check(error)
    assert (type(error), error.message) == (ServerError, "500")


def test_google_style_list_body_is_understood() -> None:
    # Gemini's OpenAI-compatible endpoint wraps its error object in a list.
    body = (
        b'[{\n  "error": {\n    "code": 400,\n    "message": "API key not valid.",\n'
        b'    "status": "INVALID_ARGUMENT"\n  }\n}\n]'
    )
    error = openai_error(400, body)
    check(error)
    assert (type(error), error.message, error.status) == (BadRequestError, "API key not valid.", 400)


@pytest.mark.parametrize("code", [{"nested": 1}, [1, 2], True, None, 3.5])
def test_code_of_odd_type_never_breaks(code: Any) -> None:
    error = api_error(None, {"error": {"message": "m", "code": code, "type": "overloaded_error"}})
    check(error)
    assert type(error) is OverloadedError


def test_top_level_json_scalars_are_text() -> None:
    for body, message in ((b"123", "123"), (b"true", "true"), (b'"quoted"', "quoted"), (b"null", "HTTP 502")):
        error = api_error(502, body)
        check(error)
        assert error.message == message


def test_deeply_nested_body_is_kept_as_text() -> None:
    # json.loads raises RecursionError on this; the body is then text, cut for the message.
    body = b'{"error": ' * 100_000 + b"1" + b"}" * 100_000
    error = api_error(500, body)
    check(error)
    assert type(error) is ServerError
    assert error.message == ('{"error": ' * 50)[:500]
    assert isinstance(error.body, str)


def test_deeply_nested_list_is_kept_as_text() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    error = api_error(None, body)
    check(error)
    assert error.message == "[" * 500


def test_invalid_utf8_is_replaced_not_raised() -> None:
    error = api_error(401, b'{"error": {"message": "bad \xff\xfe key"}}')
    check(error)
    assert type(error) is AuthenticationError
    assert error.message == "bad \ufffd\ufffd key"


def test_non_json_non_utf8_bytes_become_text() -> None:
    error = api_error(500, b"\x80\x81<html>oops")
    check(error)
    assert error.message == "\ufffd\ufffd<html>oops"


def test_request_id_of_odd_type_is_ignored() -> None:
    error = api_error(500, b'{"error": {"message": "m"}, "request_id": {"a": 1}}')
    check(error)
    assert error.request_id is None


def test_response_json_of_a_deeply_nested_body_is_a_response_error() -> None:
    response = Response(200, {}, b"[" * 100_000 + b"]" * 100_000, attempts=2)
    with pytest.raises(ResponseError) as info:
        response.json()
    assert str(info.value) == f"response body is not valid JSON: {'[' * 200!r} (after 2 attempts)"
    assert info.value.body == "[" * 200


# -- hypothesis: mutate real bodies -------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = ["error", "message", "type", "code", "status", "param", "request_id", "fields"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    body = json.loads(draw(st.sampled_from(BODIES)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "add", "delete"]))
        paths = _paths(body)
        path = draw(st.sampled_from(paths))
        if action == "replace":
            body = _replace(body, path, draw(json_value))
        elif action == "add":
            target = body
            for step in path:
                target = target[step]
            if isinstance(target, dict):
                body = _replace(body, path, {**target, draw(st.sampled_from(FIELDS)): draw(json_value)})
        elif path:
            parent = body
            for step in path[:-1]:
                parent = parent[step]
            if isinstance(parent, dict):
                body = _replace(body, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
    text = json.dumps(body).encode()
    # Sometimes also damage the bytes: truncate, or insert invalid UTF-8.
    damage = draw(st.sampled_from(["none", "truncate", "bad-utf8"]))
    if damage == "truncate" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif damage == "bad-utf8":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + b"\xff\xc3" + text[cut:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=mutated_bodies(), status=st.sampled_from([None, 200, 400, 401, 429, 500, 529]))
def test_any_mutated_error_body_gives_a_proper_api_error(body: bytes, status: int | None) -> None:
    for mapper in MAPPERS:
        check(mapper(status, body, {"x-request-id": "req_1"}))
    parsed: Any
    try:
        parsed = json.loads(body)
    except ValueError:
        return
    for mapper in MAPPERS:
        check(mapper(status, parsed))  # as an in-stream error event hands it over


@settings(max_examples=200, deadline=None)
@given(value=json_value, status=st.sampled_from([None, 400, 503]))
def test_any_json_value_as_error_body_gives_a_proper_api_error(value: Any, status: int | None) -> None:
    for mapper in MAPPERS:
        check(mapper(status, json.dumps(value).encode()))
        check(mapper(status, {"error": value}))
        check(mapper(status, {"error": {"message": value, "code": value, "type": value, "status": value}}))
        check(mapper(status, [{"error": value, "request_id": value}]))


def test_an_error_object_in_a_whole_200_reply_reads_as_status_200_not_in_stream() -> None:
    import relay_lite
    from relay_lite.protocols import anthropic, openai

    with pytest.raises(relay_lite.RateLimitError) as caught:
        openai.parse_response(
            {"error": {"message": "slow down", "type": "rate_limit_exceeded"}}, request_id="r1"
        )
    assert caught.value.status == 200 and str(caught.value).startswith("slow down (status 200")
    with pytest.raises(relay_lite.OverloadedError) as caught_anthropic:
        anthropic.parse_response({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    assert caught_anthropic.value.status == 200 and "in stream" not in str(caught_anthropic.value)
