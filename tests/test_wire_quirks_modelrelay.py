"""ModelRelay ``/llm/proxy`` replies of the wrong shape: named errors, flagged tool arguments."""

from __future__ import annotations

import pytest

from relay_lite import APIError, ResponseError, ToolArgumentsError, UnprocessableEntityError
from relay_lite.protocols import modelrelay


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"content": [5]}, "content[0] is a number, expected a string"),
        ({"content": {"text": "x"}}, "content is an object, expected an array of strings"),
        ({"content": ["x"], "model": 5}, "model is a number, expected a string"),
        ({"content": ["x"], "tool_calls": {}}, "tool_calls is an object, expected an array"),
        ({"content": ["x"], "tool_calls": [5]}, "tool_calls[0] is a number, expected an object"),
        ({"content": ["x"], "stop_reason": ["end_turn"]}, "stop_reason is an array, expected a string"),
    ],
)
def test_reply_field_of_the_wrong_type_is_named(payload, message):
    with pytest.raises(ResponseError) as info:
        modelrelay.parse_response(payload, attempts=2)
    assert str(info.value) == f"{message} (after 2 attempts)"


def test_a_single_string_content_is_the_text():
    # Some ModelRelay-compatible servers send content as one string, not a list.
    assert modelrelay.parse_response({"content": "Hello"}).text == "Hello"


def test_numeric_ids_are_kept_as_text():
    reply = modelrelay.parse_response(
        {"id": 42, "content": ["x"], "tool_calls": [{"id": 7, "function": {"name": "f", "arguments": "{}"}}]}
    )
    assert (reply.id, reply.tool_calls[0].id) == ("42", "7")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ("[1]", "arguments are JSON an array, not an object"),
        (5, "arguments are JSON a number, not an object"),
    ],
)
def test_tool_arguments_that_are_not_an_object_are_flagged(arguments, error):
    reply = modelrelay.parse_response(
        {"content": [], "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": arguments}}]}
    )
    call = reply.tool_calls[0]
    assert call.arguments_error == error
    with pytest.raises(ToolArgumentsError):
        _ = call.arguments


def test_tool_arguments_sent_as_an_object_are_accepted():
    reply = modelrelay.parse_response(
        {
            "content": [],
            "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"city": "Köln"}}}],
        }
    )
    assert reply.tool_calls[0].arguments == {"city": "Köln"}


@pytest.mark.parametrize(
    ("payload", "cls", "code"),
    [
        (
            {"message": "model is required", "code": "VALIDATION_ERROR", "fields": []},
            UnprocessableEntityError,
            "VALIDATION_ERROR",
        ),
        ({"error": {"code": "INTERNAL", "message": "boom", "status": 500}}, APIError, "INTERNAL"),
    ],
)
def test_an_error_body_answering_with_status_200_raises_its_api_error(payload, cls, code):
    # Both ModelRelay error shapes (nested and flat) seen behind gateways that answer 200.
    with pytest.raises(cls) as info:
        modelrelay.parse_response(payload, request_id="req_9")
    assert (info.value.code, info.value.request_id) == (code, "req_9")
