"""Tests for relay_lite._partial_json: the incremental partial-JSON parser."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay_lite._partial_json import PartialJSONError, PartialJSONParser

SAMPLE = '{"title":"Hi","author":{"name":"Ann","age":30},"tags":["a","b"]}'

# ---------------------------------------------------------------- reference model

_MISSING = object()
_ESCAPE_TOKEN = re.compile(r"\\u[0-9a-fA-F]{4}|\\[^u]|[^\\]")
_HIGH_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")


def reference_partial(prefix: str) -> Any:
    """The documented partial value of a prefix, by plain recursive descent.

    Written independently of the parser: it re-reads the whole prefix, and leans on
    json.loads for strings and numbers.
    """
    pos = 0
    end = len(prefix)

    def skip() -> None:
        nonlocal pos
        while pos < end and prefix[pos] in " \t\r\n":
            pos += 1

    def string() -> tuple[Any, bool]:
        nonlocal pos
        pos += 1  # opening quote
        body: list[str] = []
        while pos < end:
            token = _ESCAPE_TOKEN.match(prefix, pos)
            if token is None:  # an escape cut short by the end of the prefix
                break
            if token.group() == '"':
                pos = token.end()
                return json.loads('"' + "".join(body) + '"'), True
            body.append(token.group())
            pos = token.end()
        if body and _HIGH_SURROGATE_ESCAPE.match(body[-1]):  # its low half may still come
            body.pop()
        pos = end
        return json.loads('"' + "".join(body) + '"'), False

    def value() -> tuple[Any, bool]:
        nonlocal pos
        skip()
        if pos == end:
            return _MISSING, False
        char = prefix[pos]
        if char == '"':
            return string()
        if char == "{":
            pos += 1
            obj: dict[str, Any] = {}
            skip()
            if pos < end and prefix[pos] == "}":
                pos += 1
                return obj, True
            while True:
                skip()
                if pos == end:
                    return obj, False
                key, key_done = string()
                skip()
                if not key_done or pos == end:
                    return obj, False
                pos += 1  # colon
                item, item_done = value()
                if item is not _MISSING:
                    obj[key] = item
                skip()
                if not item_done or pos == end:
                    return obj, False
                pos += 1
                if prefix[pos - 1] == "}":
                    return obj, True
        if char == "[":
            pos += 1
            arr: list[Any] = []
            skip()
            if pos < end and prefix[pos] == "]":
                pos += 1
                return arr, True
            while True:
                item, item_done = value()
                if item is not _MISSING:
                    arr.append(item)
                skip()
                if not item_done or pos == end:
                    return arr, False
                pos += 1
                if prefix[pos - 1] == "]":
                    return arr, True
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if prefix.startswith(word, pos):
                pos += len(word)
                return literal, True
            if word.startswith(prefix[pos:]):
                pos = end
                return _MISSING, False
        number = re.compile(r"[-+0-9.eE]*").match(prefix, pos)
        assert number is not None
        pos = number.end()
        try:
            parsed = json.loads(number.group())
        except ValueError:
            parsed = _MISSING
        return parsed, pos < end

    result, _ = value()
    return None if result is _MISSING else result


def canonical(value: Any) -> str:
    """Type- and order-exact rendering (1 vs 1.0 vs true, key order)."""
    return json.dumps(value)


def feed_chars(doc: str) -> list[tuple[str, Any, list[str], bool]]:
    parser = PartialJSONParser()
    seen = []
    for char in doc:
        parser.feed(char)
        seen.append((char, json.loads(canonical(parser.value)), list(parser.complete_fields), parser.done))
    return seen


DOCUMENTS = [
    SAMPLE,
    '{"a": [1, -2.5e+3, 0, true, false, null, "x\\"y\\\\z\\/\\n"], "b": {}, "c": []}',
    '[{"k": "\\ud83d\\ude00 and \\u00e9"}, [[]], -0.0, 1E5, "\\ud83d"]',
    ' \n {"nested": {"deeper": {"deepest": [10, 20, {"x": "y"}]}}} ',
    '"just a string with \\t tab"',
    "12345",
    "true",
    '{"emoji": "😀", "odd key.with dot": 1}',
]

# ------------------------------------------------------------------------ prefixes


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_value_after_each_character_matches_reference(doc: str) -> None:
    parser = PartialJSONParser()
    for index, char in enumerate(doc):
        parser.feed(char)
        assert canonical(parser.value) == canonical(reference_partial(doc[: index + 1])), doc[: index + 1]


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_value_after_each_cut_matches_reference_when_fed_in_two_pieces(doc: str) -> None:
    for cut in range(len(doc) + 1):
        parser = PartialJSONParser()
        parser.feed(doc[:cut])
        assert canonical(parser.value) == canonical(reference_partial(doc[:cut]))
        parser.feed(doc[cut:])
        assert parser.finish() == json.loads(doc)


def test_reference_model_itself_follows_the_rules() -> None:
    assert reference_partial('{"a": "He') == {"a": "He"}
    assert reference_partial('{"a": 12') == {"a": 12}
    assert reference_partial('{"a": -') == {}
    assert reference_partial('{"a": 1e') == {}
    assert reference_partial('{"a": tru') == {}
    assert reference_partial('{"a"') == {}
    assert reference_partial('["x\\u00') == ["x"]


def test_complete_fields_and_value_at_every_step_of_nested_sample() -> None:
    steps = feed_chars(SAMPLE)
    changes = []
    previous: list[str] = []
    for char, value, fields, done in steps:
        if fields != previous:
            changes.append((char, fields[len(previous) :], value, done))
            previous = fields
    assert changes == [
        ('"', ["title"], {"title": "Hi"}, False),
        ('"', ["author.name"], {"title": "Hi", "author": {"name": "Ann"}}, False),
        ("}", ["author.age", "author"], {"title": "Hi", "author": {"name": "Ann", "age": 30}}, False),
        ('"', ["tags.0"], {"title": "Hi", "author": {"name": "Ann", "age": 30}, "tags": ["a"]}, False),
        ('"', ["tags.1"], {"title": "Hi", "author": {"name": "Ann", "age": 30}, "tags": ["a", "b"]}, False),
        ("]", ["tags"], {"title": "Hi", "author": {"name": "Ann", "age": 30}, "tags": ["a", "b"]}, False),
    ]
    assert steps[-1][2:] == (
        ["title", "author.name", "author.age", "author", "tags.0", "tags.1", "tags"],
        True,
    )
    assert [done for _, _, _, done in steps].index(True) == len(SAMPLE) - 1


def test_value_shows_string_in_progress_and_hides_unstarted_value() -> None:
    parser = PartialJSONParser()
    parser.feed('{"title": "Hel')
    assert parser.value == {"title": "Hel"}
    parser.feed('lo", "body"')
    assert parser.value == {"title": "Hello"}
    parser.feed(": ")
    assert parser.value == {"title": "Hello"}
    parser.feed('"')
    assert parser.value == {"title": "Hello", "body": ""}


def test_number_in_progress_is_shown_only_when_it_parses() -> None:
    parser = PartialJSONParser()
    shown = []
    for char in "[-12.5e3":
        parser.feed(char)
        shown.append(canonical(parser.value))
    assert shown == ["[]", "[]", "[-1]", "[-12]", "[]", "[-12.5]", "[]", "[-12500.0]"]
    assert parser.complete_fields == []


def test_number_completes_only_at_following_delimiter() -> None:
    parser = PartialJSONParser()
    parser.feed('{"n": 42')
    assert parser.value == {"n": 42}
    assert parser.complete_fields == []
    parser.feed("}")
    assert parser.complete_fields == ["n"]
    assert parser.done is True


def test_root_number_completes_at_finish() -> None:
    parser = PartialJSONParser()
    parser.feed("42")
    assert parser.value == 42
    assert parser.done is False
    assert parser.finish() == 42
    assert parser.done is True


def test_literal_in_progress_is_omitted_and_completes_at_last_letter() -> None:
    parser = PartialJSONParser()
    parser.feed("[tru")
    assert parser.value == []
    parser.feed("e")
    assert parser.value == [True]
    assert parser.complete_fields == ["0"]


def test_value_is_none_before_anything_arrives() -> None:
    parser = PartialJSONParser()
    assert parser.value is None
    parser.feed("  ")
    assert parser.value is None
    assert parser.done is False


# ------------------------------------------------------------------------- escapes


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (['"a\\', 'nb"'], "a\nb"),
        (['"\\', '"', '"'], '"'),
        (['"\\u00', 'e9"'], "é"),
        (['"\\u', "0", "0", "e", '9"'], "é"),
        (['"\\ud83d', '\\ude00"'], "😀"),
        (['"\\ud83d\\', 'ude00"'], "😀"),
        (['"\\ud83d\\ud', 'e00"'], "😀"),
        (['"x\\ud83d', 'y"'], "x\ud83dy"),
        (['"\\ud83d', '"'], "\ud83d"),
        (['"\\/\\b\\f', '\\r\\t\\\\"'], "/\b\f\r\t\\"),
    ],
)
def test_escapes_split_across_feeds(pieces: list[str], expected: str) -> None:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
    assert parser.finish() == expected
    assert expected == json.loads("".join(pieces))


def test_surrogate_pair_is_not_shown_half_decoded() -> None:
    parser = PartialJSONParser()
    parser.feed('["ok \\ud83d')
    assert parser.value == ["ok "]
    parser.feed("\\ude00")
    assert parser.value == ["ok 😀"]


# --------------------------------------------------------------------------- fences


def test_markdown_fence_around_the_document_is_skipped() -> None:
    parser = PartialJSONParser()
    for piece in ["  ``", "`js", 'on\n{"a": ', "1}\n`", "``\n"]:
        parser.feed(piece)
    assert parser.finish() == {"a": 1}


def test_bare_fence_and_text_after_closing_fence_are_ignored() -> None:
    parser = PartialJSONParser()
    parser.feed("```\n[1, 2]\n``` thanks!")
    assert parser.finish() == [1, 2]
    assert parser.complete_fields == ["0", "1"]


def test_root_number_before_closing_fence() -> None:
    parser = PartialJSONParser()
    parser.feed("```json\n7```")
    assert parser.finish() == 7


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("doc", "message", "position"),
    [
        ('{"a" 1}', "expected ':' after an object key, got '1' at position 5", 5),
        ("[1 2]", "expected ',' or ']', got '2' at position 3", 3),
        ('{"a": 1 "b"}', "expected ',' or '}', got '\"' at position 8", 8),
        ("{1: 2}", "expected a string key or '}', got '1' at position 1", 1),
        ('{"a": 1,}', "expected a string key, got '}' at position 8", 8),
        ("[1,]", "expected a JSON value, got ']' at position 3", 3),
        ("[01]", "invalid number '01' at position 2", 2),
        ("[1.e5]", "invalid number '1.e' at position 3", 3),
        ("[-]", "invalid number '-' at position 2", 2),
        ("[trux]", "invalid literal 'trux' at position 4", 4),
        ('"a\\x"', "invalid escape '\\\\x' in string at position 3", 3),
        ('"\\u12G4"', "invalid \\u escape: 'G' is not a hex digit at position 5", 5),
        ('"a\nb"', "unescaped control character '\\n' in string at position 2", 2),
        ("{} x", "unexpected data after the JSON value: 'x' at position 3", 3),
        ("'a'", 'expected a JSON value, got "\'" at position 0', 0),
    ],
)
def test_invalid_json_raises_with_position(doc: str, message: str, position: int) -> None:
    parser = PartialJSONParser()
    with pytest.raises(PartialJSONError) as caught:
        for char in doc:
            parser.feed(char)
    assert str(caught.value) == message
    assert caught.value.position == position
    with pytest.raises(json.JSONDecodeError):
        json.loads(doc)


def test_error_position_counts_characters_of_earlier_feeds() -> None:
    parser = PartialJSONParser()
    parser.feed('{"abc": ')
    with pytest.raises(PartialJSONError) as caught:
        parser.feed("  x")
    assert caught.value.position == 10


def test_parser_stays_failed_after_an_error() -> None:
    parser = PartialJSONParser()
    with pytest.raises(PartialJSONError):
        parser.feed("[1 2")
    with pytest.raises(PartialJSONError, match="expected ',' or ']'"):
        parser.feed("]")
    with pytest.raises(PartialJSONError, match="expected ',' or ']'"):
        parser.finish()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("", "empty JSON document at position 0"),
        ("   ", "empty JSON document at position 3"),
        ('{"a": [1, 2', "incomplete JSON document at position 11"),
        ('"abc', "incomplete JSON document at position 4"),
        ("[1.", "incomplete JSON document at position 3"),
        ("```json\n", "incomplete JSON document at position 8"),
    ],
)
def test_finish_on_incomplete_document_raises_value_error(doc: str, message: str) -> None:
    parser = PartialJSONParser()
    parser.feed(doc)
    with pytest.raises(ValueError) as caught:
        parser.finish()
    assert str(caught.value) == message


def test_finish_on_root_number_with_bad_ending_raises() -> None:
    parser = PartialJSONParser()
    parser.feed("1e")
    with pytest.raises(PartialJSONError, match=r"^invalid number '1e' at position 2$"):
        parser.finish()


# ------------------------------------------------------------------------- property


def json_values() -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**30), max_value=10**30)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text()
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
        ),
        max_leaves=25,
    )


def postorder_paths(value: Any, path: str = "") -> list[str]:
    """Completion order the parser promises: children before parents, in document order."""
    out: list[str] = []
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in items:
        child_path = f"{path}.{key}" if path else str(key)
        out.extend(postorder_paths(child, child_path))
        out.append(child_path)
    return out


@settings(max_examples=300, deadline=None)
@given(
    value=json_values(),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_any_document_in_random_pieces_parses_like_json_loads(
    value: Any, ascii_only: bool, indent: int | None, cuts: list[int]
) -> None:
    doc = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    points = sorted({c % (len(doc) + 1) for c in cuts} | {0, len(doc)})
    parser = PartialJSONParser()
    for start, stop in zip(points, points[1:]):
        parser.feed(doc[start:stop])
        assert canonical(parser.value) == canonical(reference_partial(doc[:stop]))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        assert parser.done is True
    assert canonical(parser.finish()) == canonical(json.loads(doc))
    assert parser.done is True
    assert parser.complete_fields == postorder_paths(json.loads(doc))


def test_feeding_many_small_pieces_keeps_value_and_fields_consistent() -> None:
    records = [{"id": i, "name": f"n{i}", "tags": ["x", "y"]} for i in range(50)]
    doc = json.dumps({"records": records})
    parser = PartialJSONParser()
    for start in range(0, len(doc), 8):
        parser.feed(doc[start : start + 8])
        value = parser.value
        assert canonical(value) == canonical(reference_partial(doc[: start + 8]))
    assert parser.finish() == {"records": records}
    assert parser.complete_fields[:4] == [
        "records.0.id",
        "records.0.name",
        "records.0.tags.0",
        "records.0.tags.1",
    ]
