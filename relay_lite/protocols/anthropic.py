"""Anthropic Messages API. Sans-I/O.

Wire facts: ``POST {base}/v1/messages`` with ``x-api-key: KEY`` and
``anthropic-version: 2023-06-01``. ``max_tokens`` is required; system prompts live in a
top-level ``system`` field; roles strictly alternate between ``user`` and ``assistant``,
so consecutive turns of one role are merged and tool results travel as ``tool_result``
blocks inside a user turn. A reply's ``content`` is a list of blocks (``text``,
``tool_use``, ``thinking``, ...).

Theory of operation for streams: the events form a small grammar ::

    message_start (content_block_start content_block_delta* content_block_stop)*
    message_delta* message_stop

with ``ping`` allowed anywhere and ``error`` ending the stream. ``StreamParser`` checks
that grammar and raises ``StreamError`` on any event the protocol does not allow at that
point (a delta for a block never started, a delta of the wrong kind for its block, a
block before ``message_start``, anything after ``message_stop``), never a bare
``KeyError``. Event types it does not know are ignored, so new kinds of event added by
Anthropic do not break old clients; so are all deltas of content block types it does not
know. Fragments are appended to lists and joined once, so a stream is parsed in time
linear in its size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from .._errors import (
    GENERIC_CODE_CLASSES,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    build_api_error,
    describe_error_body,
    read_error_body,
    unreadable_reply,
)
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
from .._sse import ServerSentEvent
from ._adapter import Adapter
from ._common import Accumulator, HTTPCall, merge_extra_body, normalise_finish_reason
from ._fields import count, decode_json, json_kind, mapping, optional_mapping, optional_str, wrong_type

if TYPE_CHECKING:
    from .._resources import ModelInfo

# No REQUEST_ID_HEADER: Anthropic has no header through which the caller names a request.

MESSAGES_PATH = "/v1/messages"
ANTHROPIC_VERSION = "2023-06-01"
# The Messages API requires max_tokens; this is sent when the caller sets none.
DEFAULT_MAX_TOKENS = 4096
# ChatResponse.refusal when the model refused without saying anything.
REFUSAL_PLACEHOLDER = "refused"

# Content block types whose stream deltas we understand, and the deltas each accepts.
# server_tool_use (web search, code execution, ...) runs on Anthropic's side: it is not a
# call for the caller to run, so it never becomes a ToolCall; its deltas are accepted.
_TOOL_BLOCKS = ("tool_use",)
_BLOCK_DELTAS: dict[str, tuple[str, ...]] = {
    "text": ("text_delta", "citations_delta"),
    "tool_use": ("input_json_delta",),
    "server_tool_use": ("input_json_delta",),
    "thinking": ("thinking_delta", "signature_delta"),
    "redacted_thinking": (),
}
_KNOWN_DELTAS = frozenset(d for deltas in _BLOCK_DELTAS.values() for d in deltas)


def auth_headers(api_key: Optional[str]) -> dict[str, str]:
    """``x-api-key`` (when there is a key) and the API version header."""
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


# -- requests ---------------------------------------------------------------------------------


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.url is not None:
        # A data: URL is not a URL Anthropic will fetch; send it as base64 instead.
        if part.url.startswith("data:") and ";base64," in part.url:
            media_type, data = part.url[5:].split(";base64,", 1)
            return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": part.media_type, "data": part.data}}


def _part_blocks(parts: tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            blocks.append(_image_block(part))
        elif isinstance(part, DocumentPart):
            source = (
                {"type": "url", "url": part.url}
                if part.url is not None
                else {"type": "base64", "media_type": part.media_type, "data": part.data}
            )
            blocks.append({"type": "document", "source": source})
        elif part.text:  # Anthropic refuses empty text blocks
            blocks.append({"type": "text", "text": part.text})
    return blocks


def _thinking_block(block: ThinkingBlock) -> dict[str, Any]:
    if block.redacted_data is not None:
        return {"type": "redacted_thinking", "data": block.redacted_data}
    return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}


def _blocks(message: Message) -> list[dict[str, Any]]:
    """``message`` as a list of Anthropic content blocks (its role already decided)."""
    if message.role == "tool":
        if not message.tool_call_id:
            raise ConfigError("a tool message needs the tool_call_id of the call it answers")
        content: Any = message.content
        if not isinstance(content, str):
            content = _part_blocks(content)
        return [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}]
    # Signed thinking goes first, unchanged, as the API requires with tool use.
    blocks: list[dict[str, Any]] = [_thinking_block(t) for t in message.thinking]
    if isinstance(message.content, str):
        blocks += [{"type": "text", "text": message.content}] if message.content else []
    else:
        blocks += _part_blocks(message.content)
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.wire_arguments})
    return blocks


#: The only cache_control Anthropic has: a breakpoint living about five minutes.
CACHE_CONTROL = {"type": "ephemeral"}


def _cached_blocks(message: Message) -> list[dict[str, Any]]:
    """``message``'s blocks with a cache breakpoint on the last one."""
    blocks = _blocks(message)
    if not blocks:
        raise ConfigError("a message marked with cache() has no content to end a cache breakpoint on")
    blocks[-1] = {**blocks[-1], "cache_control": dict(CACHE_CONTROL)}
    return blocks


def messages_to_wire(
    messages: tuple[Message, ...], cache_marks: tuple[int, ...] = ()
) -> tuple[Any, list[dict[str, Any]]]:
    """The ``system`` field and the ``messages`` list for ``messages``.

    System messages are hoisted (joined by a blank line); tool results become user turns;
    consecutive turns of one role merge into one turn whose content is a block list. A turn
    that stands alone with plain text keeps its content as a string. Messages whose index
    is in ``cache_marks`` end a cache breakpoint (``cache_control`` on their last block; a
    marked system prompt is sent as text blocks, as the API requires for it).
    """
    marks = frozenset(cache_marks)
    system_indexes = [i for i, m in enumerate(messages) if m.role == "system"]
    system: Any = None
    if system_indexes and marks.intersection(system_indexes):
        system = [
            {
                "type": "text",
                "text": messages[i].text,
                **({"cache_control": dict(CACHE_CONTROL)} if i in marks else {}),
            }
            for i in system_indexes
        ]
    elif system_indexes:
        system = "\n\n".join(messages[i].text for i in system_indexes)
    turns: list[tuple[str, list[tuple[int, Message]]]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1][1].append((index, message))
        else:
            turns.append((role, [(index, message)]))
    wire: list[dict[str, Any]] = []
    for role, group in turns:
        first_index, only = group[0]
        plain = isinstance(only.content, str) and not (only.tool_calls or only.thinking)
        if len(group) == 1 and plain and only.role != "tool" and first_index not in marks:
            wire.append({"role": role, "content": only.content})
        else:
            content = [block for i, m in group for block in (_cached_blocks(m) if i in marks else _blocks(m))]
            wire.append({"role": role, "content": content})
    return system, wire


def tool_choice_to_wire(choice: Any) -> Optional[dict[str, Any]]:
    """auto / any (alias required) / none / a tool name / a dict passed through."""
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        return dict(choice)
    if choice == "auto":
        return {"type": "auto"}
    if choice in ("any", "required"):
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    return {"type": "tool", "name": choice}


def build_request(params: ChatParams, *, stream: bool, provider: str = "anthropic") -> HTTPCall:
    """The HTTP call for ``params``.

    ``max_tokens`` defaults to ``DEFAULT_MAX_TOKENS`` because the API requires it.
    ``metadata`` is passed through as given (Anthropic accepts only ``user_id`` in it).
    ``seed`` and ``response_format`` have no Messages equivalent and raise ``ConfigError``
    rather than being dropped silently (structured output uses tools instead).
    """
    if params.seed is not None:
        raise ConfigError("seed is not supported by the Anthropic Messages API")
    if params.response_format is not None:
        raise ConfigError(
            "response_format is not supported by the Anthropic Messages API; "
            "use structured() for typed output"
        )
    if params.reasoning_effort is not None:
        raise ConfigError(
            "reasoning_effort is not supported by the Anthropic Messages API; use thinking(budget_tokens)"
        )
    if params.top_logprobs is not None:
        raise ConfigError("logprobs are not supported by the Anthropic Messages API")
    if params.n is not None and params.n != 1:
        raise ConfigError(f"the Anthropic Messages API returns one choice; n={params.n} is not supported")
    system, messages = messages_to_wire(params.messages, params.cache_marks)
    body: dict[str, Any] = {
        "model": params.model,
        "max_tokens": params.max_tokens if params.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    optional = {
        "system": system,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "metadata": dict(params.metadata) if params.metadata is not None else None,
        "tool_choice": tool_choice_to_wire(params.tool_choice),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if params.end_user is not None:
        body["metadata"] = {**body.get("metadata", {}), "user_id": params.end_user}
    if params.thinking_budget is not None:
        if params.thinking_budget >= body["max_tokens"]:
            raise ConfigError(
                f"Anthropic needs the thinking budget ({params.thinking_budget}) below max_tokens "
                f"({body['max_tokens']}); raise max_tokens"
            )
        body["thinking"] = {"type": "enabled", "budget_tokens": params.thinking_budget}
    if params.parallel_tool_calls is False:
        # Anthropic says it the other way round, inside tool_choice.
        body["tool_choice"] = {**body.get("tool_choice", {"type": "auto"}), "disable_parallel_tool_use": True}
    if params.stop:
        body["stop_sequences"] = list(params.stop)
    if params.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            for t in params.tools
        ]
        if params.cache_tools:  # a breakpoint after the last tool caches all of them
            body["tools"][-1]["cache_control"] = dict(CACHE_CONTROL)
    if stream:
        body["stream"] = True
    merge_extra_body(body, params.extra_body)
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    return HTTPCall("POST", MESSAGES_PATH, body, headers)


# -- responses --------------------------------------------------------------------------------


def parse_usage(usage: Any, where: str = "usage") -> Usage:
    """Anthropic usage in neutral form; the total is input + output.

    Anthropic's ``input_tokens`` excludes cache reads and writes, which are reported
    separately as ``cached_input_tokens`` and ``cache_creation_input_tokens``.
    """
    usage = optional_mapping(usage, where)
    if not usage:
        return Usage()
    input_tokens = count(usage.get("input_tokens"))
    output_tokens = count(usage.get("output_tokens"))
    total = input_tokens + output_tokens if input_tokens is not None and output_tokens is not None else None
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total,
        cached_input_tokens=count(usage.get("cache_read_input_tokens")),
        cache_creation_input_tokens=count(usage.get("cache_creation_input_tokens")),
    )


def _tool_call(block: Mapping[str, Any], where: str) -> ToolCall:
    """A ``tool_use`` block; an ``input`` that is not an object becomes ``arguments_error``."""
    return ToolCall.from_value(
        optional_str(block.get("id"), f"{where}.id") or "",
        optional_str(block.get("name"), f"{where}.name") or "",
        block.get("input"),
    )


def _block_type(block: Any, where: str) -> str:
    block = mapping(block, where)
    kind = block.get("type")
    if type(kind) is not str:
        raise wrong_type(f"{where}.type", kind, "a string")
    return kind


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A Messages ``message`` object as a ``ChatResponse``; a field of the wrong type raises."""
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a Messages object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    if payload.get("type") == "error":
        error = map_error(None, payload, {RESPONSE_ID_HEADERS[0]: request_id or ""}, attempts=attempts)
        raise error.in_whole_reply()
    try:
        return _parse_message(payload, request_id, attempts)
    except StreamError as exc:
        # The field checks raise StreamError; a whole body that fails them is a bad reply.
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None


def _parse_message(payload: Mapping[str, Any], request_id: Optional[str], attempts: int) -> ChatResponse:
    text: list[str] = []
    thinking: list[str] = []
    thinking_blocks: list[ThinkingBlock] = []
    calls: list[ToolCall] = []
    content = payload.get("content")
    if type(content) is not list:
        raise wrong_type("content", content, "an array of content blocks")
    for i, block in enumerate(content):
        where = f"content[{i}]"
        kind = _block_type(block, where)
        if kind == "text":
            text.append(optional_str(block.get("text"), f"{where}.text") or "")
        elif kind in _TOOL_BLOCKS:
            calls.append(_tool_call(block, where))
        elif kind == "thinking":
            thinking.append(optional_str(block.get("thinking"), f"{where}.thinking") or "")
            signature = optional_str(block.get("signature"), f"{where}.signature") or ""
            thinking_blocks.append(ThinkingBlock(thinking[-1], signature))
        elif kind == "redacted_thinking":
            data = optional_str(block.get("data"), f"{where}.data") or ""
            thinking_blocks.append(ThinkingBlock(redacted_data=data))
        # other block kinds (server tools, citations, ...) stay in .raw only
    raw_reason = optional_str(payload.get("stop_reason"), "stop_reason") or None
    joined = "".join(text)
    return ChatResponse(
        text=joined,
        tool_calls=tuple(calls),
        finish_reason=normalise_finish_reason(raw_reason),
        raw_finish_reason=raw_reason,
        model=optional_str(payload.get("model"), "model"),
        id=optional_str(payload.get("id"), "id"),
        usage=parse_usage(payload.get("usage")),
        request_id=request_id,
        refusal=(joined or REFUSAL_PLACEHOLDER) if raw_reason == "refusal" else None,
        thinking="".join(thinking),
        thinking_blocks=tuple(thinking_blocks),
        raw=payload,
        attempts=attempts,
    )


# -- streams ----------------------------------------------------------------------------------


class _Block:
    """One content block of a stream, from its start to its stop."""

    __slots__ = ("kind", "tool_index", "id", "name", "announced", "initial_input", "stopped", "thinking")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tool_index = -1  # position among the tool calls, for tool blocks
        self.id: Optional[str] = None
        self.name: Optional[str] = None
        self.announced = False  # a ToolCallDelta with id and name has been emitted
        self.initial_input = ""  # JSON of a non-empty ``input`` given in content_block_start
        self.stopped = False
        self.thinking: list[str] = []  # a thinking block's text, kept to send it back


class StreamParser:
    """Turns the SSE events of a Messages stream into neutral events; accumulates.

    ``signatures`` maps a thinking block's index to its signature (needed to send the
    thinking back in a later turn).
    """

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        self.signatures: dict[int, str] = {}
        self._started = False
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        #: Set by ``ChatStream.text()`` before the first read, when nothing else sees the
        #: events: the fast path then hands each text delta on as the plain string.
        self.text_only = False

    def partial(self) -> ChatResponse:
        """The reply accumulated so far (the stream pump stamps the HTTP facts on it)."""
        return self.acc.response()

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Parse one SSE event; raise the mapped ``APIError`` for an ``error`` event."""
        if self.finished:
            raise StreamError(f"{event.event!r} event after message_stop")
        payload = decode_json(event.data, "stream event")
        if not isinstance(payload, dict):
            raise StreamError(f"stream event is not a JSON object: {event.data[:200]!r}")
        kind = payload.get("type") or event.event
        if kind == "content_block_delta" and self._started:  # the usual event: no lookup
            return self._content_block_delta(payload)
        if kind == "error":
            raise map_error(None, payload)
        handler = _HANDLERS.get(str(kind))
        if handler is None:  # ping, and event types newer than this code
            return []
        if kind != "message_start" and not self._started:
            raise StreamError(f"{kind} event before message_start")
        return handler(self, payload)

    # -- message events -----------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            raise StreamError("a second message_start event")
        message = mapping(payload.get("message"), "message_start.message")
        self._started = True
        acc = self.acc
        acc.id = optional_str(message.get("id"), "message_start.message.id")
        acc.model = optional_str(message.get("model"), "message_start.message.model")
        acc.usage = parse_usage(message.get("usage"), "message_start.message.usage")
        return []

    def _message_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        delta = optional_mapping(payload.get("delta"), "message_delta.delta") or {}
        acc = self.acc
        reason = optional_str(delta.get("stop_reason"), "message_delta.delta.stop_reason")
        if reason:
            acc.raw_finish_reason = reason
            if reason == "refusal":
                acc.refusal_parts.append(acc.text_parts.text() or REFUSAL_PLACEHOLDER)
        usage = optional_mapping(payload.get("usage"), "message_delta.usage") or {}
        if not usage:
            return []
        acc.usage = acc.usage.merge(parse_usage(usage, "message_delta.usage"))
        return [UsageEvent(acc.usage)]

    def _message_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        self.finished = True
        return []

    # -- content block events -----------------------------------------------------------

    def _content_block_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _index(payload, "content_block_start")
        if index in self._blocks:
            raise StreamError(f"content_block_start for index {index}, which was already started")
        content = mapping(payload.get("content_block"), "content_block_start.content_block")
        kind = _block_type(content, "content_block_start.content_block")
        block = self._blocks[index] = _Block(kind)
        if block.kind in _TOOL_BLOCKS:
            block.tool_index = self._tool_count
            self._tool_count += 1
            block.id = optional_str(content.get("id"), "content_block_start.content_block.id") or ""
            block.name = optional_str(content.get("name"), "content_block_start.content_block.name") or ""
            initial = content.get("input")
            if initial != {}:  # normally {} with the input following as input_json_delta
                # Not an object (or absent): its JSON text makes the call's arguments_error.
                block.initial_input = ToolCall.from_value("", "", initial).arguments_json or "null"
            self.acc.tool_call(block.tool_index, block.id, block.name, "")
        elif block.kind == "text":
            text = content.get("text")
            if isinstance(text, str) and text:
                self.acc.text_parts.append(text)
                return [TextDelta(text)]
        elif block.kind == "thinking":
            thinking = content.get("thinking")
            if isinstance(thinking, str) and thinking:
                block.thinking.append(thinking)
                self.acc.thinking_parts.append(thinking)
                return [ThinkingDelta(thinking)]
        elif block.kind == "redacted_thinking":
            data = optional_str(content.get("data"), "content_block_start.content_block.data") or ""
            self.acc.thinking_blocks.append(ThinkingBlock(redacted_data=data))
        return []

    def _content_block_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = payload.get("index")
        # The event a stream is made of: a text delta to an open text block. Every test
        # of the general path below, made inline (this runs once per token).
        block = self._blocks.get(index) if type(index) is int else None
        delta = payload.get("delta")
        if block is not None and not block.stopped and block.kind == "text" and type(delta) is dict:
            if delta.get("type") == "text_delta":
                text = delta.get("text")
                if type(text) is str:
                    self.acc.text_parts.append(text)
                    # A str for text(): no record made per token (see text_only).
                    return [text if self.text_only else TextDelta(text)]  # type: ignore[list-item]
        index = _index(payload, "content_block_delta")
        block = self._open_block(index, "content_block_delta")
        delta = mapping(delta, "content_block_delta.delta")
        delta_type = delta.get("type")
        if type(delta_type) is not str:
            raise wrong_type("content_block_delta.delta.type", delta_type, "a string")
        allowed = _BLOCK_DELTAS.get(block.kind)
        if allowed is None:  # a block type newer than this code: ignore its deltas
            return []
        if delta_type not in allowed:
            what = "unknown delta type" if delta_type not in _KNOWN_DELTAS else "delta type"
            raise StreamError(f"{what} {delta_type!r} for a {block.kind} block (index {index})")
        if delta_type == "text_delta":
            text = _string(delta, "text", delta_type)
            self.acc.text_parts.append(text)
            return [TextDelta(text)]
        if delta_type == "input_json_delta":
            fragment = _string(delta, "partial_json", delta_type)
            if block.kind not in _TOOL_BLOCKS:
                return []
            self.acc.tool_call(block.tool_index, None, None, fragment)
            if block.announced:
                return [ToolCallDelta(block.tool_index, arguments_delta=fragment)]
            block.announced = True
            return [ToolCallDelta(block.tool_index, block.id, block.name, fragment)]
        if delta_type == "thinking_delta":
            thinking = _string(delta, "thinking", delta_type)
            block.thinking.append(thinking)
            self.acc.thinking_parts.append(thinking)
            return [ThinkingDelta(thinking)]
        if delta_type == "signature_delta":
            self.signatures[index] = self.signatures.get(index, "") + _string(delta, "signature", delta_type)
        return []  # signature_delta, citations_delta

    def _content_block_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _index(payload, "content_block_stop")
        block = self._open_block(index, "content_block_stop")
        block.stopped = True
        if block.kind == "thinking":
            signature = self.signatures.get(index, "")
            self.acc.thinking_blocks.append(ThinkingBlock("".join(block.thinking), signature))
        if block.kind in _TOOL_BLOCKS and not block.announced:
            # No input_json_delta came: the input was given whole at the start, or is empty.
            block.announced = True
            self.acc.tool_call(block.tool_index, None, None, block.initial_input)
            return [ToolCallDelta(block.tool_index, block.id, block.name, block.initial_input)]
        return []

    def _open_block(self, index: int, kind: str) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            raise StreamError(f"{kind} for content block {index}, which was never started")
        if block.stopped:
            raise StreamError(f"{kind} for content block {index}, which had already stopped")
        return block


_HANDLERS = {
    "message_start": StreamParser._message_start,
    "message_delta": StreamParser._message_delta,
    "message_stop": StreamParser._message_stop,
    "content_block_start": StreamParser._content_block_start,
    "content_block_delta": StreamParser._content_block_delta,
    "content_block_stop": StreamParser._content_block_stop,
}


def _index(payload: Mapping[str, Any], where: str) -> int:
    index = payload.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise StreamError(f"{where} has no whole-number index: {index!r}")
    return index


def _string(delta: Mapping[str, Any], key: str, delta_type: str) -> str:
    value = delta.get(key)
    if not isinstance(value, str):
        raise StreamError(f"{delta_type} has no string {key!r}")
    return value


# -- errors -------------------------------------------------------------------------------
#
# Bodies: {"type": "error", "error": {"type": "overloaded_error", "message"}}, as a status
# body or an "error" event inside a 200 stream; 529 means overloaded.

#: Response headers carrying the request id.
RESPONSE_ID_HEADERS = ("request-id",)
#: Error types naming a class when no HTTP status does (inside a stream).
ERROR_CODES: Mapping[str, type[APIError]] = {
    **GENERIC_CODE_CLASSES,
    "invalid_request_error": BadRequestError,
    "request_too_large": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": OverloadedError,
    "api_error": ServerError,
    "timeout_error": ServerError,
}


def map_error(
    status: Optional[int],
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    partial: Any = None,
) -> APIError:
    """The ``APIError`` for a Messages error body (``status`` None: an in-stream event)."""
    parsed, text = read_error_body(body)
    return build_api_error(
        status,
        parsed,
        describe_error_body(parsed, text),
        headers,
        request_id_headers=RESPONSE_ID_HEADERS,
        code_classes=ERROR_CODES,
        attempts=attempts,
        partial=partial,
    )


class AnthropicAdapter(Adapter):
    """The Messages API. It has no ``response_format``: structured output uses a forced tool."""

    name = "anthropic"
    display_name = "Anthropic"
    structured_default_mode = "tool"
    supports_response_format = False

    response_id_headers = RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return auth_headers(api_key)

    def request_base_url(self, base_url: str) -> str:
        # Docs show https://api.anthropic.com/v1 and users copy it; the paths already
        # start with /v1/, so /v1/v1/messages would 404.
        head, sep, query = base_url.partition("?")
        head = head.rstrip("/")
        if head.endswith("/v1"):
            head = head[: -len("/v1")]
        return head + sep + query

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        return build_request(params, stream=stream, provider=self.provider)

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        return parse_response(payload, request_id=request_id, attempts=attempts)

    def stream_parser(self) -> StreamParser:
        return StreamParser()

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        return map_error(status, body, headers, attempts=attempts)

    # -- model list and token counting; no embeddings (protocols/_model_lists, _token_counts) --

    def embeddings_call(self, model: str, inputs: Sequence[str], *, dimensions: Optional[int]) -> HTTPCall:
        hint = "embed through an OpenAI-compatible provider (Client.openai(), Client.compatible(url))"
        raise self.unsupported("embeddings endpoint", hint)

    def models_call(self, after: Optional[str], limit: Optional[int] = None) -> HTTPCall:
        from ._model_lists import anthropic_models_request

        return anthropic_models_request(after, limit)

    def parse_models(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> tuple[list[ModelInfo], Optional[str]]:
        from ._model_lists import parse_anthropic_models

        return parse_anthropic_models(payload, request_id=request_id, attempts=attempts)

    def count_tokens_call(self, params: ChatParams) -> HTTPCall:
        from ._token_counts import count_tokens_request

        return count_tokens_request(build_request(params, stream=False, provider=self.provider))

    def parse_token_count(self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> int:
        from ._token_counts import parse_token_count

        return parse_token_count(payload, request_id=request_id, attempts=attempts)
