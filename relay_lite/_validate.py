"""Validate parsed JSON against a Python type or a raw JSON Schema.

Theory of operation
-------------------
``validate(data, target)`` walks the data and the target together and collects *every*
problem as a ``ValidationIssue(path, message)`` before raising one ``ValidationError``;
a model asked to fix its reply is best served by the whole list at once. Types are
classified by ``_schema._classify``, so whatever ``json_schema`` accepts, ``validate``
accepts, and the two agree on what the type means. Against a type the result is built:
dataclass instances, TypedDicts as dicts, Enum members, tuples. Against a raw schema dict
(first checked by ``check_schema``) the data itself is returned once it is valid.

Paths are JSON paths: ``$`` is the root, ``$.items[2].age`` a nested field, and a key
that is not an identifier is quoted: ``$.meta["odd key"]``.

Messages (exact wording):

- ``expected integer, got string "30"``: the expected JSON type, then the JSON type
  and a compact rendering of what came, cut to 40 characters (``got null`` alone for null)
- ``missing required field "age"`` and ``unexpected field "agee"``, at the object's path
  (dataclasses, TypedDicts and schemas with ``additionalProperties: false`` reject
  unknown fields)
- ``expected one of "red", "green", got "blue"`` for Enums, Literals and ``enum``
- ``expected "x", got "y"`` for ``const``
- ``expected 2 items, got 3`` for fixed tuples; with a raw schema also
  ``expected at least 2 items, got 1`` and ``expected at most 3 items, got 4``
- ``expected at least 3 characters, got 2``, ``expected at most 5 characters, got 7``,
  ``expected a string matching pattern "^[a-z]+$", got "ABC"``,
  ``expected a number >= 0, got -1``, ``expected a number <= 10, got 11``
- unions (``Optional``/``Union``, ``anyOf``/``oneOf``): members are tried in order and
  the first that validates wins. When none does and exactly one member could take a
  value of this JSON type, that member's own errors are reported (so a bad
  ``Optional[Address]`` says which address field is wrong); otherwise
  ``did not match any of: string, null (got integer 5)``
- ``could not build Person: <reason>`` when a dataclass constructor raises

Coercions, deliberately few: an integer where a float is expected becomes a float; a
float with an integral value (``30.0``) where an integer is expected becomes an int; bool
is never a number (JSON ``true`` is not 1); strings are never parsed into numbers. A
``null`` for a field that may be left out (a dataclass field with a default, a
non-required TypedDict key) and whose type does not admit null counts as left out:
that is how OpenAI's strict mode encodes an omitted field (see ``_schema``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from ._errors import ConfigError
from ._schema import (
    _class_fields,
    _classify,
    _is_number,
    _path_join,
    _quote,
    _short,
    check_schema,
    json_schema,
    json_type_name,
)

__all__ = ["ValidationError", "ValidationIssue", "parse_json_reply", "validate"]

T = TypeVar("T")

_INVALID: Any = object()
# A $ref chain longer than this without descending into the data is a cycle.
_MAX_REF_CHAIN = 64


@dataclasses.dataclass(frozen=True)
class ValidationIssue:
    """One problem: where (a JSON path such as ``$.items[2].age``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(ValueError):
    """Data did not match; ``errors`` lists every ``ValidationIssue`` found.

    ``str()`` gives a count line followed by one indented line per issue.
    """

    def __init__(self, errors: Sequence[ValidationIssue]) -> None:
        self.errors: list[ValidationIssue] = list(errors)
        count = len(self.errors)
        lines = [f"{count} validation error{'' if count == 1 else 's'}:"]
        lines.extend(f"  {issue}" for issue in self.errors)
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))

    @property
    def messages(self) -> list[str]:
        """Each issue as ``"path: message"``."""
        return [str(issue) for issue in self.errors]


# ---------------------------------------------------------------------- helpers


def _got(value: Any) -> str:
    if value is None:
        return "got null"
    return f"got {json_type_name(value)} {_short(value)}"


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``; ``1`` equals ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _one_of(options: Sequence[Any], value: Any) -> str:
    listed = ", ".join(_short(option) for option in options)
    return f"expected one of {listed}, {_got_bare(value)}"


def _got_bare(value: Any) -> str:
    return f"got {_short(value)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# ---------------------------------------------------------------- against types

_SIMPLE_NAMES = {
    "any": "any",
    "none": "null",
    "bool": "boolean",
    "int": "integer",
    "float": "number",
    "str": "string",
    "list": "array",
    "tuple": "array",
    "fixed": "array",
    "dict": "object",
}


def _describe(tp: Any) -> str:
    """How a union member is named in ``did not match any of: ...``."""
    kind, extra = _classify(tp)
    if kind in _SIMPLE_NAMES:
        return _SIMPLE_NAMES[kind]
    if kind == "literal":
        return ", ".join(_short(_plain(v)) for v in extra)
    if kind == "union":
        return ", ".join(_describe(m) for m in extra)
    return str(getattr(extra, "__name__", kind))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _could_take(tp: Any, data: Any) -> bool:
    """Whether ``tp`` accepts values of ``data``'s JSON type at all (not its content)."""
    kind, extra = _classify(tp)
    if kind == "any":
        return True
    if kind == "union":
        return any(_could_take(m, data) for m in extra)
    if kind in ("enum", "literal"):
        values = [m.value for m in extra] if kind == "enum" else [_plain(v) for v in extra]
        return any(json_type_name(v) == json_type_name(data) for v in values)
    wanted = _SIMPLE_NAMES.get(kind, "object")
    got = json_type_name(data)
    if wanted in ("integer", "number"):
        return got in ("integer", "number")
    return got == wanted


def _check_type(data: Any, tp: Any, path: str, errors: list[ValidationIssue]) -> Any:
    """Validate ``data`` against ``tp``; return the built value (``_INVALID`` on error)."""
    kind, extra = _classify(tp)

    def fail(message: str, at: str = path) -> Any:
        errors.append(ValidationIssue(at, message))
        return _INVALID

    if kind == "any":
        return data
    if kind == "none":
        return None if data is None else fail(f"expected null, {_got(data)}")
    if kind == "bool":
        return data if isinstance(data, bool) else fail(f"expected boolean, {_got(data)}")
    if kind == "int":
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if isinstance(data, float) and data.is_integer():
            return int(data)
        return fail(f"expected integer, {_got(data)}")
    if kind == "float":
        if _is_number(data):
            return float(data)
        return fail(f"expected number, {_got(data)}")
    if kind == "str":
        return data if isinstance(data, str) else fail(f"expected string, {_got(data)}")
    if kind in ("enum", "literal"):
        options = list(extra)
        for option in options:
            if _same(_plain(option), data):
                return option
        return fail(_one_of([_plain(o) for o in options], data))
    if kind == "union":
        return _check_union(data, extra, path, errors)
    if kind in ("list", "tuple", "fixed"):
        if not isinstance(data, (list, tuple)):
            return fail(f"expected array, {_got(data)}")
        start = len(errors)
        if kind == "fixed":
            if len(data) != len(extra):
                fail(f"expected {_plural(len(extra), 'item')}, got {len(data)}")
            items = [
                _check_type(item, item_tp, _path_join(path, i), errors)
                for i, (item, item_tp) in enumerate(zip(data, extra))
            ]
        else:
            items = [_check_type(item, extra, _path_join(path, i), errors) for i, item in enumerate(data)]
        if len(errors) > start:
            return _INVALID
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        if not isinstance(data, dict):
            return fail(f"expected object, {_got(data)}")
        start = len(errors)
        out = {
            key: _check_type(value, extra[1], _path_join(path, str(key)), errors)
            for key, value in data.items()
        }
        return _INVALID if len(errors) > start else out
    if kind in ("dataclass", "typeddict"):
        return _check_class(data, extra, path, errors)
    raise ConfigError(f"unsupported type {tp!r}")


def _check_union(data: Any, members: Sequence[Any], path: str, errors: list[ValidationIssue]) -> Any:
    attempts: list[tuple[Any, list[ValidationIssue]]] = []
    for member in members:
        member_errors: list[ValidationIssue] = []
        value = _check_type(data, member, path, member_errors)
        if not member_errors:
            return value
        attempts.append((member, member_errors))
    candidates = [found for member, found in attempts if _could_take(member, data)]
    if len(candidates) == 1:
        errors.extend(candidates[0])
    else:
        names = ", ".join(_describe(m) for m in members)
        errors.append(ValidationIssue(path, f"did not match any of: {names} ({_got(data)})"))
    return _INVALID


def _check_class(data: Any, cls: type, path: str, errors: list[ValidationIssue]) -> Any:
    if not isinstance(data, dict):
        errors.append(ValidationIssue(path, f"expected object, {_got(data)}"))
        return _INVALID
    start = len(errors)
    values: dict[str, Any] = {}
    fields = _class_fields(cls)
    for field in fields:
        if field.name in data:
            raw = data[field.name]
            found: list[ValidationIssue] = []
            value = _check_type(raw, field.type, _path_join(path, field.name), found)
            if found and raw is None and field.optional:
                continue  # strict mode's way of leaving the field out
            errors.extend(found)
            values[field.name] = value
        elif not field.optional:
            errors.append(ValidationIssue(path, f"missing required field {_quote(field.name)}"))
    known = {field.name for field in fields}
    for key in data:
        if key not in known:
            errors.append(ValidationIssue(path, f"unexpected field {_quote(str(key))}"))
    if len(errors) > start:
        return _INVALID
    if not dataclasses.is_dataclass(cls):
        return values
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        errors.append(ValidationIssue(path, f"could not build {cls.__name__}: {exc}"))
        return _INVALID


# ---------------------------------------------------------- against raw schemas


def _kinds_match(data: Any, kinds: Sequence[str]) -> bool:
    got = json_type_name(data)
    for kind in kinds:
        if kind == got:
            return True
        if kind == "number" and got == "integer":
            return True
        if kind == "integer" and got == "number" and float(data).is_integer():
            return True
    return False


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    if ref == "#":
        return root
    target: dict[str, Any] = root["$defs"][ref[len("#/$defs/") :]]
    return target


def _label(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """How an ``anyOf`` branch is named in ``did not match any of: ...``."""
    if "$ref" in schema:
        ref = schema["$ref"]
        target = _resolve(schema, root)
        return str(target.get("title") or ("root" if ref == "#" else ref.rsplit("/", 1)[-1]))
    kind = schema.get("type")
    if kind == "object" and "title" in schema:
        return str(schema["title"])
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return " or ".join(kind)
    if "enum" in schema:
        return ", ".join(_short(v) for v in schema["enum"])
    if "const" in schema:
        return _short(schema["const"])
    if "anyOf" in schema or "oneOf" in schema:
        return ", ".join(_label(s, root) for s in schema.get("anyOf", schema.get("oneOf", ())))
    return "any"


def _branch_could_take(schema: dict[str, Any], data: Any, root: dict[str, Any], depth: int = 0) -> bool:
    schema = _resolve(schema, root)
    if depth > _MAX_REF_CHAIN:
        return True
    if "type" in schema:
        kind = schema["type"]
        kinds = kind if isinstance(kind, list) else [kind]
        return _kinds_match(data, kinds) or (json_type_name(data) == "number" and "integer" in kinds)
    branches = schema.get("anyOf", schema.get("oneOf"))
    if branches is not None:
        return any(_branch_could_take(b, data, root, depth + 1) for b in branches)
    return True


def _check_schema_value(
    data: Any,
    schema: dict[str, Any],
    path: str,
    errors: list[ValidationIssue],
    root: dict[str, Any],
    chain: int = 0,
) -> None:
    def fail(message: str, at: str = path) -> None:
        errors.append(ValidationIssue(at, message))

    if "$ref" in schema:
        if chain > _MAX_REF_CHAIN:
            raise ConfigError(f"circular $ref {_quote(schema['$ref'])} in the schema")
        _check_schema_value(data, _resolve(schema, root), path, errors, root, chain + 1)
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not _kinds_match(data, kinds):
            fail(f"expected {' or '.join(kinds)}, {_got(data)}")
            return
    if "enum" in schema and not any(_same(option, data) for option in schema["enum"]):
        fail(_one_of(schema["enum"], data))
    if "const" in schema and not _same(schema["const"], data):
        fail(f"expected {_short(schema['const'])}, {_got_bare(data)}")
    branches = schema.get("anyOf", schema.get("oneOf"))
    if branches is not None:
        _check_branches(data, branches, path, errors, root, chain)
    if isinstance(data, str):
        _check_string(data, schema, fail)
    elif _is_number(data):
        if "minimum" in schema and data < schema["minimum"]:
            fail(f"expected a number >= {_short(schema['minimum'])}, got {_short(data)}")
        if "maximum" in schema and data > schema["maximum"]:
            fail(f"expected a number <= {_short(schema['maximum'])}, got {_short(data)}")
    elif isinstance(data, (list, tuple)):
        _check_array(data, schema, path, errors, root)
    elif isinstance(data, dict):
        _check_object(data, schema, path, errors, root)


def _check_branches(
    data: Any,
    branches: list[dict[str, Any]],
    path: str,
    errors: list[ValidationIssue],
    root: dict[str, Any],
    chain: int,
) -> None:
    attempts: list[tuple[dict[str, Any], list[ValidationIssue]]] = []
    for branch in branches:
        found: list[ValidationIssue] = []
        _check_schema_value(data, branch, path, found, root, chain)
        if not found:
            return
        attempts.append((branch, found))
    candidates = [found for branch, found in attempts if _branch_could_take(branch, data, root)]
    if len(candidates) == 1:
        errors.extend(candidates[0])
    else:
        names = ", ".join(_label(b, root) for b in branches)
        errors.append(ValidationIssue(path, f"did not match any of: {names} ({_got(data)})"))


def _check_string(data: str, schema: dict[str, Any], fail: Callable[[str], None]) -> None:
    length = len(data)
    if "minLength" in schema and length < schema["minLength"]:
        fail(f"expected at least {_plural(schema['minLength'], 'character')}, got {length}")
    if "maxLength" in schema and length > schema["maxLength"]:
        fail(f"expected at most {_plural(schema['maxLength'], 'character')}, got {length}")
    if "pattern" in schema and re.search(schema["pattern"], data) is None:
        fail(f"expected a string matching pattern {_quote(schema['pattern'])}, got {_short(data)}")


def _check_array(
    data: Sequence[Any],
    schema: dict[str, Any],
    path: str,
    errors: list[ValidationIssue],
    root: dict[str, Any],
) -> None:
    count = len(data)
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and low == high and count != low:
        errors.append(ValidationIssue(path, f"expected {_plural(low, 'item')}, got {count}"))
    else:
        if low is not None and count < low:
            errors.append(ValidationIssue(path, f"expected at least {_plural(low, 'item')}, got {count}"))
        if high is not None and count > high:
            errors.append(ValidationIssue(path, f"expected at most {_plural(high, 'item')}, got {count}"))
    prefix = schema.get("prefixItems", [])
    for index, item in enumerate(data):
        if index < len(prefix):
            item_schema = prefix[index]
        elif "items" in schema:
            item_schema = schema["items"]
        else:
            continue
        _check_schema_value(item, item_schema, _path_join(path, index), errors, root)


def _check_object(
    data: dict[str, Any],
    schema: dict[str, Any],
    path: str,
    errors: list[ValidationIssue],
    root: dict[str, Any],
) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in data:
            errors.append(ValidationIssue(path, f"missing required field {_quote(name)}"))
    extra = schema.get("additionalProperties", True)
    for key, value in data.items():
        at = _path_join(path, str(key))
        if key in properties:
            _check_schema_value(value, properties[key], at, errors, root)
        elif extra is False:
            errors.append(ValidationIssue(path, f"unexpected field {_quote(str(key))}"))
        elif isinstance(extra, dict):
            _check_schema_value(value, extra, at, errors, root)


# ----------------------------------------------------------------------- public


@overload
def validate(data: Any, tp_or_schema: type[T]) -> T: ...
@overload
def validate(data: Any, tp_or_schema: Any) -> Any: ...
def validate(data: Any, tp_or_schema: Any) -> Any:
    """Validate parsed JSON ``data`` against a Python type or a raw JSON Schema dict.

    Against a type, returns the built value (dataclass instances, Enum members, tuples,
    ...); against a schema dict, returns ``data`` itself. Raises ``ValidationError``
    listing every problem, or ``ConfigError`` for an unsupported type or schema.

    For example ``validate({"name": "Ann", "age": 30.0}, Person)`` gives
    ``Person(name='Ann', age=30)``.
    """
    errors: list[ValidationIssue] = []
    if isinstance(tp_or_schema, dict):
        check_schema(tp_or_schema)
        _check_schema_value(data, tp_or_schema, "$", errors, tp_or_schema)
        if errors:
            raise ValidationError(errors)
        return data
    json_schema(tp_or_schema)  # vets the type: ConfigError names an unsupported field
    value = _check_type(data, tp_or_schema, "$", errors)
    if errors:
        raise ValidationError(errors)
    return value


_FENCED = re.compile(r"\A```[^\n]*\n(.*?)\n?(?:```\s*)?\Z", re.DOTALL)


def parse_json_reply(text: str) -> Any:
    """``json.loads`` a model's reply, tolerating surrounding whitespace and a Markdown
    code fence (```` ```json ```` ... ```` ``` ````, or a bare ```` ``` ````).

    Raises ``ValidationError`` with one issue at ``$``, e.g.
    ``reply is not valid JSON: Expecting ',' delimiter at line 1 column 12``.
    """
    body = text.strip()
    fenced = _FENCED.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        message = f"reply is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ValidationError([ValidationIssue("$", message)]) from None
    except ValueError as exc:  # NaN / Infinity, which Python accepts and JSON does not
        raise ValidationError([ValidationIssue("$", f"reply is not valid JSON: {exc}")]) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
