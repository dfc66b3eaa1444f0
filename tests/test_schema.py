"""Tests for relay_lite._schema: JSON Schema from Python types and raw-schema checks."""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from collections.abc import Sequence
from typing import Any, Dict, List, Literal, Optional, Tuple, TypedDict, Union

import pytest

from relay_lite._errors import ConfigError
from relay_lite._schema import check_schema, is_strict_compatible, json_schema, schema_name


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    NAME = "a"
    NUMBER = 1


@dataclasses.dataclass
class Address:
    city: str
    zip: Optional[str] = None


@dataclasses.dataclass
class Person:
    name: str = dataclasses.field(metadata={"description": "Full name"})
    age: int
    address: Address
    nickname: Optional[str] = None
    score: float = 1.5
    color: Color = Color.RED
    tags: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Node:
    value: int
    children: list[Node]


@dataclasses.dataclass
class Tree:
    root: Node
    spare: Optional[Node] = None


@dataclasses.dataclass
class Tagged:
    tags: set[int]


@dataclasses.dataclass
class Outer:
    inner: Tagged


@dataclasses.dataclass
class WithMap:
    counts: dict[str, int]


@dataclasses.dataclass
class WithPair:
    pair: tuple[int, str]


@dataclasses.dataclass
class WithPoint:
    point: tuple[float, float]


@dataclasses.dataclass
class WithAny:
    extra: Any


class Movie(TypedDict):
    title: str
    year: int


class Draft(TypedDict, total=False):
    title: str
    notes: list[str]


NotRequired: Any = getattr(typing, "NotRequired", None)  # typing has it from 3.11


class NotADataclass:
    x: int


ADDRESS = {
    "type": "object",
    "title": "Address",
    "properties": {
        "city": {"type": "string"},
        "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
    "required": ["city"],
    "additionalProperties": False,
}

# ------------------------------------------------------------------ scalar types


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
    ],
)
def test_scalar_types(tp: Any, expected: dict[str, Any]) -> None:
    assert json_schema(tp) == expected


def test_enum_of_strings_is_string_enum() -> None:
    assert json_schema(Color) == {"type": "string", "enum": ["red", "green"]}


def test_int_enum_is_integer_enum() -> None:
    assert json_schema(Priority) == {"type": "integer", "enum": [1, 2]}


def test_mixed_enum_lists_every_type() -> None:
    assert json_schema(Mixed) == {"type": ["string", "integer"], "enum": ["a", 1]}


def test_literal_is_enum() -> None:
    assert json_schema(Literal["a", "b"]) == {"type": "string", "enum": ["a", "b"]}
    assert json_schema(Literal[3]) == {"type": "integer", "enum": [3]}
    assert json_schema(Literal["a", None]) == {"type": ["string", "null"], "enum": ["a", None]}
    assert json_schema(Literal[Color.GREEN]) == {"type": "string", "enum": ["green"]}


def test_optional_is_any_of_with_null() -> None:
    assert json_schema(Optional[int]) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def test_union_keeps_member_order() -> None:
    assert json_schema(Union[str, int, None]) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]
    }


# -------------------------------------------------------------------- containers


@pytest.mark.parametrize("tp", [list[int], List[int], Sequence[int], tuple[int, ...], Tuple[int, ...]])
def test_homogeneous_sequences_are_arrays(tp: Any) -> None:
    assert json_schema(tp) == {"type": "array", "items": {"type": "integer"}}


def test_bare_list_is_array_of_anything() -> None:
    assert json_schema(list) == {"type": "array", "items": {}}


def test_fixed_tuple_uses_prefix_items() -> None:
    assert json_schema(tuple[int, str]) == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }


def test_dict_of_str_is_object_with_additional_properties() -> None:
    assert json_schema(dict[str, int]) == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert json_schema(Dict[str, Any]) == {"type": "object"}


# ------------------------------------------------------------------------ classes


def test_dataclass_with_nested_dataclass_defaults_and_description() -> None:
    assert json_schema(Person) == {
        "type": "object",
        "title": "Person",
        "properties": {
            "name": {"type": "string", "description": "Full name"},
            "age": {"type": "integer"},
            "address": ADDRESS,
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "score": {"type": "number", "default": 1.5},
            "color": {"type": "string", "enum": ["red", "green"], "default": "red"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age", "address"],
        "additionalProperties": False,
    }


def test_typeddict_required_keys() -> None:
    assert json_schema(Movie) == {
        "type": "object",
        "title": "Movie",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
        "additionalProperties": False,
    }
    assert json_schema(Draft) == {
        "type": "object",
        "title": "Draft",
        "properties": {"title": {"type": "string"}, "notes": {"type": "array", "items": {"type": "string"}}},
        "required": [],
        "additionalProperties": False,
    }


@pytest.mark.skipif(NotRequired is None, reason="typing.NotRequired is new in Python 3.11")
def test_typeddict_not_required_marker_with_string_annotations() -> None:
    class Article(TypedDict):
        title: str
        subtitle: NotRequired[str]

    assert json_schema(Article) == {
        "type": "object",
        "title": "Article",
        "properties": {"title": {"type": "string"}, "subtitle": {"type": "string"}},
        "required": ["title"],
        "additionalProperties": False,
    }


NODE = {
    "type": "object",
    "title": "Node",
    "properties": {
        "value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
    },
    "required": ["value", "children"],
    "additionalProperties": False,
}


def test_recursive_dataclass_goes_to_defs() -> None:
    assert json_schema(Tree) == {
        "type": "object",
        "title": "Tree",
        "properties": {
            "root": {"$ref": "#/$defs/Node"},
            "spare": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}], "default": None},
        },
        "required": ["root"],
        "additionalProperties": False,
        "$defs": {"Node": NODE},
    }


def test_recursive_root_refers_to_itself_with_hash() -> None:
    assert json_schema(Node) == {
        "type": "object",
        "title": "Node",
        "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["value", "children"],
        "additionalProperties": False,
    }


def test_recursive_class_inside_list_root() -> None:
    assert json_schema(list[Node]) == {
        "type": "array",
        "items": {"$ref": "#/$defs/Node"},
        "$defs": {"Node": NODE},
    }


def test_string_annotations_are_resolved() -> None:
    # This module uses `from __future__ import annotations`, so every field is a string.
    assert json_schema(Address)["properties"]["zip"]["anyOf"][0] == {"type": "string"}


# ------------------------------------------------------------------------- strict


def test_strict_requires_every_field_and_makes_defaulted_ones_nullable() -> None:
    assert json_schema(Person, strict=True) == {
        "type": "object",
        "title": "Person",
        "properties": {
            "name": {"type": "string", "description": "Full name"},
            "age": {"type": "integer"},
            "address": {
                "type": "object",
                "title": "Address",
                "properties": {
                    "city": {"type": "string"},
                    "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
                "required": ["city", "zip"],
                "additionalProperties": False,
            },
            "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "score": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "color": {"anyOf": [{"type": "string", "enum": ["red", "green"]}, {"type": "null"}]},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        },
        "required": ["name", "age", "address", "nickname", "score", "color", "tags"],
        "additionalProperties": False,
    }


def test_strict_typeddict_optional_keys_become_nullable() -> None:
    assert json_schema(Draft, strict=True) == {
        "type": "object",
        "title": "Draft",
        "properties": {
            "title": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "notes": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        },
        "required": ["title", "notes"],
        "additionalProperties": False,
    }


def test_strict_homogeneous_fixed_tuple_uses_items_and_counts() -> None:
    assert json_schema(WithPoint, strict=True)["properties"]["point"] == {
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 2,
    }


@pytest.mark.parametrize(
    ("tp", "message"),
    [
        (WithMap, "free-form map dict[str, int] for field WithMap.counts is not supported in strict mode"),
        (
            WithPair,
            "heterogeneous tuple tuple[int, str] for field WithPair.pair is not supported in strict mode",
        ),
        (WithAny, "unconstrained type Any for field WithAny.extra is not supported in strict mode"),
    ],
)
def test_strict_rejects_what_it_cannot_express(tp: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        json_schema(tp, strict=True)
    assert str(caught.value) == message
    assert is_strict_compatible(tp) is False


def test_is_strict_compatible_for_types() -> None:
    assert is_strict_compatible(Person) is True
    assert is_strict_compatible(Tree) is True
    assert is_strict_compatible(list[int]) is False  # the root must be an object


def test_is_strict_compatible_for_raw_schemas() -> None:
    good = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert is_strict_compatible(good) is True
    assert is_strict_compatible({**good, "required": ["a"]}) is False
    assert is_strict_compatible({**good, "additionalProperties": True}) is False
    assert (
        is_strict_compatible({**good, "properties": {"a": {"type": "string", "default": "x"}, "b": {}}})
        is False
    )
    assert is_strict_compatible(json_schema(Person)) is False
    assert is_strict_compatible(json_schema(Person, strict=True)) is True


# ------------------------------------------------------------------- unsupported


@pytest.mark.parametrize(
    ("tp", "message"),
    [
        (Tagged, "unsupported type set[int] for field Tagged.tags"),
        (Outer, "unsupported type set[int] for field Tagged.tags"),
        (bytes, "unsupported type bytes"),
        (NotADataclass, "unsupported type NotADataclass"),
        (dict[int, str], "unsupported type dict[int, str] (keys must be str)"),
        (Optional[frozenset[str]], "unsupported type frozenset[str]"),
    ],
)
def test_unsupported_type_names_the_field(tp: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        json_schema(tp)
    assert str(caught.value) == message


def test_unresolvable_annotation_is_a_config_error() -> None:
    @dataclasses.dataclass
    class Broken:
        x: DoesNotExist  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigError, match=r"^cannot resolve the annotations of Broken: name 'DoesNotExist'"):
        json_schema(Broken)


# -------------------------------------------------------------------- schema_name


@pytest.mark.parametrize(
    ("tp", "name"),
    [
        (Person, "Person"),
        (list[int], "list_int"),
        (Optional[Person], "Optional_Person"),
        (dict[str, list[int]], "dict_str_list_int"),
        ({"title": "My Schema!"}, "My_Schema"),
        ({}, "response"),
    ],
)
def test_schema_name_is_api_safe(tp: Any, name: str) -> None:
    assert schema_name(tp) == name
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name)


def test_schema_name_is_cut_to_64_characters() -> None:
    long_class = type("A" * 80, (), {})
    assert schema_name(long_class) == "A" * 64


# ------------------------------------------------------------------- check_schema


def test_check_schema_accepts_the_supported_subset() -> None:
    check_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "title": "T",
            "description": "d",
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 9,
                    "pattern": "^[a-z]+$",
                    "format": "x",
                },
                "n": {"type": ["integer", "null"], "minimum": 0, "maximum": 9, "default": 1},
                "pair": {"type": "array", "prefixItems": [{"const": 1}, {"enum": ["a"]}], "minItems": 2},
                "any": {"oneOf": [{"$ref": "#/$defs/Leaf"}, {"anyOf": [{"type": "null"}]}]},
                "map": {"type": "object", "additionalProperties": {"$ref": "#"}},
            },
            "required": ["name"],
            "additionalProperties": False,
            "$defs": {"Leaf": {"type": "array", "items": {"type": "boolean"}, "maxItems": 3}},
        }
    )
    check_schema(json_schema(Tree))
    check_schema(json_schema(Person, strict=True))


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"patternProperties": {}}, 'unsupported JSON Schema keyword "patternProperties" at $'),
        (
            {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": True}}},
            'unsupported JSON Schema keyword "uniqueItems" at $.properties.tags',
        ),
        (
            {"properties": {"odd key": {"items": {"allOf": []}}}},
            'unsupported JSON Schema keyword "allOf" at $.properties["odd key"].items',
        ),
        ({"anyOf": [{"type": "string"}, {"not": {}}]}, 'unsupported JSON Schema keyword "not" at $.anyOf[1]'),
        ({"$defs": {"A": {"if": {}}}}, 'unsupported JSON Schema keyword "if" at $["$defs"].A'),
        ({"items": {"$schema": "x"}}, 'unsupported JSON Schema keyword "$schema" at $.items'),
        (
            {"type": "text"},
            "type must be one of object, array, string, number, integer, boolean, null "
            '(or a list of them), got "text" at $',
        ),
        ({"required": "name"}, "required must be a list of strings at $.required"),
        ({"minLength": -1}, "minLength must be a non-negative integer at $.minLength"),
        ({"maximum": True}, "maximum must be a number at $.maximum"),
        ({"enum": []}, "enum must be a non-empty list at $.enum"),
        ({"items": [{"type": "string"}]}, "items must be a schema at $.items"),
        ({"properties": {"a": True}}, "a schema must be an object, got bool at $.properties.a"),
        (
            {"$ref": "#/definitions/A"},
            'unresolvable $ref "#/definitions/A" (only #/$defs/<name> is supported) at $["$ref"]',
        ),
        (
            {"$ref": "#/$defs/Missing"},
            'unresolvable $ref "#/$defs/Missing" (only #/$defs/<name> is supported) at $["$ref"]',
        ),
        ({"items": {"$defs": {}}}, "$defs is only supported at the root at $.items"),
        (
            {"pattern": "("},
            "pattern is not a valid regular expression (missing ), unterminated subpattern "
            "at position 0) at $.pattern",
        ),
    ],
)
def test_check_schema_rejects_with_keyword_and_path(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_schema(schema)
    assert str(caught.value) == message


def test_check_schema_rejects_non_dict() -> None:
    with pytest.raises(ConfigError, match=r"^a JSON Schema must be a dict, got list$"):
        check_schema([])  # type: ignore[arg-type]
