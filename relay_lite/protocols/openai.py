"""OpenAI chat completions (also OpenRouter, vLLM, llama.cpp, Ollama, Groq, ...). Sans-I/O.

Wire facts: ``POST {base}/chat/completions`` with ``Authorization: Bearer KEY``. Streams
are SSE ``data:`` lines of ``chat.completion.chunk`` JSON ending with ``data: [DONE]``;
usage arrives (with ``stream_options.include_usage``) in a last chunk whose ``choices`` is
empty. Tool-call fragments are keyed by ``index``. An ``{"error": ...}`` payload can
arrive inside a 200 stream.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from .._errors import ConfigError, StreamError, api_error
from .._models import (
    ChatParams,
    ChatResponse,
    ImagePart,
    Message,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from .._sse import ServerSentEvent
from ._common import Accumulator, HTTPCall, merge_extra_body, normalise_finish_reason

CHAT_PATH = "/chat/completions"
# json.loads minus its argument checks: one call per stream chunk.
_decode = json.JSONDecoder().decode
# Header carrying the caller's own request id, echoed back by OpenAI.
REQUEST_ID_HEADER = "X-Client-Request-Id"
STREAM_TERMINATOR = "[DONE]"


def auth_headers(api_key: Optional[str]) -> dict[str, str]:
    """``Authorization: Bearer KEY``, or nothing for keyless local servers."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _content(message: Message) -> Any:
    if isinstance(message.content, str):
        return message.content
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            url = part.url if part.url is not None else f"data:{part.media_type};base64,{part.data}"
            image: dict[str, Any] = {"url": url}
            if part.detail:
                image["detail"] = part.detail
            parts.append({"type": "image_url", "image_url": image})
        else:
            parts.append({"type": "text", "text": part.text})
    return parts


def _tool_call_json(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments_text
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def message_to_wire(message: Message) -> dict[str, Any]:
    """One neutral message in OpenAI's shape."""
    wire: dict[str, Any] = {"role": message.role, "content": _content(message)}
    if message.tool_calls:
        wire["tool_calls"] = [_tool_call_json(c) for c in message.tool_calls]
        if not message.content:
            wire["content"] = None
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        wire["name"] = message.name
    return wire


def tool_choice_to_wire(choice: Any) -> Any:
    """auto / none / required (alias any) / a tool name / a dict passed through."""
    if choice is None or isinstance(choice, Mapping):
        return choice
    if choice in ("auto", "none", "required"):
        return choice
    if choice == "any":
        return "required"
    return {"type": "function", "function": {"name": choice}}


def build_request(params: ChatParams, *, stream: bool, provider: str = "compatible") -> HTTPCall:
    """The HTTP call for ``params``.

    OpenAI itself takes ``max_completion_tokens`` (its ``max_tokens`` is deprecated and
    refused by reasoning models); other compatible servers take ``max_tokens``.
    """
    max_tokens_field = "max_completion_tokens" if provider == "openai" else "max_tokens"
    if provider == "openai" and params.metadata and not params.extra_body.get("store"):
        # OpenAI answers 400 for metadata without stored completions; storing is the
        # caller's decision, so say so before sending rather than switch it on.
        raise ConfigError(
            'OpenAI accepts metadata only with stored completions: add extra_body({"store": True})'
        )
    body: dict[str, Any] = {"model": params.model, "messages": [message_to_wire(m) for m in params.messages]}
    optional = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        max_tokens_field: params.max_tokens,
        "seed": params.seed,
        "response_format": params.response_format,
        "metadata": params.metadata,
        "tool_choice": tool_choice_to_wire(params.tool_choice),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if params.stop:
        body["stop"] = list(params.stop)
    if params.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in params.tools
        ]
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    merge_extra_body(body, params.extra_body)
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    return HTTPCall("POST", CHAT_PATH, body, headers)


def parse_usage(usage: Optional[Mapping[str, Any]]) -> Usage:
    """OpenAI usage (prompt/completion/total and their details) in neutral form."""
    if not usage:
        return Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        cached_input_tokens=prompt_details.get("cached_tokens"),
        reasoning_tokens=completion_details.get("reasoning_tokens"),
    )


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A ``chat.completion`` object as a ``ChatResponse``."""
    if not isinstance(payload, Mapping):
        raise StreamError(
            f"expected a chat.completion object, got {type(payload).__name__}", attempts=attempts
        )
    if "error" in payload and "choices" not in payload:
        raise api_error(None, payload, {"x-request-id": request_id or ""}, attempts=attempts)
    choices = payload.get("choices") or []
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    calls = tuple(
        ToolCall.from_json(
            c.get("id", ""), c["function"].get("name", ""), c["function"].get("arguments") or ""
        )
        for c in message.get("tool_calls") or ()
        if c.get("function")
    )
    raw_reason = choice.get("finish_reason")
    return ChatResponse(
        text=message.get("content") or "",
        tool_calls=calls,
        finish_reason=normalise_finish_reason(raw_reason),
        raw_finish_reason=raw_reason,
        model=payload.get("model"),
        id=payload.get("id"),
        usage=parse_usage(payload.get("usage")),
        request_id=request_id,
        refusal=message.get("refusal"),
        raw=payload,
        attempts=attempts,
    )


class StreamParser:
    """Turns SSE events of a chat-completions stream into neutral events; accumulates."""

    terminated_by_done = True

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        # wire index -> (our slot, the call id seen there); see _slot
        self._slots: dict[object, tuple[int, Optional[str]]] = {}
        self._slot_count = 0
        self._last_slot = 0

    def _slot(self, index: Any, call_id: Optional[str]) -> int:
        """Our tool-call position for a fragment.

        OpenAI numbers parallel calls by ``index``, but some compatible servers give every
        call index 0 (Ollama) or no index at all: a new call id at a known index, or an
        id with no index, opens a new slot; an id-less fragment continues its index's slot.
        """
        known = self._slots.get(index) if index is not None else None
        if known is not None and (not call_id or known[1] in (None, call_id)):
            slot = known[0]
            if call_id and known[1] is None:
                self._slots[index] = (slot, call_id)
        elif index is None and not call_id:
            slot = self._last_slot
        else:
            slot = self._slot_count
            self._slot_count += 1
            if index is not None:
                self._slots[index] = (slot, call_id)
        self._last_slot = slot
        return slot

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Parse one SSE event; raise the mapped ``APIError`` for an in-stream error."""
        data = event.data
        if data == STREAM_TERMINATOR:
            self.finished = True
            return []
        if self.finished:
            raise StreamError(f"data after [DONE]: {data[:200]!r}")
        try:
            chunk = _decode(data)
        except ValueError:
            raise StreamError(f"stream chunk is not valid JSON: {data[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise StreamError(f"stream chunk is not a JSON object: {data[:200]!r}")
        if chunk.get("error"):
            raise api_error(None, chunk)
        acc = self.acc
        if acc.id is None:
            acc.id = chunk.get("id")
            acc.model = chunk.get("model")
        events: list[StreamEvent] = []
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    acc.text_parts.append(content)
                    events.append(TextDelta(content))
                    if len(delta) == 1:  # the common chunk: text and nothing else
                        delta = None
            if delta:
                refusal = delta.get("refusal")
                if refusal:
                    acc.refusal_parts.append(refusal)
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") or {}
                    fragment = ToolCallDelta(
                        index=self._slot(call.get("index"), call.get("id")),
                        id=call.get("id"),
                        name=function.get("name"),
                        arguments_delta=function.get("arguments") or "",
                    )
                    acc.tool_call(fragment.index, fragment.id, fragment.name, fragment.arguments_delta)
                    events.append(fragment)
            reason = choice.get("finish_reason")
            if reason:
                acc.raw_finish_reason = reason
        usage = chunk.get("usage")
        if usage:
            acc.usage = parse_usage(usage)
            events.append(UsageEvent(acc.usage))
        return events
