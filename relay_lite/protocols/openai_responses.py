"""OpenAI's Responses API (``POST {base}/responses``), on the neutral chat model. Sans-I/O.

Wire facts (OpenAI's API reference; openai-python ``types/responses``):

- Request: ``input`` is a list of items -- messages (``{"type": "message", "role",
  "content"}`` with ``input_text`` / ``input_image`` / ``input_file`` parts),
  ``function_call`` items (``call_id``, ``name``, ``arguments``) and
  ``function_call_output`` items (``call_id``, ``output``). System text goes in
  ``instructions``, which a request chained with ``previous_response_id`` does not
  inherit. Tools are flat (``{"type": "function", "name", "description", "parameters",
  "strict"}``), the token limit is ``max_output_tokens``, JSON output is ``text.format``
  (``{"type": "json_schema", "name", "schema", "strict"}`` or ``{"type": "json_object"}``)
  and reasoning is ``reasoning: {"effort", "summary"}`` (only ``effort`` is sent: OpenAI
  refuses ``summary`` for organizations it has not verified). Log-probabilities are
  asked for with ``top_logprobs`` and ``include: ["message.output_text.logprobs"]``; a
  ``function_call_output``'s ``output`` is a string or a list of ``input_text`` /
  ``input_image`` / ``input_file`` items.
- Reply: a ``response`` object whose ``output`` lists items: ``message`` (``output_text``
  and ``refusal`` parts), ``function_call``, ``reasoning`` (``summary`` of
  ``summary_text``; open models also send ``content`` of ``reasoning_text``) and built-in
  tool calls (kept in ``.raw`` only). ``status`` is ``completed``, ``incomplete`` (with
  ``incomplete_details.reason``: ``max_output_tokens`` or ``content_filter``),
  ``failed`` (with ``error: {code, message}``), ``in_progress``, ``queued``, ``cancelled``.
  ``usage`` has ``input_tokens``, ``output_tokens``, ``total_tokens``,
  ``input_tokens_details.cached_tokens`` and ``output_tokens_details.reasoning_tokens``.
- Stream: SSE events, each with an ``event:`` line and JSON data carrying the same
  ``type`` and a ``sequence_number``. The stream ends with ``response.completed``,
  ``response.incomplete`` or ``response.failed`` (each carrying the whole response), or
  an ``error`` event; there is no ``[DONE]``. Text deltas carry their tokens'
  ``logprobs`` when asked for. The ``error`` event is documented flat
  (``{"type": "error", "code", "message", "param"}``) but the live API nests those
  fields under ``error`` (openai/openai-dotnet#881); both are read.
- Token counts: ``POST /responses/input_tokens`` takes the prompt fields of a request
  (openai-python ``InputTokenCountParams``: no ``stream``, sampling, ``max_output_tokens``,
  ``metadata`` or ``store``) and answers ``{"object": "response.input_tokens",
  "input_tokens": N}``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .._errors import APIError, BadRequestError, ConfigError, ServerError, StreamError, unreadable_reply
from .._models import (
    ChatParams,
    ChatResponse,
    DocumentPart,
    ImagePart,
    Message,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)
from .._sse import ServerSentEvent
from . import openai
from ._adapter import Adapter
from ._common import Accumulator, HTTPCall, merge_extra_body
from ._fields import count, decode_json, json_kind, mapping, optional_list, optional_mapping, optional_str

__all__ = ["OpenAIResponsesAdapter", "ResponsesStreamParser", "build_request", "parse_response"]

RESPONSES_PATH = "/responses"
INPUT_TOKENS_PATH = "/responses/input_tokens"
#: The body fields ``/responses/input_tokens`` accepts (openai-python
#: ``InputTokenCountParams``); the rest of a request body is left out.
INPUT_TOKENS_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "text",
        "previous_response_id",
        "conversation",
        "truncation",
        "personality",
    }
)
#: What ``include`` names to get the output text's log-probabilities.
LOGPROBS_INCLUDE = "message.output_text.logprobs"
#: Body objects whose ``extra_body`` value is merged key by key into the built one.
NESTED_EXTRA_FIELDS = ("text", "reasoning")
# Between two reasoning summaries (or reasoning items) in ``.thinking``.
THINKING_SEPARATOR = "\n\n"

#: ``response.error.code`` values (a failed response) on top of OpenAI's error words.
ERROR_CODES_RESPONSES: Mapping[str, type[APIError]] = {
    **openai.ERROR_CODES,
    "invalid_prompt": BadRequestError,
    "bio_policy": BadRequestError,
    "data_residency_mismatch": BadRequestError,
    "vector_store_timeout": ServerError,
    **{
        code: BadRequestError
        for code in (
            "invalid_image",
            "invalid_image_format",
            "invalid_base64_image",
            "invalid_image_url",
            "image_too_large",
            "image_too_small",
            "image_parse_error",
            "image_content_policy_violation",
            "invalid_image_mode",
            "image_file_too_large",
            "unsupported_image_media_type",
            "empty_image_file",
            "failed_to_download_image",
            "image_file_not_found",
        )
    },
}


# -- requests ---------------------------------------------------------------------------------


def _parts(message: Message, text_type: str) -> Any:
    """A message's content: its text, or a list of input parts."""
    if isinstance(message.content, str):
        return message.content
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            url = part.url if part.url is not None else f"data:{part.media_type};base64,{part.data}"
            parts.append({"type": "input_image", "image_url": url, "detail": part.detail or "auto"})
        elif isinstance(part, DocumentPart):
            document: dict[str, Any] = {"type": "input_file"}
            if part.url is not None:
                document["file_url"] = part.url
            else:
                document["filename"] = part.filename or "document.pdf"
                document["file_data"] = f"data:{part.media_type};base64,{part.data}"
            parts.append(document)
        else:
            parts.append({"type": text_type, "text": part.text})
    return parts


def _text_only(message: Message) -> bool:
    return isinstance(message.content, str) or all(isinstance(p, TextPart) for p in message.content)


def _instructions(messages: Sequence[Message]) -> str:
    """Leading system messages as ``instructions``, which take text only."""
    for message in messages:
        if not _text_only(message):
            raise ConfigError(
                "a leading system message becomes the Responses API's instructions, which take "
                "text only; put its images or documents in a user message"
            )
    return "\n\n".join(m.text for m in messages)


def _items(message: Message) -> list[dict[str, Any]]:
    """One neutral message as ``input`` items (an assistant turn with tool calls gives
    its text message, then one ``function_call`` per call)."""
    if message.role == "tool":
        if not message.tool_call_id:
            raise ConfigError("a tool result needs the call id it answers (tool_result(call.id, ...))")
        # Images and documents a tool returns go as a list of input items; text alone
        # stays a string, as most servers expect.
        output = message.text if _text_only(message) else _parts(message, "input_text")
        return [{"type": "function_call_output", "call_id": message.tool_call_id, "output": output}]
    if message.role == "assistant":
        items: list[dict[str, Any]] = []
        if message.content:
            items.append({"type": "message", "role": "assistant", "content": _parts(message, "output_text")})
        items.extend(
            {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments_text}
            for call in message.tool_calls
        )
        return items
    return [{"type": "message", "role": message.role, "content": _parts(message, "input_text")}]


def text_format(response_format: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """A chat ``response_format`` as the Responses API's ``text.format``.

    ``json_schema``'s inner object is flattened (``{"type", "name", "schema", "strict"}``);
    ``json_object`` and ``text`` pass as they are; a dict already in the flat shape passes.
    """
    if response_format is None:
        return None
    kind = response_format.get("type")
    inner = response_format.get("json_schema")
    if kind == "json_schema" and isinstance(inner, Mapping):
        return {"type": "json_schema", **inner}
    return dict(response_format)


def _refuse(params: ChatParams) -> None:
    """Chat settings the Responses API has no field for: a ``ConfigError`` before sending."""
    refused = {
        "stop sequences": bool(params.stop),
        "seed": params.seed is not None,
        "n (several choices)": params.n not in (None, 1),
        "a thinking budget (use reasoning_effort)": params.thinking_budget is not None,
        "cache marks (OpenAI caches long prompts itself)": bool(params.cache_marks or params.cache_tools),
    }
    names = [name for name, present in refused.items() if present]
    if names:
        raise ConfigError(f"the OpenAI Responses API has no {', '.join(names)}; remove it from the request")


def _merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``extra_body`` merged last: ``text`` and ``reasoning`` key by key into the built
    objects (so a verbosity or a summary keeps the schema and the effort), an ``include``
    list joins the built one, the rest replaces the top-level field; a None value removes
    its key at either level."""
    rest = dict(extra)
    for key in NESTED_EXTRA_FIELDS:
        value = rest.get(key)
        if isinstance(value, Mapping):
            built = body.get(key)
            nested = dict(built) if isinstance(built, Mapping) else {}
            merge_extra_body(nested, value)
            body[key] = nested
            del rest[key]
    include = rest.get("include")
    if isinstance(include, (list, tuple)) and isinstance(body.get("include"), list):
        # The caller's includes join the logprobs one instead of dropping it.
        body["include"] = body["include"] + [name for name in include if name not in body["include"]]
        del rest["include"]
    merge_extra_body(body, rest)


def build_request(params: ChatParams, *, stream: bool) -> HTTPCall:
    """The ``POST /responses`` call for ``params``.

    Leading system messages become ``instructions`` (joined by a blank line); a system
    message after the conversation started stays in ``input`` where it was.
    """
    _refuse(params)
    messages = params.messages
    lead = 0
    while lead < len(messages) and messages[lead].role == "system":
        lead += 1
    body: dict[str, Any] = {"model": params.model}
    if lead:
        body["instructions"] = _instructions(messages[:lead])
    body["input"] = [item for message in messages[lead:] for item in _items(message)]
    optional = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_output_tokens": params.max_tokens,
        "metadata": params.metadata,
        "tool_choice": _tool_choice(params.tool_choice),
        "parallel_tool_calls": params.parallel_tool_calls,
        "safety_identifier": params.end_user,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if params.reasoning_effort is not None:
        # No summary by default: OpenAI refuses one (400 on reasoning.summary) for an
        # organization it has not verified. extra_body({"reasoning": {"summary": "auto"}}).
        body["reasoning"] = {"effort": params.reasoning_effort}
    if params.top_logprobs is not None:
        body["include"] = [LOGPROBS_INCLUDE]
        if params.top_logprobs:
            body["top_logprobs"] = params.top_logprobs
    format_ = text_format(params.response_format)
    if format_ is not None:
        body["text"] = {"format": format_}
    if params.tools:
        # strict stays off, as on chat completions: a strict tool needs every property
        # required and additionalProperties false, which a ToolSpec does not promise.
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": dict(t.parameters),
                "strict": False,
            }
            for t in params.tools
        ]
    if stream:
        body["stream"] = True
    _merge_extra(body, params.extra_body)
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    return HTTPCall("POST", RESPONSES_PATH, body, headers)


def count_tokens_request(params: ChatParams) -> HTTPCall:
    """The ``POST /responses/input_tokens`` call for the prompt of ``params``."""
    body = build_request(params, stream=False).body
    kept = {key: value for key, value in body.items() if key in INPUT_TOKENS_FIELDS}
    return HTTPCall("POST", INPUT_TOKENS_PATH, kept, {"Accept": "application/json"})


def _tool_choice(choice: Any) -> Any:
    """Chat's tool choice in the Responses shape: a forced function is flat here."""
    wire = openai.tool_choice_to_wire(choice)
    if (
        isinstance(wire, dict)
        and wire.get("type") == "function"
        and isinstance(wire.get("function"), Mapping)
    ):
        return {"type": "function", "name": wire["function"].get("name")}
    return wire


# -- replies ----------------------------------------------------------------------------------


def parse_usage(usage: Any, where: str = "usage") -> Usage:
    """Responses usage (input/output/total and their details) in neutral form."""
    usage = optional_mapping(usage, where)
    if not usage:
        return Usage()
    inputs = optional_mapping(usage.get("input_tokens_details"), f"{where}.input_tokens_details") or {}
    outputs = optional_mapping(usage.get("output_tokens_details"), f"{where}.output_tokens_details") or {}
    return Usage(
        input_tokens=count(usage.get("input_tokens")),
        output_tokens=count(usage.get("output_tokens")),
        total_tokens=count(usage.get("total_tokens")),
        cached_input_tokens=count(inputs.get("cached_tokens")),
        cache_creation_input_tokens=count(inputs.get("cache_write_tokens")),
        reasoning_tokens=count(outputs.get("reasoning_tokens")),
    )


def _texts(items: Any, kind: str, field: str, where: str) -> list[str]:
    """The ``field`` of every part of type ``kind`` in a list of parts."""
    out: list[str] = []
    for i, part in enumerate(optional_list(items, where) or ()):
        part = mapping(part, f"{where}[{i}]")
        if part.get("type") == kind:
            out.append(optional_str(part.get(field), f"{where}[{i}].{field}") or "")
    return out


def parse_logprobs(value: Any, where: str) -> list[TokenLogprob]:
    """An ``output_text`` part's (or a text delta's) ``logprobs`` list as tokens."""
    entries = optional_list(value, where) or ()
    # The entries have chat completions' shape (token, logprob, bytes, top_logprobs), so
    # the chat adapter's reader (private to the protocols package) reads them.
    return [openai._token_logprob(entry, f"{where}[{i}]", top=True) for i, entry in enumerate(entries)]


def finish_reasons(
    status: Optional[str], incomplete_reason: Optional[str], tool_calls: bool
) -> tuple[Optional[str], Optional[str]]:
    """(neutral finish reason, raw reason) of a response's status.

    ``completed`` is stop (tool_calls when the output calls functions); ``incomplete`` is
    length for ``max_output_tokens`` and content_filter for ``content_filter``; the raw
    reason is the incomplete reason when there is one, else the status.
    """
    if status == "incomplete":
        raw = incomplete_reason or status
        if raw == "max_output_tokens":
            return "length", raw
        if raw == "content_filter":
            return "content_filter", raw
        return raw, raw
    if status == "completed":
        return ("tool_calls" if tool_calls else "stop"), status
    return status, status


def _status(payload: Mapping[str, Any]) -> tuple[Optional[str], Optional[str]]:
    """(status, incomplete reason) of a response object."""
    details = optional_mapping(payload.get("incomplete_details"), "incomplete_details") or {}
    status = optional_str(payload.get("status"), "status")
    return status, optional_str(details.get("reason"), "incomplete_details.reason")


def _reply(payload: Mapping[str, Any]) -> ChatResponse:
    """A ``response`` object's content (no HTTP facts); field checks raise ``StreamError``."""
    text: list[str] = []
    refusal: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    logprobs: list[TokenLogprob] = []
    for i, item in enumerate(optional_list(payload.get("output"), "output") or ()):
        where = f"output[{i}]"
        item = mapping(item, where)
        kind = item.get("type")
        if kind == "message":
            text += _texts(item.get("content"), "output_text", "text", f"{where}.content")
            refusal += _texts(item.get("content"), "refusal", "refusal", f"{where}.content")
            logprobs += _logprobs(item.get("content"), f"{where}.content")
        elif kind == "function_call":
            calls.append(
                ToolCall.from_json(
                    optional_str(item.get("call_id"), f"{where}.call_id") or "",
                    optional_str(item.get("name"), f"{where}.name") or "",
                    optional_str(item.get("arguments"), f"{where}.arguments") or "",
                )
            )
        elif kind == "reasoning":
            thinking += _texts(item.get("summary"), "summary_text", "text", f"{where}.summary")
            thinking += _texts(item.get("content"), "reasoning_text", "text", f"{where}.content")
    finish, raw = finish_reasons(*_status(payload), bool(calls))
    return ChatResponse(
        text="".join(text),
        tool_calls=tuple(calls),
        finish_reason=finish,
        raw_finish_reason=raw,
        model=optional_str(payload.get("model"), "model"),
        id=optional_str(payload.get("id"), "id"),
        usage=parse_usage(payload.get("usage")),
        refusal="".join(refusal) or None,
        thinking=THINKING_SEPARATOR.join(t for t in thinking if t),
        raw=payload,
        # None unless the reply carries some (it sends empty lists when not asked).
        logprobs=tuple(logprobs) or None,
    )


def _logprobs(content: Any, where: str) -> list[TokenLogprob]:
    """The tokens of every ``output_text`` part of a message's content, in order."""
    tokens: list[TokenLogprob] = []
    for i, part in enumerate(optional_list(content, where) or ()):
        part = mapping(part, f"{where}[{i}]")
        if part.get("type") == "output_text" and part.get("logprobs"):
            tokens += parse_logprobs(part["logprobs"], f"{where}[{i}].logprobs")
    return tokens


def failed_error(response: Mapping[str, Any], *, attempts: int = 1, partial: Any = None) -> APIError:
    """The ``APIError`` for a response whose ``status`` is ``failed`` (its ``error``); its
    class follows the error's code. From a whole reply, call ``.in_whole_reply()`` on it."""
    error = response.get("error")
    body = {"error": error if isinstance(error, Mapping) else {"message": "the response failed"}}
    return openai.map_error(
        None, body, attempts=attempts, partial=partial, code_classes=ERROR_CODES_RESPONSES
    )


def parse_response(payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> ChatResponse:
    """A ``response`` object as a ``ChatResponse`` (``id`` is the response id).

    An error body, or a response whose status is ``failed``, raises its ``APIError`` (its
    ``status`` is the 200 the body came with, unless the body names one); a field of the
    wrong type raises ``ResponseError`` naming it.
    """
    if not isinstance(payload, Mapping):
        raise unreadable_reply(
            f"expected a response object, got {json_kind(payload)}",
            payload,
            request_id=request_id,
            attempts=attempts,
        )
    if payload.get("status") == "failed" or (payload.get("error") and "output" not in payload):
        if payload.get("status") == "failed":
            error = failed_error(payload, attempts=attempts)
        else:
            error = openai.map_error(None, payload, attempts=attempts, code_classes=ERROR_CODES_RESPONSES)
        # An error body's own status wins; else it came with the whole reply's 200.
        error = error.in_whole_reply()
        error.request_id = error.request_id or request_id
        raise error
    try:
        reply = _reply(payload)
    except StreamError as exc:
        raise unreadable_reply(exc.message, payload, request_id=request_id, attempts=attempts) from None
    return reply.replace(request_id=request_id, attempts=attempts)


class ResponsesStreamParser:
    """Turns the Responses API's typed SSE events into neutral events; accumulates.

    Text, function-call arguments and reasoning summaries arrive as deltas keyed by
    ``output_index``; each ``function_call`` item gets the next tool-call slot when its
    ``response.output_item.added`` arrives. ``response.completed`` and
    ``response.incomplete`` carry the whole response, from which the reply is built (the
    deltas fill in only what a terse server left out of it); ``response.failed`` and
    ``error`` raise the mapped ``APIError``. Unknown event types are ignored.
    """

    def __init__(self) -> None:
        self.acc = Accumulator()
        self.finished = False
        self._final: Optional[ChatResponse] = None
        # output_index (or item_id) -> [tool-call slot, whether arguments arrived]
        self._calls: dict[object, list[Any]] = {}
        self._last_call: Optional[list[Any]] = None
        self._call_count = 0
        self._thinking_key: Optional[tuple[Any, ...]] = None

    def partial(self) -> ChatResponse:
        """The reply so far: the final response once it arrived, else the deltas."""
        return self._final if self._final is not None else self.acc.response()

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """Parse one SSE event; raise the mapped ``APIError`` for a failure or error event."""
        data = event.data
        if data == "[DONE]":  # not sent by OpenAI; some compatible servers add it
            return []
        if self.finished:
            raise StreamError(f"event after the response ended: {data[:200]!r}")
        payload = decode_json(data, "stream event")
        if type(payload) is not dict:
            raise StreamError(f"stream event is not a JSON object: {data[:200]!r}")
        kind = payload.get("type") or event.event
        if kind == "response.output_text.delta":  # the hot path: most events are text
            delta = optional_str(payload.get("delta"), "response.output_text.delta.delta")
            if payload.get("logprobs"):  # only when asked for: off the common path
                tokens = parse_logprobs(payload["logprobs"], "response.output_text.delta.logprobs")
                self.acc.logprobs = (self.acc.logprobs or []) + tokens
            if not delta:
                return []
            self.acc.text_parts.append(delta)
            return [TextDelta(delta)]
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        return handler(self, payload) if handler is not None else []

    # -- handlers, one per event type ---------------------------------------------------------

    def _started(self, payload: dict[str, Any]) -> list[StreamEvent]:
        response = optional_mapping(payload.get("response"), f"{payload.get('type')}.response") or {}
        self.acc.id = optional_str(response.get("id"), "response.id") or self.acc.id
        self.acc.model = optional_str(response.get("model"), "response.model") or self.acc.model
        return []

    def _slot(self, payload: Mapping[str, Any], *, new_item: bool = False) -> list[Any]:
        """The [slot, arguments seen] of the function call an event is about.

        Calls are keyed by ``output_index`` (else ``item_id``); a delta whose key is
        unknown or missing belongs to the call opened last (or opens one).
        """
        key = payload.get("output_index")
        if type(key) is not int:
            key = payload.get("item_id") if type(payload.get("item_id")) is str else None
        state = self._calls.get(key) if key is not None else None
        if state is None and not new_item:
            state = self._last_call
        if state is None or (new_item and key is None):
            state = [self._call_count, False]
            self._call_count += 1
        self._calls[key if key is not None else object()] = state
        self._last_call = state
        return state

    def _item_added(self, payload: dict[str, Any]) -> list[StreamEvent]:
        item = mapping(payload.get("item"), "response.output_item.added.item")
        if item.get("type") != "function_call":
            return []
        at = {"output_index": payload.get("output_index"), "item_id": item.get("id")}
        state = self._slot(at, new_item=True)
        where = "response.output_item.added.item"
        call_id = optional_str(item.get("call_id"), f"{where}.call_id")
        name = optional_str(item.get("name"), f"{where}.name")
        arguments = optional_str(item.get("arguments"), f"{where}.arguments") or ""
        if arguments:
            state[1] = True
        self.acc.tool_call(state[0], call_id, name, arguments)
        return [ToolCallDelta(state[0], call_id, name, arguments)]

    def _arguments_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        where = "response.function_call_arguments.delta"
        delta = optional_str(payload.get("delta"), f"{where}.delta") or ""
        state = self._slot(payload)
        if not delta:
            return []
        state[1] = True
        self.acc.tool_call(state[0], None, None, delta)
        return [ToolCallDelta(state[0], None, None, delta)]

    def _arguments_done(self, payload: dict[str, Any]) -> list[StreamEvent]:
        # The whole arguments again: used only when no delta brought them.
        where = "response.function_call_arguments.done"
        arguments = optional_str(payload.get("arguments"), f"{where}.arguments") or ""
        name = optional_str(payload.get("name"), f"{where}.name")
        state = self._slot(payload)
        if state[1] or not arguments:
            return []
        state[1] = True
        self.acc.tool_call(state[0], None, name, arguments)
        return [ToolCallDelta(state[0], None, name, arguments)]

    def _thinking_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        kind = payload.get("type")
        delta = optional_str(payload.get("delta"), f"{kind}.delta") or ""
        if not delta:
            return []
        # A new summary part (or reasoning item) is set apart as in a whole reply.
        key = (
            payload.get("item_id"),
            payload.get("output_index"),
            kind,
            payload.get("summary_index"),
            payload.get("content_index"),
        )
        if self._thinking_key is not None and key != self._thinking_key and self.acc.thinking_parts:
            delta = THINKING_SEPARATOR + delta
        self._thinking_key = key
        self.acc.thinking_parts.append(delta)
        return [ThinkingDelta(delta)]

    def _refusal_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        delta = optional_str(payload.get("delta"), "response.refusal.delta.delta")
        if delta:
            self.acc.refusal_parts.append(delta)
        return []

    def _ended(self, payload: dict[str, Any]) -> list[StreamEvent]:
        response = mapping(payload.get("response"), f"{payload.get('type')}.response")
        final = _reply(response)
        streamed = self.acc.response()
        if not (final.text or final.tool_calls or final.refusal):
            # A terse server may leave the output out of the final object: keep the deltas.
            finish, raw = finish_reasons(*_status(response), bool(streamed.tool_calls))
            final = final.replace(
                text=streamed.text,
                tool_calls=streamed.tool_calls,
                refusal=streamed.refusal,
                finish_reason=finish,
                raw_finish_reason=raw,
            )
        self._final = final.replace(
            id=final.id or self.acc.id,
            model=final.model or self.acc.model,
            thinking=final.thinking or streamed.thinking,
            logprobs=final.logprobs or streamed.logprobs,
        )
        self.finished = True
        return [UsageEvent(final.usage)] if final.usage != Usage() else []

    def _failed(self, payload: dict[str, Any]) -> list[StreamEvent]:
        response = mapping(payload.get("response"), "response.failed.response")
        raise failed_error(response)

    def _error(self, payload: dict[str, Any]) -> list[StreamEvent]:
        # Live: {"type": "error", "error": {...}}; documented: flat code/message/param.
        raise openai.map_error(None, payload, code_classes=ERROR_CODES_RESPONSES)


_HANDLERS = {
    "response.created": ResponsesStreamParser._started,
    "response.in_progress": ResponsesStreamParser._started,
    "response.output_item.added": ResponsesStreamParser._item_added,
    "response.function_call_arguments.delta": ResponsesStreamParser._arguments_delta,
    "response.function_call_arguments.done": ResponsesStreamParser._arguments_done,
    "response.reasoning_summary_text.delta": ResponsesStreamParser._thinking_delta,
    "response.reasoning_text.delta": ResponsesStreamParser._thinking_delta,
    "response.refusal.delta": ResponsesStreamParser._refusal_delta,
    "response.completed": ResponsesStreamParser._ended,
    "response.incomplete": ResponsesStreamParser._ended,
    "response.failed": ResponsesStreamParser._failed,
    "error": ResponsesStreamParser._error,
}


class OpenAIResponsesAdapter(Adapter):
    """OpenAI's Responses API: the OpenAI protocol's auth, request ids and error bodies,
    another endpoint and shapes. ``Client.responses()`` sends through it; a preset may also
    name its protocol, ``openai_responses``."""

    name = "openai_responses"
    display_name = "OpenAI Responses"
    request_id_header = openai.REQUEST_ID_HEADER
    response_id_headers = openai.RESPONSE_ID_HEADERS

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        return openai.auth_headers(api_key)

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        return build_request(params, stream=stream)

    def json_mode_format(self) -> Optional[dict[str, Any]]:
        return {"type": "json_object"}

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        return parse_response(payload, request_id=request_id, attempts=attempts)

    def stream_parser(self) -> ResponsesStreamParser:
        return ResponsesStreamParser()

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        return openai.map_error(status, body, headers, attempts=attempts, code_classes=ERROR_CODES_RESPONSES)

    # -- token counting (POST /responses/input_tokens); no embeddings or model list here ----

    def count_tokens_call(self, params: ChatParams) -> HTTPCall:
        return count_tokens_request(params)

    def parse_token_count(self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> int:
        from ._token_counts import parse_token_count

        return parse_token_count(payload, request_id=request_id, attempts=attempts)
