"""Tests for relay_lite._validate: validation into Python types and against raw schemas."""

from __future__ import annotations

import dataclasses
import enum
import pickle
from typing import Any, Dict, List, Literal, Optional, Tuple, TypedDict, Union

import pytest

from relay_lite._errors import ConfigError
from relay_lite._schema import json_schema
from relay_lite._validate import ValidationError, ValidationIssue, parse_json_reply, validate


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Address:
    city: str
    zip: Optional[str] = None


@dataclasses.dataclass
class Person:
    name: str
    age: int
    address: Optional[Address] = None
    color: Color = Color.RED
    tags: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Item:
    name: str
    age: int


@dataclasses.dataclass
class Order:
    items: List[Item]
    meta: Dict[str, int]


@dataclasses.dataclass
class Shape:
    kind: Literal["circle", "square"]
    size: float
    at: Tuple[int, int]
    level: Level = Level.LOW


@dataclasses.dataclass
class Positive:
    n: int

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError("n must be positive")


@dataclasses.dataclass
class Tree:
    value: int
    children: List[Tree] = dataclasses.field(default_factory=list)


class Movie(TypedDict, total=False):
    title: str
    year: int


class Book(TypedDict):
    title: str
    pages: int


def errors_of(data: Any, target: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        validate(data, target)
    return [(issue.path, issue.message) for issue in caught.value.errors]


# -------------------------------------------------------------------- building


def test_builds_nested_dataclasses_enums_and_defaults() -> None:
    person = validate({"name": "Ann", "age": 30, "address": {"city": "Oslo"}, "color": "green"}, Person)
    assert person == Person(name="Ann", age=30, address=Address(city="Oslo"), color=Color.GREEN, tags=[])
    assert person.color is Color.GREEN


def test_builds_tuples_literals_and_int_enums() -> None:
    shape = validate({"kind": "circle", "size": 2, "at": [1, 2], "level": 2}, Shape)
    assert shape == Shape(kind="circle", size=2.0, at=(1, 2), level=Level.HIGH)
    assert isinstance(shape.size, float)
    assert isinstance(shape.at, tuple)
    assert shape.level is Level.HIGH


def test_builds_recursive_dataclasses() -> None:
    tree = validate({"value": 1, "children": [{"value": 2}, {"value": 3, "children": []}]}, Tree)
    assert tree == Tree(1, [Tree(2), Tree(3)])


def test_typeddict_becomes_plain_dict() -> None:
    assert validate({"title": "Dune"}, Movie) == {"title": "Dune"}
    assert validate({"title": "Dune", "pages": 412}, Book) == {"title": "Dune", "pages": 412}


def test_containers_and_any() -> None:
    assert validate([1, 2], List[int]) == [1, 2]
    assert validate([1, 2], Tuple[int, ...]) == (1, 2)
    assert validate({"a": [1]}, Dict[str, List[int]]) == {"a": [1]}
    anything: Any = validate({"x": [None, 1.5]}, Any)
    assert anything == {"x": [None, 1.5]}
    assert validate(None, None) is None


def test_union_first_member_that_validates_wins() -> None:
    assert validate(5, Union[str, int]) == 5
    assert validate("5", Union[int, str]) == "5"
    assert validate(1, Union[float, int]) == 1.0
    assert validate(1, Union[int, float]) == 1
    assert validate(None, Optional[Address]) is None


# ------------------------------------------------------------------ coercions


def test_integer_becomes_float_where_float_expected() -> None:
    value = validate(3, float)
    assert value == 3.0
    assert isinstance(value, float)


def test_integral_float_is_accepted_as_int() -> None:
    value = validate(30.0, int)
    assert value == 30
    assert isinstance(value, int)


def test_non_integral_float_is_not_an_int() -> None:
    assert errors_of(30.5, int) == [("$", "expected integer, got number 30.5")]


@pytest.mark.parametrize("tp", [int, float])
def test_bool_is_never_a_number(tp: Any) -> None:
    name = "integer" if tp is int else "number"
    assert errors_of(True, tp) == [("$", f"expected {name}, got boolean true")]


def test_strings_are_not_parsed_into_numbers() -> None:
    assert errors_of({"name": "Ann", "age": "30"}, Person) == [("$.age", 'expected integer, got string "30"')]


def test_number_is_not_a_bool() -> None:
    assert errors_of(1, bool) == [("$", "expected boolean, got integer 1")]


def test_enum_does_not_confuse_true_with_one() -> None:
    assert errors_of(True, Level) == [("$", "expected one of 1, 2, got true")]


# --------------------------------------------------------------------- errors


def test_missing_and_unexpected_fields() -> None:
    assert errors_of({"name": "Ann", "agee": 30}, Person) == [
        ("$", 'missing required field "age"'),
        ("$", 'unexpected field "agee"'),
    ]


def test_enum_and_literal_mismatch() -> None:
    assert errors_of("blue", Color) == [("$", 'expected one of "red", "green", got "blue"')]
    assert errors_of("oval", Literal["circle", "square"]) == [
        ("$", 'expected one of "circle", "square", got "oval"')
    ]


def test_fixed_tuple_length() -> None:
    assert errors_of([1, 2, 3], Tuple[int, int]) == [("$", "expected 2 items, got 3")]
    assert validate([1], Tuple[int]) == (1,)


def test_fixed_tuple_length_and_item_errors_are_both_reported() -> None:
    assert errors_of(["a", 2, 3], Tuple[int, int]) == [
        ("$", "expected 2 items, got 3"),
        ("$[0]", 'expected integer, got string "a"'),
    ]


def test_type_mismatch_for_containers_and_null() -> None:
    assert errors_of([1], Person) == [("$", "expected object, got array [1]")]
    assert errors_of({"a": 1}, List[int]) == [("$", 'expected array, got object {"a": 1}')]
    assert errors_of(None, str) == [("$", "expected string, got null")]
    assert errors_of(0, None) == [("$", "expected null, got integer 0")]


def test_long_values_are_cut_to_forty_characters() -> None:
    assert errors_of("x" * 100, int) == [("$", 'expected integer, got string "' + "x" * 36 + "...")]


def test_union_with_no_plausible_member_lists_the_members() -> None:
    assert errors_of(5, Optional[str]) == [("$", "did not match any of: string, null (got integer 5)")]
    assert errors_of([1], Union[int, Address, Literal["x"]]) == [
        ("$", 'did not match any of: integer, Address, "x" (got array [1])')
    ]


def test_union_with_one_plausible_member_reports_its_errors() -> None:
    assert errors_of({"address": {"zip": 123}, "name": "A", "age": 1}, Person) == [
        ("$.address", 'missing required field "city"'),
        ("$.address.zip", "did not match any of: string, null (got integer 123)"),
    ]


def test_paths_use_indices_and_quote_odd_keys() -> None:
    data = {
        "items": [{"name": "a", "age": 1}, {"name": "b", "age": 2}, {"name": "c", "age": "old"}],
        "meta": {"ok": 1, "odd key": "x", 'q"uote': None},
    }
    assert errors_of(data, Order) == [
        ("$.items[2].age", 'expected integer, got string "old"'),
        ('$.meta["odd key"]', 'expected integer, got string "x"'),
        ('$.meta["q\\"uote"]', "expected integer, got null"),
    ]


def test_all_errors_are_collected() -> None:
    data = {"kind": "oval", "size": "big", "at": [1], "level": 3, "extra": True}
    assert errors_of(data, Shape) == [
        ("$.kind", 'expected one of "circle", "square", got "oval"'),
        ("$.size", 'expected number, got string "big"'),
        ("$.at", "expected 2 items, got 1"),
        ("$.level", "expected one of 1, 2, got 3"),
        ("$", 'unexpected field "extra"'),
    ]


def test_typeddict_missing_and_unexpected_keys() -> None:
    assert errors_of({"title": "Dune", "author": "Herbert"}, Book) == [
        ("$", 'missing required field "pages"'),
        ("$", 'unexpected field "author"'),
    ]


def test_constructor_failure_is_reported() -> None:
    assert errors_of({"n": -1}, Positive) == [("$", "could not build Positive: n must be positive")]


def test_null_for_a_defaulted_field_means_left_out_as_in_strict_mode() -> None:
    strict_reply = {"name": "Ann", "age": 30, "address": None, "color": None, "tags": None}
    assert validate(strict_reply, Person) == Person(name="Ann", age=30)
    assert validate({"title": None, "year": 1965}, Movie) == {"year": 1965}


def test_null_for_a_required_field_is_still_an_error() -> None:
    assert errors_of({"name": None, "age": 1}, Person) == [("$.name", "expected string, got null")]


def test_strict_schema_reply_round_trips() -> None:
    assert "required" in json_schema(Person, strict=True)
    reply = {"name": "Bo", "age": 4, "address": {"city": "Rome", "zip": None}, "color": "red", "tags": None}
    assert validate(reply, Person) == Person(name="Bo", age=4, address=Address("Rome"), color=Color.RED)


# ------------------------------------------------------------ ValidationError


def test_validation_error_is_a_value_error_with_readable_text() -> None:
    with pytest.raises(ValueError) as caught:
        validate({"name": 1}, Person)
    error = caught.value
    assert isinstance(error, ValidationError)
    assert str(error) == (
        '2 validation errors:\n  $.name: expected string, got integer 1\n  $: missing required field "age"'
    )
    assert error.messages == ["$.name: expected string, got integer 1", '$: missing required field "age"']


def test_single_issue_message_and_pickling() -> None:
    error = ValidationError([ValidationIssue("$.a", "boom")])
    assert str(error) == "1 validation error:\n  $.a: boom"
    assert str(error.errors[0]) == "$.a: boom"
    copy = pickle.loads(pickle.dumps(error))
    assert copy.errors == error.errors
    assert str(copy) == str(error)


def test_unsupported_type_is_a_config_error_naming_the_field() -> None:
    @dataclasses.dataclass
    class Bad:
        tags: set[int]

    with pytest.raises(ConfigError) as caught:
        validate({"tags": []}, Bad)
    assert str(caught.value) == "unsupported type set[int] for field Bad.tags"


# ----------------------------------------------------------------- raw schemas

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "number"}, {"const": "x"}],
            "minItems": 2,
            "maxItems": 2,
        },
        "color": {"enum": ["red", "green"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "child": {"$ref": "#/$defs/Child"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
    "$defs": {"Child": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
}


def test_raw_schema_returns_the_data_itself() -> None:
    data = {"name": "ann", "age": 30.0, "tags": ["a"], "pair": [1.5, "x"], "note": None, "child": {"id": 1}}
    assert validate(data, SCHEMA) is data


def test_raw_schema_constraint_messages() -> None:
    data = {
        "name": "ABCDEFG",
        "age": -1,
        "tags": [],
        "pair": [1, "y", 3],
        "color": "blue",
        "note": 5,
        "child": {"id": "one"},
        "other": 1,
    }
    assert errors_of(data, SCHEMA) == [
        ("$.name", "expected at most 5 characters, got 7"),
        ("$.name", 'expected a string matching pattern "^[a-z]+$", got "ABCDEFG"'),
        ("$.age", "expected a number >= 0, got -1"),
        ("$.tags", "expected at least 1 item, got 0"),
        ("$.pair", "expected 2 items, got 3"),
        ("$.pair[1]", 'expected "x", got "y"'),
        ("$.color", 'expected one of "red", "green", got "blue"'),
        ("$.note", "did not match any of: string, null (got integer 5)"),
        ("$.child.id", 'expected integer, got string "one"'),
        ("$", 'unexpected field "other"'),
    ]


def test_raw_schema_more_constraints() -> None:
    data = {"name": "a", "age": 151, "tags": ["a", "b", "c"]}
    assert errors_of(data, SCHEMA) == [
        ("$.name", "expected at least 2 characters, got 1"),
        ("$.age", "expected a number <= 150, got 151"),
        ("$.tags", "expected at most 2 items, got 3"),
    ]


def test_raw_schema_missing_required_and_type_lists() -> None:
    assert errors_of({}, SCHEMA) == [
        ("$", 'missing required field "name"'),
        ("$", 'missing required field "age"'),
    ]
    assert errors_of(True, {"type": ["string", "null"]}) == [
        ("$", "expected string or null, got boolean true")
    ]
    assert errors_of(1.5, {"type": "integer"}) == [("$", "expected integer, got number 1.5")]


def test_raw_schema_additional_properties_schema_and_one_of() -> None:
    schema = {"type": "object", "additionalProperties": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]}}
    assert validate({"a": 1, "b": True}, schema) == {"a": 1, "b": True}
    assert errors_of({"a": "x"}, schema) == [
        ("$.a", 'did not match any of: integer, boolean (got string "x")')
    ]


def test_raw_schema_recursive_root_ref() -> None:
    schema = {
        "type": "object",
        "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["v"],
    }
    assert errors_of({"v": 1, "kids": [{"v": 2}, {"kids": []}]}, schema) == [
        ("$.kids[1]", 'missing required field "v"')
    ]


def test_raw_schema_generated_from_a_type_validates_the_same_data() -> None:
    schema = json_schema(Person)
    data = {"name": "Ann", "age": "x", "address": {"city": 1}}
    assert errors_of(data, schema) == [
        ("$.age", 'expected integer, got string "x"'),
        ("$.address.city", "expected string, got integer 1"),
    ]


def test_invalid_raw_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r'^unsupported JSON Schema keyword "allOf" at \$$'):
        validate(1, {"allOf": []})


def test_circular_ref_is_a_config_error() -> None:
    schema = {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}}
    with pytest.raises(ConfigError, match=r'^circular \$ref "#/\$defs/A" in the schema$'):
        validate(1, schema)


# ------------------------------------------------------------- parse_json_reply


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  \n{"a": 1}\n ',
        '```json\n{"a": 1}\n```',
        '```\n{"a": 1}\n```\n',
        '```JSON\n{"a": 1}```',
        '```json\n{"a": 1}\n',
    ],
)
def test_parse_json_reply_tolerates_fences_and_whitespace(text: str) -> None:
    assert parse_json_reply(text) == {"a": 1}


def test_parse_json_reply_keeps_backticks_inside_strings() -> None:
    assert parse_json_reply('```json\n{"code": "```x```"}\n```') == {"code": "```x```"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1 "b": 2}', "reply is not valid JSON: Expecting ',' delimiter at line 1 column 9"),
        ("", "reply is not valid JSON: Expecting value at line 1 column 1"),
        ('```json\n{"a": }\n```', "reply is not valid JSON: Expecting value at line 1 column 7"),
        ("Sure! Here it is", "reply is not valid JSON: Expecting value at line 1 column 1"),
    ],
)
def test_parse_json_reply_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_json_reply(text)
    assert [(i.path, i.message) for i in caught.value.errors] == [("$", message)]


def test_nan_and_infinity_are_not_json() -> None:
    for text in ('{"x": NaN}', '{"x": Infinity}', "-Infinity"):
        with pytest.raises(ValidationError) as info:
            parse_json_reply(text)
        assert info.value.errors[0].path == "$"
        assert "is not a JSON value" in info.value.errors[0].message
