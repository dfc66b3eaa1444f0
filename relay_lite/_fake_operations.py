"""FakeServer routes for the operations beside chat: embeddings, model lists, token counts.

Registered through ``_fake_routes`` (imported on the first route lookup):

- ``openai``: ``POST /embeddings`` and ``GET /models`` (also under ``/v1``: clients point
  at ``server.url`` or ``server.url + "/v1"``). Embeddings are deterministic:
  ``fake_embedding(text, dimensions)``, ``dimensions`` defaulting to
  ``FAKE_EMBEDDING_DIMENSIONS``; every value is a multiple of 1/128, exact in float32,
  so the base64 and the float encodings decode to the same numbers. As OpenAI does, it
  answers 400 for more than 2048 inputs, an empty string, or more than 300,000 tokens
  summed over the inputs (its tokens are words).
- ``anthropic``: ``GET /v1/models`` in cursor pages (``limit``, ``after_id``; ``has_more``,
  ``first_id``, ``last_id``) over ``FAKE_ANTHROPIC_MODELS``, and ``POST
  /v1/messages/count_tokens``, which refuses fields the real endpoint refuses and counts
  ``fake_token_count(body)``.

A queued ``Reply`` still answers first, as for chat. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._fake_routes import register_route
from ._fake_wire import RecordedRequest, Reply

__all__ = [
    "FAKE_ANTHROPIC_MODELS",
    "FAKE_EMBEDDING_DIMENSIONS",
    "FAKE_OPENAI_MODELS",
    "fake_embedding",
    "fake_token_count",
]

FAKE_EMBEDDING_DIMENSIONS = 8
_OPENAI_BATCH_LIMIT = 2048
_OPENAI_REQUEST_TOKEN_LIMIT = 300_000

#: What the fake's ``GET /models`` lists (OpenAI's shape).
FAKE_OPENAI_MODELS: tuple[dict[str, Any], ...] = (
    {"id": "fake-model", "object": "model", "created": 1700000000, "owned_by": "relay-lite"},
    {"id": "fake-embedding", "object": "model", "created": 1700000100, "owned_by": "relay-lite"},
)

#: What the fake's ``GET /v1/models`` lists, newest first (Anthropic's shape and order).
FAKE_ANTHROPIC_MODELS: tuple[dict[str, Any], ...] = tuple(
    {
        "type": "model",
        "id": f"claude-fake-{n}",
        "display_name": f"Claude Fake {n}",
        "created_at": f"2025-0{n}-01T00:00:00Z",
    }
    for n in (5, 4, 3, 2, 1)
)

# Fields of a Messages body that the count-tokens endpoint accepts.
_COUNT_TOKENS_FIELDS = {"model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control"}


def fake_embedding(text: str, dimensions: int = FAKE_EMBEDDING_DIMENSIONS) -> list[float]:
    """The fake's vector for ``text``: bytes of SHA-256 chains as multiples of 1/128 in [-1, 1)."""
    values: list[float] = []
    seed = text.encode("utf-8")
    while len(values) < dimensions:
        seed = hashlib.sha256(seed).digest()
        values.extend((byte - 128) / 128 for byte in seed)
    return values[:dimensions]


def _openai_error(message: str, param: str) -> Reply:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    return Reply.json({"error": error}, status=400)


def _embeddings(item: Any, request: RecordedRequest) -> Reply:
    body = request.json()
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        return _openai_error("'input' must be a string or an array of strings", "input")
    if len(inputs) > _OPENAI_BATCH_LIMIT:
        return _openai_error(f"'$.input' is invalid: at most {_OPENAI_BATCH_LIMIT} inputs", "input")
    if any(text == "" for text in inputs):
        return _openai_error("'$.input' is invalid: an input is an empty string", "input")
    words = sum(len(text.split()) for text in inputs)
    if words > _OPENAI_REQUEST_TOKEN_LIMIT:
        # OpenAI's reply to such a request (quoted in many bug reports, e.g. spiceai#6142):
        # type and code "max_tokens_per_request", param null.
        message = f"Requested {words} tokens, max {_OPENAI_REQUEST_TOKEN_LIMIT} tokens per request"
        error = {
            "message": message,
            "type": "max_tokens_per_request",
            "param": None,
            "code": "max_tokens_per_request",
        }
        return Reply.json({"error": error}, status=400)
    dimensions = body.get("dimensions", FAKE_EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or dimensions < 1:
        return _openai_error("'dimensions' must be a positive integer", "dimensions")
    as_base64 = body.get("encoding_format", "float") == "base64"
    data = []
    for index, text in enumerate(inputs):
        vector = fake_embedding(text, dimensions)
        packed = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": packed if as_base64 else vector})
    return Reply.json(
        {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": words, "total_tokens": words},
        }
    )


def _openai_models(item: Any, request: RecordedRequest) -> Reply:
    return Reply.json({"object": "list", "data": list(FAKE_OPENAI_MODELS)})


def _anthropic_error(message: str) -> Reply:
    return Reply.json(
        {"type": "error", "error": {"type": "invalid_request_error", "message": message}}, status=400
    )


def _anthropic_models(item: Any, request: RecordedRequest) -> Reply:
    query = parse_qs(urlsplit(request.path).query)
    try:
        limit = int(query.get("limit", ["20"])[0])
    except ValueError:
        return _anthropic_error("limit: Input should be a valid integer")
    if not 1 <= limit <= 1000:
        return _anthropic_error("limit: Input should be between 1 and 1000")
    ids = [model["id"] for model in FAKE_ANTHROPIC_MODELS]
    start = 0
    if "after_id" in query:
        after = query["after_id"][0]
        if after not in ids:
            return _anthropic_error(f"after_id: no model {after!r}")
        start = ids.index(after) + 1
    page = list(FAKE_ANTHROPIC_MODELS[start : start + limit])
    return Reply.json(
        {
            "data": page,
            "has_more": start + limit < len(ids),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
    )


def _words(value: Any) -> int:
    """Words in the text of a system prompt, content or block list (JSON strings only)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(item) for item in value)
    if isinstance(value, dict):
        return sum(_words(item) for key, item in value.items() if key in ("text", "content", "system"))
    return 0


def fake_token_count(body: dict[str, Any]) -> int:
    """The fake's count: words of the system prompt and message texts, plus 3 per message
    and 50 per tool (a stand-in for the framing a real tokenizer counts)."""
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    return _words(body.get("system")) + sum(3 + _words(m) for m in messages) + 50 * len(tools)


def _count_tokens(item: Any, request: RecordedRequest) -> Reply:
    body = request.json()
    extra = sorted(set(body) - _COUNT_TOKENS_FIELDS)
    if extra:  # the real endpoint refuses what a Messages body has beyond the prompt
        return _anthropic_error(f"{extra[0]}: Extra inputs are not permitted")
    if not body.get("model") or not body.get("messages"):
        return _anthropic_error("model and messages: Field required")
    return Reply.json({"input_tokens": fake_token_count(body)})


register_route("openai", "POST", r"(?:/v1)?/embeddings", _embeddings)
register_route("openai", "GET", r"(?:/v1)?/models", _openai_models)
register_route("anthropic", "GET", r"/v1/models", _anthropic_models)
register_route("anthropic", "POST", r"/v1/messages/count_tokens", _count_tokens)
