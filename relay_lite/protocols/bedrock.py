"""Amazon Bedrock's Converse API (``bedrock-runtime``). Sans-I/O.

Wire facts (the Bedrock Runtime API reference and botocore's ``bedrock-runtime``
service model, version 2023-09-30, protocol rest-json, signing name ``bedrock``):

- ``POST /model/{modelId}/converse`` answers one JSON object; ``POST
  /model/{modelId}/converse-stream`` answers an AWS event stream
  (``application/vnd.amazon.eventstream``, see ``relay_lite._eventstream``). The model id
  (a model id, an inference-profile id or an ARN) is one path segment, percent-encoded
  (``:`` as ``%3A``, ``/`` as ``%2F``); it is not in the body.
- Body: ``messages`` (``role`` user/assistant, strictly alternating; ``content`` is
  always a list of blocks: ``{"text"}``, ``{"image": {"format", "source": {"bytes":
  base64}}}``, ``{"document"}``, ``{"toolUse": {"toolUseId", "name", "input"}}``,
  ``{"toolResult": {"toolUseId", "content": [{"text"} | {"json"}], "status"}}``,
  ``{"reasoningContent": {"reasoningText": {"text", "signature"}}}``, ``{"cachePoint"}``),
  ``system`` (a list of ``{"text"}`` blocks), ``inferenceConfig`` (``maxTokens``,
  ``temperature``, ``topP``, ``stopSequences``), ``toolConfig`` (``tools``: ``{"toolSpec":
  {"name", "description", "inputSchema": {"json"}}}``; ``toolChoice``: ``{"auto": {}}``,
  ``{"any": {}}``, ``{"tool": {"name"}}``), ``additionalModelRequestFields``,
  ``requestMetadata``.
- Reply: ``output.message.content`` (blocks as above), ``stopReason`` (``end_turn``,
  ``tool_use``, ``max_tokens``, ``stop_sequence``, ``guardrail_intervened``,
  ``content_filtered``, ``malformed_model_output``, ``malformed_tool_use``,
  ``model_context_window_exceeded``), ``usage`` (``inputTokens``, ``outputTokens``,
  ``totalTokens``, ``cacheReadInputTokens``, ``cacheWriteInputTokens``), ``metrics``
  (``latencyMs``). No model name and no id: ``ChatResponse.model`` and ``.id`` stay None.
- Errors: the type in the ``x-amzn-ErrorType`` header (``ThrottlingException:http://...``,
  the part before ``:``) or the body's ``__type``, the text in the body's ``message``
  (``Message`` in some services); the request id in ``x-amzn-RequestId``.

Theory of operation for streams: each event-stream message is an event (``:message-type``
``event``, ``:event-type`` naming it, a JSON payload with a ``p`` padding field Bedrock
adds against traffic analysis) or an exception (``:message-type`` ``exception``,
``:exception-type`` naming it). The events form the grammar ::

    messageStart (contentBlockStart? contentBlockDelta* contentBlockStop)* messageStop metadata

Only tool-use blocks have a ``contentBlockStart``; text and reasoning blocks begin with
their first delta. ``metadata`` (usage, ``metrics.latencyMs``) is the terminator. An
exception message raises the matching ``APIError`` (the pump attaches the partial
reply); anything out of grammar raises ``StreamError``; event types newer than this code
are ignored.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, cast
from urllib.parse import quote

from .._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ErrorFacts,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    build_api_error,
    read_error_body,
    scalar_text,
    unreadable_reply,
)
from .._eventstream import EventStreamDecoder, EventStreamMessage
from .._models import (
    ChatParams,
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    StreamEvent,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ._adapter import Adapter, ChatDecoder, ChatStreamParser
from ._common import Accumulator, HTTPCall, merge_extra_body, normalise_finish_reason
from ._fields import count, decode_json, json_kind, mapping, optional_mapping, optional_str, wrong_type

__all__ = [
    "BedrockAdapter",
    "StreamParser",
    "build_request",
    "converse_path",
    "map_error",
    "parse_response",
]

#: Response headers carrying the request id.
RESPONSE_ID_HEADERS = ("x-amzn-requestid",)
EVENT_STREAM_ACCEPT = "application/vnd.amazon.eventstream"

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
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
# What a document name may hold: letters, digits, single spaces, hyphens, parentheses, brackets.
_DOCUMENT_NAME_DROP = re.compile(r"[^A-Za-z0-9 \-()\[\]]+")
_CACHE_POINT = {"cachePoint": {"type": "default"}}


def finish_reason(raw: Optional[str]) -> Optional[str]:
    """A Bedrock ``stopReason`` on the neutral scale (unknown values pass through)."""
    if raw is None:
        return None
    return STOP_REASONS.get(raw) or normalise_finish_reason(raw)


def converse_path(model: str, *, stream: bool) -> str:
    """``/model/{modelId}/converse`` (or ``/converse-stream``), the id one encoded segment."""
    if not model or not model.strip():
        raise ConfigError("Bedrock needs a model id, inference-profile id or ARN")
    return f"/model/{quote(model.strip(), safe='')}/{'converse-stream' if stream else 'converse'}"


# -- requests ---------------------------------------------------------------------------------


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.url is not None:
        if part.url.startswith("s3://"):
            source: dict[str, Any] = {"s3Location": {"uri": part.url}}
            media_type = part.media_type or ""
        elif part.url.startswith("data:") and ";base64," in part.url:
            media_type, data = part.url[5:].split(";base64,", 1)
            source = {"bytes": data}
        else:
            raise ConfigError(
                "Bedrock takes images as bytes (ImagePart(data=...)), a data: URL or an s3:// URL, "
                f"not {part.url.split(':', 1)[0]}: URLs"
            )
    else:
        media_type, source = part.media_type or "", {"bytes": part.data}
    image_format = _IMAGE_FORMATS.get(media_type.lower())
    if image_format is None:
        raise ConfigError(
            f"Bedrock takes png, jpeg, gif or webp images, not {media_type or 'an unknown type'!r}"
        )
    return {"image": {"format": image_format, "source": source}}


def _document_block(part: DocumentPart) -> dict[str, Any]:
    if part.url is not None and part.url.startswith("s3://"):
        source: dict[str, Any] = {"s3Location": {"uri": part.url}}
    elif part.data is not None:
        source = {"bytes": part.data}
    else:
        raise ConfigError("Bedrock takes documents as bytes or an s3:// URL, not a web URL")
    stem = (part.filename or "document").rsplit(".", 1)[0]
    name = " ".join(_DOCUMENT_NAME_DROP.sub(" ", stem).split()) or "document"
    return {"document": {"format": "pdf", "name": name, "source": source}}


def _part_blocks(parts: tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            blocks.append(_image_block(part))
        elif isinstance(part, DocumentPart):
            blocks.append(_document_block(part))
        elif part.text:  # Bedrock refuses blank text blocks
            blocks.append({"text": part.text})
    return blocks


def _thinking_block(block: ThinkingBlock) -> dict[str, Any]:
    if block.redacted_data is not None:
        return {"reasoningContent": {"redactedContent": block.redacted_data}}
    text: dict[str, Any] = {"text": block.thinking}
    if block.signature:
        text["signature"] = block.signature
    return {"reasoningContent": {"reasoningText": text}}


def _tool_result(message: Message) -> dict[str, Any]:
    if not message.tool_call_id:
        raise ConfigError("a tool message needs the tool_call_id of the call it answers")
    if isinstance(message.content, str):
        content = [{"text": message.content}] if message.content else []
    else:
        content = _part_blocks(message.content)
    # An empty result is still a result: Bedrock wants at least one block.
    return {"toolResult": {"toolUseId": message.tool_call_id, "content": content or [{"text": ""}]}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    """``message`` as a list of Converse content blocks (its role already decided)."""
    if message.role == "tool":
        return [_tool_result(message)]
    # Signed reasoning goes first, unchanged, as Claude on Bedrock needs with tool use.
    blocks: list[dict[str, Any]] = [_thinking_block(t) for t in message.thinking]
    if isinstance(message.content, str):
        blocks += [{"text": message.content}] if message.content else []
    else:
        blocks += _part_blocks(message.content)
    for call in message.tool_calls:
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.wire_arguments}})
    return blocks


def messages_to_wire(
    messages: tuple[Message, ...], cache_marks: tuple[int, ...] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``system`` blocks and the ``messages`` list for ``messages``.

    System messages are hoisted; tool results become user turns; consecutive turns of
    one role merge into one (Converse requires user and assistant to alternate). A
    message whose index is in ``cache_marks`` is followed by a ``cachePoint`` block.
    """
    marks = frozenset(cache_marks)
    system: list[dict[str, Any]] = []
    wire: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            if message.text:
                system.append({"text": message.text})
            if index in marks:
                system.append(dict(_CACHE_POINT))
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if index in marks:
            if not blocks:
                raise ConfigError("a message marked with cache() has no content to end a cache point on")
            blocks.append(dict(_CACHE_POINT))
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return system, wire


def tool_choice_to_wire(choice: Any) -> Optional[dict[str, Any]]:
    """auto / any (alias required) / a tool name / a dict passed through."""
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        return dict(choice)
    if choice == "auto":
        return {"auto": {}}
    if choice in ("any", "required"):
        return {"any": {}}
    if choice == "none":
        raise ConfigError("Bedrock Converse has no tool_choice 'none'; send the request without tools")
    return {"tool": {"name": choice}}


def _refuse_unsupported(params: ChatParams) -> None:
    """Settings Converse has no field for raise rather than being dropped silently."""
    unsupported = (
        (params.seed is not None, "seed"),
        (params.response_format is not None, "response_format (use structured() for typed output)"),
        (params.reasoning_effort is not None, "reasoning_effort (use thinking(budget_tokens))"),
        (params.top_logprobs is not None, "logprobs"),
        (params.n is not None and params.n != 1, f"n={params.n}"),
        (params.parallel_tool_calls is not None, "parallel_tool_calls"),
        (params.end_user is not None, "end_user (use metadata())"),
        (params.customer_id is not None, "customer-attributed calls"),
    )
    for refused, what in unsupported:
        if refused:
            raise ConfigError(f"{what} is not supported by the Bedrock Converse API")


def build_request(params: ChatParams, *, stream: bool) -> HTTPCall:
    """The HTTP call for ``params``: Converse, or ConverseStream with ``stream``."""
    _refuse_unsupported(params)
    system, messages = messages_to_wire(params.messages, params.cache_marks)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system
    inference = {
        "maxTokens": params.max_tokens,
        "temperature": params.temperature,
        "topP": params.top_p,
        "stopSequences": list(params.stop) if params.stop else None,
    }
    inference = {k: v for k, v in inference.items() if v is not None}
    if inference:
        body["inferenceConfig"] = inference
    if params.tools:
        tools: list[dict[str, Any]] = []
        for tool in params.tools:
            spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": dict(tool.parameters)}}
            if tool.description:  # a non-empty string or nothing
                spec["description"] = tool.description
            tools.append({"toolSpec": spec})
        if params.cache_tools:
            tools.append(dict(_CACHE_POINT))
        tool_config: dict[str, Any] = {"tools": tools}
        choice = tool_choice_to_wire(params.tool_choice)
        if choice is not None:
            tool_config["toolChoice"] = choice
        body["toolConfig"] = tool_config
    elif params.tool_choice is not None:
        raise ConfigError("tool_choice needs tools: Bedrock sends the choice inside toolConfig")
    if params.thinking_budget is not None:
        # Claude's extended thinking, passed to the model as Bedrock documents it.
        body["additionalModelRequestFields"] = {
            "thinking": {"type": "enabled", "budget_tokens": params.thinking_budget}
        }
    if params.metadata is not None:
        body["requestMetadata"] = dict(params.metadata)
    merge_extra_body(body, params.extra_body)
    headers = {"Accept": EVENT_STREAM_ACCEPT if stream else "application/json"}
    return HTTPCall("POST", converse_path(str(params.model or ""), stream=stream), body, headers)


# -- responses --------------------------------------------------------------------------------


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


def _tool_call(block: Mapping[str, Any], where: str) -> ToolCall:
    return ToolCall.from_value(
        optional_str(block.get("toolUseId"), f"{where}.toolUseId") or "",
        optional_str(block.get("name"), f"{where}.name") or "",
        block.get("input"),
    )


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A Converse reply as a ``ChatResponse``; a field of the wrong type raises ``ResponseError``."""
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a Converse reply object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    try:
        return _parse_reply(payload, request_id, attempts)
    except StreamError as exc:
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None


def _parse_reply(payload: Mapping[str, Any], request_id: Optional[str], attempts: int) -> ChatResponse:
    output = mapping(payload.get("output"), "output")
    message = mapping(output.get("message"), "output.message")
    content = message.get("content")
    if type(content) is not list:
        raise wrong_type("output.message.content", content, "an array of content blocks")
    text: list[str] = []
    thinking: list[str] = []
    thinking_blocks: list[ThinkingBlock] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(content):
        where = f"output.message.content[{i}]"
        block = mapping(block, where)
        if "text" in block:
            text.append(optional_str(block["text"], f"{where}.text") or "")
        elif "toolUse" in block:
            calls.append(_tool_call(mapping(block["toolUse"], f"{where}.toolUse"), f"{where}.toolUse"))
        elif "reasoningContent" in block:
            reasoning = mapping(block["reasoningContent"], f"{where}.reasoningContent")
            if "redactedContent" in reasoning:
                data = optional_str(reasoning["redactedContent"], f"{where}.reasoningContent.redactedContent")
                thinking_blocks.append(ThinkingBlock(redacted_data=data or ""))
            else:
                inner = mapping(reasoning.get("reasoningText"), f"{where}.reasoningContent.reasoningText")
                piece = optional_str(inner.get("text"), f"{where}.reasoningContent.reasoningText.text") or ""
                signature = optional_str(
                    inner.get("signature"), f"{where}.reasoningContent.reasoningText.signature"
                )
                thinking.append(piece)
                thinking_blocks.append(ThinkingBlock(piece, signature or ""))
        # other blocks (citations, guardrail content, ...) stay in .raw only
    raw_reason = optional_str(payload.get("stopReason"), "stopReason") or None
    return ChatResponse(
        text="".join(text),
        tool_calls=tuple(calls),
        finish_reason=finish_reason(raw_reason),
        raw_finish_reason=raw_reason,
        usage=parse_usage(payload.get("usage")),
        request_id=request_id,
        thinking="".join(thinking),
        thinking_blocks=tuple(thinking_blocks),
        raw=payload,
        attempts=attempts,
    )


# -- streams ----------------------------------------------------------------------------------


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
        return self.acc.response(raw=dict(self._raw) if self._raw else None)

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


# -- errors -----------------------------------------------------------------------------------

#: Error types (lower-cased) naming a class; they decide over the HTTP status, since AWS
#: answers a bad signature with 403 where the meaning is "who are you" (401).
ERROR_CODES: Mapping[str, type[APIError]] = {
    "throttlingexception": RateLimitError,
    "toomanyrequestsexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "validationexception": BadRequestError,
    "serializationexception": BadRequestError,
    "accessdeniedexception": PermissionDeniedError,
    "resourcenotfoundexception": NotFoundError,
    "unrecognizedclientexception": AuthenticationError,
    "invalidsignatureexception": AuthenticationError,
    "incompletesignatureexception": AuthenticationError,
    "missingauthenticationtokenexception": AuthenticationError,
    "expiredtokenexception": AuthenticationError,
    "modeltimeoutexception": ServerError,
    "serviceunavailableexception": ServerError,
    "internalserverexception": ServerError,
    "modelstreamerrorexception": ServerError,
    "modelerrorexception": ServerError,
    "modelnotreadyexception": ServerError,
}


def read_error_type(headers: Optional[Mapping[str, str]], body: Any) -> Optional[str]:
    """The AWS error type: ``x-amzn-ErrorType`` (before any ``:``), else the body's ``__type``
    (after any ``#`` namespace)."""
    raw = None
    if headers:
        raw = next((v for k, v in headers.items() if k.lower() == "x-amzn-errortype" and v), None)
    if raw is None and isinstance(body, Mapping):
        raw = scalar_text(body.get("__type")) or scalar_text(body.get("code"))
    if not raw:
        return None
    return raw.split(":", 1)[0].rsplit("#", 1)[-1].strip() or None


def map_error(
    status: Optional[int],
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    error_type: Optional[str] = None,
) -> APIError:
    """The ``APIError`` for a Bedrock error (``status`` None: an exception inside a stream).

    ``error_type`` names the exception when neither headers nor body do (the stream's
    ``:exception-type``).
    """
    parsed, text = read_error_body(body)
    code = error_type or read_error_type(headers, parsed)
    if isinstance(parsed, Mapping):
        message = scalar_text(parsed.get("message")) or scalar_text(parsed.get("Message"))
    else:
        message = (text or (parsed if isinstance(parsed, str) else "") or "").strip()[:500] or None
    facts = ErrorFacts(message, code)
    error = build_api_error(
        status,
        parsed,
        facts,
        headers,
        request_id_headers=RESPONSE_ID_HEADERS,
        attempts=attempts,
    )
    wanted = ERROR_CODES.get((code or "").lower())
    if wanted is not None and type(error) is not wanted:
        error = _as_class(error, wanted)
    return error


def _as_class(error: APIError, cls: type[APIError]) -> APIError:
    """``error`` rebuilt as ``cls`` (the error type knows better than the status)."""
    return cls(
        error.message,
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        body=error.body,
        attempts=error.attempts,
        partial=error.partial,
        headers=error.headers,
        rate_limits=error.rate_limits,
    )


class BedrockAdapter(Adapter):
    """Bedrock's Converse API. No ``response_format`` here: structured output uses a forced tool.

    Credentials are not headers of the adapter's making: ``Client.bedrock`` passes a
    SigV4 signer (or a bearer-token authorizer for a Bedrock API key) to the session.
    """

    name = "bedrock"
    display_name = "Amazon Bedrock"
    structured_default_mode = "tool"
    supports_response_format = False
    response_id_headers = RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        # A Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) is a bearer token.
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        return build_request(params, stream=stream)

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        return parse_response(payload, request_id=request_id, attempts=attempts)

    def stream_decoder(self) -> ChatDecoder:
        # The pump is generic over its items; the chat aliases name SSE events only, so
        # the event-stream decoder and parser are handed over under those names.
        return cast(ChatDecoder, EventStreamDecoder())

    def stream_parser(self) -> ChatStreamParser:
        return cast(ChatStreamParser, StreamParser())

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        return map_error(status, body, headers, attempts=attempts)
