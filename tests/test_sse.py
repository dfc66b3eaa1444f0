"""Tests for relay_lite._sse: one test per rule of WHATWG "event stream interpretation",
plus NDJSON, the line cap, and chunk-boundary properties checked with hypothesis."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay_lite._errors import ConfigError, StreamError
from relay_lite._sse import (
    DEFAULT_MAX_LINE_BYTES,
    NDJSONDecoder,
    ServerSentEvent,
    SSEDecoder,
)

E = ServerSentEvent


def sse(chunks: Iterable[bytes], **kwargs: Any) -> tuple[list[ServerSentEvent], SSEDecoder]:
    """Feed every chunk, then close; return all events and the decoder."""
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder


def sse_events(*chunks: bytes) -> list[ServerSentEvent]:
    return sse(chunks)[0]


def ndjson(*chunks: bytes, **kwargs: Any) -> list[Any]:
    decoder = NDJSONDecoder(**kwargs)
    values: list[Any] = []
    for chunk in chunks:
        values.extend(decoder.feed(chunk))
    values.extend(decoder.close())
    return values


# --- ServerSentEvent -------------------------------------------------------------


def test_event_defaults() -> None:
    assert E() == E(event="message", data="", id="", retry=None)


def test_event_is_frozen() -> None:
    with pytest.raises(AttributeError):
        E().data = "x"  # type: ignore[misc]


def test_event_json_parses_data() -> None:
    assert E(data='{"a": [1, 2]}').json() == {"a": [1, 2]}


# --- BOM ---------------------------------------------------------------------------


def test_leading_bom_stripped() -> None:
    assert sse_events(b"\xef\xbb\xbfdata: a\n\n") == [E(data="a")]


def test_leading_bom_split_across_chunks_stripped() -> None:
    assert sse_events(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [E(data="a")]


def test_only_first_bom_stripped() -> None:
    # The second BOM becomes part of the field name "\ufeffdata", an unknown field.
    assert sse_events(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n") == []


def test_bom_in_later_chunk_is_not_stripped() -> None:
    assert sse_events(b"data: a\n\n", b"\xef\xbb\xbfdata: b\n\n") == [E(data="a")]


def test_bom_inside_value_kept() -> None:
    assert sse_events(b"data: \xef\xbb\xbfa\n\n") == [E(data="\ufeffa")]


# --- line endings ------------------------------------------------------------------


def test_lf_line_endings() -> None:
    assert sse_events(b"data: a\n\ndata: b\n\n") == [E(data="a"), E(data="b")]


def test_crlf_line_endings() -> None:
    assert sse_events(b"data: a\r\n\r\ndata: b\r\n\r\n") == [E(data="a"), E(data="b")]


def test_cr_line_endings() -> None:
    assert sse_events(b"data: a\r\rdata: b\r\r") == [E(data="a"), E(data="b")]


def test_mixed_line_endings() -> None:
    stream = b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\n\n"
    assert sse_events(stream) == [E(data="a\nb\nc"), E(data="d")]


def test_cr_at_chunk_end_and_lf_at_next_start_is_one_line_end() -> None:
    # Were the LF counted separately it would be a blank line dispatching "a" alone.
    events = sse_events(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert events == [E(data="a\nb")]


def test_cr_at_chunk_end_then_empty_chunk_then_lf_is_one_line_end() -> None:
    assert sse_events(b"data: a\r", b"", b"\ndata: b\n\n") == [E(data="a\nb")]


def test_cr_at_chunk_end_followed_by_non_lf_char() -> None:
    assert sse_events(b"data: a\r", b"data: b\r\r") == [E(data="a\nb")]


def test_cr_at_chunk_end_followed_by_cr_is_blank_line() -> None:
    assert sse_events(b"data: a\r", b"\rdata: b\r\n\r\n") == [E(data="a"), E(data="b")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separator_not_split(separator: str) -> None:
    stream = f"data: a{separator}b\n\n".encode()
    assert sse_events(stream) == [E(data=f"a{separator}b")]


# --- fields ------------------------------------------------------------------------


def test_comment_lines_ignored() -> None:
    stream = b": keep-alive\ndata: a\n:\n: another\n\n:only a comment\n\n"
    assert sse_events(stream) == [E(data="a")]


def test_one_leading_space_stripped() -> None:
    assert sse_events(b"data: a\n\n") == [E(data="a")]


def test_only_one_leading_space_stripped() -> None:
    assert sse_events(b"data:  two spaces\n\n") == [E(data=" two spaces")]


def test_no_space_after_colon() -> None:
    assert sse_events(b"data:a\n\n") == [E(data="a")]


def test_tab_after_colon_kept() -> None:
    assert sse_events(b"data:\ta\n\n") == [E(data="\ta")]


def test_colon_in_value_kept() -> None:
    assert sse_events(b"data: a: b:c\n\n") == [E(data="a: b:c")]


def test_trailing_whitespace_in_value_kept() -> None:
    assert sse_events(b"data: a  \n\n") == [E(data="a  ")]


def test_line_without_colon_is_field_with_empty_value() -> None:
    # A bare "data" appends "\n" to the data buffer, so the event fires with data "".
    assert sse_events(b"data\n\n") == [E(data="")]


def test_bare_data_lines_make_empty_lines_in_data() -> None:
    assert sse_events(b"data\ndata\ndata: x\n\n") == [E(data="\n\nx")]


def test_bare_event_line_resets_type_to_default() -> None:
    assert sse_events(b"event: x\nevent\ndata: a\n\n") == [E(data="a")]


def test_empty_data_value_dispatches_event() -> None:
    assert sse_events(b"data:\n\n") == [E(data="")]


def test_multiple_data_lines_joined_with_lf() -> None:
    assert sse_events(b"data: a\ndata: b\ndata: c\n\n") == [E(data="a\nb\nc")]


def test_event_field_sets_type() -> None:
    assert sse_events(b"event: ping\ndata: a\n\n") == [E(event="ping", data="a")]


def test_last_event_field_wins() -> None:
    assert sse_events(b"event: a\nevent: b\ndata: x\n\n") == [E(event="b", data="x")]


def test_event_type_defaults_to_message() -> None:
    assert sse_events(b"event: ping\ndata: a\n\ndata: b\n\n") == [
        E(event="ping", data="a"),
        E(event="message", data="b"),
    ]


def test_empty_event_field_gives_message() -> None:
    assert sse_events(b"event:\ndata: a\n\n") == [E(event="message", data="a")]


def test_id_sets_last_event_id() -> None:
    events, decoder = sse([b"id: 7\ndata: a\n\n"])
    assert events == [E(data="a", id="7")]
    assert decoder.last_event_id == "7"


def test_id_with_nul_ignored() -> None:
    assert sse_events(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n") == [
        E(data="a", id="1"),
        E(data="b", id="1"),
    ]


def test_last_id_persists_across_events() -> None:
    assert sse_events(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n") == [
        E(data="a", id="1"),
        E(data="b", id="1"),
        E(data="c", id="2"),
    ]


def test_id_set_without_data_carries_to_next_event() -> None:
    assert sse_events(b"id: 9\n\ndata: a\n\n") == [E(data="a", id="9")]


def test_id_reset_with_empty_id_field() -> None:
    assert sse_events(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid:\ndata: d\n\n") == [
        E(data="a", id="1"),
        E(data="b", id=""),
        E(data="c", id="2"),
        E(data="d", id=""),
    ]


def test_retry_all_digits_sets_reconnection_time() -> None:
    events, decoder = sse([b"retry: 1500\ndata: a\n\n"])
    assert events == [E(data="a", retry=1500)]
    assert decoder.retry == 1500


def test_retry_only_on_next_dispatched_event() -> None:
    events, decoder = sse([b"retry: 10\ndata: a\n\ndata: b\n\n"])
    assert events == [E(data="a", retry=10), E(data="b")]
    assert decoder.retry == 10


def test_retry_survives_blank_line_without_data() -> None:
    assert sse_events(b"retry: 10\n\ndata: a\n\n") == [E(data="a", retry=10)]


@pytest.mark.parametrize(
    "value",
    [
        b"12a",
        b"-1",
        b"",
        b"1.5",
        b"+1",
        b" 5",
        b"1 ",
        "\u0663".encode(),
        "\u00b2".encode(),
    ],
)
def test_retry_not_all_ascii_digits_ignored(value: bytes) -> None:
    events, decoder = sse([b"retry: 7\n\nretry: " + value + b"\ndata: a\n\n"])
    # The earlier valid value still stands; the bad one changes nothing.
    assert events == [E(data="a", retry=7)]
    assert decoder.retry == 7


def test_retry_bare_field_ignored() -> None:
    events, decoder = sse([b"retry\ndata: a\n\n"])
    assert events == [E(data="a")]
    assert decoder.retry is None


def test_unknown_fields_ignored() -> None:
    stream = b"foo: bar\nData: x\nEVENT: y\nretries: 5\ndata: a\nevent2: z\n\n"
    assert sse_events(stream) == [E(data="a")]


def test_blank_line_with_empty_data_buffer_dispatches_nothing_and_resets_event_type() -> None:
    assert sse_events(b"event: a\n\n\n\ndata: x\n\n") == [E(event="message", data="x")]


def test_only_one_trailing_lf_removed_from_data() -> None:
    assert sse_events(b"data: a\ndata\n\n") == [E(data="a\n")]


# --- end of stream -----------------------------------------------------------------


def test_unterminated_event_at_eof_not_dispatched() -> None:
    events, decoder = sse([b"data: a\n\ndata: b\n"])
    assert events == [E(data="a")]
    assert decoder.ended_mid_event is True


def test_partial_line_at_eof_is_mid_event() -> None:
    events, decoder = sse([b"data: a\n\ndata: b"])
    assert events == [E(data="a")]
    assert decoder.ended_mid_event is True


def test_fields_without_data_at_eof_is_mid_event() -> None:
    events, decoder = sse([b"event: x\n"])
    assert events == []
    assert decoder.ended_mid_event is True


def test_truncated_multibyte_char_at_eof_is_mid_event() -> None:
    events, decoder = sse([b"data: a\n\n", b"\xe2\x82"])
    assert events == [E(data="a")]
    assert decoder.ended_mid_event is True


def test_clean_eof_not_mid_event() -> None:
    events, decoder = sse([b"data: a\n\n"])
    assert events == [E(data="a")]
    assert decoder.ended_mid_event is False


def test_trailing_comment_lines_at_eof_not_mid_event() -> None:
    assert sse([b"data: a\n\n: bye\n"])[1].ended_mid_event is False


def test_empty_stream_not_mid_event() -> None:
    events, decoder = sse([])
    assert events == []
    assert decoder.ended_mid_event is False


def test_close_returns_empty_list() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\ndata: b") == []
    assert decoder.close() == []


# --- UTF-8 -------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u00e9", "\u20ac", "\U0001f600"], ids=["2-byte", "3-byte", "4-byte"])
def test_multibyte_char_split_across_chunks(char: str) -> None:
    raw = f"data: <{char}>\n\n".encode()
    start = raw.index(char.encode())
    for cut in range(start + 1, start + len(char.encode())):
        assert sse_events(raw[:cut], raw[cut:]) == [E(data=f"<{char}>")]


def test_multibyte_char_fed_one_byte_at_a_time() -> None:
    raw = "data: \U0001f600\u20ac\u00e9\n\n".encode()
    assert sse_events(*[raw[i : i + 1] for i in range(len(raw))]) == [E(data="\U0001f600\u20ac\u00e9")]


def test_invalid_utf8_becomes_replacement_char() -> None:
    assert sse_events(b"data: \xff\xfeok\xc3\n\n") == [E(data="\ufffd\ufffdok\ufffd")]


def test_invalid_utf8_split_across_chunks_becomes_replacement_char() -> None:
    assert sse_events(b"data: a\xe2\x82", b"b\n\n") == [E(data="a\ufffdb")]


# --- line cap ----------------------------------------------------------------------


def test_default_max_line_bytes_is_16_mib() -> None:
    assert DEFAULT_MAX_LINE_BYTES == 16 * 1024 * 1024


def test_line_over_cap_in_one_chunk_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(StreamError, match="max_line_bytes=16"):
        decoder.feed(b"data: 0123456789a\n\n")


def test_line_over_cap_in_middle_of_chunk_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(StreamError, match="max_line_bytes=16"):
        decoder.feed(b"data: a\n\n" + b"data: 0123456789a\n\n" + b"data: b\n\n")


def test_line_over_cap_accumulated_across_small_chunks_raises_before_line_ends() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    raw = b"data: " + b"x" * 100  # no line ending ever arrives
    with pytest.raises(StreamError, match="max_line_bytes=16"):
        for i in range(len(raw)):
            decoder.feed(raw[i : i + 1])
    assert i == 16  # the 17th character tripped it


def test_unfinished_line_over_cap_after_complete_lines_raises_at_once() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(StreamError, match="max_line_bytes=16"):
        decoder.feed(b"data: a\n\n" + b"x" * 17)


def test_line_over_cap_completed_by_next_chunk_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    decoder.feed(b"data: 0123456789")
    with pytest.raises(StreamError, match="max_line_bytes=16"):
        decoder.feed(b"a\n\n")


def test_line_at_cap_accepted() -> None:
    events, _ = sse([b"data: 01234", b"56789\n\n", b"data: 0123456789\n\n"], max_line_bytes=16)
    assert events == [E(data="0123456789"), E(data="0123456789")]


def test_cap_counts_decoded_characters() -> None:
    # 10 four-byte characters: 40 bytes but 16 characters, within the cap.
    raw = ("data: " + "\U0001f600" * 10 + "\n\n").encode()
    assert sse([raw], max_line_bytes=16)[0] == [E(data="\U0001f600" * 10)]


def test_max_line_bytes_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        SSEDecoder(max_line_bytes=0)
    with pytest.raises(ConfigError):
        NDJSONDecoder(max_line_bytes=0)


def test_long_line_fed_one_byte_at_a_time_completes() -> None:
    # A quadratic implementation would take minutes here; no timing is asserted.
    payload = b"x" * 200_000
    raw = b"data: " + payload + b"\n\n"
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(len(raw)):
        events.extend(decoder.feed(raw[i : i + 1]))
    assert events == [E(data=payload.decode())]


# --- realistic streams -------------------------------------------------------------

OPENAI_STREAM = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant",'
    b'"content":""},"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Caf\xc3\xa9"},'
    b'"finish_reason":null}]}\n\n'
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,'
    b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def test_openai_stream() -> None:
    for size in (len(OPENAI_STREAM), 7, 1):
        chunks = [OPENAI_STREAM[i : i + size] for i in range(0, len(OPENAI_STREAM), size)]
        events, decoder = sse(chunks)
        assert [e.event for e in events] == ["message"] * 4
        assert [e.data for e in events][-1] == "[DONE]"
        contents = [e.json()["choices"][0]["delta"].get("content") for e in events[:3]]
        assert contents == ["", "Caf\u00e9", None]
        assert events[2].json()["choices"][0]["finish_reason"] == "stop"
        assert decoder.ended_mid_event is False


ANTHROPIC_STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","role":"assistant","content":[]}}\n\n'
    b"event: content_block_start\n"
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b"event: ping\n"
    b'data: {"type": "ping"}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b"event: content_block_stop\n"
    b'data: {"type":"content_block_stop","index":0}\n\n'
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n'
    b"event: message_stop\n"
    b'data: {"type":"message_stop"}\n\n'
)


def test_anthropic_stream_with_event_lines() -> None:
    events, decoder = sse([ANTHROPIC_STREAM[i : i + 5] for i in range(0, len(ANTHROPIC_STREAM), 5)])
    types = [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [e.event for e in events] == types
    assert [e.json()["type"] for e in events] == types
    assert events[3].json()["delta"]["text"] == "Hi"
    assert all(e.id == "" and e.retry is None for e in events)
    assert decoder.ended_mid_event is False


# --- properties --------------------------------------------------------------------


def reference_sse(raw: bytes) -> tuple[list[ServerSentEvent], bool]:
    """A deliberately naive, whole-stream transcription of the WHATWG algorithm."""
    text = raw.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "\r\n":
            lines.append(current)
            current = ""
            if char == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
        else:
            current += char
        i += 1
    events: list[ServerSentEvent] = []
    event_type, data, last_id, retry = "", "", "", None
    in_event = False
    for line in lines:
        if line == "":
            in_event = False
            if data == "":
                event_type = ""
                continue
            data = data.removesuffix("\n")
            events.append(E(event=event_type or "message", data=data, id=last_id, retry=retry))
            event_type, data, retry = "", "", None
            continue
        if line.startswith(":"):
            continue
        in_event = True
        if ":" in line:
            name, value = line[: line.index(":")], line[line.index(":") + 1 :]
            value = value.removeprefix(" ")
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value != "" and all(c in "0123456789" for c in value):
            retry = int(value)
    return events, current != "" or in_event


_ODD_CHARS = [
    "\u00e9",
    "\u20ac",
    "\U0001f600",
    "\u2028",
    "\u2029",
    "\x85",
    "\ufeff",
    "\0",
    ":",
    " ",
]
_value = st.text(
    st.one_of(
        st.sampled_from(_ODD_CHARS),
        st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    ),
    max_size=8,
)
_field_line = st.one_of(
    st.tuples(
        st.sampled_from(["data", "event", "id", "foo", "Data"]),
        st.sampled_from([":", ": ", ":  "]),
        _value,
    ).map("".join),
    st.tuples(
        st.just("retry"),
        st.sampled_from([":", ": "]),
        st.sampled_from(["0", "15", "3000", "1a", "-1", ""]),
    ).map("".join),
    _value.map(lambda v: ":" + v),  # comment
    st.sampled_from(["data", "event", "id", "retry"]),  # field name alone
)
_line_end = st.sampled_from(["\n", "\r", "\r\n"])
_block = st.lists(st.tuples(_field_line, _line_end).map("".join), max_size=4).flatmap(
    lambda lines: _line_end.map(lambda end: "".join(lines) + end)
)
_sse_stream = st.tuples(
    st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]),
    st.lists(_block, max_size=5),
    st.sampled_from(["", "data: tail", "data: tail\n", "\r"]),
).map(lambda parts: (parts[0] + "".join(parts[1]) + parts[2]).encode())


def _partition(raw: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(raw)]
    return [raw[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _check_sse_split_invariance(raw: bytes, cuts: Sequence[int]) -> None:
    whole, whole_decoder = sse([raw])
    assert (whole, whole_decoder.ended_mid_event) == reference_sse(raw)
    for cut in range(len(raw) + 1):
        events, decoder = sse([raw[:cut], raw[cut:]])
        assert events == whole, cut
        assert decoder.ended_mid_event == whole_decoder.ended_mid_event
    events, decoder = sse(_partition(raw, cuts))
    assert events == whole
    assert decoder.ended_mid_event == whole_decoder.ended_mid_event


@settings(max_examples=200, deadline=None)
@given(data=st.data(), raw=_sse_stream)
def test_sse_stream_split_anywhere_decodes_like_whole_and_like_reference(
    data: st.DataObject, raw: bytes
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    _check_sse_split_invariance(raw, cuts)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), raw=st.binary(max_size=80).map(lambda b: b.replace(b"\x00", b"\n")))
def test_arbitrary_bytes_split_anywhere_decode_like_whole_and_like_reference(
    data: st.DataObject, raw: bytes
) -> None:
    # Random bytes exercise invalid UTF-8 and stray CRs at chunk edges.
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    _check_sse_split_invariance(raw, cuts)


# --- NDJSON ------------------------------------------------------------------------


def test_ndjson_basic_lines() -> None:
    assert ndjson(b'{"a": 1}\n[1, 2]\n"s"\n3\nnull\n') == [
        {"a": 1},
        [1, 2],
        "s",
        3,
        None,
    ]


def test_ndjson_crlf_tolerated() -> None:
    assert ndjson(b'{"a": 1}\r\n{"b": 2}\r\n') == [{"a": 1}, {"b": 2}]


def test_ndjson_crlf_split_across_chunks() -> None:
    assert ndjson(b'{"a": 1}\r', b'\n{"b": 2}\r', b"\n") == [{"a": 1}, {"b": 2}]


def test_ndjson_line_split_across_chunks() -> None:
    assert ndjson(b'{"a"', b": ", b'1}\n{"b":', b" 2}\n") == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize("char", ["\u00e9", "\u20ac", "\U0001f600"], ids=["2-byte", "3-byte", "4-byte"])
def test_ndjson_split_multibyte_char(char: str) -> None:
    raw = json.dumps({"t": char}, ensure_ascii=False).encode() + b"\n"
    start = raw.index(char.encode())
    for cut in range(start + 1, start + len(char.encode())):
        assert ndjson(raw[:cut], raw[cut:]) == [{"t": char}]


def test_ndjson_final_line_without_newline_parsed_on_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b": 2}') == [{"a": 1}]
    assert decoder.close() == [{"b": 2}]


def test_ndjson_final_line_with_truncated_multibyte_char_on_close_is_error() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'"\xe2\x82')
    with pytest.raises(StreamError, match="\ufffd"):
        decoder.close()


def test_ndjson_blank_lines_skipped() -> None:
    assert ndjson(b'\n\n{"a": 1}\n  \n\r\n\t\n{"b": 2}\n\n', b"  ") == [
        {"a": 1},
        {"b": 2},
    ]


def test_ndjson_unicode_line_separator_not_split() -> None:
    raw = '{"t": "a\u2028b\x85c"}\n'.encode()
    assert ndjson(raw) == [{"t": "a\u2028b\x85c"}]


def test_ndjson_leading_bom_stripped() -> None:
    assert ndjson(b"\xef\xbb", b'\xbf{"a": 1}\n') == [{"a": 1}]


def test_ndjson_bad_json_raises_stream_error_containing_line() -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(StreamError, match=re.escape('{"a": oops}')) as info:
        decoder.feed(b'{"ok": 1}\r\n{"a": oops}\r\n')
    assert str(info.value) == (
        'invalid JSON line in NDJSON stream (Expecting value: line 1 column 7 (char 6)): {"a": oops} '
        "(after 1 attempt)"
    )


def test_ndjson_bad_json_message_truncates_long_line() -> None:
    line = "x" * 1000
    with pytest.raises(StreamError) as info:
        ndjson(line.encode() + b"\n")
    message = str(info.value)
    assert "x" * 200 in message
    assert "x" * 201 not in message


def test_ndjson_bad_final_line_raises_on_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"[1]\n[2") == [[1]]
    with pytest.raises(StreamError, match=re.escape("[2")):
        decoder.close()


def test_ndjson_line_over_cap_raises() -> None:
    decoder = NDJSONDecoder(max_line_bytes=8)
    with pytest.raises(StreamError, match="max_line_bytes=8"):
        decoder.feed(b'[1]\n"0123456789"\n')


def test_ndjson_line_over_cap_accumulated_across_small_chunks_raises() -> None:
    decoder = NDJSONDecoder(max_line_bytes=8)
    with pytest.raises(StreamError, match="max_line_bytes=8"):
        for byte in b'"' + b"x" * 100:
            decoder.feed(bytes([byte]))


def test_ndjson_line_at_cap_accepted() -> None:
    assert ndjson(b'"012', b'345"\n"012345"', max_line_bytes=8) == ["012345", "012345"]


def test_ndjson_long_line_fed_one_byte_at_a_time_completes() -> None:
    raw = b'"' + b"x" * 200_000 + b'"\n'
    decoder = NDJSONDecoder()
    values: list[Any] = []
    for i in range(len(raw)):
        values.extend(decoder.feed(raw[i : i + 1]))
    assert values == ["x" * 200_000]


_json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(
        st.one_of(
            st.sampled_from(_ODD_CHARS + ["\n", "\r"]),
            st.characters(blacklist_categories=["Cs"]),
        )
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    values=st.lists(
        st.tuples(_json_value, st.sampled_from(["\n", "\r\n", "\n\n", "\n \n"])),
        max_size=5,
    ),
    final_newline=st.booleans(),
)
def test_ndjson_split_anywhere_decodes_like_whole(
    data: st.DataObject, values: list[tuple[Any, str]], final_newline: bool
) -> None:
    raw = "".join(json.dumps(v, ensure_ascii=False) + end for v, end in values).encode()
    if values and not final_newline:
        raw = raw.rstrip(b"\r\n ")
    expected = [v for v, _ in values]
    assert ndjson(raw) == expected
    for cut in range(len(raw) + 1):
        assert ndjson(raw[:cut], raw[cut:]) == expected, cut
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert ndjson(*_partition(raw, cuts)) == expected
