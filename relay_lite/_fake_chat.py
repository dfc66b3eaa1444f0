"""Chat protocols for ``FakeServer``: scripted replies rendered per wire protocol, and echo.

A ``ChatScript`` describes a reply in neutral terms (text, tool calls, usage, faults);
each renderer turns it into the exact bytes that provider would send, streamed or not
according to the request. With nothing scripted, the server echoes: a deterministic reply
built from the request, so demos and smoke tests need no script at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from ._fake_wire import RecordedRequest, Reply, sse_event
from ._models import ToolCall, Usage
from ._partial_json import PartialJSONError, PartialJSONParser

__all__ = ["ChatScript", "echo_script", "RENDERERS"]


@dataclass
class ChatScript:
    """A reply for a protocol-speaking ``FakeServer``, rendered for whatever the request asked.

    ``finish_reason`` is neutral (stop / length / tool_calls / refusal); it defaults to
    tool_calls when there are tool calls, else stop. Streams send text and tool arguments
    in pieces of ``chunk_size`` characters. Faults: ``error`` (an error body such as
    ``{"type": "overloaded_error", "message": "..."}``) is sent inside the 200 stream after
    ``error_after`` deltas; ``cut_after`` drops the connection after that many events;
    ``split_bytes`` re-cuts the byte stream into pieces of that size, whatever the events.
    """

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str = ""
    finish_reason: Optional[str] = None
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=10, output_tokens=5, total_tokens=15))
    model: str = "fake-model"
    id: str = "fake-1"
    chunk_size: int = 4
    chunk_delay: float = 0.0
    error: Optional[dict[str, Any]] = None
    error_after: int = 0
    cut_after: Optional[int] = None
    split_bytes: Optional[int] = None
    headers: dict[str, str] = field(default_factory=lambda: {"x-request-id": "req_fake"})

    @property
    def neutral_finish_reason(self) -> str:
        """The finish reason to send, neutral form."""
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def pieces(self, text: str) -> list[str]:
        """``text`` cut into ``chunk_size`` pieces (always at least one piece)."""
        size = max(1, self.chunk_size)
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def _words(messages: list[Any]) -> int:
    return sum(len(json.dumps(m.get("content", "")).split()) for m in messages)


def echo_script(messages: list[Any], tools: list[dict[str, Any]]) -> ChatScript:
    """The deterministic reply to ``messages`` (neutral dicts: role, content).

    A request offering tools whose last message is the user's calls the first tool, with
    the user's text as its first string argument; otherwise the reply is
    ``"Echo: <last user text>"`` (or ``"Echo: tool said <result>"`` after a tool result).
    """
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        text = f"Echo: tool said {last.get('content')}"
        return ChatScript(text=text, usage=_usage(messages, text))
    user_text = _last_user_text(messages)
    if tools:
        tool = tools[0]
        properties = (tool.get("parameters") or {}).get("properties") or {}
        key = next((k for k, v in properties.items() if v.get("type") == "string"), None)
        arguments = {key: user_text} if key else {}
        call = ToolCall("call_echo_1", tool["name"], arguments, json.dumps(arguments))
        return ChatScript(tool_calls=[call], usage=_usage(messages, json.dumps(arguments)))
    text = f"Echo: {user_text}"
    return ChatScript(text=text, usage=_usage(messages, text))


def _usage(messages: list[Any], reply: str) -> Usage:
    prompt = _words(messages)
    completion = len(reply.split())
    return Usage(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion)


def _stream_reply(script: ChatScript, events: list[bytes], *, abort: bool = False) -> Reply:
    if script.cut_after is not None:
        events = events[: script.cut_after]
        abort = True
    if script.split_bytes:
        data = b"".join(events)
        events = [data[i : i + script.split_bytes] for i in range(0, len(data), script.split_bytes)]
    return Reply.sse(list(events), chunk_delay=script.chunk_delay, abort=abort, headers=script.headers)


def _until_delta(events: list[tuple[bytes, bool]], deltas: int) -> list[bytes]:
    """The events (each flagged: is it a delta?) before delta number ``deltas``."""
    kept: list[bytes] = []
    seen = 0
    for data, is_delta in events:
        if is_delta:
            if seen == deltas:
                break
            seen += 1
        kept.append(data)
    return kept


# -- OpenAI chat completions ----------------------------------------------------------------

_OPENAI_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "refusal": "stop"}


def _openai_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _openai_neutral(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    tools = [t.get("function", t) for t in body.get("tools") or []]
    return body.get("messages") or [], tools


def render_openai(script: ChatScript, request: RecordedRequest) -> Reply:
    """``script`` as an OpenAI chat completion, or a chunk stream when the body asks."""
    body = request.json()
    reason = _OPENAI_REASONS.get(script.neutral_finish_reason, script.neutral_finish_reason)
    # OpenAI sends a refusal in its own field, with no content.
    text_field = "refusal" if script.neutral_finish_reason == "refusal" else "content"
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": None, text_field: script.text or None}
        if script.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_text}}
                for c in script.tool_calls
            ]
        payload = {
            "id": script.id,
            "object": "chat.completion",
            "model": script.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reason}],
            "usage": _openai_usage(script.usage),
        }
        return Reply.json(payload, headers=script.headers)

    def chunk(delta: dict[str, Any], finish: Optional[str] = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse_event(
            {"id": script.id, "object": "chat.completion.chunk", "model": script.model, "choices": [choice]}
        )

    events = [chunk({"role": "assistant", "content": ""})]
    deltas = [chunk({text_field: piece}) for piece in script.pieces(script.text)] if script.text else []
    for index, call in enumerate(script.tool_calls):
        deltas.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for piece in script.pieces(call.arguments_text):
            deltas.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    if script.error is not None:
        events += deltas[: script.error_after]
        events.append(sse_event({"error": script.error}))
        return _stream_reply(script, events)
    events += deltas
    events.append(chunk({}, reason))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(
            sse_event(
                {
                    "id": script.id,
                    "object": "chat.completion.chunk",
                    "model": script.model,
                    "choices": [],
                    "usage": _openai_usage(script.usage),
                }
            )
        )
    events.append(b"data: [DONE]\n\n")
    return _stream_reply(script, events)


# -- Anthropic Messages ----------------------------------------------------------------------

_ANTHROPIC_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "refusal": "refusal",
}
_FAKE_SIGNATURE = "fake-signature"


def _anthropic_usage(usage: Usage) -> dict[str, Any]:
    wire: dict[str, Any] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    if usage.cached_input_tokens is not None:
        wire["cache_read_input_tokens"] = usage.cached_input_tokens
    if usage.cache_creation_input_tokens is not None:
        wire["cache_creation_input_tokens"] = usage.cache_creation_input_tokens
    return wire


def _anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    )


def _anthropic_neutral(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """A Messages request body as neutral messages (role, content text) and tools."""
    for required in ("model", "max_tokens", "messages"):
        if required not in body:
            raise ValueError(f"{required}: field required")
    messages: list[Any] = []
    if body.get("system"):
        messages.append({"role": "system", "content": _anthropic_text(body["system"])})
    for message in body["messages"]:
        role, content = message["role"], message["content"]
        if role not in ("user", "assistant"):
            raise ValueError(f"messages: unexpected role {role!r}")
        if isinstance(content, list):
            for block in content:
                if block.get("type") == "tool_result":
                    messages.append({"role": "tool", "content": _anthropic_text(block.get("content"))})
            text = _anthropic_text(content)
            if text or not any(b.get("type") == "tool_result" for b in content):
                messages.append({"role": role, "content": text})
        else:
            messages.append({"role": role, "content": content})
    tools = [{"name": t["name"], "parameters": t.get("input_schema")} for t in body.get("tools") or []]
    return messages, tools


def _anthropic_blocks(script: ChatScript) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if script.thinking:
        blocks.append({"type": "thinking", "thinking": script.thinking, "signature": _FAKE_SIGNATURE})
    if script.text:
        blocks.append({"type": "text", "text": script.text})
    for call in script.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.wire_arguments})
    return blocks


def _anthropic_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` as Anthropic names them: its request id comes in ``request-id``."""
    return {("request-id" if name.lower() == "x-request-id" else name): v for name, v in headers.items()}


def render_anthropic(script: ChatScript, request: RecordedRequest) -> Reply:
    """``script`` as an Anthropic Messages reply, or its event stream when the body asks."""
    script = replace(script, headers=_anthropic_headers(script.headers))
    body = request.json()
    reason = _ANTHROPIC_REASONS.get(script.neutral_finish_reason, script.neutral_finish_reason)
    message: dict[str, Any] = {
        "id": script.id,
        "type": "message",
        "role": "assistant",
        "model": script.model,
        "content": _anthropic_blocks(script),
        "stop_reason": reason,
        "stop_sequence": None,
        "usage": _anthropic_usage(script.usage),
    }
    if not body.get("stream"):
        return Reply.json(message, headers=script.headers)

    def event(data: dict[str, Any]) -> bytes:
        return sse_event(data, event=data["type"])

    start_usage = dict(message["usage"], output_tokens=1)
    head = [
        event(
            {
                "type": "message_start",
                "message": dict(message, content=[], stop_reason=None, usage=start_usage),
            }
        ),
        event({"type": "ping"}),
    ]
    # (bytes, is a content_block_delta) for every block event, so an error can cut after N deltas
    blocks: list[tuple[bytes, bool]] = []

    def block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        blocks.append((event({"type": "content_block_start", "index": index, "content_block": start}), False))
        for delta in deltas:
            blocks.append((event({"type": "content_block_delta", "index": index, "delta": delta}), True))
        blocks.append((event({"type": "content_block_stop", "index": index}), False))

    index = 0
    if script.thinking:
        pieces = [{"type": "thinking_delta", "thinking": p} for p in script.pieces(script.thinking)]
        pieces.append({"type": "signature_delta", "signature": _FAKE_SIGNATURE})
        block(index, {"type": "thinking", "thinking": "", "signature": ""}, pieces)
        index += 1
    if script.text:
        block(
            index,
            {"type": "text", "text": ""},
            [{"type": "text_delta", "text": p} for p in script.pieces(script.text)],
        )
        index += 1
    for call in script.tool_calls:
        arguments = call.arguments_text
        pieces = [{"type": "input_json_delta", "partial_json": p} for p in script.pieces(arguments)]
        block(index, {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, pieces)
        index += 1

    events = list(head)
    if script.error is not None:
        events += _until_delta(blocks, script.error_after)
        events.append(event({"type": "error", "error": script.error}))
        return _stream_reply(script, events)
    events += [data for data, _ in blocks]
    events.append(
        event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": {"output_tokens": script.usage.output_tokens},
            }
        )
    )
    events.append(event({"type": "message_stop"}))
    return _stream_reply(script, events)


# -- ModelRelay /llm/proxy --------------------------------------------------------------------

_MODELRELAY_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_calls"}


def _modelrelay_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _modelrelay_tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments_text
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def _modelrelay_neutral(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """A ``/llm/proxy`` body as neutral messages (role, content text) and tools.

    ``model`` is optional: a customer-attributed call omits it. No ``stream`` field is
    allowed, since the Accept header picks the mode.
    """
    if "messages" not in body:
        raise ValueError("messages: field required")
    if "stream" in body:
        raise ValueError("stream: unknown field (the Accept header picks streaming)")
    messages: list[Any] = []
    for message in body["messages"]:
        role, content = message["role"], message.get("content", "")
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"messages: unexpected role {role!r}")
        if not isinstance(content, str):
            raise ValueError("messages: content must be a string")
        messages.append({"role": role, "content": content})
    tools = [t.get("function", t) for t in body.get("tools") or []]
    return messages, tools


def render_modelrelay(script: ChatScript, request: RecordedRequest) -> Reply:
    """``script`` as a ``/llm/proxy`` reply, or a stream when Accept asks for one.

    ``text/event-stream`` gets the SSE chat stream; ``application/x-ndjson`` gets the
    structured-output records built from ``script.text`` (see ``_modelrelay_structured``).

    The caller's ``X-ModelRelay-Chat-Request-Id`` is echoed back, as the service does.
    """
    request.json()  # the body must be JSON
    reason = _MODELRELAY_REASONS.get(script.neutral_finish_reason, script.neutral_finish_reason)
    headers = dict(script.headers)
    caller_id = request.headers.get("x-modelrelay-chat-request-id")
    if caller_id:
        headers["X-ModelRelay-Chat-Request-Id"] = caller_id
    calls = [_modelrelay_tool_call(c) for c in script.tool_calls]
    accept = request.headers.get("accept", "")
    if "ndjson" in accept:
        return _modelrelay_structured(script, request, reason, headers)
    if "text/event-stream" not in accept:
        payload: dict[str, Any] = {
            "provider": "fake",
            "id": script.id,
            "content": [script.text] if script.text else [],
            "stop_reason": reason,
            "model": script.model,
            "usage": _modelrelay_usage(script.usage),
        }
        if calls:
            payload["tool_calls"] = calls
        return Reply.json(payload, headers=headers)

    def event(data: dict[str, Any]) -> bytes:
        return sse_event(data, event=data["type"])

    events = [
        event({"type": "message_start", "response_id": script.id, "model": script.model}),
        b"event: keepalive\ndata: {}\n\n",
        event({"type": "ping"}),
    ]
    # (bytes, is a delta) for every content event, so an error can cut after N deltas
    body: list[tuple[bytes, bool]] = [
        (event({"type": "message_delta", "delta": piece, "response_id": script.id}), True)
        for piece in (script.pieces(script.text) if script.text else [])
    ]
    for index, call in enumerate(calls):
        function = call["function"]
        start = {"index": index, "id": call["id"], "type": "function", "function": {"name": function["name"]}}
        body.append((event({"type": "tool_use_start", "tool_call_delta": start}), False))
        for piece in script.pieces(function["arguments"]):
            delta = {"index": index, "function": {"arguments": piece}}
            body.append((event({"type": "tool_use_delta", "tool_call_delta": delta}), True))
        stop = {"type": "tool_use_stop", "tool_call_delta": {"index": index}, "tool_call": call}
        body.append((event(stop), False))
    if script.error is not None:
        events += _until_delta(body, script.error_after)
        events.append(event({"type": "error", "error": script.error}))
        reply = _stream_reply(script, events)
        reply.headers.update(headers)
        return reply
    events += [data for data, _ in body]
    stop_event: dict[str, Any] = {
        "type": "message_stop",
        "response_id": script.id,
        "model": script.model,
        "stop_reason": reason,
        "usage": _modelrelay_usage(script.usage),
    }
    if calls:
        stop_event["tool_calls"] = calls
    events.append(event(stop_event))
    reply = _stream_reply(script, events)
    reply.headers.update(headers)
    return reply


def _modelrelay_structured(
    script: ChatScript, request: RecordedRequest, reason: str, headers: dict[str, str]
) -> Reply:
    """``script.text`` (JSON) as a structured NDJSON stream: start, updates, completion.

    The text is fed to a partial-JSON parser in ``chunk_size`` pieces; every piece that
    changes the payload or its finished fields gives an ``update`` with the whole payload
    so far. ``error`` becomes an error record after ``error_after`` updates, as does text
    that is not JSON at the end.
    """
    response_format = request.json().get("response_format") or {}
    if response_format.get("type") not in ("json_schema", "json_object"):
        raise ValueError("response_format: a structured stream needs json_schema or json_object")

    def record(data: dict[str, Any]) -> bytes:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")

    request_id = headers.get("X-ModelRelay-Chat-Request-Id") or headers.get("x-request-id")
    start: dict[str, Any] = {"type": "start", "provider": "fake", "model": script.model}
    if request_id:
        start["request_id"] = request_id
    events = [record(start)]
    parser = PartialJSONParser()
    updates: list[bytes] = []
    last: Optional[bytes] = None
    failure: Optional[str] = None
    for piece in script.pieces(script.text):
        try:
            parser.feed(piece)
        except PartialJSONError as exc:
            failure = str(exc)
            break
        if parser.value is None:  # the value has not started (a fence, say)
            continue
        update = {"type": "update", "payload": parser.value, "complete_fields": list(parser.complete_fields)}
        encoded = record(update)  # serialised now: the parser's value keeps changing
        if encoded != last:
            updates.append(encoded)
            last = encoded
    if failure is None:
        try:
            parser.finish()
        except PartialJSONError as exc:
            failure = str(exc)
    if failure is None and not parser.done:
        failure = "the reply ended before its JSON value did"
    error, error_after = script.error, script.error_after
    if error is None and failure is not None:
        message = f"the model's reply is not JSON: {failure}"
        error, error_after = {"code": "INVALID_JSON", "message": message, "status": 502}, len(updates)
    if error is not None:
        events += updates[:error_after]
        error_record: dict[str, Any] = {"type": "error", "code": error.get("code") or error.get("type")}
        error_record.update({k: error[k] for k in ("message", "status") if k in error})
        events.append(record(error_record))
    else:
        events += updates
        completion = {
            "type": "completion",
            "payload": parser.value,
            "complete_fields": list(parser.complete_fields),
            "usage": _modelrelay_usage(script.usage),
            "stop_reason": reason,
        }
        events.append(record(completion))
    reply = _stream_reply(script, events)
    reply.headers.pop("Cache-Control", None)
    reply.headers["Content-Type"] = "application/x-ndjson"
    reply.headers.update(headers)
    return reply


# -- Azure OpenAI ----------------------------------------------------------------------------

# What Azure's default filter reports for harmless text, per category.
_AZURE_SAFE = {
    name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")
}
_AZURE_PATH = re.compile(
    r"^(?:/openai/deployments/[^/?]+/chat/completions\?(?:.*&)?api-version=[^&]+.*|/openai/v1/chat/completions(?:\?.*)?)$"
)


def _azure_error(status: int, code: str, message: str) -> Reply:
    return Reply.json({"error": {"code": code, "message": message}}, status=status)


def render_azure(script: ChatScript, request: RecordedRequest) -> Reply:
    """``script`` as Azure OpenAI answers it: OpenAI's shapes plus content-filter results.

    Only Azure's two URL shapes are served (a deployment path needs ``api-version``); a
    request without ``api-key`` or a bearer token gets API Management's flat 401.
    """
    if not _AZURE_PATH.match(request.path):
        return _azure_error(404, "404", f"Resource not found: {request.path}")
    if not (request.headers.get("api-key") or request.headers.get("authorization", "").startswith("Bearer ")):
        return Reply.json(
            {"statusCode": 401, "message": "Access denied due to missing subscription key."}, status=401
        )
    reply = render_openai(script, request)
    prompt_filter = [{"prompt_index": 0, "content_filter_results": _AZURE_SAFE}]
    if reply.chunks is None and isinstance(reply.body, (bytes, str)):
        payload = json.loads(reply.body)
        payload["prompt_filter_results"] = prompt_filter
        for choice in payload.get("choices") or []:
            choice["content_filter_results"] = _AZURE_SAFE
        return Reply.json(payload, status=reply.status, headers=script.headers)
    # Azure's stream opens with a chunk that has no choices, only the prompt's results.
    first = sse_event(
        {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": prompt_filter,
        }
    )
    reply.chunks = [first, *(reply.chunks or [])]
    return reply


# -- Amazon Bedrock ----------------------------------------------------------------------------
# Converse and ConverseStream are path routes of relay_lite._fake_bedrock; any other
# request to a Bedrock fake gets the 404 the service sends for an unknown operation.


def _render_bedrock_unknown(script: ChatScript, request: RecordedRequest) -> Reply:
    headers = {"x-amzn-ErrorType": "UnknownOperationException", "x-amzn-RequestId": "req-fake-error"}
    message = f"no Bedrock operation at {request.method} {request.path}"
    return Reply.json({"message": message}, status=404, headers=headers)


def _no_messages(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    return [], []


Renderer = Callable[[ChatScript, RecordedRequest], Reply]
Neutraliser = Callable[[dict[str, Any]], tuple[list[Any], list[dict[str, Any]]]]

# protocol name -> (renderer, function giving the neutral messages and tools of a request)
RENDERERS: dict[str, tuple[Renderer, Neutraliser]] = {
    "openai": (render_openai, _openai_neutral),
    "anthropic": (render_anthropic, _anthropic_neutral),
    "modelrelay": (render_modelrelay, _modelrelay_neutral),
    "azure": (render_azure, _openai_neutral),
    "bedrock": (_render_bedrock_unknown, _no_messages),
}
