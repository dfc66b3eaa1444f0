"""ModelRelay ``/llm/proxy`` (the ``modelrelay`` crate 0.2x-0.3x wire format). Sans-I/O.

Wire facts: one chat endpoint, ``POST {base}/llm/proxy``, base default
``https://api.modelrelay.ai/api/v1``. Secret (``mr_sk_``) and publishable (``mr_pk_``) keys
travel in ``X-ModelRelay-Api-Key``; anything else is a frontend/bearer token and travels in
``Authorization: Bearer``. The client names itself in ``X-ModelRelay-Client`` and may name
the request in ``X-ModelRelay-Chat-Request-Id`` (echoed back, else ``X-Request-Id``).

The body is ``{model, messages, max_tokens, temperature, metadata, response_format, stop,
tools, tool_choice}`` and has **no** ``stream`` field: the ``Accept`` header picks the mode
(``application/json`` or ``text/event-stream``). Messages are OpenAI-like but their
``content`` is always a string; an assistant turn may carry ``tool_calls``
(``{id, type: "function", function: {name, arguments}}``, arguments a JSON string) and a
``tool`` turn names the call it answers in ``tool_call_id``. Tools are
``{type: "function", function: {name, description, parameters}}``; ``tool_choice`` is
``{type: auto|required|none}`` (later crates add ``function`` to force one tool).
A customer-attributed call sends ``X-ModelRelay-Customer-Id`` and omits ``model``: the
customer's tier picks it.

A reply is ``{id, content: [str, ...], stop_reason, model, usage: {input_tokens,
output_tokens, total_tokens}, tool_calls}``; its text is the joined ``content``.

Theory of operation for streams: the SSE events form the grammar ::

    message_start (message_delta | tool_use_start tool_use_delta* tool_use_stop)* message_stop

with ``ping`` and ``keepalive`` allowed anywhere (and dropped) and ``error`` ending the
stream. An event's kind is its JSON ``type`` (or ``event``), falling back to the SSE
``event:`` field; a ``{"event", "data"}`` envelope is unwrapped. ``message_delta`` carries
``delta`` as a string or as ``{text}`` / ``{content}``. Tool events carry
``tool_call_delta: {index, id, type, function: {name, arguments}}`` (fragments merged by
``index``, arguments appended); ``tool_use_stop`` may carry the finished ``tool_call`` and
``message_stop`` the finished ``tool_calls``, used only for calls whose arguments never
arrived in fragments. There is no ``[DONE]``: the stream ends at EOF.

Choice: ``finished`` becomes True only at ``message_stop``, so a stream that reaches EOF
without it makes ``ChatStream`` raise ``StreamError`` carrying the partial reply. (The
crate itself is lenient here: its stream adapters simply end at EOF.) Events the grammar
does not allow at that point -- content before ``message_start``, a second
``message_start``, a tool delta for a call never started or already stopped, anything
after ``message_stop`` -- raise ``StreamError``, never ``KeyError``. Unknown event kinds
are ignored so that newer servers do not break this client.

Structured streams: with a ``json_schema`` (or ``json_object``) ``response_format`` the
same body sent with ``Accept: application/x-ndjson`` answers one JSON record per line::

    {"type": "start", "request_id", "provider", "model"}
    {"type": "update", "payload": {...}, "complete_fields": ["title", "author.name"]}
    {"type": "completion", "payload": {...}, "complete_fields": [...], "usage": {...}}
    {"type": "error", "code", "message", "status"}

``payload`` is the whole object parsed so far (not a diff) and ``complete_fields`` the
cumulative dot paths of finished fields. ``start`` and ``keepalive`` are skipped, unknown
types ignored, a ``type`` is compared trimmed and lower-cased (as the SDKs do).
``completion`` or ``error`` ends the stream; EOF before either is an error. Usage on the
completion is read when present (newer servers send it), and so are ``stop_reason``,
``model`` and ``id``, which the SDKs do not document. ``StructuredRecordParser`` is the
sans-I/O half; ``relay_lite._structured`` drives it.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from .._config import USER_AGENT_PREFIX, VERSION
from .._errors import (
    GENERIC_CODE_CLASSES,
    APIError,
    BadRequestError,
    ConfigError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
    build_api_error,
    describe_error_body,
    read_error_body,
    scalar_text,
    unreadable_reply,
)
from .._models import (
    ChatParams,
    ChatResponse,
    DocumentPart,
    ImagePart,
    Message,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from .._record import Record
from .._sse import ServerSentEvent
from ._adapter import Adapter
from ._common import Accumulator, HTTPCall, merge_extra_body, normalise_finish_reason
from ._fields import (
    decode_json,
    json_kind,
    mapping,
    optional_list,
    optional_mapping,
    optional_str,
    wrong_type,
)

PROXY_PATH = "/llm/proxy"
# Header carrying the caller's own request id; the response echoes it.
REQUEST_ID_HEADER = "X-ModelRelay-Chat-Request-Id"
API_KEY_HEADER = "X-ModelRelay-Api-Key"
CLIENT_HEADER = "X-ModelRelay-Client"
CUSTOMER_ID_HEADER = "X-ModelRelay-Customer-Id"
CLIENT_NAME = f"{USER_AGENT_PREFIX}/{VERSION}"
# Key prefixes that go in X-ModelRelay-Api-Key (secret, publishable); others are bearer tokens.
API_KEY_PREFIXES = ("mr_sk_", "mr_pk_")

ACCEPT_JSON = "application/json"
ACCEPT_SSE = "text/event-stream"
ACCEPT_NDJSON = "application/x-ndjson"
# response_format types a structured (NDJSON) stream accepts
STRUCTURED_FORMATS = ("json_schema", "json_object")

_BEARER_PREFIX = "bearer "


def auth_headers(api_key: Optional[str]) -> dict[str, str]:
    """``X-ModelRelay-Api-Key`` for ``mr_sk_``/``mr_pk_`` keys, else ``Authorization: Bearer``."""
    if not api_key:
        return {}
    if api_key.startswith(API_KEY_PREFIXES):
        return {API_KEY_HEADER: api_key}
    if api_key.lower().startswith(_BEARER_PREFIX):
        return {"Authorization": api_key}
    return {"Authorization": f"Bearer {api_key}"}


# -- requests ---------------------------------------------------------------------------------


def _text(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    if any(isinstance(part, ImagePart) for part in message.content):
        raise ConfigError("ModelRelay /llm/proxy messages carry text only; images are not supported")
    if any(isinstance(part, DocumentPart) for part in message.content):
        raise ConfigError("ModelRelay /llm/proxy messages carry text only; documents are not supported")
    return message.text


def _tool_call_json(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments_text
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def message_to_wire(message: Message) -> dict[str, Any]:
    """One neutral message in ModelRelay's shape (content always a string)."""
    wire: dict[str, Any] = {"role": message.role, "content": _text(message)}
    if message.tool_calls:
        wire["tool_calls"] = [_tool_call_json(c) for c in message.tool_calls]
    if message.role == "tool" and not message.tool_call_id:
        raise ConfigError("a tool message needs the tool_call_id of the call it answers")
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    return wire


def tool_choice_to_wire(choice: Any) -> Optional[dict[str, Any]]:
    """auto / none / required (alias any) / a tool name (forced) / a dict passed through."""
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        return dict(choice)
    if choice in ("auto", "none", "required"):
        return {"type": choice}
    if choice == "any":
        return {"type": "required"}
    return {"type": "required", "function": choice}


def build_request(params: ChatParams, *, stream: bool, provider: str = "modelrelay") -> HTTPCall:
    """The HTTP call for ``params``.

    No ``stream`` field: ``Accept`` picks JSON or SSE. ``max_tokens`` is sent only when
    set (no default ceiling is injected). ``top_p`` and ``seed`` have no ``/llm/proxy``
    field and raise ``ConfigError`` rather than being dropped silently. With
    ``params.customer_id`` the call is billed to that customer: ``model`` is omitted and
    ``X-ModelRelay-Customer-Id`` is sent.
    """
    if params.top_p is not None:
        raise ConfigError("top_p is not supported by ModelRelay /llm/proxy")
    if params.seed is not None:
        raise ConfigError("seed is not supported by ModelRelay /llm/proxy")
    for name, value in (
        ("reasoning_effort", params.reasoning_effort),
        ("thinking", params.thinking_budget),
        ("n", params.n),
        ("logprobs", params.top_logprobs),
        ("end_user", params.end_user),
        ("parallel_tool_calls", params.parallel_tool_calls),
        ("cache", True if (params.cache_marks or params.cache_tools) else None),
    ):
        if value is not None:
            raise ConfigError(f"{name} is not supported by ModelRelay /llm/proxy")
    headers = {"Accept": ACCEPT_SSE if stream else ACCEPT_JSON, CLIENT_HEADER: CLIENT_NAME}
    body: dict[str, Any] = {}
    if params.customer_id:
        headers[CUSTOMER_ID_HEADER] = params.customer_id
    elif params.model:
        body["model"] = params.model
    body["messages"] = [message_to_wire(m) for m in params.messages]
    optional = {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "metadata": dict(params.metadata) if params.metadata is not None else None,
        "response_format": dict(params.response_format) if params.response_format is not None else None,
        "tool_choice": tool_choice_to_wire(params.tool_choice),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if params.stop:
        body["stop"] = list(params.stop)
    if params.tools:
        tools: list[dict[str, Any]] = []
        for tool in params.tools:
            function: dict[str, Any] = {"name": tool.name}
            if tool.description:
                function["description"] = tool.description
            function["parameters"] = dict(tool.parameters)
            tools.append({"type": "function", "function": function})
        body["tools"] = tools
    merge_extra_body(body, params.extra_body)
    return HTTPCall("POST", PROXY_PATH, body, headers)


# -- responses --------------------------------------------------------------------------------


def _count(usage: Mapping[str, Any], snake: str, camel: str) -> Optional[int]:
    value = usage.get(snake, usage.get(camel))
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def parse_usage(usage: Any) -> Usage:
    """ModelRelay usage in neutral form; a missing (or zero) total is input + output."""
    if not isinstance(usage, Mapping) or not usage:
        return Usage()
    input_tokens = _count(usage, "input_tokens", "inputTokens")
    output_tokens = _count(usage, "output_tokens", "outputTokens")
    total = _count(usage, "total_tokens", "totalTokens")
    if not total and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total)


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    # An object sent as such (not as JSON text); a non-object keeps its JSON for the error.
    return ToolCall.from_value("", "", arguments).arguments_json or "null"


def parse_tool_call(value: Any, where: str = "tool_call") -> Optional[ToolCall]:
    """A ``{id, type, function: {name, arguments}}`` object as a ``ToolCall`` (None if null)."""
    if value is None:
        return None
    value = mapping(value, where)
    function = optional_mapping(value.get("function"), f"{where}.function") or {}
    return ToolCall.from_json(
        _identifier(value.get("id"), f"{where}.id"),
        optional_str(function.get("name"), f"{where}.function.name") or "",
        _arguments_text(function.get("arguments")),
    )


def _identifier(value: Any, where: str) -> str:
    """An id: a string, or a number some servers send (kept as its decimal text)."""
    if value is None or type(value) is str:
        return value or ""
    if type(value) is int:
        return str(value)
    raise wrong_type(where, value, "a string")


def _tool_calls(value: Any, where: str = "tool_calls") -> list[ToolCall]:
    calls = optional_list(value, where) or ()
    return [call for call in (parse_tool_call(v, f"{where}[{i}]") for i, v in enumerate(calls)) if call]


def _stop_reason(payload: Mapping[str, Any]) -> Optional[str]:
    key = "stop_reason" if "stop_reason" in payload else "stopReason"
    return optional_str(payload.get(key), key) or None


def _content_text(content: Any) -> str:
    """The reply text: ``content`` is a list of strings (or, from some servers, one string)."""
    if content is None or type(content) is str:
        return content or ""
    if type(content) is not list:
        raise wrong_type("content", content, "an array of strings")
    for i, part in enumerate(content):
        if type(part) is not str:
            raise wrong_type(f"content[{i}]", part, "a string")
    return "".join(content)


def _is_error_body(payload: Mapping[str, Any]) -> bool:
    """An error in a 2xx body: ``{"error": {...}}`` or the flat ``{"message", "code", "fields"}``."""
    if "content" in payload:
        return False
    return "error" in payload or (
        type(payload.get("message")) is str and ("code" in payload or "fields" in payload)
    )


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A ``/llm/proxy`` JSON reply as a ``ChatResponse``; a field of the wrong type raises."""
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a /llm/proxy reply object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    if _is_error_body(payload):
        raise map_error(None, payload, {RESPONSE_ID_HEADERS[0]: request_id or ""}, attempts=attempts)
    try:
        raw_reason = _stop_reason(payload)
        return ChatResponse(
            text=_content_text(payload.get("content")),
            tool_calls=tuple(_tool_calls(payload.get("tool_calls"))),
            finish_reason=normalise_finish_reason(raw_reason),
            raw_finish_reason=raw_reason,
            model=optional_str(payload.get("model"), "model"),
            id=_identifier(payload.get("id"), "id") or None,
            usage=parse_usage(payload.get("usage")),
            request_id=request_id,
            raw=payload,
            attempts=attempts,
        )
    except StreamError as exc:
        # The field checks raise StreamError; a whole body that fails them is a bad reply.
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None


# -- streams ----------------------------------------------------------------------------------

_DROPPED = frozenset({"ping", "keepalive"})


class _Call:
    """One streamed tool call, from tool_use_start to tool_use_stop."""

    __slots__ = ("id", "name", "has_arguments", "stopped")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.has_arguments = False
        self.stopped = False


class StreamParser:
    """Turns the SSE events of a ``/llm/proxy`` stream into neutral events; accumulates."""

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        self._started = False
        self._calls: dict[int, _Call] = {}

    def partial(self) -> ChatResponse:
        """The reply accumulated so far (the stream pump stamps the HTTP facts on it)."""
        return self.acc.response()

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Parse one SSE event; raise the mapped ``APIError`` for an ``error`` event."""
        if event.event == "keepalive":
            return []
        payload = self._payload(event)
        if payload is None:  # a ping or keepalive whose data is not JSON
            return []
        kind = _kind(payload, event.event)
        if kind in _DROPPED:
            return []
        if self.finished:
            raise StreamError(f"{kind!r} event after message_stop")
        if kind == "error" or (kind not in _HANDLERS and "error" in payload):
            raise map_error(None, payload)
        handler = _HANDLERS.get(kind)
        if handler is None:  # event kinds newer than this code
            return []
        if kind != "message_start" and not self._started:
            raise StreamError(f"{kind} event before message_start")
        return handler(self, payload)

    @staticmethod
    def _payload(event: ServerSentEvent) -> Optional[dict[str, Any]]:
        data = event.data
        if not data.strip():
            return {}
        if event.event in _DROPPED and data[:1] not in ("{", "["):
            return None  # a ping or keepalive with a non-JSON body
        payload = decode_json(data, "stream event")
        if not isinstance(payload, dict):
            raise StreamError(f"stream event is not a JSON object: {data[:200]!r}")
        inner = payload.get("data")
        if isinstance(inner, dict) and "event" in payload:  # {"event": ..., "data": {...}} envelope
            merged = dict(inner)
            merged.setdefault("type", payload["event"])
            return merged
        return payload

    # -- message events -----------------------------------------------------------------

    def _message_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            raise StreamError("a second message_start event")
        self._started = True
        self._identify(payload)
        return self._usage(payload)

    def _message_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        self._identify(payload)
        events: list[StreamEvent] = []
        text = _delta_text(payload)
        if text:
            self.acc.text_parts.append(text)
            events.append(TextDelta(text))
        reason = _stop_reason(payload)
        if reason:
            self.acc.raw_finish_reason = reason
        return events + self._usage(payload)

    def _message_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        self._identify(payload)
        reason = _stop_reason(payload)
        if reason:
            self.acc.raw_finish_reason = reason
        events: list[StreamEvent] = []
        calls = _tool_calls(payload.get("tool_calls"))
        if calls and not self._calls:  # the calls arrived whole, not as fragments
            for call in calls:
                events += self._whole_call(len(self._calls), call)
        self.finished = True
        return events + self._usage(payload)

    def _identify(self, payload: Mapping[str, Any]) -> None:
        acc = self.acc
        message = payload.get("message")
        message = message if isinstance(message, Mapping) else {}
        if acc.id is None:
            found = payload.get("response_id") or payload.get("responseId") or payload.get("id")
            found = found or message.get("id")
            acc.id = str(found) if found else None
        if acc.model is None:
            model = payload.get("model") or message.get("model")
            acc.model = str(model) if model else None

    def _usage(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        usage = payload.get("usage")
        if not isinstance(usage, Mapping) or not usage:
            return []
        self.acc.usage = self.acc.usage.merge(parse_usage(usage))
        return [UsageEvent(self.acc.usage)]

    # -- tool events --------------------------------------------------------------------

    def _tool_use_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index, call_id, name, arguments = _tool_delta(payload, "tool_use_start")
        if index in self._calls:
            raise StreamError(f"tool_use_start for tool call {index}, which was already started")
        call = self._calls[index] = _Call(call_id or "", name or "")
        self.acc.tool_call(index, call.id, call.name, arguments)
        call.has_arguments = bool(arguments)
        return [ToolCallDelta(index, call.id, call.name, arguments)]

    def _tool_use_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index, call_id, name, arguments = _tool_delta(payload, "tool_use_delta")
        self._open_call(index, "tool_use_delta")
        self.acc.tool_call(index, call_id, name, arguments)
        if arguments:
            self._calls[index].has_arguments = True
        return [ToolCallDelta(index, call_id, name, arguments)]

    def _tool_use_stop(self, payload: dict[str, Any]) -> list[StreamEvent]:
        whole = parse_tool_call(payload.get("tool_call"))
        if whole is None:
            calls = _tool_calls(payload.get("tool_calls"))
            whole = calls[0] if len(calls) == 1 else None
        index = self._stop_index(payload, whole)
        if index is None or index not in self._calls:
            if whole is None:
                raise StreamError("tool_use_stop for a tool call that was never started")
            # The call arrived whole, with no start or fragments before it.
            target = len(self._calls) if index is None else index
            events = self._whole_call(target, whole)
            self._calls[target].stopped = True
            return events
        call = self._open_call(index, "tool_use_stop")
        call.stopped = True
        if whole is not None and not call.has_arguments and whole.arguments_json:
            call.has_arguments = True
            self.acc.tool_call(index, whole.id or None, whole.name or None, whole.arguments_json)
            return [ToolCallDelta(index, whole.id or None, whole.name or None, whole.arguments_json)]
        return []

    def _stop_index(self, payload: Mapping[str, Any], whole: Optional[ToolCall]) -> Optional[int]:
        delta = payload.get("tool_call_delta")
        source = delta if isinstance(delta, Mapping) else payload
        index = source.get("index")
        if index is not None:
            return _whole_number(index, "tool_use_stop")
        if whole is not None and whole.id:
            for known, call in self._calls.items():
                if call.id == whole.id:
                    return known
        open_calls = [i for i, call in self._calls.items() if not call.stopped]
        if len(open_calls) == 1:
            return open_calls[0]
        if whole is None:
            raise StreamError("tool_use_stop does not say which tool call it ends")
        return None  # a call that arrives whole

    def _whole_call(self, index: int, call: ToolCall) -> list[StreamEvent]:
        entry = self._calls[index] = _Call(call.id, call.name)
        entry.has_arguments = bool(call.arguments_json)
        self.acc.tool_call(index, call.id, call.name, call.arguments_json)
        return [ToolCallDelta(index, call.id, call.name, call.arguments_json)]

    def _open_call(self, index: int, kind: str) -> _Call:
        call = self._calls.get(index)
        if call is None:
            raise StreamError(f"{kind} for tool call {index}, which was never started")
        if call.stopped:
            raise StreamError(f"{kind} for tool call {index}, which had already stopped")
        return call


_HANDLERS = {
    "message_start": StreamParser._message_start,
    "message_delta": StreamParser._message_delta,
    "message_stop": StreamParser._message_stop,
    "tool_use_start": StreamParser._tool_use_start,
    "tool_use_delta": StreamParser._tool_use_delta,
    "tool_use_stop": StreamParser._tool_use_stop,
}


def _kind(payload: Mapping[str, Any], sse_event: str) -> str:
    for key in ("type", "event"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return sse_event


def _delta_text(payload: Mapping[str, Any]) -> str:
    """The text of a message_delta: ``delta`` as a string or ``{text}``/``{content}``."""
    delta = payload.get("delta")
    if isinstance(delta, str):
        return delta
    if isinstance(delta, Mapping):
        for key in ("text", "content"):
            value = delta.get(key)
            if isinstance(value, str):
                return value
        return ""
    if delta is not None:
        raise StreamError(f"message_delta.delta is neither a string nor an object: {delta!r}")
    value = payload.get("text_delta")
    return value if isinstance(value, str) else ""


def _whole_number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StreamError(f"{where} has no whole-number tool call index: {value!r}")
    return value


def _tool_delta(payload: Mapping[str, Any], where: str) -> tuple[int, Optional[str], Optional[str], str]:
    """(index, id, name, arguments fragment) of a tool event.

    The fragment is in ``tool_call_delta`` (``{index, id, type, function: {name,
    arguments}}``); an inline form with ``index``/``id``/``name``/``arguments`` at the top
    level is accepted too.
    """
    delta = payload.get("tool_call_delta")
    if delta is not None and not isinstance(delta, Mapping):
        raise StreamError(f"{where}.tool_call_delta is not an object")
    if isinstance(delta, Mapping):
        function = delta.get("function")
        function = function if isinstance(function, Mapping) else {}
        call_id, name, arguments = delta.get("id"), function.get("name"), function.get("arguments")
        index = delta.get("index", 0)
    else:
        call_id, name, arguments = payload.get("id"), payload.get("name"), payload.get("arguments")
        index = payload.get("index", 0)
    return (
        _whole_number(index, where),
        str(call_id) if call_id else None,
        str(name) if name else None,
        _arguments_text(arguments),
    )


# -- structured streams (NDJSON) -----------------------------------------------------------


def build_structured_stream_request(params: ChatParams) -> HTTPCall:
    """The call for a structured stream: ``build_request``'s body, ``Accept`` NDJSON.

    ``params.response_format`` must be a ``json_schema`` (or ``json_object``) format; the
    service answers anything else with plain text, which has no records to stream.
    """
    response_format = params.response_format
    kind = response_format.get("type") if response_format is not None else None
    if kind not in STRUCTURED_FORMATS:
        raise ConfigError("a ModelRelay structured stream needs a json_schema or json_object response_format")
    call = build_request(params, stream=False)
    headers = dict(call.headers)
    headers["Accept"] = ACCEPT_NDJSON
    return HTTPCall(call.method, call.path, call.body, headers)


class StructuredRecord(Record):
    """One ``update`` or ``completion`` record: the payload so far and the finished fields."""

    kind: str  # "update" or "completion"
    payload: Any
    complete_fields: tuple[str, ...]


_SKIPPED_RECORDS = frozenset({"start", "keepalive", "ping"})


class StructuredRecordParser:
    """Reads the records of a structured NDJSON stream; sans-I/O.

    ``feed`` returns a ``StructuredRecord`` for ``update`` and ``completion`` records and
    None for records that carry no output; it raises the mapped ``APIError`` for an
    ``error`` record and ``StreamError`` for a malformed one or anything after the
    completion. Once ``finished``, ``usage``, ``raw_finish_reason``, ``model``, ``id`` and
    ``request_id`` hold what the records said (None when they said nothing).
    """

    def __init__(self) -> None:
        self.finished = False
        self.usage = Usage()
        self.raw_finish_reason: Optional[str] = None
        self.model: Optional[str] = None
        self.id: Optional[str] = None
        self.request_id: Optional[str] = None
        #: The completion record as received.
        self.completion: Optional[dict[str, Any]] = None

    def feed(self, record: Any) -> Optional[StructuredRecord]:
        """Read one decoded NDJSON record."""
        if not isinstance(record, dict):
            raise StreamError(f"structured stream record is not a JSON object: {_snippet(record)}")
        raw_kind = record.get("type")
        kind = raw_kind.strip().lower() if isinstance(raw_kind, str) else ""
        if self.finished:
            raise StreamError(f"structured stream record {kind or '(no type)'!r} after the completion")
        if kind == "error" or (not kind and "error" in record):
            error = map_error(None, record)
            if type(error) is APIError and error.status is None:
                # Neither a status nor a known code: the SDKs treat it as a server failure.
                error = map_error(500, record)
            raise error
        if not kind:
            raise StreamError(f"structured stream record has no type: {_snippet(record)}")
        if kind in _SKIPPED_RECORDS:
            self._identify(record)
            return None
        if kind not in ("update", "completion"):
            return None  # record types newer than this code
        payload = record.get("payload")
        if payload is None:
            raise StreamError(f"structured stream {kind} record has no payload")
        fields = _complete_fields(record.get("complete_fields"), kind)
        if kind == "completion":
            self.finished = True
            self.completion = record
            self._identify(record)
            reason = _stop_reason(record)
            if reason:
                self.raw_finish_reason = reason
            self.usage = parse_usage(record.get("usage"))
        return StructuredRecord(kind, payload, fields)

    def _identify(self, record: Mapping[str, Any]) -> None:
        for attribute, keys in (
            ("request_id", ("request_id", "requestId")),
            ("model", ("model",)),
            ("id", ("response_id", "responseId", "id")),
        ):
            if getattr(self, attribute) is None:
                found = next((record[k] for k in keys if record.get(k)), None)
                if found is not None:
                    setattr(self, attribute, str(found))

    def response(self, text: str, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
        """The finished stream as a ``ChatResponse`` whose text is ``text`` (the payload as JSON)."""
        return ChatResponse(
            text=text,
            finish_reason=normalise_finish_reason(self.raw_finish_reason),
            raw_finish_reason=self.raw_finish_reason,
            model=self.model,
            id=self.id,
            usage=self.usage,
            request_id=request_id or self.request_id,
            raw=self.completion,
            attempts=attempts,
        )


def _complete_fields(value: Any, kind: str) -> tuple[str, ...]:
    """``complete_fields`` as a tuple, blanks dropped (missing means none yet)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise StreamError(f"structured stream {kind} record: complete_fields is not a list")
    return tuple(f.strip() for f in value if isinstance(f, str) and f.strip())


def _snippet(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:200] + "..."


# -- errors -------------------------------------------------------------------------------
#
# Bodies: {"error": {"code", "message", "fields", "status"}, "request_id"} or a flat
# {"message", "code", "fields"}; codes are upper case (RATE_LIMIT, VALIDATION_ERROR).

#: Response headers carrying the request id, most specific first.
RESPONSE_ID_HEADERS = ("x-modelrelay-chat-request-id", "x-request-id")
#: Error codes (lower-cased) naming a class when no HTTP status does.
ERROR_CODES: Mapping[str, type[APIError]] = {
    **GENERIC_CODE_CLASSES,
    "rate_limit": RateLimitError,
    "validation_error": UnprocessableEntityError,
    "invalid_input": BadRequestError,
}


def map_error(
    status: Optional[int],
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    *,
    attempts: int = 1,
    partial: Any = None,
) -> APIError:
    """The ``APIError`` for a ModelRelay error body (``status`` None: inside a stream)."""
    parsed, text = read_error_body(body)
    facts = describe_error_body(parsed, text)
    if isinstance(parsed, Mapping):
        facts = facts.replace(request_id=scalar_text(parsed.get("request_id")) or None)
    return build_api_error(
        status,
        parsed,
        facts,
        headers,
        request_id_headers=RESPONSE_ID_HEADERS,
        code_classes=ERROR_CODES,
        attempts=attempts,
        partial=partial,
    )


class ModelRelayAdapter(Adapter):
    """``/llm/proxy`` chat, with its NDJSON structured stream."""

    name = "modelrelay"
    display_name = "ModelRelay"
    request_id_header = REQUEST_ID_HEADER

    response_id_headers = RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return auth_headers(api_key)

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        return build_request(params, stream=stream, provider=self.provider)

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        return parse_response(payload, request_id=request_id, attempts=attempts)

    def stream_parser(self) -> StreamParser:
        return StreamParser()

    def structured_stream_call(self, params: ChatParams) -> Optional[HTTPCall]:
        return build_structured_stream_request(params)

    def structured_record_parser(self) -> StructuredRecordParser:
        return StructuredRecordParser()

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        return map_error(status, body, headers, attempts=attempts)
