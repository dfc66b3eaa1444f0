"""Typed reads of provider JSON: every field relay_lite reads is checked before it is used.

A value of the wrong type raises ``StreamError`` naming the field by its JSON path
(``choices[0].delta.content is a number, expected a string``) instead of a bare
``TypeError`` deep inside an adapter, or worse, a wrong value passing through (a ``5``
becoming the reply's text). The adapters call these on every field they read; the checks
are ``type(...) is`` tests, cheap enough for the per-chunk hot path.

Token counts are the one lenient case: a count of the wrong type reads as None (unknown),
because losing a whole reply over a usage figure would be worse than not knowing it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional

from .._errors import StreamError
from .._models import json_kind as json_kind  # re-exported: the adapters name types with it

# json.loads minus its argument checks: one call per stream chunk.
_DECODER = json.JSONDecoder()
_decode = _DECODER.decode
# The scanner under decode(), called directly: a chunk is almost always one JSON value
# with no whitespace around it, and decode()'s two regex passes and Python frames
# around the C scanner cost ~40% of parsing a 200-byte chunk (issue 14).
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_SNIPPET_CHARS = 200


def wrong_type(where: str, value: Any, expected: str) -> StreamError:
    """The error for ``where`` holding ``value`` where ``expected`` was due."""
    return StreamError(f"{where} is {json_kind(value)}, expected {expected}")


def decode_json(text: str, what: str) -> Any:
    """Parse ``text`` as JSON, or raise ``StreamError`` quoting the start of it."""
    try:
        try:
            value, end = _scan(text, 0)
        except StopIteration:  # bad JSON, or leading whitespace: decode() decides below
            end = -1
        if end == len(text):  # the whole text was one value: what decode() returns
            return value
        return _decode(text)  # whitespace around it, extra data, or an error to report
    except RecursionError:
        raise StreamError(f"{what} is nested too deeply to parse: {text[:_SNIPPET_CHARS]!r}") from None
    except ValueError:
        raise StreamError(f"{what} is not valid JSON: {text[:_SNIPPET_CHARS]!r}") from None


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as an object; anything else raises."""
    # ``type is dict`` first: parsed JSON objects are dicts, and an isinstance check
    # against typing's Mapping costs microseconds on this per-reply path.
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise wrong_type(where, value, "an object")


def optional_mapping(value: Any, where: str) -> Optional[Mapping[str, Any]]:
    """``value`` as an object, or None for null/missing."""
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value
    raise wrong_type(where, value, "an object")


def optional_list(value: Any, where: str) -> Optional[list[Any]]:
    """``value`` as an array, or None for null/missing."""
    if value is None or type(value) is list:
        return value
    raise wrong_type(where, value, "an array")


def optional_str(value: Any, where: str) -> Optional[str]:
    """``value`` as a string, or None for null/missing."""
    if value is None or type(value) is str:
        return value
    raise wrong_type(where, value, "a string")


def optional_index(value: Any, where: str) -> Optional[int]:
    """``value`` as a non-negative whole number, or None for null/missing."""
    if value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    raise wrong_type(where, value, "a non-negative whole number")


def count(value: Any) -> Optional[int]:
    """A count: a whole number, not negative (an integral float too); anything else is unknown."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is float and value.is_integer() and value >= 0:
        return int(value)
    return None
