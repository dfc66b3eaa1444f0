"""OpenAI chat completions (also OpenRouter, vLLM, llama.cpp, Ollama, Groq, ...). Sans-I/O.

Wire facts: ``POST {base}/chat/completions`` with ``Authorization: Bearer KEY``. Streams
are SSE ``data:`` lines of ``chat.completion.chunk`` JSON ending with ``data: [DONE]``;
usage arrives (with ``stream_options.include_usage``) in a last chunk whose ``choices`` is
empty. Tool-call fragments are keyed by ``index``. An ``{"error": ...}`` payload can
arrive inside a 200 stream.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from .._errors import (
    GENERIC_CODE_CLASSES,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
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
    DocumentPart,
    ImagePart,
    Message,
    TextDelta,
    ThinkingDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from ._adapter import Adapter
from ._common import Accumulator, HTTPCall, merge_extra_body, normalise_finish_reason
from ._fields import (
    count,
    decode_json,
    json_kind,
    mapping,
    optional_index,
    optional_list,
    optional_mapping,
    optional_str,
    wrong_type,
)

if TYPE_CHECKING:
    from .._models import StreamEvent
    from .._resources import Embeddings, ModelInfo
    from .._sse import ServerSentEvent

CHAT_PATH = "/chat/completions"
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
        elif isinstance(part, DocumentPart):
            if part.data is None:
                raise ConfigError(
                    "the OpenAI protocol takes PDF documents as data, not by URL; pass the PDF's bytes"
                )
            data = f"data:{part.media_type};base64,{part.data}"
            parts.append(
                {"type": "file", "file": {"filename": part.filename or "document.pdf", "file_data": data}}
            )
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
    body: dict[str, Any] = {"model": params.model, "messages": [message_to_wire(m) for m in params.messages]}
    if not _only_messages(params):
        _add_options(body, params, provider)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if params.extra_body:
        merge_extra_body(body, params.extra_body)
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    return HTTPCall("POST", CHAT_PATH, body, headers)


def _only_messages(params: ChatParams) -> bool:
    """Whether ``params`` sets nothing but model and messages (most calls): one pass of
    plain tests instead of building and filtering the dict of options (~3 us a call)."""
    return (
        params.temperature is None
        and params.top_p is None
        and params.max_tokens is None
        and params.seed is None
        and params.response_format is None
        and params.metadata is None
        and params.tool_choice is None
        and params.reasoning_effort is None
        and params.n is None
        and params.parallel_tool_calls is None
        and params.top_logprobs is None
        and params.end_user is None
        and params.thinking_budget is None
        and not params.cache_marks
        and not params.cache_tools
        and not params.stop
        and not params.tools
    )


def _add_options(body: dict[str, Any], params: ChatParams, provider: str) -> None:
    """The optional fields of ``params`` into ``body``; refuses settings of other protocols."""
    max_tokens_field = "max_completion_tokens" if provider == "openai" else "max_tokens"
    if provider == "openai" and params.metadata and not params.extra_body.get("store"):
        # OpenAI answers 400 for metadata without stored completions; storing is the
        # caller's decision, so say so before sending rather than switch it on.
        raise ConfigError(
            'OpenAI accepts metadata only with stored completions: add extra_body({"store": True})'
        )
    optional = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        max_tokens_field: params.max_tokens,
        "seed": params.seed,
        "response_format": params.response_format,
        "metadata": params.metadata,
        "tool_choice": tool_choice_to_wire(params.tool_choice),
        "reasoning_effort": params.reasoning_effort,
        "n": params.n,
        "parallel_tool_calls": params.parallel_tool_calls,
        "logprobs": True if params.top_logprobs is not None else None,
        "top_logprobs": params.top_logprobs or None,
        "user": params.end_user,
    }
    if params.cache_marks or params.cache_tools:
        raise ConfigError(
            f"cache marks are an Anthropic setting; {provider} (OpenAI protocol) caches long prompts "
            "by itself and reports usage.cached_input_tokens"
        )
    if params.thinking_budget is not None:
        raise ConfigError(
            f"a thinking budget is an Anthropic setting; {provider} (OpenAI protocol) takes reasoning_effort"
        )
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


def parse_usage(usage: Any, where: str = "usage") -> Usage:
    """OpenAI usage (prompt/completion/total and their details) in neutral form."""
    usage = optional_mapping(usage, where)
    if not usage:
        return Usage()
    # The paths in the checks' messages are built only when a check fails (every reply
    # has usage, so this is every call).
    prompt_details = usage.get("prompt_tokens_details")
    if prompt_details is not None and type(prompt_details) is not dict:
        prompt_details = optional_mapping(prompt_details, f"{where}.prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    if completion_details is not None and type(completion_details) is not dict:
        completion_details = optional_mapping(completion_details, f"{where}.completion_tokens_details")
    return Usage(
        count(usage.get("prompt_tokens")),
        count(usage.get("completion_tokens")),
        count(usage.get("total_tokens")),
        count(prompt_details.get("cached_tokens")) if prompt_details else None,
        None,  # cache_creation_input_tokens: Anthropic's
        count(completion_details.get("reasoning_tokens")) if completion_details else None,
    )


def _thinking_text(value: Any, where: str) -> str:
    """A thinking part's text: a string, or (Mistral) a list of text chunks."""
    if type(value) is str:
        return value
    pieces = optional_list(value, where) or ()
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if type(piece) is str:
            out.append(piece)
            continue
        piece = mapping(piece, f"{where}[{i}]")
        if piece.get("type", "text") == "text":
            out.append(optional_str(piece.get("text"), f"{where}[{i}].text") or "")
    return "".join(out)


def content_parts(value: Any, where: str) -> tuple[str, str]:
    """(text, thinking) of a ``content`` that is a string, null or a list of parts.

    Mistral (and others through OpenRouter) send ``content`` as a list of parts:
    ``{"type": "text", "text": ...}`` and ``{"type": "thinking", "thinking": [...]}``.
    Text parts (a part without ``type`` is text, as in Mistral's schema) go to the text,
    thinking parts to the thinking; other kinds stay in ``.raw`` only.
    """
    if value is None:
        return "", ""
    if type(value) is str:
        return value, ""
    if type(value) is not list:
        raise wrong_type(where, value, "a string or an array of parts")
    text: list[str] = []
    thinking: list[str] = []
    for i, part in enumerate(value):
        if type(part) is str:
            text.append(part)
            continue
        part = mapping(part, f"{where}[{i}]")
        kind = part.get("type", "text")
        if kind == "text":
            text.append(optional_str(part.get("text"), f"{where}[{i}].text") or "")
        elif kind == "thinking":
            thinking.append(_thinking_text(part.get("thinking"), f"{where}[{i}].thinking"))
        elif type(kind) is not str:
            raise wrong_type(f"{where}[{i}].type", kind, "a string")
    return "".join(text), "".join(thinking)


def _reasoning(message: Mapping[str, Any], where: str) -> str:
    """Reasoning text sent beside the content: ``reasoning_content`` (DeepSeek, vLLM) or
    ``reasoning`` (OpenRouter, Groq)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if value is not None:
            return optional_str(value, f"{where}.{key}") or ""
    return ""


def _arguments(function: Mapping[str, Any], where: str) -> str:
    """A call's arguments as JSON text; an object (some servers send one) is serialised."""
    arguments = function.get("arguments")
    if arguments is None or type(arguments) is str:
        return arguments or ""
    if isinstance(arguments, Mapping):
        return json.dumps(arguments, ensure_ascii=False)
    raise wrong_type(f"{where}.arguments", arguments, "a string")


def _tool_calls(value: Any, where: str) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for i, call in enumerate(optional_list(value, where) or ()):
        call = mapping(call, f"{where}[{i}]")
        function = optional_mapping(call.get("function"), f"{where}[{i}].function")
        if function is None:
            continue  # not a function call (a newer call kind): kept in .raw only
        calls.append(
            ToolCall.from_json(
                optional_str(call.get("id"), f"{where}[{i}].id") or "",
                optional_str(function.get("name"), f"{where}[{i}].function.name") or "",
                _arguments(function, f"{where}[{i}].function"),
            )
        )
    return tuple(calls)


def _token_logprob(value: Any, where: str, *, top: bool) -> TokenLogprob:
    entry = mapping(value, where)
    token = optional_str(entry.get("token"), f"{where}.token") or ""
    logprob = entry.get("logprob")
    if isinstance(logprob, bool) or not isinstance(logprob, (int, float)):
        raise wrong_type(f"{where}.logprob", logprob, "a number")
    raw_bytes = optional_list(entry.get("bytes"), f"{where}.bytes")
    if raw_bytes is not None and not all(type(b) is int and 0 <= b < 256 for b in raw_bytes):
        raise wrong_type(f"{where}.bytes", raw_bytes, "an array of byte values")
    alternatives = optional_list(entry.get("top_logprobs"), f"{where}.top_logprobs") if top else None
    return TokenLogprob(
        token,
        float(logprob),
        tuple(raw_bytes) if raw_bytes is not None else None,
        tuple(
            _token_logprob(t, f"{where}.top_logprobs[{i}]", top=False)
            for i, t in enumerate(alternatives or ())
        ),
    )


def _tuple_or_none(tokens: Optional[list[TokenLogprob]]) -> Optional[tuple[TokenLogprob, ...]]:
    return tuple(tokens) if tokens is not None else None


def parse_logprobs(value: Any, where: str) -> Optional[list[TokenLogprob]]:
    """A choice's ``logprobs`` (``{"content": [...], "refusal": ...}``) as tokens; None if absent."""
    value = optional_mapping(value, where)
    if value is None:
        return None
    content = optional_list(value.get("content"), f"{where}.content") or ()
    return [_token_logprob(t, f"{where}.content[{i}]", top=True) for i, t in enumerate(content)]


# Message fields that a plain text reply may carry without changing what is parsed.
_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "refusal", "annotations", "audio", "function_call"})


def _plain_choice(choice: Any, common: dict[str, Any]) -> Optional[ChatResponse]:
    """The usual reply -- one choice, string content, no tool calls, logprobs, refusal or
    reasoning -- parsed without the per-field checks and paths; None for anything else,
    which ``_choice`` then reads (and checks) field by field."""
    if type(choice) is not dict or choice.get("logprobs") is not None:
        return None
    message = choice.get("message")
    if type(message) is not dict or not _PLAIN_MESSAGE_KEYS.issuperset(message):
        return None
    text = message.get("content")
    raw_reason = choice.get("finish_reason")
    index = choice.get("index")
    if (
        type(text) is not str
        or message.get("refusal") is not None
        or (raw_reason is not None and type(raw_reason) is not str)
        or (index is not None and (type(index) is not int or index < 0))
    ):
        return None
    raw_reason = raw_reason or None
    return ChatResponse(
        text=text,
        finish_reason=normalise_finish_reason(raw_reason),
        raw_finish_reason=raw_reason,
        **common,
    )


def _choice(choice: Any, where: str, common: dict[str, Any]) -> tuple[int, ChatResponse]:
    choice = mapping(choice, where)
    index = optional_index(choice.get("index"), f"{where}.index")
    message = mapping(choice.get("message"), f"{where}.message")
    text, thinking = content_parts(message.get("content"), f"{where}.message.content")
    raw_reason = optional_str(choice.get("finish_reason"), f"{where}.finish_reason") or None
    response = ChatResponse(
        text=text,
        tool_calls=_tool_calls(message.get("tool_calls"), f"{where}.message.tool_calls"),
        finish_reason=normalise_finish_reason(raw_reason),
        raw_finish_reason=raw_reason,
        refusal=optional_str(message.get("refusal"), f"{where}.message.refusal"),
        thinking=thinking + _reasoning(message, f"{where}.message"),
        logprobs=_tuple_or_none(parse_logprobs(choice.get("logprobs"), f"{where}.logprobs")),
        **common,
    )
    return (-1 if index is None else index), response


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A ``chat.completion`` object as a ``ChatResponse``; with ``n > 1``, every choice.

    A field of the wrong type raises ``ResponseError`` naming it.
    """
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a chat.completion object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    if "error" in payload and "choices" not in payload:
        error = map_error(None, payload, {RESPONSE_ID_HEADERS[0]: request_id or ""}, attempts=attempts)
        raise error.in_whole_reply()
    try:
        choices = optional_list(payload.get("choices"), "choices")
        if not choices:
            raise StreamError(f"the reply has no choices (choices is {json_kind(payload.get('choices'))})")
        common = {
            "model": optional_str(payload.get("model"), "model"),
            "id": optional_str(payload.get("id"), "id"),
            "usage": parse_usage(payload.get("usage")),
            "request_id": request_id,
            "raw": payload,
            "attempts": attempts,
        }
        if len(choices) == 1:
            plain = _plain_choice(choices[0], common)
            if plain is not None:
                return plain
        parsed = [_choice(c, f"choices[{i}]", common) for i, c in enumerate(choices)]
    except StreamError as exc:
        # The field checks raise StreamError; a whole body that fails them is a bad reply.
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None
    if len(parsed) == 1:
        return parsed[0][1]
    # Choices are listed by their index; a missing index keeps the order sent.
    ordered = tuple(r for _, r in sorted(parsed, key=lambda item: item[0]))
    return ordered[0].replace(all_choices=ordered)


class StreamParser:
    """Turns SSE events of a chat-completions stream into neutral events; accumulates.

    With several choices (``n > 1``) each choice's deltas go to its own accumulator, keyed
    by the choice ``index``; events are emitted for choice 0 only (what ``.text()`` and a
    single-choice caller expect), and the final response carries every choice in
    ``choices``.
    """

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        #: Set by ``ChatStream.text()`` before the first read, when nothing else sees the
        #: events: the fast path then hands each text delta on as the plain string.
        self.text_only = False
        self._choices: dict[int, _Choice] = {0: _Choice(self.acc)}

    def _for(self, index: int) -> _Choice:
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = _Choice(Accumulator())
            # The sibling shares what the chunks say of the whole reply.
            state.acc.id, state.acc.model = self.acc.id, self.acc.model
            self.acc.siblings[index] = state.acc
        return state

    def partial(self) -> ChatResponse:
        """The reply accumulated so far (the stream pump stamps the HTTP facts on it)."""
        return self.acc.response()

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Parse one SSE event; raise the mapped ``APIError`` for an in-stream error."""
        data = event.data
        if data == STREAM_TERMINATOR:
            self.finished = True
            return []
        if self.finished:
            raise StreamError(f"data after [DONE]: {data[:200]!r}")
        chunk = decode_json(data, "stream chunk")
        if type(chunk) is not dict:
            raise StreamError(f"stream chunk is not a JSON object: {data[:200]!r}")
        if chunk.get("error"):
            raise map_error(None, chunk)
        acc = self.acc
        choices = chunk.get("choices")
        # Fast path for the chunk a stream is made of: one choice, index 0, whose delta
        # is text alone, and nothing else to read (no usage, finish reason, logprobs).
        # Each test below is one the general path makes; anything else goes there.
        if type(choices) is list and len(choices) == 1 and acc.id is not None:
            choice = choices[0]
            if type(choice) is dict:
                delta = choice.get("delta")
                index = choice.get("index", 0)
                if (
                    type(delta) is dict
                    and len(delta) == 1
                    and index == 0
                    and type(index) is int
                    and not choice.get("finish_reason")
                    and choice.get("logprobs") is None
                    and chunk.get("usage") is None
                ):
                    content = delta.get("content")
                    if type(content) is str:
                        if not content:
                            return []
                        acc.text_parts.append(content)
                        # A str for text(): no record made per token (see text_only).
                        return [content if self.text_only else TextDelta(content)]  # type: ignore[list-item]
        if acc.id is None:
            acc.id = optional_str(chunk.get("id"), "chunk.id")
            acc.model = optional_str(chunk.get("model"), "chunk.model")
        events: list[StreamEvent] = []
        if choices is not None:
            if type(choices) is not list:
                raise wrong_type("chunk.choices", choices, "an array")
            for position, choice in enumerate(choices):
                if type(choice) is not dict:
                    raise wrong_type(f"chunk.choices[{position}]", choice, "an object")
                index = choice.get("index", 0)
                if index == 0 and type(index) is int:
                    self._choices[0].feed(choice, events, position)
                else:
                    index = optional_index(index, f"chunk.choices[{position}].index") or 0
                    self._for(index).feed(choice, events if index == 0 else None, position)
        usage = chunk.get("usage")
        if usage is not None and type(usage) is not dict:
            raise wrong_type("chunk.usage", usage, "an object")
        if usage:
            acc.usage = parse_usage(usage, "chunk.usage")
            for sibling in acc.siblings.values():
                sibling.usage = acc.usage
            events.append(UsageEvent(acc.usage))
        return events


class _Choice:
    """One choice of a stream: its accumulator and its tool-call slots."""

    __slots__ = ("acc", "_slots", "_slot_count", "_last_slot")

    def __init__(self, acc: Accumulator) -> None:
        self.acc = acc
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

    def feed(self, choice: dict[str, Any], events: Optional[list[StreamEvent]], position: int) -> None:
        """Merge one choice's delta; append its events to ``events`` unless None."""
        acc = self.acc
        delta = choice.get("delta")
        if delta is not None and type(delta) is not dict:
            raise wrong_type(f"chunk.choices[{position}].delta", delta, "an object")
        if delta:
            content = delta.get("content")
            if content:
                if type(content) is not str:
                    content, thinking = content_parts(content, f"chunk.choices[{position}].delta.content")
                    if thinking:
                        acc.thinking_parts.append(thinking)
                        if events is not None:
                            events.append(ThinkingDelta(thinking))
                if content:
                    acc.text_parts.append(content)
                    if events is not None:
                        events.append(TextDelta(content))
                if len(delta) == 1:  # the common chunk: text and nothing else
                    delta = None
        if delta:
            self._rare_fields(delta, events, f"chunk.choices[{position}]")
        reason = choice.get("finish_reason")
        if reason:
            acc.raw_finish_reason = optional_str(reason, f"chunk.choices[{position}].finish_reason")
        if choice.get("logprobs") is not None:  # only when asked for: off the common path
            tokens = parse_logprobs(choice["logprobs"], f"chunk.choices[{position}].logprobs") or []
            acc.logprobs = (acc.logprobs or []) + tokens

    def _rare_fields(self, delta: dict[str, Any], events: Optional[list[StreamEvent]], where: str) -> None:
        acc = self.acc
        refusal = optional_str(delta.get("refusal"), f"{where}.delta.refusal")
        if refusal:
            acc.refusal_parts.append(refusal)
        reasoning = _reasoning(delta, f"{where}.delta")
        if reasoning:
            acc.thinking_parts.append(reasoning)
            if events is not None:
                events.append(ThinkingDelta(reasoning))
        calls = optional_list(delta.get("tool_calls"), f"{where}.delta.tool_calls")
        for i, call in enumerate(calls or ()):
            at = f"{where}.delta.tool_calls[{i}]"
            call = mapping(call, at)
            function = optional_mapping(call.get("function"), f"{at}.function") or {}
            call_id = optional_str(call.get("id"), f"{at}.id")
            fragment = ToolCallDelta(
                index=self._slot(optional_index(call.get("index"), f"{at}.index"), call_id),
                id=call_id,
                name=optional_str(function.get("name"), f"{at}.function.name"),
                arguments_delta=_arguments(function, f"{at}.function"),
            )
            acc.tool_call(fragment.index, fragment.id, fragment.name, fragment.arguments_delta)
            if events is not None:
                events.append(fragment)


# -- errors -------------------------------------------------------------------------------
#
# Bodies: {"error": {"message", "type", "code", "param"}}. "type" is the family
# (invalid_request_error), "code" the reason (context_length_exceeded, insufficient_quota).
# Compatible servers vary: OpenRouter and vLLM put the HTTP status in an integer "code"
# inside streams (read by the generic ``describe_error_body``); Google's endpoint wraps
# the error object in a list.

#: Response headers carrying the request id.
RESPONSE_ID_HEADERS: tuple[str, ...] = ("x-request-id",)
#: Error codes and types (lower case) naming a class when no HTTP status does.
ERROR_CODES: Mapping[str, type[APIError]] = {
    **GENERIC_CODE_CLASSES,
    "invalid_request_error": BadRequestError,
    "invalid_api_key": AuthenticationError,
    "model_not_found": NotFoundError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    # Gateways (OpenRouter) relay an upstream provider's error types in OpenAI's shape.
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "request_too_large": BadRequestError,
    "api_error": ServerError,
    "timeout_error": ServerError,
}


def _first_object(value: Any) -> Any:
    """The first object of a list (Google's wrapping), else the value itself."""
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, Mapping)), value)
    return value


def map_error(
    status: Optional[int],
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    partial: Any = None,
    code_classes: Mapping[str, type[APIError]] = ERROR_CODES,
    request_id_headers: tuple[str, ...] = RESPONSE_ID_HEADERS,
) -> APIError:
    """The ``APIError`` for an OpenAI-style error body (``status`` None: inside a stream).

    ``code_classes`` and ``request_id_headers`` let a server speaking this protocol with
    its own codes (Azure OpenAI) reuse the mapping."""
    parsed, text = read_error_body(body)
    unwrapped = _first_object(parsed)
    if isinstance(unwrapped, Mapping) and isinstance(unwrapped.get("error"), list):
        unwrapped = {**unwrapped, "error": _first_object(unwrapped["error"])}
    return build_api_error(
        status,
        parsed,
        describe_error_body(unwrapped, text),
        headers,
        request_id_headers=request_id_headers,
        code_classes=code_classes,
        attempts=attempts,
        partial=partial,
    )


class OpenAIAdapter(Adapter):
    """Chat completions for OpenAI itself (``provider="openai"``) and compatible servers."""

    name = "openai"
    display_name = "OpenAI"
    request_id_header = REQUEST_ID_HEADER

    response_id_headers = RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return auth_headers(api_key)

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        return build_request(params, stream=stream, provider=self.provider)

    def json_mode_format(self) -> Optional[dict[str, Any]]:
        return {"type": "json_object"}

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

    # -- embeddings, model list; no token counting (protocols/_embeddings, _model_lists) ---

    def embeddings_call(self, model: str, inputs: Sequence[str], *, dimensions: Optional[int]) -> HTTPCall:
        from ._embeddings import embeddings_request

        return embeddings_request(model, inputs, dimensions=dimensions)

    def parse_embeddings(
        self,
        payload: Any,
        expected: int,
        *,
        dimensions: Optional[int] = None,
        request_id: Optional[str] = None,
        attempts: int = 1,
    ) -> Embeddings:
        from ._embeddings import is_error_envelope, parse_embeddings

        if is_error_envelope(payload):  # an error object in a 200 body, as chat may get
            # self.map_error: a subclass's own codes (Azure's) apply here too.
            headers = {self.response_id_headers[0]: request_id or ""}
            raise self.map_error(None, payload, headers, attempts=attempts).in_whole_reply()
        return parse_embeddings(
            payload, expected, dimensions=dimensions, request_id=request_id, attempts=attempts
        )

    def models_call(self, after: Optional[str], limit: Optional[int] = None) -> HTTPCall:
        from ._model_lists import openai_models_request

        return openai_models_request()

    def parse_models(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> tuple[list[ModelInfo], Optional[str]]:
        from ._model_lists import parse_openai_models

        return parse_openai_models(payload, request_id=request_id, attempts=attempts)

    def count_tokens_call(self, params: ChatParams) -> HTTPCall:
        raise self.unsupported(
            "token counting endpoint",
            "OpenAI-compatible APIs count tokens only in a reply's usage (usage.input_tokens after send())",
        )
