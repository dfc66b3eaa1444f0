"""Property tests: the stream decoders on arbitrary input, however it is chunked.

For ``SSEDecoder``, ``NDJSONDecoder`` and ``PartialJSONParser``: nothing but the documented
error (``StreamError``, ``PartialJSONError``) ever escapes, and cutting the same input into
different pieces never changes the outcome (the same values, or the same error). A small
line cap makes the cap's error reachable with small examples.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay_lite import StreamError
from relay_lite._partial_json import PartialJSONError, PartialJSONParser
from relay_lite._sse import NDJSONDecoder, SSEDecoder

SMALL_CAP = 24
EXAMPLES = settings(max_examples=150, deadline=None)


def pieces(raw: Any, cuts: Sequence[int]) -> list[Any]:
    bounds = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


def outcome(run: Callable[[list[Any]], Any], chunks: list[Any]) -> tuple[str, Any]:
    """("ok", result) or ("error", the documented error's class name); anything else fails."""
    try:
        return "ok", run(chunks)
    except (StreamError, PartialJSONError) as exc:
        return "error", type(exc).__name__


def run_sse(chunks: list[bytes]) -> Any:
    decoder = SSEDecoder(max_line_bytes=SMALL_CAP)
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
    return events, decoder.ended_mid_event, decoder.unterminated


def run_ndjson(chunks: list[bytes]) -> Any:
    decoder = NDJSONDecoder(max_line_bytes=SMALL_CAP)
    return [v for chunk in chunks for v in decoder.feed(chunk)] + decoder.close()


def run_partial_json(chunks: list[str]) -> Any:
    parser = PartialJSONParser()
    for chunk in chunks:
        parser.feed(chunk)
        parser.value  # noqa: B018 - reading the partial value must never raise either
    return parser.finish(), list(parser.complete_fields)


# Bytes biased towards what the decoders look at: field names, colons, line ends, JSON.
sse_bytes = st.lists(
    st.sampled_from([b"data:", b"data: ", b"event:", b"id:", b"retry:", b":", b"\n", b"\r", b"\r\n"])
    | st.binary(max_size=12),
    max_size=16,
).map(b"".join)
ndjson_bytes = st.lists(
    st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",", b":", b"1", b"null", b"\n", b"\r\n", b" ", b"\xff"])
    | st.binary(max_size=8),
    max_size=24,
).map(b"".join)
json_text = st.lists(
    st.sampled_from(['{"a": ', '"x"', "[", "]", "{", "}", ",", ":", "-1.5e3", "tru", "e", "\\u00", "\\", '"'])
    | st.text(max_size=6),
    max_size=16,
).map("".join)
cut_points = st.lists(st.integers(min_value=0, max_value=500), max_size=12)


@EXAMPLES
@given(raw=sse_bytes, cuts=cut_points)
def test_sse_decoder_raises_only_stream_error_and_chunking_never_changes_the_outcome(raw: bytes, cuts):
    whole = outcome(run_sse, [raw])
    assert outcome(run_sse, pieces(raw, cuts)) == whole
    assert outcome(run_sse, [raw[i : i + 1] for i in range(len(raw))]) == whole


@EXAMPLES
@given(raw=ndjson_bytes, cuts=cut_points)
def test_ndjson_decoder_raises_only_stream_error_and_chunking_never_changes_the_outcome(raw: bytes, cuts):
    whole = outcome(run_ndjson, [raw])
    assert outcome(run_ndjson, pieces(raw, cuts)) == whole
    assert outcome(run_ndjson, [raw[i : i + 1] for i in range(len(raw))]) == whole


@EXAMPLES
@given(text=json_text, cuts=cut_points)
def test_partial_json_parser_raises_only_its_error_and_chunking_never_changes_the_outcome(text: str, cuts):
    whole = outcome(run_partial_json, [text])
    assert outcome(run_partial_json, pieces(text, cuts)) == whole
    assert outcome(run_partial_json, list(text)) == whole


def refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@EXAMPLES
@given(text=json_text)
def test_partial_json_parser_accepts_every_document_json_loads_accepts(text: str):
    try:  # strict RFC 8259: Python's json also takes NaN and Infinity, which are not JSON
        expected: Optional[Any] = ("ok", json.loads(text, parse_constant=refuse_constant))
    except (ValueError, RecursionError):
        expected = None
    result = outcome(run_partial_json, [text])
    if expected is None:
        # json.loads refuses; the parser may still accept a Markdown-fenced value, so only
        # check that it did not raise something undocumented (outcome() ensures that).
        return
    assert result[0] == "ok"
    assert result[1][0] == expected[1]


def test_partial_json_parser_survives_nesting_far_deeper_than_the_recursion_limit():
    parser = PartialJSONParser()
    # 20,000 levels, twenty times the recursion limit. (Not 100,000: opening a level costs
    # time in proportion to its depth, so that would take ~12 s -- reported, not pinned.)
    parser.feed("[" * 20_000)
    depth, value = 0, parser.value
    while isinstance(value, list) and value:  # walked, not compared: == would recurse
        depth, value = depth + 1, value[0]
    assert (depth, value) == (19_999, [])
    with pytest.raises(PartialJSONError):
        parser.finish()


def test_ndjson_line_nested_deeper_than_the_recursion_limit_is_a_stream_error():
    with pytest.raises(StreamError) as info:
        NDJSONDecoder().feed(b"[" * 100_000 + b"\n")
    assert str(info.value).startswith("invalid JSON line in NDJSON stream (nested too deeply): [[[")
