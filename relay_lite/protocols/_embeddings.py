"""OpenAI-compatible embeddings on the wire (``POST /embeddings``). Sans-I/O.

Wire facts (OpenAI's API reference; openai-python's ``embeddings.create``): the body is
``{"model", "input": [str, ...], "encoding_format": "float" | "base64", "dimensions"?}``;
OpenAI takes at most 2048 inputs per request. The reply is ``{"object": "list", "data":
[{"object": "embedding", "index": i, "embedding": ...}], "model", "usage":
{"prompt_tokens", "total_tokens"}}``. With ``encoding_format: "base64"`` each
``embedding`` is the base64 of the vector's float32 values, little-endian -- about a
quarter of the bytes of the decimal list. Servers that ignore ``encoding_format``
(Ollama, llama.cpp) send the list of numbers anyway, so both shapes are read.

Rules: vectors come back in input order (sorted by ``index``; the position stands in for
a missing index); the reply must hold exactly one vector per input, each index once, none
empty, all of one length (the ``dimensions`` asked for, if any). A usage count that is not
a whole number is read as unknown, as chat's are, and so is a negative one. Anything else raises
``ResponseError`` naming the field by its JSON path, as ``_fields`` does for chat.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from typing import Any, Mapping, Optional, Sequence

from .._errors import StreamError, unreadable_reply
from .._models import Usage
from .._resources import Embeddings
from ._common import HTTPCall
from ._fields import count, json_kind, mapping, optional_index, optional_list, optional_str, wrong_type

__all__ = [
    "EMBEDDINGS_PATH",
    "OPENAI_EMBEDDING_BATCH_LIMIT",
    "decode_float32",
    "embeddings_request",
    "is_error_envelope",
    "parse_embeddings",
    "parse_usage",
]

EMBEDDINGS_PATH = "/embeddings"
#: The most inputs OpenAI accepts in one embeddings request.
OPENAI_EMBEDDING_BATCH_LIMIT = 2048
_FLOAT32_BYTES = 4


def embeddings_request(model: str, inputs: Sequence[str], *, dimensions: Optional[int]) -> HTTPCall:
    """The call embedding ``inputs`` with ``model``, asking for base64 vectors."""
    body: dict[str, Any] = {"model": model, "input": list(inputs), "encoding_format": "base64"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return HTTPCall("POST", EMBEDDINGS_PATH, body, {"Accept": "application/json"})


def decode_float32(text: str, where: str, *, host_byteorder: str = sys.byteorder) -> list[float]:
    """The float32 values whose little-endian bytes ``text`` holds in base64.

    ``host_byteorder`` is the machine's (a parameter so the big-endian branch is tested).
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise StreamError(f"{where} is not valid base64") from None
    if len(raw) % _FLOAT32_BYTES:
        raise StreamError(f"{where} decodes to {len(raw)} bytes, not a whole number of float32 values")
    values = array("f")
    if values.itemsize != _FLOAT32_BYTES:  # no mainstream platform, but then struct is exact
        import struct

        return list(struct.unpack(f"<{len(raw) // _FLOAT32_BYTES}f", raw))
    values.frombytes(raw)
    if host_byteorder != "little":
        values.byteswap()  # the wire is little-endian whatever the host
    return values.tolist()


def _number_list(value: list[Any], where: str) -> list[float]:
    for item in value:  # the common case, all floats: the parsed list is the vector
        if type(item) is not float:
            break
    else:
        return value
    out: list[float] = []
    for i, item in enumerate(value):
        kind = type(item)
        if kind is float:
            out.append(item)
        elif kind is int:
            out.append(float(item))
        else:
            raise wrong_type(f"{where}[{i}]", item, "a number")
    return out


def _vector(value: Any, where: str) -> list[float]:
    if type(value) is str:
        vector = decode_float32(value, where)
    elif type(value) is list:
        vector = _number_list(value, where)
    else:
        raise wrong_type(where, value, "a base64 string or an array of numbers")
    if not vector:  # no model embeds into zero dimensions: the server lost the vector
        raise StreamError(f"{where} is empty")
    return vector


def _ordered_vectors(data: list[Any], expected: int) -> list[list[float]]:
    if len(data) != expected:
        raise StreamError(f"data holds {len(data)} embeddings for {expected} inputs")
    slots: list[Optional[list[float]]] = [None] * expected
    for position, item in enumerate(data):
        where = f"data[{position}]"
        item = mapping(item, where)
        index = optional_index(item.get("index"), f"{where}.index")
        if index is None:
            index = position
        if index >= expected:
            raise StreamError(f"{where}.index is {index}, but there are only {expected} inputs")
        if slots[index] is not None:
            raise StreamError(f"{where}.index {index} appears twice")
        slots[index] = _vector(item.get("embedding"), f"{where}.embedding")
    return [vector for vector in slots if vector is not None]


def _check_lengths(vectors: list[list[float]], dimensions: Optional[int]) -> None:
    if not vectors:
        return
    want = dimensions if dimensions is not None else len(vectors[0])
    for index, vector in enumerate(vectors):
        if len(vector) != want:
            asked = f"input 0 has {want}" if dimensions is None else f"dimensions={dimensions} was asked for"
            raise StreamError(f"the embedding of input {index} has {len(vector)} values, but {asked}")


def parse_usage(value: Any) -> Usage:
    """Embeddings usage: ``prompt_tokens`` (the input) and ``total_tokens``; a count that
    is not a whole number (as for chat) or is negative is read as unknown (None)."""
    usage: Optional[Mapping[str, Any]] = value if isinstance(value, Mapping) else None
    if usage is None:
        if value is not None:
            raise wrong_type("usage", value, "an object")
        return Usage()
    return Usage(
        input_tokens=count(usage.get("prompt_tokens")),
        total_tokens=count(usage.get("total_tokens")),
    )


def parse_embeddings(
    payload: Any,
    expected: int,
    *,
    dimensions: Optional[int] = None,
    request_id: Optional[str] = None,
    attempts: int = 1,
) -> Embeddings:
    """An embeddings reply for ``expected`` inputs, its vectors in input order.

    Raises ``ResponseError`` naming the field for any shape it cannot trust.
    """
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected an embeddings list object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    try:
        data = optional_list(payload.get("data"), "data")
        if data is None:
            raise StreamError("the reply has no data array of embeddings")
        vectors = _ordered_vectors(data, expected)
        _check_lengths(vectors, dimensions)
        model = optional_str(payload.get("model"), "model")
        usage = parse_usage(payload.get("usage"))
    except StreamError as exc:
        # The field checks raise StreamError; a whole body that fails them is a bad reply.
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None
    return Embeddings(tuple(vectors), model, usage, 1)


def is_error_envelope(payload: Any) -> bool:
    """Whether a 200 body is an ``{"error": ...}`` object rather than embeddings."""
    return isinstance(payload, Mapping) and "error" in payload and "data" not in payload
