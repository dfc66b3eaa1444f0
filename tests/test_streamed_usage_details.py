"""Cached and reasoning token counts reach Usage from a stream's last chunk, as from a whole reply."""

from __future__ import annotations

import pytest

from relay_lite import Usage
from relay_lite._sse import ServerSentEvent
from relay_lite.protocols import openai

# OpenAI's final usage chunk with stream_options.include_usage: choices empty, details set.
LAST_CHUNK = (
    '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"o4-mini","choices":[],'
    '"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,'
    '"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":256,"audio_tokens":0}}}'
)
EXPECTED = Usage(
    input_tokens=1200, output_tokens=300, total_tokens=1500, cached_input_tokens=1024, reasoning_tokens=256
)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole reply"])
def test_cached_and_reasoning_tokens_are_read(streamed: bool) -> None:
    if streamed:
        parser = openai.StreamParser()
        parser.feed(ServerSentEvent("message", '{"choices":[{"index":0,"delta":{"content":"ok"}}]}'))
        parser.feed(ServerSentEvent("message", LAST_CHUNK))
        parser.feed(ServerSentEvent("message", "[DONE]"))
        usage = parser.acc.response().usage
    else:
        reply = LAST_CHUNK.replace('"choices":[]', '"choices":[{"index":0,"message":{"content":"ok"}}]')
        import json

        usage = openai.parse_response(json.loads(reply)).usage
    assert usage == EXPECTED
