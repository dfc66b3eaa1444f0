"""OpenAI's Responses API for ``FakeServer.openai()``: ``POST /v1/responses`` (or ``/responses``).

A queued ``ChatScript`` is rendered as a whole ``response`` object, or, when the body
asks for ``stream``, as the typed SSE events the API sends (``event:`` lines, a
``sequence_number`` on each, ``item_id`` / ``output_index`` / ``content_index`` on the
deltas). With nothing queued the reply echoes the request (``_fake_chat.echo_script``).

How a script maps: ``thinking`` is a reasoning item with one summary; ``text`` an
assistant message (a refusal part when ``finish_reason`` is ``refusal``); each tool call
a ``function_call`` item; ``finish_reason`` ``length`` (or ``content_filter``) ends the
response ``incomplete`` with that reason. ``error`` is sent in the stream after
``error_after`` deltas: an error object with a ``type`` (``{"type": "server_error",
"message": ...}``) as the ``error`` event in the live API's nested shape, one without
(``{"code": "server_error", "message": ...}``) as ``response.failed`` carrying it.
``cut_after``, ``split_bytes`` and ``chunk_delay`` work as for chat.

``POST /v1/responses/input_tokens`` counts a request's prompt as the real endpoint does
in shape (``{"object": "response.input_tokens", "input_tokens": N}``), with
``fake_token_count`` over the instructions, input texts and tools; like OpenAI, it
refuses a field the endpoint does not take (400 ``unknown_parameter``).
"""

from __future__ import annotations

from typing import Any, Optional

from ._fake_chat import ChatScript, _stream_reply, _until_delta, echo_script
from ._fake_routes import register_route
from ._fake_wire import RecordedRequest, Reply, sse_event
from ._models import Usage

__all__ = ["render_responses", "responses_neutral"]

#: The path served, with or without the ``/v1`` a base URL may or may not end with.
PATH_PATTERN = r"(?:/v1)?/responses"
INPUT_TOKENS_PATTERN = r"(?:/v1)?/responses/input_tokens"
# What the real endpoint takes (openai-python InputTokenCountParams), kept apart from the
# adapter's own list so a test catches a field the adapter should not send.
_INPUT_TOKENS_FIELDS = frozenset(
    "conversation input instructions model parallel_tool_calls personality previous_response_id "
    "reasoning text tool_choice tools truncation".split()
)
# The fixed creation time of every fake response (a stable body is easier to read).
_CREATED_AT = 1_760_000_000


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(str(p.get("text", "")) for p in content or [] if isinstance(p, dict) and "text" in p)


def responses_neutral(body: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """A ``/responses`` body as neutral messages (role, content text) and flat tools."""
    if "model" not in body:
        raise ValueError("model: field required")
    messages: list[Any] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item["role"], "content": _text_of(item.get("content"))})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": "", "call_id": item["call_id"]})
        elif kind == "function_call_output":
            # output is a string, or a list of input_text / input_image / input_file items
            messages.append({"role": "tool", "content": _text_of(item["output"]), "call_id": item["call_id"]})
        else:
            raise ValueError(f"input: unsupported item type {kind!r}")
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    return messages, tools


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens or 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total_tokens,
    }


def _ended_status(script: ChatScript) -> tuple[str, Optional[dict[str, Any]]]:
    reason = script.neutral_finish_reason
    if reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


class _Items:
    """The output items of a script, whole and as the stream adds them."""

    def __init__(self, script: ChatScript) -> None:
        self.script = script
        self.reasoning_id = f"rs_{script.id}"
        self.message_id = f"msg_{script.id}"
        self.refusal = script.neutral_finish_reason == "refusal"

    def reasoning(self, summary: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.reasoning_id, "type": "reasoning", "summary": summary}

    def message(self, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def part(self, text: str) -> dict[str, Any]:
        if self.refusal:
            return {"type": "refusal", "refusal": text}
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def call(self, index: int, arguments: str, status: str) -> dict[str, Any]:
        call = self.script.tool_calls[index]
        return {
            "id": f"fc_{index}_{self.script.id}",
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": call.id,
            "name": call.name,
        }

    def whole(self) -> list[dict[str, Any]]:
        script = self.script
        output: list[dict[str, Any]] = []
        if script.thinking:
            output.append(self.reasoning([{"type": "summary_text", "text": script.thinking}]))
        if script.text:
            output.append(self.message([self.part(script.text)], "completed"))
        for index, call in enumerate(script.tool_calls):
            output.append(self.call(index, call.arguments_text, "completed"))
        return output


def _response(
    script: ChatScript, body: dict[str, Any], status: str, output: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """A ``response`` object with the fields the API always sends (padding included)."""
    response: dict[str, Any] = {
        "id": script.id,
        "object": "response",
        "created_at": _CREATED_AT,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": script.model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "metadata": body.get("metadata") or {},
    }
    response.update(extra)
    return response


def render_responses(script: ChatScript, request: RecordedRequest) -> Reply:
    """``script`` as a Responses API reply: a whole response, or its event stream."""
    body = request.json()
    responses_neutral(body)  # the body must read as a Responses request
    items = _Items(script)
    status, incomplete = _ended_status(script)
    final = _response(
        script,
        body,
        status,
        items.whole(),
        incomplete_details=incomplete,
        usage=_usage(script.usage),
    )
    if not body.get("stream"):
        return Reply.json(final, headers=script.headers)
    return _stream(script, body, items, final)


def _stream(script: ChatScript, body: dict[str, Any], items: _Items, final: dict[str, Any]) -> Reply:
    sequence = iter(range(1_000_000))

    def event(data: dict[str, Any]) -> bytes:
        data = {"type": data.pop("type"), "sequence_number": next(sequence), **data}
        return sse_event(data, event=data["type"])

    started = _response(script, body, "in_progress", [])
    events = [event({"type": "response.created", "response": started})]
    events.append(event({"type": "response.in_progress", "response": started}))
    # (bytes, is a delta) for every output event, so an error can cut after N deltas
    output: list[tuple[bytes, bool]] = []

    def add(data: dict[str, Any], is_delta: bool = False) -> None:
        output.append((event(data), is_delta))

    index = 0
    if script.thinking:
        at = {"item_id": items.reasoning_id, "output_index": index, "summary_index": 0}
        add({"type": "response.output_item.added", "output_index": index, "item": items.reasoning([])})
        add(
            {
                "type": "response.reasoning_summary_part.added",
                **at,
                "part": {"type": "summary_text", "text": ""},
            }
        )
        for piece in script.pieces(script.thinking):
            add({"type": "response.reasoning_summary_text.delta", **at, "delta": piece}, True)
        add({"type": "response.reasoning_summary_text.done", **at, "text": script.thinking})
        done_part = {"type": "summary_text", "text": script.thinking}
        add({"type": "response.reasoning_summary_part.done", **at, "part": done_part})
        add(
            {"type": "response.output_item.done", "output_index": index, "item": items.reasoning([done_part])}
        )
        index += 1
    if script.text:
        at = {"item_id": items.message_id, "output_index": index, "content_index": 0}
        kind = "refusal" if items.refusal else "output_text"
        add(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": items.message([], "in_progress"),
            }
        )
        add({"type": "response.content_part.added", **at, "part": items.part("")})
        for piece in script.pieces(script.text):
            delta: dict[str, Any] = {"type": f"response.{kind}.delta", **at, "delta": piece}
            if not items.refusal:
                delta["logprobs"] = []
            add(delta, True)
        done = {"type": f"response.{kind}.done", **at}
        done.update({"refusal": script.text} if items.refusal else {"text": script.text, "logprobs": []})
        add(done)
        add({"type": "response.content_part.done", **at, "part": items.part(script.text)})
        whole = items.message([items.part(script.text)], "completed")
        add({"type": "response.output_item.done", "output_index": index, "item": whole})
        index += 1
    for position, call in enumerate(script.tool_calls):
        item_id = f"fc_{position}_{script.id}"
        at = {"item_id": item_id, "output_index": index}
        add(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": items.call(position, "", "in_progress"),
            }
        )
        for piece in script.pieces(call.arguments_text):
            add({"type": "response.function_call_arguments.delta", **at, "delta": piece}, True)
        add(
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": call.name,
                "arguments": call.arguments_text,
            }
        )
        whole = items.call(position, call.arguments_text, "completed")
        add({"type": "response.output_item.done", "output_index": index, "item": whole})
        index += 1

    if script.error is not None:
        events += _until_delta(output, script.error_after)
        if "type" in script.error:  # an API error object: the live `error` event's nested shape
            events.append(event({"type": "error", "error": {"param": None, **script.error}}))
        else:  # a Response.error ({code, message}): the response fails
            failed = _response(script, body, "failed", [], error=dict(script.error))
            events.append(event({"type": "response.failed", "response": failed}))
        return _stream_reply(script, events)
    events += [data for data, _ in output]
    ended = "response.completed" if final["status"] == "completed" else "response.incomplete"
    events.append(event({"type": ended, "response": final}))
    return _stream_reply(script, events)


def _route(item: Any, request: RecordedRequest) -> Reply:
    if item is None:
        messages, tools = responses_neutral(request.json())
        item = echo_script(messages, tools)
        item.id = "resp_echo_1"
    if not isinstance(item, ChatScript):
        raise TypeError(f"the Responses route serves ChatScripts, not {type(item).__name__}")
    return render_responses(item, request)


def _input_tokens(item: Any, request: RecordedRequest) -> Reply:
    from ._fake_operations import fake_token_count

    body = request.json()
    unknown = sorted(set(body) - _INPUT_TOKENS_FIELDS)
    if unknown:  # OpenAI's answer to a field an endpoint does not take
        error = {
            "message": f"Unknown parameter: '{unknown[0]}'.",
            "type": "invalid_request_error",
            "param": unknown[0],
            "code": "unknown_parameter",
        }
        return Reply.json({"error": error}, status=400)
    messages, tools = responses_neutral(body)
    count = fake_token_count({"messages": messages, "tools": tools})
    return Reply.json({"object": "response.input_tokens", "input_tokens": count})


register_route("openai", "POST", PATH_PATTERN, _route)
register_route("openai", "POST", INPUT_TOKENS_PATTERN, _input_tokens)
