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
- Bedrock refuses (400 ValidationException) a turn whose ``content`` is empty and a
  ``text`` block that is empty or whitespace only. Such text is left out here, a turn left
  with no blocks raises ``ConfigError`` naming the message, and a tool result with no
  content goes as the text ``EMPTY_TOOL_RESULT`` ("(empty)"), since ``toolResult.content``
  must hold a block and the model should still see that the tool answered with nothing.
- Errors: the type in the ``x-amzn-ErrorType`` header (``ThrottlingException:http://...``,
  the part before ``:``) or the body's ``__type``, the text in the body's ``message``
  (``Message`` in some services); the request id in ``x-amzn-RequestId``.

Streams are parsed in ``_bedrock_stream`` (the event grammar, exceptions inside the
stream) and errors mapped in ``_bedrock_errors``; this module builds requests, reads whole
replies and is the adapter.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, cast
from urllib.parse import quote

from .._errors import APIError, ConfigError, StreamError, unreadable_reply
from .._eventstream import EventStreamDecoder
from .._models import (
    ChatParams,
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ThinkingBlock,
    ToolCall,
)
from ._adapter import Adapter, ChatDecoder, ChatStreamParser
from ._bedrock_errors import RESPONSE_ID_HEADERS, map_error
from ._bedrock_stream import StreamParser, finish_reason, parse_usage
from ._common import HTTPCall, merge_extra_body
from ._fields import json_kind, mapping, optional_str, wrong_type

__all__ = [
    "EMPTY_TOOL_RESULT",
    "BedrockAdapter",
    "StreamParser",
    "build_request",
    "converse_path",
    "map_error",
    "parse_response",
]

EVENT_STREAM_ACCEPT = "application/vnd.amazon.eventstream"

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
#: The text sent for a tool result with no content (Bedrock wants at least one block).
EMPTY_TOOL_RESULT = "(empty)"
_MODEL_FIELDS = "additionalModelRequestFields"


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
        elif _has_text(part.text):  # Bedrock refuses blank text blocks
            blocks.append({"text": part.text})
    return blocks


def _has_text(text: str) -> bool:
    """Whether Bedrock takes ``text`` as a text block (it calls whitespace-only text blank)."""
    return bool(text and not text.isspace())


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
        content = [{"text": message.content}] if _has_text(message.content) else []
    else:
        content = _part_blocks(message.content)
    # An empty result is still a result: Bedrock wants at least one block, and not blank text.
    return {
        "toolResult": {"toolUseId": message.tool_call_id, "content": content or [{"text": EMPTY_TOOL_RESULT}]}
    }


def _blocks(message: Message) -> list[dict[str, Any]]:
    """``message`` as a list of Converse content blocks (its role already decided)."""
    if message.role == "tool":
        return [_tool_result(message)]
    # Signed reasoning goes first, unchanged, as Claude on Bedrock needs with tool use.
    blocks: list[dict[str, Any]] = [_thinking_block(t) for t in message.thinking]
    if isinstance(message.content, str):
        blocks += [{"text": message.content}] if _has_text(message.content) else []
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
    message whose index is in ``cache_marks`` is followed by a ``cachePoint`` block. A
    turn left without blocks (its text empty or whitespace only) raises ``ConfigError``
    naming the first message of that turn.
    """
    marks = frozenset(cache_marks)
    system: list[dict[str, Any]] = []
    wire: list[dict[str, Any]] = []
    first_message: list[int] = []  # the index in ``messages`` each wire turn began with
    for index, message in enumerate(messages):
        if message.role == "system":
            if _has_text(message.text):
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
            first_message.append(index)
    for turn, index in zip(wire, first_message):
        if not turn["content"]:
            raise ConfigError(
                f"message {index} ({turn['role']}) has no content: Bedrock refuses a turn without "
                "content (empty or whitespace-only text is not sent)"
            )
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
        body[_MODEL_FIELDS] = {"thinking": {"type": "enabled", "budget_tokens": params.thinking_budget}}
    if params.metadata is not None:
        body["requestMetadata"] = dict(params.metadata)
    _merge_extra(body, params.extra_body)
    headers = {"Accept": EVENT_STREAM_ACCEPT if stream else "application/json"}
    return HTTPCall("POST", converse_path(str(params.model or ""), stream=stream), body, headers)


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``extra_body`` merged last; its ``additionalModelRequestFields`` merges one level deep.

    That object also carries ``thinking()``, so replacing it whole would drop the thinking
    setting silently. Its keys are merged instead: a caller's key replaces ours, a None
    value removes the key, and an object left empty is not sent. None for the whole field
    removes it, as for any other field.
    """
    fields = extra.get(_MODEL_FIELDS)
    if fields is None:
        merge_extra_body(body, extra)
        return
    if not isinstance(fields, Mapping):
        raise ConfigError(
            f"extra_body {_MODEL_FIELDS} must be an object (a dict), not a {type(fields).__name__}"
        )
    merge_extra_body(body, {k: v for k, v in extra.items() if k != _MODEL_FIELDS})
    merged = dict(body.get(_MODEL_FIELDS) or {})
    merge_extra_body(merged, fields)
    if merged:
        body[_MODEL_FIELDS] = merged
    else:
        body.pop(_MODEL_FIELDS, None)


# -- responses --------------------------------------------------------------------------------


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
