"""Finding the JSON in a prose-wrapped reply: ``_json_extract`` (sans-I/O) and, over real
sockets, that such a reply is accepted without a re-ask.

Reply texts are written by hand in the shapes models send through chat APIs when asked for
JSON without a schema feature (``mode="json"``, local servers, JSON mode): prose before or
after, Markdown fences with or without a language tag, ``<think>`` blocks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import pytest

import relay_lite
from relay_lite import RetryPolicy, StructuredOutputError
from relay_lite._fake_chat import RENDERERS
from relay_lite._json_extract import (
    MAX_CANDIDATES,
    MAX_FAILED_STARTS,
    fenced_blocks,
    json_candidates,
    json_error,
)
from relay_lite._structured import StructuredUpdate
from relay_lite.testing import ChatScript, FakeServer

JOHN = {"name": "John", "age": 30}


def candidates(text: str) -> list[object]:
    return list(json_candidates(text))


# -- the whole reply: the fast path ------------------------------------------------------------


def test_plain_json_reply_is_the_only_candidate() -> None:
    assert candidates('{"name": "John", "age": 30}') == [JOHN]


def test_plain_json_with_surrounding_whitespace_and_crlf() -> None:
    assert candidates('\r\n  {"name": "John",\r\n "age": 30}\r\n\r\n') == [JOHN]


def test_whole_reply_scalar_is_a_candidate() -> None:
    # A bare number for a wrapped int type: only the whole reply (or a fence) offers scalars.
    assert candidates(" 42\n") == [42]
    assert candidates('"hello"') == ["hello"]


def test_whole_reply_that_parses_hides_nested_values() -> None:
    # The fast path wins: nothing inside a reply that is plain JSON is offered on its own.
    assert candidates('{"person": {"name": "John", "age": 30}}') == [{"person": JOHN}]


# -- fences --------------------------------------------------------------------------------


def test_ollama_style_prose_then_json_fence_then_prose() -> None:
    # Typical of llama3 / qwen models behind Ollama or llama.cpp asked for JSON without a
    # format: a lead-in line, a ```json fence with pretty-printed JSON, a closing remark.
    text = (
        "Here is the extracted information in JSON format:\n"
        "\n"
        "```json\n"
        "{\n"
        '  "name": "John",\n'
        '  "age": 30\n'
        "}\n"
        "```\n"
        "\n"
        "Let me know if you need anything else!"
    )
    assert candidates(text) == [JOHN]


def test_fence_with_uppercase_language_tag_and_no_final_newline() -> None:
    assert candidates('Result:\n```JSON\n{"name": "John", "age": 30}\n```') == [JOHN]


def test_bare_fence_without_language_tag() -> None:
    assert candidates('Sure.\n```\n{"name": "John", "age": 30}\n```\n') == [JOHN]


def test_tilde_fence() -> None:
    assert candidates('Here:\n~~~json\n{"name": "John", "age": 30}\n~~~\nDone.') == [JOHN]


def test_fence_with_crlf_line_ends() -> None:
    text = 'Here you go:\r\n```json\r\n{"name": "John", "age": 30}\r\n```\r\nBye'
    assert candidates(text) == [JOHN]
    assert list(fenced_blocks(text)) == ['{"name": "John", "age": 30}']


def test_fence_indented_up_to_three_spaces_and_info_string_padding() -> None:
    # Inside a Markdown list item the fence is indented.
    text = '1. The record:\n   ```json  \n   {"name": "John", "age": 30}\n   ```\n2. Done'
    assert list(fenced_blocks(text)) == ['{"name": "John", "age": 30}']
    assert candidates(text) == [JOHN]


def test_four_backtick_fence_holds_a_three_backtick_line() -> None:
    text = '````\n{"note": "a\\n```\\nb"}\n```\nstill inside\n````\n'
    assert list(fenced_blocks(text)) == ['{"note": "a\\n```\\nb"}\n```\nstill inside']


def test_fence_closing_run_may_be_longer() -> None:
    assert list(fenced_blocks("```\n[1, 2]\n`````\n")) == ["[1, 2]"]


def test_unclosed_fence_runs_to_the_end() -> None:
    # A reply cut off before the closing fence, or a stream read before it ended.
    assert list(fenced_blocks('```json\n{"name": "John", "age": 30}\n')) == ['{"name": "John", "age": 30}']
    assert candidates('```json\n{"name": "John", "age": 30}\n') == [JOHN]


def test_closing_fence_glued_to_the_last_line() -> None:
    assert list(fenced_blocks('```json\n{"name": "John", "age": 30}```')) == ['{"name": "John", "age": 30}']
    assert candidates('Here:\n```json\n{"name": "John", "age": 30}```') == [JOHN]


def test_backticks_inside_a_fenced_json_string_are_kept() -> None:
    assert candidates('```json\n{"code": "```x```"}\n```') == [{"code": "```x```"}]


def test_backtick_line_with_backticks_in_its_info_string_is_not_a_fence() -> None:
    assert list(fenced_blocks("``` a ` b\n{}\n")) == []


def test_two_fences_are_offered_in_order() -> None:
    # Mistral-style answer: an example of the format first, then the filled-in record.
    text = (
        "The format is:\n"
        "```json\n"
        '{"name": "string", "age": "integer"}\n'
        "```\n"
        "Filled in:\n"
        "```json\n"
        '{"name": "John", "age": 30}\n'
        "```\n"
    )
    assert candidates(text) == [{"name": "string", "age": "integer"}, JOHN]


def test_a_fence_that_is_not_json_is_skipped() -> None:
    text = '```python\nprint("hi")\n```\nand the data:\n```json\n{"name": "John", "age": 30}\n```'
    assert candidates(text) == [JOHN]


def test_fence_body_with_a_comment_falls_back_to_the_scan() -> None:
    text = '```json\n{"name": "John", "age": 30} // from the second paragraph\n```'
    assert candidates(text) == [JOHN]


# -- JSON in prose -------------------------------------------------------------------------


def test_json_after_a_sentence_without_a_fence() -> None:
    assert candidates('Sure! {"name": "John", "age": 30}') == [JOHN]


def test_json_between_sentences() -> None:
    assert candidates('Sure! {"name": "John", "age": 30} Hope that helps.') == [JOHN]


def test_braces_in_prose_that_do_not_start_json_are_skipped() -> None:
    text = 'Template {name} is {age} years old [see below]: {"name": "John", "age": 30}'
    assert candidates(text) == [JOHN]


def test_prose_brace_pair_that_almost_looks_like_json_is_skipped() -> None:
    assert candidates('Use {"name": string}. Here: {"name": "John", "age": 30}') == [JOHN]


def test_closing_brace_inside_a_string_does_not_end_the_object() -> None:
    text = 'Result: {"name": "J}o{hn", "age": 30}.'
    assert candidates(text) == [{"name": "J}o{hn", "age": 30}]


def test_escaped_quotes_and_backslashes_in_strings() -> None:
    text = r'Here: {"name": "John \"JJ\" Doe", "path": "C:\\temp\\", "age": 30} ok'
    assert candidates(text) == [{"name": 'John "JJ" Doe', "path": "C:\\temp\\", "age": 30}]


def test_unbalanced_quote_in_prose_before_the_json() -> None:
    assert candidates('He said "hi. {"name": "John", "age": 30}') == [JOHN]


def test_json_string_holding_json_text_is_one_value() -> None:
    text = 'Out: {"note": "{\\"a\\": 1}", "n": [1, {"b": 2}]} end'
    assert candidates(text) == [{"note": '{"a": 1}', "n": [1, {"b": 2}]}]


def test_only_top_level_values_are_offered() -> None:
    text = 'First {"a": {"b": 1}} then [{"c": 2}, 3] and {"d": 4}.'
    assert candidates(text) == [{"a": {"b": 1}}, [{"c": 2}, 3], {"d": 4}]


def test_array_in_prose() -> None:
    assert candidates("The values are [1, 2, 3].") == [[1, 2, 3]]
    assert candidates("Empty: [] and {}") == [[], {}]


def test_unicode_text_and_escapes() -> None:
    text = 'Voilà : {"name": "Zoë 😀", "city": "\\u00c5rhus", "age": 30} — fin'
    assert candidates(text) == [{"name": "Zoë 😀", "city": "Århus", "age": 30}]


def test_think_block_before_the_answer() -> None:
    # DeepSeek-R1 style reasoning models put <think>...</think> into the content field
    # (e.g. through Ollama's OpenAI-compatible endpoint), often mentioning braces.
    text = (
        "<think>\n"
        "The user wants {name, age}. I'll output a JSON object like {name: ...}.\n"
        "</think>\n"
        "\n"
        '{"name": "John", "age": 30}'
    )
    assert candidates(text) == [JOHN]


def test_fence_body_is_offered_once_not_again_by_the_scan() -> None:
    text = 'A:\n```json\n{"name": "John", "age": 30}\n```\nB: {"x": 1}'
    assert candidates(text) == [JOHN, {"x": 1}]


def test_nan_and_infinity_are_not_json_and_are_skipped() -> None:
    assert candidates('Bad {"x": NaN} good {"x": 1}') == [{"x": 1}]
    assert candidates('{"x": Infinity}') == []
    assert json_error('{"x": Infinity}') == "reply is not valid JSON: Infinity is not a JSON value"


def test_truncated_json_in_prose_gives_no_inner_values() -> None:
    # The outer object and the list never close: {"name": "A"} is complete but not top
    # level, and taking it for the answer would hand back the wrong value.
    assert candidates('Here: {"people": [{"name": "A"}, {"name": "B"') == []


# -- nothing to find, and the error message ------------------------------------------------


def test_no_json_at_all() -> None:
    text = "I'm sorry, I can't determine the age from that text."
    assert candidates(text) == []
    assert json_error(text) == "reply is not valid JSON: Expecting value at line 1 column 1"


def test_empty_reply() -> None:
    assert candidates("") == []
    assert json_error("") == "reply is not valid JSON: Expecting value at line 1 column 1"


def test_error_names_the_first_fence_body() -> None:
    text = 'Here:\n```json\n{"name": }\n```'
    assert candidates(text) == []
    assert json_error(text) == "reply is not valid JSON: Expecting value at line 1 column 10"


def test_json_error_is_none_for_json() -> None:
    assert json_error('{"a": 1}') is None


# -- bounds --------------------------------------------------------------------------------


def test_at_most_max_candidates_values() -> None:
    text = " ".join(f"[{i}]" for i in range(MAX_CANDIDATES + 5))
    assert candidates(text) == [[i] for i in range(MAX_CANDIDATES)]


def test_scan_stops_after_max_failed_starts() -> None:
    piece = '{"a" } '  # passes the cheap test, fails to parse, closes its bracket
    broken = piece * MAX_FAILED_STARTS
    assert candidates(broken + '{"b": 1}') == []
    assert candidates(broken[len(piece) :] + '{"b": 1}') == [{"b": 1}]


def test_duplicates_do_not_use_up_the_candidate_limit() -> None:
    text = "[1] " * 100 + '{"name": "John", "age": 30}'
    assert candidates(text) == [[1], JOHN]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1_000_000,
        '{"a":' * 200_000,
        "{" * 1_000_000,
        '"{' * 500_000,
        '{"' * 500_000,
        "{ " * 500_000,
        "[1," * 300_000,
        "x" * 1_000_000,
    ],
    ids=[
        "brackets",
        "nested-keys",
        "braces",
        "quote-brace",
        "brace-quote",
        "brace-space",
        "open-lists",
        "prose",
    ],
)
def test_adversarial_megabyte_is_scanned_in_linear_time_without_recursion_error(text: str) -> None:
    # Trying every start naively is quadratic (minutes here); the bounded scan takes
    # milliseconds. The limit is generous so a slow machine does not fail it.
    began = time.perf_counter()
    assert candidates(text) == []
    assert json_error(text) is not None
    assert time.perf_counter() - began < 3.0


def test_deep_nesting_is_reported_not_raised() -> None:
    assert json_error("[" * 100_000 + "]" * 100_000) == "reply is not valid JSON: nested too deeply"


# -- over real sockets ---------------------------------------------------------------------


@dataclass
class Person:
    name: str
    age: int


OLLAMA_REPLY = (
    "Here is the extracted information in JSON format:\n\n"
    '```json\n{\n  "name": "John Doe",\n  "age": 30\n}\n```\n\n'
    "Let me know if you need anything else!"
)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer.openai() as fake:
        yield fake


@pytest.fixture
def client(server: FakeServer) -> Iterator[relay_lite.Client]:
    with relay_lite.Client.compatible(server.url, model="llama3.1", retry=RetryPolicy(backoff=0.01)) as c:
        yield c


@pytest.mark.parametrize(
    "text",
    [
        OLLAMA_REPLY,
        'Sure! {"name": "John Doe", "age": 30}',
        'Sure! {"name": "John Doe", "age": 30}\nHope that helps.',
        'Here you go:\r\n~~~\r\n{"name": "John Doe", "age": 30}\r\n~~~\r\n',
        '<think>\nThey want {name, age}.\n</think>\n{"name": "John Doe", "age": 30}',
    ],
    ids=["ollama-fence", "after-sentence", "between-sentences", "tilde-crlf", "think-block"],
)
@pytest.mark.parametrize("mode", ["json", "json_schema"])
def test_prose_wrapped_reply_is_accepted_without_a_re_ask(
    server: FakeServer, client: relay_lite.Client, text: str, mode: str
) -> None:
    server.add(ChatScript(text=text), ChatScript(text='{"name": "Wrong", "age": 1}'))
    result = client.chat().user("John Doe is 30").structured(Person, mode=mode).send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1
    assert result.raw_attempts == (text,)
    assert result.response.text == text
    assert len(server.requests) == 1


def test_first_fence_that_validates_wins(server: FakeServer, client: relay_lite.Client) -> None:
    text = (
        'The format is:\n```json\n{"name": "string", "age": "integer"}\n```\n'
        'Filled in:\n```json\n{"name": "John Doe", "age": 30}\n```\n'
        'Another:\n```json\n{"name": "Ann", "age": 41}\n```\n'
    )
    server.add(ChatScript(text=text))
    result = client.chat().user("x").structured(Person, mode="json").send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1
    assert len(server.requests) == 1


def test_re_ask_reports_the_first_object_not_a_citation_array(
    server: FakeServer, client: relay_lite.Client
) -> None:
    bad = 'As the text says [1]: {"name": "John Doe", "age": "30"}'
    server.add(ChatScript(text=bad), ChatScript(text='{"name": "John Doe", "age": 30}'))
    result = client.chat().user("x").structured(Person, mode="json").send()
    assert result.attempts == 2
    assert result.raw_attempts == (bad, '{"name": "John Doe", "age": 30}')
    assert server.requests[1].json()["messages"][-2:] == [
        {"role": "assistant", "content": bad},
        {
            "role": "user",
            "content": "Your reply did not match the required schema:\n"
            '- $.age: expected integer, got string "30"\n'
            "Reply again with only the corrected JSON.",
        },
    ]


def test_reply_without_any_json_is_re_asked_and_kept_raw(
    server: FakeServer, client: relay_lite.Client
) -> None:
    first = "I'm sorry, I can't tell {his age} from that."
    second = "Still no idea."
    server.add(ChatScript(text=first), ChatScript(text=second))
    with pytest.raises(StructuredOutputError) as caught:
        client.chat().user("x").structured(Person, mode="json", max_retries=1).send()
    assert type(caught.value) is StructuredOutputError
    assert caught.value.raw_attempts == [first, second]
    assert caught.value.attempt_errors == [
        ["$: reply is not valid JSON: Expecting value at line 1 column 1"],
        ["$: reply is not valid JSON: Expecting value at line 1 column 1"],
    ]
    assert caught.value.attempts == 2
    assert len(server.requests) == 2


def test_bare_array_for_a_wrapped_list_type_is_accepted(
    server: FakeServer, client: relay_lite.Client
) -> None:
    text = 'Here are the people:\n```json\n[{"name": "A", "age": 1}, {"name": "B", "age": 2}]\n```'
    server.add(ChatScript(text=text))
    result = client.chat().user("x").structured(list[Person], mode="json").send()
    assert result.value == [Person("A", 1), Person("B", 2)]
    assert result.attempts == 1
    assert len(server.requests) == 1


def test_wrapped_list_type_still_accepts_the_wrapper(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text='Sure: {"value": [{"name": "A", "age": 1}]}'))
    result = client.chat().user("x").structured(list[Person], mode="json").send()
    assert result.value == [Person("A", 1)]


def test_bare_array_that_fails_is_reported_as_the_missing_wrapper(
    server: FakeServer, client: relay_lite.Client
) -> None:
    server.add(ChatScript(text='[{"name": "A", "age": "1"}]'))
    with pytest.raises(StructuredOutputError) as caught:
        client.chat().user("x").structured(list[Person], mode="json", max_retries=0).send()
    assert caught.value.attempt_errors == [['$: missing required field "value"']]


def test_bare_number_for_a_wrapped_int(server: FakeServer, client: relay_lite.Client) -> None:
    server.add(ChatScript(text="```\n42\n```"))
    assert client.chat().user("x").structured(int, mode="json").send().value == 42


@pytest.mark.parametrize(
    ("chunk_size", "split_bytes"),
    [(10_000, None), (1, None), (7, 1)],
    ids=["whole", "char-deltas", "byte-chunks"],
)
def test_prose_wrapped_stream_updates_start_at_the_json_and_end_validated(
    server: FakeServer, client: relay_lite.Client, chunk_size: int, split_bytes: Optional[int]
) -> None:
    server.add(ChatScript(text=OLLAMA_REPLY, chunk_size=chunk_size, split_bytes=split_bytes))
    snapshots: list[str] = []
    with client.chat().user("x").structured(Person, mode="json").stream() as stream:
        for update in stream:
            snapshots.append(json.dumps(update.partial))  # partial is live: snapshot it now
            last = update
    assert last == StructuredUpdate(
        {"name": "John Doe", "age": 30}, ("name", "age"), True, Person("John Doe", 30)
    )
    # One update per delta from the one holding the fence's first backtick on; the prose
    # before it feeds nothing, and after the closing fence the parser ignores the rest.
    pieces = [OLLAMA_REPLY[i : i + chunk_size] for i in range(0, len(OLLAMA_REPLY), chunk_size)]
    first = next(i for i, piece in enumerate(pieces) if "`" in piece)
    assert len(snapshots) == len(pieces) - first + 1
    if chunk_size == 1:
        assert snapshots[:9] == ["null"] * 8 + ["{}"]  # "```json\n" then "{"
        assert '{"name": "John Doe"}' in snapshots
    assert stream.result is not None
    assert stream.result.value == Person("John Doe", 30)
    assert stream.result.raw_attempts == (OLLAMA_REPLY,)
    assert len(server.requests) == 1


def test_sentence_then_json_stream_yields_growing_partials(
    server: FakeServer, client: relay_lite.Client
) -> None:
    text = 'Sure! {"name": "John Doe", "age": 30} Hope that helps.'
    server.add(ChatScript(text=text, chunk_size=6))
    partials = [
        json.dumps(u.partial) for u in client.chat().user("x").structured(Person, mode="json").stream()
    ]
    # deltas: 'Sure! ' (prose: no update) '{"name' '": "Jo' 'hn Doe' '", "ag' 'e": 30'
    # '} Hope' (prose after the value: the parser stops, no update) ...; then the last update
    assert partials == [
        "{}",
        '{"name": "Jo"}',
        '{"name": "John Doe"}',
        '{"name": "John Doe"}',
        '{"name": "John Doe", "age": 30}',
        '{"name": "John Doe", "age": 30}',
    ]


@pytest.fixture
def anthropic_server() -> Iterator[FakeServer]:
    if "anthropic" not in RENDERERS:
        pytest.skip("FakeServer does not speak the Anthropic protocol yet")
    with FakeServer.anthropic() as fake:
        yield fake


def test_anthropic_json_mode_prose_reply_is_accepted(anthropic_server: FakeServer) -> None:
    # Claude without a forced tool tends to introduce its answer with a sentence.
    text = 'Here is the JSON:\n\n{"name": "John Doe", "age": 30}'
    anthropic_server.add(ChatScript(text=text))
    with relay_lite.Client.anthropic(
        api_key="test-key", base_url=anthropic_server.url, model="claude-test"
    ) as c:
        result = c.chat().user("x").structured(Person, mode="json").send()
    assert result.value == Person("John Doe", 30)
    assert result.attempts == 1
    assert len(anthropic_server.requests) == 1


def test_bare_array_streams_as_the_value_itself(server: FakeServer, client: relay_lite.Client) -> None:
    # A wrapped type answered bare: the root is the value, so its paths need no "value." prefix.
    text = '[{"name": "A", "age": 1}, {"name": "B", "age": 2}]'
    server.add(ChatScript(text=text, chunk_size=9))
    snapshots: list[tuple[str, tuple[str, ...]]] = []
    with client.chat().user("x").structured(list[Person], mode="json").stream() as stream:
        for update in stream:
            snapshots.append((json.dumps(update.partial), update.complete_fields))
            last = update
    # pieces: '[{"name":'  ' "A", "ag'  'e": 1}, {'  '"name": "'  'B", "age'  '": 2}]'
    assert snapshots[:-1] == [
        ("[{}]", ()),
        ('[{"name": "A"}]', ("0.name",)),
        ('[{"name": "A", "age": 1}, {}]', ("0.name", "0.age", "0")),
        ('[{"name": "A", "age": 1}, {"name": ""}]', ("0.name", "0.age", "0")),
        ('[{"name": "A", "age": 1}, {"name": "B"}]', ("0.name", "0.age", "0", "1.name")),
        (
            '[{"name": "A", "age": 1}, {"name": "B", "age": 2}]',
            ("0.name", "0.age", "0", "1.name", "1.age", "1"),
        ),
    ]
    assert last == StructuredUpdate(
        [{"name": "A", "age": 1}, {"name": "B", "age": 2}],
        ("0.name", "0.age", "0", "1.name", "1.age", "1"),
        True,
        [Person("A", 1), Person("B", 2)],
    )


@pytest.mark.parametrize(
    "text",
    [
        # a trailing comma makes the outer object invalid: the friend inside is not the answer
        '{"name": "Alice", "age": 30, "friend": {"name": "Bob", "age": 25},}',
        # cut off by the token limit
        'Here: {"name": "Alice", "age": 30, "friend": {"name": "Bob", "age": 25}',
        # a comment inside the outer object
        '{"name": "Alice", // the user\n "age": 30, "friend": {"name": "Bob", "age": 25}}',
    ],
)
def test_a_value_nested_in_a_broken_one_is_never_offered(text: str) -> None:
    assert list(json_candidates(text)) == []


def test_after_a_broken_value_the_next_top_level_value_is_found() -> None:
    text = 'Draft {"name": "Bob",} then final: {"name": "Alice", "age": 30, "tags": ["a\\"}"]}'
    assert list(json_candidates(text)) == [{"name": "Alice", "age": 30, "tags": ['a"}']}]
