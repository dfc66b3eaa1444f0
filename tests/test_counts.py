"""Counts read from replies (tokens, batch request counts): whole, not negative, else unknown."""

from __future__ import annotations

import pytest

from relay_lite.protocols._fields import count
from relay_lite.protocols.openai import parse_response


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (0, 0),
        (7.0, 7),
        (-1, None),
        (-2.0, None),
        (2.5, None),
        ("5", None),
        (True, None),
        (None, None),
    ],
)
def test_a_count_is_a_whole_non_negative_number_else_unknown(value: object, expected: object) -> None:
    assert count(value) == expected


def test_a_negative_token_count_in_a_reply_reads_as_unknown_and_the_reply_is_kept() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": -1, "completion_tokens": 2, "total_tokens": 1},
    }
    reply = parse_response(body)
    assert reply.text == "hi"
    assert (reply.usage.input_tokens, reply.usage.output_tokens, reply.usage.total_tokens) == (None, 2, 1)
