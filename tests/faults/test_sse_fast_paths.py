"""SSEDecoder's whole-event fast path against its line-by-line path, on arbitrary input.

``SSEDecoder.feed`` reads the usual event blocks (``data: X``, ``event: E`` + ``data: X``)
whole once it is between events and the text has no CR (issue 14); everything else goes
line by line. Both must give the same events, ids, retry values, ``ended_mid_event`` and
``unterminated`` event for every input and every way of cutting it, so the reference here
is the same decoder with the fast path switched off.
"""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from relay_lite import StreamError
from relay_lite._sse import ServerSentEvent, SSEDecoder

EXAMPLES = settings(max_examples=300, deadline=None)


class LineByLine(SSEDecoder):
    """The decoder with the fast path off: every chunk through ``_lines``."""

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        text = self._decode(data)
        return self._lines(text) if text else []


def run(decoder: SSEDecoder, chunks: Sequence[bytes]) -> Any:
    try:
        events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
    except StreamError as exc:
        return "error", exc.message
    return events, decoder.ended_mid_event, decoder.unterminated, decoder.retry, decoder.last_event_id


def pieces(raw: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


# Tokens shaped like real streams (OpenAI data-only events, Anthropic named events, ids,
# retry, comments, blank lines, CRLF, a split multi-byte character), so that the whole
# blocks the fast path takes and the odd ones it hands on both come up often.
event_bytes = st.lists(
    st.sampled_from(
        [
            b"data: ",
            b"data:",
            b"event: ",
            b"event: ping",
            b"id: 7",
            b"id",
            b"retry: 50",
            b": keep-alive",
            b"\n",
            b"\n\n",
            b"\r\n",
            b"\r",
            b'{"a":1}',
            b"[DONE]",
            b"x",
            "é".encode(),
            b"\xc3",
            b"\xef\xbb\xbf",
        ]
    ),
    max_size=30,
).map(b"".join)
cut_points = st.lists(st.integers(min_value=0, max_value=400), max_size=10)


@EXAMPLES
@given(raw=event_bytes, cuts=cut_points)
def test_fast_path_and_line_by_line_path_decode_every_input_alike(raw: bytes, cuts: list[int]):
    chunkings = [[raw], pieces(raw, cuts), [raw[i : i + 1] for i in range(len(raw))]]
    reference = run(LineByLine(), [raw])
    for chunks in chunkings:
        assert run(SSEDecoder(), chunks) == reference
        assert run(LineByLine(), chunks) == reference


@EXAMPLES
@given(raw=event_bytes, cuts=cut_points)
def test_fast_path_keeps_the_line_cap(raw: bytes, cuts: list[int]):
    for cap in (4, 9, 16):
        assert run(SSEDecoder(max_line_bytes=cap), pieces(raw, cuts)) == run(
            LineByLine(max_line_bytes=cap), pieces(raw, cuts)
        )


def test_openai_and_anthropic_events_read_whole_keep_ids_and_retry():
    # OpenAI: data-only events, [DONE] last; Anthropic: "event:" then "data:" per event.
    body = (
        b"retry: 300\nid: e1\n\n"
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n'
        b"event: \ndata: unnamed\n\n"
        b"data: [DONE]\n\n"
    )
    decoder = SSEDecoder()
    events = decoder.feed(body)
    assert events == [
        ServerSentEvent("message", '{"choices":[{"delta":{"content":"Hi"}}]}', "e1", 300),
        ServerSentEvent("content_block_delta", '{"type":"content_block_delta"}', "e1", None),
        ServerSentEvent("message", "unnamed", "e1", None),
        ServerSentEvent("message", "[DONE]", "e1", None),
    ]
    assert decoder.close() == []
    assert decoder.ended_mid_event is False
