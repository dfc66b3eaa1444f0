"""ConverseStream events onto neutral stream events, and the usage and stop-reason readers
that whole Converse replies share.

Theory of operation: each event-stream message (``relay_lite._eventstream``) is an event
(``:message-type`` ``event``, ``:event-type`` naming it, a JSON payload with a ``p``
padding field Bedrock adds against traffic analysis) or an exception (``:message-type``
``exception``, ``:exception-type`` naming it). The events form the grammar ::

    messageStart (contentBlockStart? contentBlockDelta* contentBlockStop)* messageStop metadata

Only tool-use blocks have a ``contentBlockStart``; text and reasoning blocks begin with
their first delta. ``metadata`` (usage, ``metrics.latencyMs``) is the terminator. An
exception message raises the matching ``APIError`` (the pump attaches the partial
reply); anything out of grammar raises ``StreamError``, never a bare ``KeyError``; event
types newer than this code are ignored. Fragments go to the shared ``Accumulator``, so a
stream is parsed in time linear in its size.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .._errors import APIError, StreamError, scalar_text
from .._eventstream import EventStreamMessage
from .._models import (
    ChatResponse,
    StreamEvent,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ._bedrock_errors import map_error
from ._common import Accumulator, normalise_finish_reason
from ._fields import count, decode_json, mapping, optional_mapping, optional_str, wrong_type

__all__ = ["STOP_REASONS", "StreamParser", "finish_reason", "parse_usage"]

# Bedrock's stop reasons on the neutral five; others (malformed_model_output, ...) pass through.
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(raw: Optional[str]) -> Optional[str]:
    """A Bedrock ``stopReason`` on the neutral scale (unknown values pass through)."""
    if raw is None:
        return None
    return STOP_REASONS.get(raw) or normalise_finish_reason(raw)


def parse_usage(usage: Any, where: str = "usage") -> Usage:
    """Converse ``TokenUsage`` in neutral form (cache reads and writes where present)."""
    usage = optional_mapping(usage, where)
    if not usage:
        return Usage()
    input_tokens = count(usage.get("inputTokens"))
    output_tokens = count(usage.get("outputTokens"))
    total = count(usage.get("totalTokens"))
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
        cached_input_tokens=count(usage.get("cacheReadInputTokens")),
        cache_creation_input_tokens=count(usage.get("cacheWriteInputTokens")),
    )


class _Block:
    """One content block of a stream, from its first event to its stop."""

    __slots__ = ("kind", "tool_index", "id", "name", "announced", "stopped", "thinking", "signature")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "toolUse", "text", "reasoningContent"
        self.tool_index = -1
        self.id = ""
        self.name = ""
        self.announced = False  # a ToolCallDelta with id and name has been emitted
        self.stopped = False
        self.thinking: list[str] = []
        self.signature: list[str] = []


class StreamParser:
    """Turns the event-stream messages of a ConverseStream into neutral events; accumulates.

    ``metadata`` is the last event (``finished``); the reply's ``raw`` is ``{"stopReason",
    "usage", "metrics", ...}`` as the stream gave them (``raw["metrics"]["latencyMs"]``).
    """

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        self._started = False
        self._stopped = False
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        self._raw: dict[str, Any] = {}

    def partial(self) -> ChatResponse:
        """The reply accumulated so far (the stream pump stamps the HTTP facts on it)."""
        reply = self.acc.response(raw=dict(self._raw) if self._raw else None)
        # The shared accumulator knows no Bedrock-only reasons (guardrail_intervened, ...):
        # map the raw reason as whole replies do, so both agree; the raw value stays as is.
        return reply.replace(finish_reason=finish_reason(reply.raw_finish_reason))

    def feed(self, message: EventStreamMessage) -> list[StreamEvent]:
        """Parse one message; raise the mapped ``APIError`` for an exception message."""
        kind = message.message_type
        if kind == "exception":
            raise _stream_exception(message)
        if kind == "error":  # a protocol-level error: codes in headers, no payload
            code = scalar_text(message.headers.get(":error-code")) or "error"
            text = scalar_text(message.headers.get(":error-message")) or ""
            raise map_error(None, {"message": text}, error_type=code)
        if kind != "event":
            raise StreamError(f"event-stream message of unknown :message-type {kind!r}")
        event_type = message.event_type or ""
        handler = _HANDLERS.get(event_type)
        if handler is None:  # event types newer than this code
            return []
        if self.finished:
            raise StreamError(f"{event_type} event after metadata")
        payload = decode_json(message.payload.decode("utf-8", "replace"), f"{event_type} event")
        if not isinstance(payload, dict):
            raise wrong_type(f"{event_type} event", payload, "an object")
        if event_type != "messageStart" and not self._started:
            raise StreamError(f"{event_type} event before messageStart")
        return handler(self, payload)

    # -- message events -----------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            raise StreamError("a second messageStart event")
        self._started = True
        return []

    def _message_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if self._stopped:
            raise StreamError("a second messageStop event")
        self._stopped = True
        reason = optional_str(payload.get("stopReason"), "messageStop.stopReason")
        self.acc.raw_finish_reason = reason
        self._raw["stopReason"] = reason
        extra = payload.get("additionalModelResponseFields")
        if extra is not None:
            self._raw["additionalModelResponseFields"] = extra
        return []

    def _metadata(self, payload: dict[str, Any]) -> list[StreamEvent]:
        self.finished = True
        for key, value in payload.items():
            if key != "p":  # Bedrock's padding
                self._raw[key] = value
        usage = optional_mapping(payload.get("usage"), "metadata.usage")
        optional_mapping(payload.get("metrics"), "metadata.metrics")
        if not usage:
            return []
        self.acc.usage = parse_usage(usage, "metadata.usage")
        return [UsageEvent(self.acc.usage)]

    # -- content block events -----------------------------------------------------------

    def _content_block_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _index(payload, "contentBlockStart")
        if index in self._blocks:
            raise StreamError(f"contentBlockStart for block {index}, which was already started")
        start = mapping(payload.get("start"), "contentBlockStart.start")
        tool_use = optional_mapping(start.get("toolUse"), "contentBlockStart.start.toolUse")
        if tool_use is None:  # starts of other kinds (tool results, images) carry nothing we read
            self._blocks[index] = _Block("other")
            return []
        block = self._blocks[index] = _Block("toolUse")
        block.tool_index = self._tool_count
        self._tool_count += 1
        block.id = optional_str(tool_use.get("toolUseId"), "contentBlockStart.start.toolUse.toolUseId") or ""
        block.name = optional_str(tool_use.get("name"), "contentBlockStart.start.toolUse.name") or ""
        self.acc.tool_call(block.tool_index, block.id, block.name, "")
        return []

    def _content_block_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _index(payload, "contentBlockDelta")
        delta = mapping(payload.get("delta"), "contentBlockDelta.delta")
        block = self._blocks.get(index)
        if block is not None and block.stopped:
            raise StreamError(f"contentBlockDelta for block {index}, which had already stopped")
        if "text" in delta:
            text = optional_str(delta["text"], "contentBlockDelta.delta.text") or ""
            self._block(index, block, "text")
            self.acc.text_parts.append(text)
            return [TextDelta(text)] if text else []
        if "toolUse" in delta:
            if block is None or block.kind != "toolUse":
                raise StreamError(
                    f"toolUse delta for block {index}, which no toolUse contentBlockStart began"
                )
            tool_delta = mapping(delta["toolUse"], "contentBlockDelta.delta.toolUse")
            fragment = optional_str(tool_delta.get("input"), "contentBlockDelta.delta.toolUse.input") or ""
            self.acc.tool_call(block.tool_index, None, None, fragment)
            if block.announced:
                return [ToolCallDelta(block.tool_index, arguments_delta=fragment)]
            block.announced = True
            return [ToolCallDelta(block.tool_index, block.id, block.name, fragment)]
        if "reasoningContent" in delta:
            reasoning = mapping(delta["reasoningContent"], "contentBlockDelta.delta.reasoningContent")
            block = self._block(index, block, "reasoningContent")
            if "text" in reasoning:
                piece = optional_str(reasoning["text"], "contentBlockDelta.delta.reasoningContent.text") or ""
                block.thinking.append(piece)
                self.acc.thinking_parts.append(piece)
                return [ThinkingDelta(piece)] if piece else []
            if "signature" in reasoning:
                signature = optional_str(
                    reasoning["signature"], "contentBlockDelta.delta.reasoningContent.signature"
                )
                block.signature.append(signature or "")
            elif "redactedContent" in reasoning:
                data = optional_str(
                    reasoning["redactedContent"], "contentBlockDelta.delta.reasoningContent.redactedContent"
                )
                self.acc.thinking_blocks.append(ThinkingBlock(redacted_data=data or ""))
                block.kind = "redacted"
        return []  # citations and other deltas newer than this code

    def _content_block_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _index(payload, "contentBlockStop")
        block = self._blocks.get(index)
        if block is None:  # a text block that got no delta
            block = self._blocks[index] = _Block("text")
        if block.stopped:
            raise StreamError(f"contentBlockStop for block {index}, which had already stopped")
        block.stopped = True
        if block.kind == "reasoningContent":
            self.acc.thinking_blocks.append(ThinkingBlock("".join(block.thinking), "".join(block.signature)))
        if block.kind == "toolUse" and not block.announced:
            block.announced = True  # a call without input fragments: no arguments
            return [ToolCallDelta(block.tool_index, block.id, block.name, "")]
        return []

    def _block(self, index: int, block: Optional[_Block], kind: str) -> _Block:
        """The block at ``index``, begun by this delta if it is the first; kinds must agree."""
        if block is None:
            block = self._blocks[index] = _Block(kind)
        elif block.kind != kind and not (block.kind == "redacted" and kind == "reasoningContent"):
            raise StreamError(f"{kind} delta for block {index}, a {block.kind} block")
        return block


_HANDLERS = {
    "messageStart": StreamParser._message_start,
    "contentBlockStart": StreamParser._content_block_start,
    "contentBlockDelta": StreamParser._content_block_delta,
    "contentBlockStop": StreamParser._content_block_stop,
    "messageStop": StreamParser._message_stop,
    "metadata": StreamParser._metadata,
}


def _index(payload: Mapping[str, Any], where: str) -> int:
    index = payload.get("contentBlockIndex")
    if type(index) is not int or index < 0:
        raise StreamError(f"{where} has no whole-number contentBlockIndex: {index!r}")
    return index


def _stream_exception(message: EventStreamMessage) -> APIError:
    """The ``APIError`` of an exception message (``:exception-type`` names it)."""
    exception_type = message.exception_type or "exception"
    text = message.payload.decode("utf-8", "replace")
    body: Any
    try:
        body = decode_json(text, f"{exception_type} payload") if text.strip() else {}
    except StreamError:
        body = text  # not JSON: its text is the message
    return map_error(None, body, error_type=exception_type)
