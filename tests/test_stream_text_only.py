"""``stream.text()`` takes the parsers' text-only path (plain strings, no TextDelta per
token) without losing the reply, the partial text on failure, or events for a loop that
started on the stream itself (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relay_lite import Client, RetryPolicy, StreamError, TextDelta, Usage
from relay_lite.testing import ChatScript, FakeServer

TEXT = "Grüße aus Köln — 你好, мир! 🎉🚀 done."


@pytest.fixture(params=["openai", "anthropic"])
def client(request: pytest.FixtureRequest) -> Iterator[tuple[FakeServer, Client]]:
    if request.param == "openai":
        with FakeServer.openai() as fake:
            with Client.compatible(fake.url, retry=RetryPolicy(backoff=0.01), model="m") as c:
                yield fake, c
    else:
        with FakeServer.anthropic() as fake:
            with Client.anthropic(api_key="test-key", base_url=fake.url, model="m") as c:
                yield fake, c


def test_text_loop_yields_plain_strings_and_keeps_the_whole_reply(client: tuple[FakeServer, Client]) -> None:
    server, c = client
    server.add(ChatScript(text=TEXT, chunk_size=3, usage=Usage(5, 4, 9)))
    with c.chat().user("hi").stream() as stream:
        pieces = list(stream.text())
    assert [type(p) for p in pieces] == [str] * len(pieces)
    assert "".join(pieces) == TEXT
    assert len(pieces) == len(TEXT) // 3 + 1
    assert stream.response.text == TEXT
    assert stream.response.usage.output_tokens == 4
    assert stream.stats is not None and stream.stats.events >= len(pieces)


def test_events_of_a_loop_on_the_stream_itself_stay_text_deltas(
    client: tuple[FakeServer, Client],
) -> None:
    server, c = client
    server.add(ChatScript(text="abcdef", chunk_size=2))
    with c.chat().user("hi").stream() as stream:
        seen = [e for e in stream if type(e) is TextDelta]
        assert [e.text for e in seen] == ["ab", "cd", "ef"]
        assert list(stream.text()) == []
    assert stream.response.text == "abcdef"


def test_text_loop_cut_midway_raises_with_the_exact_partial_text(client: tuple[FakeServer, Client]) -> None:
    server, c = client
    # Cut after the third text delta: OpenAI sends a role chunk before the deltas,
    # Anthropic message_start, content_block_start and a ping (the fakes follow both).
    cut_after = 4 if "anthropic" not in repr(c) else 6
    server.add(ChatScript(text="abcdefghij", chunk_size=2, cut_after=cut_after))
    stream = c.chat().user("x").stream()
    pieces: list[str] = []
    with pytest.raises(StreamError) as caught:
        for piece in stream.text():
            pieces.append(piece)
    assert caught.value.partial is not None
    assert pieces == ["ab", "cd", "ef"]
    assert caught.value.partial.text == "abcdef"
