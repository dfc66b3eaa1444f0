"""Anthropic token counting on the wire (``POST /v1/messages/count_tokens``). Sans-I/O.

Wire facts (Anthropic's API reference "Count tokens in a Message"; anthropic-sdk-python
``MessageCountTokensParams``): the body is a Messages request limited to what makes up the
prompt -- ``model`` and ``messages`` (required), ``system``, ``tools``, ``tool_choice``,
``thinking``, and the newer ``cache_control`` and ``output_config``. It has no
``max_tokens``, ``stream``, ``metadata``, ``stop_sequences`` or sampling fields, and the
API refuses fields it does not know, so the chat body is built as for ``send()`` and
only those fields are kept. The reply is ``{"input_tokens": N}``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._errors import unreadable_reply
from ._common import HTTPCall
from ._fields import json_kind, wrong_type

__all__ = ["COUNT_TOKENS_PATH", "COUNT_TOKENS_FIELDS", "count_tokens_request", "parse_token_count"]

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
#: The body fields the endpoint accepts; the rest of a Messages body is left out.
COUNT_TOKENS_FIELDS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control", "output_config"}
)


def count_tokens_request(message_call: HTTPCall) -> HTTPCall:
    """The count-tokens call for the prompt of ``message_call`` (a Messages request)."""
    body = {key: value for key, value in message_call.body.items() if key in COUNT_TOKENS_FIELDS}
    return HTTPCall("POST", COUNT_TOKENS_PATH, body, {"Accept": "application/json"})


def parse_token_count(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> int:
    """``input_tokens`` of a count-tokens reply; anything but a whole number raises."""
    if not isinstance(payload, Mapping):
        message = f"expected a token count object, got {json_kind(payload)}"
    else:
        value = payload.get("input_tokens")
        if type(value) is int and value >= 0:
            return value
        message = wrong_type("input_tokens", value, "a non-negative whole number").message
    raise unreadable_reply(message, payload, request_id=request_id, attempts=attempts)
