"""Model lists on the wire: OpenAI-compatible ``GET /models``, Anthropic ``GET /v1/models``. Sans-I/O.

Wire facts:

- OpenAI (API reference "List models"; openai-python ``models.list``): one page,
  ``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``,
  ``created`` in Unix seconds. Compatible servers (Ollama, vLLM, llama.cpp, OpenRouter)
  send the same ``data`` array, some with more fields per model (kept in ``raw``);
  Together AI sends the array bare, without the ``{"data": ...}`` around it, and a
  ``display_name`` per model; OpenRouter names each model for people in ``name``.
- Anthropic (API reference "List Models"; anthropic-sdk-python ``models.list``): cursor
  pages, ``GET /v1/models?limit=N&after_id=ID`` answering ``{"data": [{"type": "model",
  "id", "display_name", "created_at"}], "has_more", "first_id", "last_id"}``; the next
  page starts after ``last_id``. ``limit`` is 1 to 1000 (default 20). ``created_at`` is
  an RFC 3339 date-time.

Each parser returns the page's models and the cursor of the next page (None on the last);
a field of the wrong type raises ``ResponseError`` naming its JSON path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

from .._errors import StreamError, unreadable_reply
from .._resources import ModelInfo
from ._common import HTTPCall
from ._fields import json_kind, mapping, optional_list, optional_str, wrong_type

__all__ = [
    "ANTHROPIC_MODELS_PAGE_LIMIT",
    "anthropic_models_request",
    "openai_models_request",
    "parse_anthropic_models",
    "parse_openai_models",
]

OPENAI_MODELS_PATH = "/models"
ANTHROPIC_MODELS_PATH = "/v1/models"
#: Anthropic's largest page: fewer round trips for the whole list.
ANTHROPIC_MODELS_PAGE_LIMIT = 1000

ModelPage = tuple[list[ModelInfo], Optional[str]]


def openai_models_request() -> HTTPCall:
    """``GET /models`` (one page: the whole list)."""
    return HTTPCall("GET", OPENAI_MODELS_PATH, None, {"Accept": "application/json"})


def anthropic_models_request(after: Optional[str], limit: Optional[int]) -> HTTPCall:
    """``GET /v1/models`` for the page after ``after`` (the first page when None)."""
    query: dict[str, Any] = {"limit": limit if limit is not None else ANTHROPIC_MODELS_PAGE_LIMIT}
    if after is not None:
        query["after_id"] = after
    return HTTPCall(
        "GET", f"{ANTHROPIC_MODELS_PATH}?{urlencode(query)}", None, {"Accept": "application/json"}
    )


def _created_at(value: Any, where: str) -> Optional[int]:
    """An RFC 3339 date-time as Unix seconds; a string Python cannot read is unknown (None).

    Lenient like token counts: the id is what matters, and ``raw`` keeps the text.
    """
    text = optional_str(value, where)
    if not text:
        return None
    try:  # Python 3.9's fromisoformat reads neither "Z" nor every fraction length
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())


def _unix_seconds(value: Any, where: str) -> Optional[int]:
    if value is None:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise wrong_type(where, value, "a whole number of seconds")


def _models(data: Any, where: str, read: Any) -> list[ModelInfo]:
    items = optional_list(data, where)
    if items is None:
        raise StreamError(f"the reply has no {where} array of models")
    models = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        item = mapping(item, at)
        model_id = optional_str(item.get("id"), f"{at}.id")
        if not model_id:
            raise StreamError(f"{at}.id is missing")
        models.append(read(model_id, item, at))
    return models


def _openai_model(model_id: str, item: Mapping[str, Any], at: str) -> ModelInfo:
    return ModelInfo(
        model_id,
        created=_unix_seconds(item.get("created"), f"{at}.created"),
        owned_by=optional_str(item.get("owned_by"), f"{at}.owned_by"),
        display_name=(
            optional_str(item.get("display_name"), f"{at}.display_name")
            or optional_str(item.get("name"), f"{at}.name")
        ),
        raw=item,
    )


def _anthropic_model(model_id: str, item: Mapping[str, Any], at: str) -> ModelInfo:
    return ModelInfo(
        model_id,
        created=_created_at(item.get("created_at"), f"{at}.created_at"),
        display_name=optional_str(item.get("display_name"), f"{at}.display_name"),
        raw=item,
    )


def _reply(payload: Any, request_id: Optional[str], attempts: int) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a list of models, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    return payload


def parse_openai_models(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ModelPage:
    """The models of an OpenAI-style list (or a bare array of them); there is no next page."""
    try:
        if type(payload) is list:  # Together AI's shape
            return _models(payload, "$", _openai_model), None
        reply = _reply(payload, request_id, attempts)
        return _models(reply.get("data"), "data", _openai_model), None
    except StreamError as exc:
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None


def parse_anthropic_models(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ModelPage:
    """The models of one Anthropic page and the cursor of the next (None on the last page)."""
    reply = _reply(payload, request_id, attempts)
    try:
        models = _models(reply.get("data"), "data", _anthropic_model)
        has_more = reply.get("has_more", False)
        if type(has_more) is not bool:
            raise wrong_type("has_more", has_more, "true or false")
        if not has_more:
            return models, None
        last_id = optional_str(reply.get("last_id"), "last_id")
        if not last_id:
            raise StreamError("has_more is true but last_id is missing: the next page cannot be asked for")
        return models, last_id
    except StreamError as exc:
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None
