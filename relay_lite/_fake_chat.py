"""Chat protocols for ``FakeServer``: scripted replies rendered per wire protocol, and echo.

A ``ChatScript`` describes a reply in neutral terms (text, tool calls, usage, faults);
each renderer turns it into the exact bytes that provider would send, streamed or not
according to the request. With nothing scripted, the server echoes: a deterministic reply
built from the request, so demos and smoke tests need no script at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ._models import ToolCall, Usage
from .testing import RecordedRequest, Reply, sse_event

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
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": script.text or None}
        if script.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
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
        return sse_event({"id": script.id, "object": "chat.completion.chunk", "model": script.model, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": ""})]
    deltas = [chunk({"content": piece}) for piece in script.pieces(script.text)] if script.text else []
    for index, call in enumerate(script.tool_calls):
        deltas.append(
            chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                   "function": {"name": call.name, "arguments": ""}}]})
        )
        for piece in script.pieces(call.arguments_json):
            deltas.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    if script.error is not None:
        events += deltas[: script.error_after]
        events.append(sse_event({"error": script.error}))
        return _stream_reply(script, events)
    events += deltas
    events.append(chunk({}, reason))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(
            sse_event({"id": script.id, "object": "chat.completion.chunk", "model": script.model,
                       "choices": [], "usage": _openai_usage(script.usage)})
        )
    events.append(b"data: [DONE]\n\n")
    return _stream_reply(script, events)


Renderer = Callable[[ChatScript, RecordedRequest], Reply]
Neutraliser = Callable[[dict[str, Any]], tuple[list[Any], list[dict[str, Any]]]]

# protocol name -> (renderer, function giving the neutral messages and tools of a request)
RENDERERS: dict[str, tuple[Renderer, Neutraliser]] = {
    "openai": (render_openai, _openai_neutral),
}
