"""JSON Schema from Python types, and checks on raw JSON Schema dicts.

Theory of operation
-------------------
Every supported annotation is first *classified* by ``_classify`` into a small tag
("str", "list", "dataclass", "union", ...) plus the pieces needed to go further. The
schema builder (here) and the validator (``_validate``) both walk types through that one
function, so they agree on what is supported and what a type means.

``json_schema(tp)`` walks the type recursively. Dataclasses and TypedDicts become
objects with ``additionalProperties: false``. Nested classes are written *inline*; a
class that refers back to itself (directly or through others) is recursive and is
written once under ``$defs`` and referenced with ``{"$ref": "#/$defs/Name"}`` (or
``{"$ref": "#"}`` when the recursive class is the root itself).

``strict=True`` produces the dialect OpenAI's strict ``json_schema`` response format
accepts: every property is listed in ``required``; a property that may be left out
(it has a default, or is a non-required TypedDict key) becomes nullable, always written
as ``{"anyOf": [schema, {"type": "null"}]}`` (a property that already admits null is
left as is); no ``default`` keys. Types strict mode cannot express raise ``ConfigError``:
free-form maps (``dict[str, T]``), heterogeneous fixed tuples (``prefixItems`` is
rejected by the API; a homogeneous ``tuple[int, int]`` becomes ``items`` +
``minItems``/``maxItems``) and ``Any``. ``is_strict_compatible`` lets a caller test first
and fall back to non-strict output.

``check_schema`` walks a user-supplied raw schema and rejects any keyword outside the
subset that ``_validate`` implements, naming the keyword and where it is.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import json
import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Union

from ._errors import ConfigError

__all__ = [
    "SUPPORTED_KEYWORDS",
    "check_schema",
    "is_strict_compatible",
    "json_schema",
    "schema_name",
]

_NoneType = type(None)
_MISSING: Any = dataclasses.MISSING

# Python 3.10+ writes ``int | None`` as a types.UnionType.
_UNION_TYPES: tuple[Any, ...] = (Union, getattr(types, "UnionType", Union))

# Wrappers that only mark TypedDict keys; unwrapped wherever they appear.
_KEY_MARKERS: tuple[Any, ...] = tuple(
    getattr(typing, name) for name in ("Required", "NotRequired", "ReadOnly") if hasattr(typing, name)
)
_NOT_REQUIRED: Any = getattr(typing, "NotRequired", None)
_REQUIRED: Any = getattr(typing, "Required", None)

_SEQUENCE_ORIGINS = (list, collections.abc.Sequence, collections.abc.MutableSequence)
_MAPPING_ORIGINS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)

#: Every keyword ``check_schema`` accepts (``$schema`` only at the root).
SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "$ref",
        "$defs",
        "description",
        "title",
        "default",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
    }
)
#: The type names JSON Schema knows.
JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")


# --------------------------------------------------------------------------- types


def _strip(tp: Any) -> Any:
    """Remove ``Annotated``, ``Required``/``NotRequired``/``ReadOnly`` and ``NewType``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = tp.__origin__
        elif origin is not None and origin in _KEY_MARKERS:
            tp = typing.get_args(tp)[0]
        elif callable(tp) and hasattr(tp, "__supertype__"):
            tp = tp.__supertype__
        else:
            return tp


def _is_typeddict(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, dict)
        and hasattr(tp, "__total__")
        and hasattr(tp, "__required_keys__")
    )


def _type_hints(cls: Any) -> dict[str, Any]:
    """Resolved annotations of a dataclass or TypedDict, markers kept."""
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError, AttributeError) as exc:  # unresolvable annotations
        raise ConfigError(f"cannot resolve the annotations of {cls.__name__}: {exc}") from None


def _classify(tp: Any) -> tuple[str, Any]:
    """Sort an annotation into a kind; the second item is what that kind needs.

    Kinds: any, none, bool, int, float, str, enum (the class), literal (values tuple),
    union (members tuple), list (item type), tuple (item type; ``tuple[T, ...]``),
    fixed (item types tuple), dict ((key type, value type)), dataclass (the class),
    typeddict (the class), unsupported (None).
    """
    tp = _strip(tp)
    if tp is Any:
        return "any", None
    if tp is None or tp is _NoneType:
        return "none", None
    if tp is bool:
        return "bool", None
    if tp is int:
        return "int", None
    if tp is float:
        return "float", None
    if tp is str:
        return "str", None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_TYPES:
        return "union", args
    if origin is Literal:
        return "literal", args
    # ``origin is None``: on 3.9 ``list[int]`` passes isinstance(..., type).
    if origin is None and isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return "enum", tp
        if dataclasses.is_dataclass(tp):
            return "dataclass", tp
        if _is_typeddict(tp):
            return "typeddict", tp
        if tp in (list, collections.abc.Sequence, collections.abc.MutableSequence):
            return "list", Any
        if tp is tuple:
            return "tuple", Any
        if tp is dict or tp in (
            collections.abc.Mapping,
            collections.abc.MutableMapping,
        ):
            return "dict", (str, Any)
    if tp is tuple:
        return "tuple", Any
    if origin in _SEQUENCE_ORIGINS:
        return "list", args[0] if args else Any
    if origin is tuple:
        if args == ((),):  # typing.Tuple[()] before 3.11
            return "fixed", ()
        if len(args) == 2 and args[1] is Ellipsis:
            return "tuple", args[0]
        return "fixed", args
    if origin in _MAPPING_ORIGINS:
        return "dict", (args[0], args[1]) if args else (str, Any)
    return "unsupported", None


def _type_name(tp: Any) -> str:
    """A short readable name for an annotation: ``set[int]``, ``Optional[str]``."""
    if tp is None or tp is _NoneType:
        return "None"
    if tp is Any:
        return "Any"
    if tp is Ellipsis:
        return "..."
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_TYPES:
        others = [a for a in args if a is not _NoneType]
        if len(args) == 2 and len(others) == 1:
            return f"Optional[{_type_name(others[0])}]"
        return f"Union[{', '.join(_type_name(a) for a in args)}]"
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    if origin is typing.Annotated:
        return _type_name(tp.__origin__)
    if origin is not None:
        name = getattr(origin, "__name__", None) or repr(origin).replace("typing.", "")
        if args == ((),):
            args = ()
        inner = ", ".join(_type_name(a) for a in args) if args else "()"
        return f"{name}[{inner}]" if args or origin is tuple else name
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _where(field: str) -> str:
    return f" for field {field}" if field else ""


_SCALAR_JSON_TYPES = frozenset({"null", "boolean", "integer", "number", "string"})


def json_type_name(value: Any) -> str:
    """The JSON type of a parsed value (bool before int: JSON true is not 1)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _enum_schema(values: list[Any], described: str, field: str) -> dict[str, Any]:
    """``{"type": ..., "enum": [...]}``; ``type`` is a list when the values are mixed."""
    kinds: list[str] = []
    for value in values:
        kind = json_type_name(value)
        if kind not in _SCALAR_JSON_TYPES:
            raise ConfigError(f"unsupported value {value!r} in {described}{_where(field)}")
        if kind not in kinds:
            kinds.append(kind)
    if "integer" in kinds and "number" in kinds:
        kinds.remove("integer")
    schema: dict[str, Any] = {"type": kinds[0] if len(kinds) == 1 else kinds}
    schema["enum"] = values
    return schema


_NOT_JSON: Any = object()


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, or ``_NOT_JSON``."""
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NOT_JSON
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _NOT_JSON if any(i is _NOT_JSON for i in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        out = {k: _jsonable(v) for k, v in value.items()}
        return _NOT_JSON if any(v is _NOT_JSON for v in out.values()) else out
    return _NOT_JSON


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(_admits_null(s) for s in schema.get("anyOf", ()))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _admits_null(schema):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


class _Builder:
    """One schema build: tracks the classes being built to find recursion."""

    def __init__(self, root: Any, strict: bool) -> None:
        self.strict = strict
        kind, _ = _classify(root)
        self.root_class = _strip(root) if kind in ("dataclass", "typeddict") else None
        self.building: list[type] = []
        self.recursive: set[type] = set()
        self.names: dict[type, str] = {}
        self.defs: dict[str, dict[str, Any]] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        if cls is self.root_class:
            return {"$ref": "#"}
        if cls not in self.names:
            name = _NAME_BAD_CHARS.sub("_", cls.__name__)
            taken = set(self.names.values())
            candidate, n = name, 2
            while candidate in taken:
                candidate, n = f"{name}_{n}", n + 1
            self.names[cls] = candidate
        return {"$ref": f"#/$defs/{self.names[cls]}"}

    def build(self, tp: Any, field: str) -> dict[str, Any]:
        kind, extra = _classify(tp)
        strict = self.strict
        if kind == "any":
            if strict:
                raise ConfigError(f"unconstrained type Any{_where(field)} is not supported in strict mode")
            return {}
        if kind in ("none", "bool", "int", "float", "str"):
            names = {
                "none": "null",
                "bool": "boolean",
                "int": "integer",
                "float": "number",
                "str": "string",
            }
            return {"type": names[kind]}
        if kind == "enum":
            members = list(extra)
            if not members:
                raise ConfigError(f"enum {extra.__name__} has no members{_where(field)}")
            return _enum_schema([m.value for m in members], f"enum {extra.__name__}", field)
        if kind == "literal":
            values = [v.value if isinstance(v, enum.Enum) else v for v in extra]
            return _enum_schema(values, _type_name(tp), field)
        if kind == "union":
            return {"anyOf": [self.build(member, field) for member in extra]}
        if kind in ("list", "tuple"):
            return {"type": "array", "items": self.build(extra, field)}
        if kind == "fixed":
            items = [self.build(member, field) for member in extra]
            count = len(items)
            if strict:
                if not items or any(i != items[0] for i in items):
                    raise ConfigError(
                        f"heterogeneous tuple {_type_name(tp)}{_where(field)} is not supported in strict mode"
                    )
                return {
                    "type": "array",
                    "items": items[0],
                    "minItems": count,
                    "maxItems": count,
                }
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": count,
                "maxItems": count,
            }
        if kind == "dict":
            key_tp, value_tp = extra
            if _strip(key_tp) is not str:
                raise ConfigError(f"unsupported type {_type_name(tp)}{_where(field)} (keys must be str)")
            if strict:
                raise ConfigError(
                    f"free-form map {_type_name(tp)}{_where(field)} is not supported in strict mode"
                )
            value_schema = self.build(value_tp, field)
            if not value_schema:
                return {"type": "object"}
            return {"type": "object", "additionalProperties": value_schema}
        if kind in ("dataclass", "typeddict"):
            return self.build_class(extra)
        raise ConfigError(f"unsupported type {_type_name(tp)}{_where(field)}")

    def build_class(self, cls: type) -> dict[str, Any]:
        if cls in self.building:
            self.recursive.add(cls)
            return self.ref(cls)
        if cls in self.names and self.names[cls] in self.defs:
            return self.ref(cls)
        self.building.append(cls)
        try:
            fields = _class_fields(cls)
            properties: dict[str, Any] = {}
            required: list[str] = []
            for name, tp, optional, default, description in fields:
                schema = self.build(tp, f"{cls.__name__}.{name}")
                if self.strict:
                    if optional:
                        schema = _nullable(schema)
                    required.append(name)
                else:
                    if not optional:
                        required.append(name)
                    if default is not _MISSING:
                        value = _jsonable(default)
                        if value is not _NOT_JSON:
                            schema = {**schema, "default": value}
                if description is not None:
                    schema = {**schema, "description": description}
                properties[name] = schema
        finally:
            self.building.pop()
        schema = {
            "type": "object",
            "title": cls.__name__,
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        if cls in self.recursive and cls is not self.root_class:
            reference = self.ref(cls)
            self.defs[self.names[cls]] = schema
            return reference
        return schema


class _FieldInfo(NamedTuple):
    """One field of a dataclass or TypedDict, as both modules need it."""

    name: str
    type: Any
    optional: bool  # may be left out: has a default, or is a non-required key
    default: Any  # the plain default, or dataclasses.MISSING
    description: str | None


def _dataclass_fields(cls: type) -> list[_FieldInfo]:
    hints = _type_hints(cls)
    out: list[_FieldInfo] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        has_default = f.default is not _MISSING or f.default_factory is not _MISSING
        description = f.metadata.get("description")
        out.append(
            _FieldInfo(
                f.name,
                hints.get(f.name, f.type),
                has_default,
                f.default,
                None if description is None else str(description),
            )
        )
    return out


def _typeddict_fields(cls: type) -> list[_FieldInfo]:
    hints = _type_hints(cls)
    required_keys = set(getattr(cls, "__required_keys__", hints))
    out: list[_FieldInfo] = []
    for name, tp in hints.items():
        required = name in required_keys
        # Markers win over __required_keys__, which is wrong for string annotations
        # on some Python versions.
        for marker in _markers(tp):
            required = marker is _REQUIRED
        out.append(_FieldInfo(name, tp, not required, _MISSING, None))
    return out


def _markers(tp: Any) -> list[Any]:
    found: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = tp.__origin__
        elif origin is not None and origin in _KEY_MARKERS:
            if origin in (_REQUIRED, _NOT_REQUIRED):
                found.append(origin)
            tp = typing.get_args(tp)[0]
        else:
            return found


@functools.lru_cache(maxsize=256)
def _class_fields(cls: type) -> tuple[_FieldInfo, ...]:
    """Fields of a dataclass or TypedDict (shared with ``_validate``).

    Cached: resolving type hints is the costly part, and validating a list of a thousand
    objects would otherwise do it a thousand times.
    """
    return tuple(_dataclass_fields(cls) if dataclasses.is_dataclass(cls) else _typeddict_fields(cls))


# ------------------------------------------------------------------------- public


def json_schema(tp: Any, *, strict: bool = False) -> dict[str, Any]:
    """Build a JSON Schema dict describing values of the Python type ``tp``.

    Supports dataclasses, TypedDicts, Enums, ``Literal``, ``Optional``/``Union``,
    ``list``/``Sequence``, ``tuple``, ``dict[str, T]``, ``str``, ``int``, ``float``,
    ``bool``, ``None`` and ``Any``. ``strict=True`` emits OpenAI's strict dialect (see
    the module comment). Raises ``ConfigError`` naming the field for anything else.
    """
    builder = _Builder(tp, strict)
    schema = builder.build(tp, "")
    if builder.defs:
        schema = {**schema, "$defs": dict(sorted(builder.defs.items()))}
    return schema


def schema_name(tp: Any) -> str:
    """A response-format name for ``tp`` matching ``^[a-zA-Z0-9_-]{1,64}$``.

    Classes give their name; other types a sanitised spelling (``list[int]`` gives
    ``list_int``); a raw schema dict its ``title``. Falls back to ``"response"``.
    """
    if isinstance(tp, dict):
        raw = str(tp.get("title", ""))
    else:
        stripped = _strip(tp)
        plain_class = typing.get_origin(stripped) is None and isinstance(stripped, type)
        raw = stripped.__name__ if plain_class else _type_name(stripped)
    name = _NAME_BAD_CHARS.sub("_", raw).strip("_")[:64]
    return name or "response"


def is_strict_compatible(schema_or_type: Any) -> bool:
    """True when OpenAI's strict structured output would accept this schema or type.

    A type is compatible when ``json_schema(tp, strict=True)`` succeeds and its root is
    an object. A raw schema must have an object root, ``additionalProperties: false``
    and every property required on each object, ``items`` on each array, a type (or
    enum/const/anyOf/$ref) everywhere, and no ``default``, ``oneOf``, ``prefixItems``
    or schema-valued ``additionalProperties``.
    """
    if isinstance(schema_or_type, dict):
        schema = schema_or_type
    else:
        try:
            schema = json_schema(schema_or_type, strict=True)
        except ConfigError:
            return False
    if schema.get("type") != "object":
        return False
    return _strict_ok(schema)


def _strict_ok(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if any(key in schema for key in ("default", "oneOf", "prefixItems")):
        return False
    if not any(key in schema for key in ("type", "enum", "const", "anyOf", "$ref")):
        return False
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return False
        if not isinstance(properties, dict) or set(schema.get("required", ())) != set(properties):
            return False
        if not all(_strict_ok(s) for s in properties.values()):
            return False
    if "array" in kinds and not _strict_ok(schema.get("items")):
        return False
    if not all(_strict_ok(s) for s in schema.get("anyOf", ())):
        return False
    return all(_strict_ok(s) for s in schema.get("$defs", {}).values())


def _path_join(path: str, key: str | int) -> str:
    """Extend a JSON path: ``$.name``, ``$[2]``, ``$["odd key"]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}"
    return f"{path}[{_quote(key)}]"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def check_schema(schema: dict[str, Any]) -> None:
    """Check that a raw JSON Schema uses only the subset ``validate`` implements.

    Raises ``ConfigError`` naming the offending keyword and its location as a JSON path
    into the schema, e.g. ``unsupported JSON Schema keyword "patternProperties" at
    $.properties.tags``. ``format`` is accepted and ignored; ``$schema`` is accepted
    (and ignored) at the root; ``$ref`` must be ``#`` or ``#/$defs/<name>`` naming an
    entry of the root ``$defs``.
    """
    if not isinstance(schema, dict):
        raise ConfigError(f"a JSON Schema must be a dict, got {type(schema).__name__}")
    defs = schema.get("$defs", {})
    if not isinstance(defs, dict):
        raise ConfigError('$defs must be an object at $["$defs"]')
    _check(schema, "$", defs, is_root=True)


def _check(schema: Any, path: str, defs: dict[str, Any], *, is_root: bool = False) -> None:
    def fail(message: str) -> None:
        raise ConfigError(f"{message} at {path}")

    if not isinstance(schema, dict):
        fail(f"a schema must be an object, got {type(schema).__name__}")
    for key in schema:
        if key in SUPPORTED_KEYWORDS:
            continue
        if key == "$schema" and is_root:
            continue
        raise ConfigError(f"unsupported JSON Schema keyword {_quote(str(key))} at {path}")
    if "$defs" in schema and not is_root:
        fail("$defs is only supported at the root")

    def sub(key: str | int, *more: str | int) -> str:
        out = _path_join(path, key)
        for k in more:
            out = _path_join(out, k)
        return out

    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not kinds or not all(isinstance(k, str) and k in JSON_TYPES for k in kinds):
            fail(f"type must be one of {', '.join(JSON_TYPES)} (or a list of them), got {_short(kind)}")
    checks: list[tuple[str, Callable[[Any], bool], str]] = [
        ("properties", lambda v: isinstance(v, dict), "an object"),
        (
            "required",
            lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
            "a list of strings",
        ),
        (
            "additionalProperties",
            lambda v: isinstance(v, (bool, dict)),
            "a boolean or a schema",
        ),
        ("items", lambda v: isinstance(v, dict), "a schema"),
        ("prefixItems", lambda v: isinstance(v, list), "a list of schemas"),
        ("enum", lambda v: isinstance(v, list) and len(v) > 0, "a non-empty list"),
        (
            "anyOf",
            lambda v: isinstance(v, list) and len(v) > 0,
            "a non-empty list of schemas",
        ),
        (
            "oneOf",
            lambda v: isinstance(v, list) and len(v) > 0,
            "a non-empty list of schemas",
        ),
        ("$ref", lambda v: isinstance(v, str), "a string"),
        ("description", lambda v: isinstance(v, str), "a string"),
        ("title", lambda v: isinstance(v, str), "a string"),
        ("format", lambda v: isinstance(v, str), "a string"),
        ("pattern", lambda v: isinstance(v, str), "a string"),
        ("minimum", _is_number, "a number"),
        ("maximum", _is_number, "a number"),
        ("minLength", _is_count, "a non-negative integer"),
        ("maxLength", _is_count, "a non-negative integer"),
        ("minItems", _is_count, "a non-negative integer"),
        ("maxItems", _is_count, "a non-negative integer"),
    ]
    for key, ok, wanted in checks:
        if key in schema and not ok(schema[key]):
            raise ConfigError(f"{key} must be {wanted} at {sub(key)}")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except re.error as exc:
            raise ConfigError(
                f"pattern is not a valid regular expression ({exc}) at {sub('pattern')}"
            ) from None
    if "$ref" in schema:
        ref = schema["$ref"]
        name = ref[len("#/$defs/") :] if ref.startswith("#/$defs/") else None
        if ref != "#" and (name is None or name not in defs):
            raise ConfigError(
                f"unresolvable $ref {_quote(ref)} (only #/$defs/<name> is supported) at {sub('$ref')}"
            )
    for name, child in schema.get("properties", {}).items():
        _check(child, sub("properties", name), defs)
    if isinstance(schema.get("additionalProperties"), dict):
        _check(schema["additionalProperties"], sub("additionalProperties"), defs)
    if "items" in schema:
        _check(schema["items"], sub("items"), defs)
    for key in ("prefixItems", "anyOf", "oneOf"):
        for index, child in enumerate(schema.get(key, ())):
            _check(child, sub(key, index), defs)
    if is_root:
        for name, child in schema.get("$defs", {}).items():
            _check(child, sub("$defs", name), defs)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _short(value: Any, limit: int = 40) -> str:
    """Compact JSON rendering of ``value``, cut to about ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
