"""Structured output: shape the request, validate the reply, re-ask, and stream it.

Theory of operation
-------------------
``client.chat(m).user(...).structured(Person).send()`` builds a JSON Schema for
``Person`` (or takes a raw schema dict), asks for it in the way the protocol supports best,
parses and validates the reply with ``_validate`` and returns a ``StructuredResult``.

Modes (``mode=``), all building *new* requests (the caller's ``ChatRequest`` is immutable
and never changed):

- ``"json_schema"``: ``response_format = {"type": "json_schema", "json_schema": {"name",
  "schema", "strict"}}``. The strict schema dialect and ``strict: true`` are used when
  ``is_strict_compatible``; otherwise the plain schema with ``strict: false``.
  ``strict=False`` forces the plain schema; ``strict=True`` raises ``ConfigError`` when
  the type cannot be expressed strictly. OpenAI-style servers and ModelRelay.
- ``"tool"``: a forced tool call. One more tool, ``ToolSpec(name, "Respond with the
  structured output", schema)``, with ``tool_choice`` set to it; the call's arguments are
  the output. Works on every protocol; the only way on Anthropic's Messages API, which
  has no ``response_format``.
- ``"json"``: no schema feature at all. A system message carrying the schema asks for
  bare JSON and the reply text is parsed; on the ``openai`` protocol it also sends
  ``response_format = {"type": "json_object"}`` (JSON mode). For servers that support
  neither tools nor ``json_schema``.
- ``"auto"`` (default): ``"tool"`` on Anthropic, ``"json_schema"`` everywhere else.

Providers require an object at the root of a schema, so a type whose schema is not an
object (``list[Person]``, ``int``, ...) is sent wrapped as ``{"value": <schema>}`` and
unwrapped after parsing; error paths then start at ``$.value``. A bare value where the
wrapper was asked for (``[...]`` for ``list[Person]``, common in ``json`` mode) is accepted
when it validates as it is; otherwise the error is the missing ``value`` field.

Finding the JSON: models often wrap it in a code fence or a sentence. The reply (or the
tool call's arguments) is searched with ``_json_extract.json_candidates``: the whole reply
(the fast path), then each fenced block, then each complete top-level object or array in
the prose. The first candidate that validates is the value, so of two fences the first
valid one wins. Only when none validates is the model re-asked, with the errors of the
first candidate that is a JSON object (the root every sent schema has), else of the first
candidate, else why the reply is not JSON at all.

Re-asking: a reply that does not parse or validate is sent back with the errors, up to
``max_retries`` more times. Text modes append the reply as an assistant message and a
user message::

    Your reply did not match the required schema:
    - $.age: expected integer, got string "30"
    Reply again with only the corrected JSON.

Tool mode appends the assistant's tool call and a ``tool_result`` for it carrying the same
feedback (Anthropic requires a result after every ``tool_use``, and it is how a tool
reports a bad call), with the last line ``Call the <name> tool again with corrected
input.``; no separate user message, so the errors are not sent twice. Transport and API
errors propagate at once and are never re-asked. A refusal (``refusal`` set, or finish
reason ``refusal`` or ``content_filter``) raises ``RefusalError`` and a reply cut off by
the token limit (finish reason ``length``) raises ``TruncatedOutputError`` at once:
asking again would not help.

Streaming (``.stream()``) sends one request, feeds the text (or the forced tool call's
argument fragments) to a ``PartialJSONParser`` and yields a ``StructuredUpdate`` for every
delta that fed text (prose before the JSON is skipped, so "Sure! {..." streams from its
brace); the last update has ``done=True`` and the validated ``value``, found in the whole
reply as above. It does not re-ask (the partial output has already been shown); a reply
that fails validation raises ``StructuredOutputError``. ``update.partial`` is the parser's
*live* value: it keeps growing as later deltas arrive (copying it for every update would
make a stream quadratic in its length); use ``copy.deepcopy(update.partial)`` to keep a
snapshot. ``complete_fields`` is an immutable tuple.

The reply is read once: ``stream.response`` reads whatever iteration has not (validating
it the same way, so ``result`` is set after either) and a later iteration yields the last
update it read, or raises the validation error it found.

On ModelRelay in ``json_schema`` mode the server streams structured output itself: the
same ``/llm/proxy`` body is sent with ``Accept: application/x-ndjson`` and its ``update``
records (the payload so far and the finished field paths) become the updates, with no
local parsing; the ``completion`` record's payload is validated into the last one, and
its usage and stop reason go into ``result`` (``RecordStructuredStream``). That stream is
read by ``relay_lite._stream.StreamPump``, whose rules (Content-Type, error records, early
end, ``.partial``) it shares with chat streams and agent runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generator, Optional

from ._errors import (  # RefusalError, TruncatedOutputError: defined there, importable here too
    APIError,
    ConfigError,
    RefusalError,
    RelayError,
    StreamError,
    StructuredOutputError,
    TruncatedOutputError,
)
from ._json_extract import json_candidates, json_error
from ._models import ChatResponse, Done, Message, TextDelta, ToolCall, ToolCallDelta, ToolSpec, Usage
from ._partial_json import PartialJSONError, PartialJSONParser
from ._schema import check_schema, is_strict_compatible, json_schema, schema_name
from ._sse import NDJSONDecoder
from ._stream import ChatStream, StreamPump, whole_json_error
from ._transport import StreamResponse
from ._validate import ValidationError, ValidationIssue, validate

if TYPE_CHECKING:
    from ._chat import ChatRequest  # only for types: _chat imports this module lazily
    from .protocols._adapter import Adapter
    from .protocols.modelrelay import StructuredRecord, StructuredRecordParser

__all__ = [
    "MODES",
    "RefusalError",
    "RecordStructuredStream",
    "StructuredRequest",
    "StructuredResult",
    "StructuredStream",
    "StructuredUpdate",
    "TruncatedOutputError",
]

#: The accepted ``mode=`` values.
MODES = ("auto", "json_schema", "tool", "json")
#: Description of the forced tool in tool mode.
TOOL_DESCRIPTION = "Respond with the structured output"
#: The field a non-object root is wrapped in.
WRAP_KEY = "value"
JSON_INSTRUCTION = (
    "Reply with only a JSON value, with no other text, that matches this JSON Schema:\n{schema}"
)
FEEDBACK_HEAD = "Your reply did not match the required schema:"
FEEDBACK_TEXT_TAIL = "Reply again with only the corrected JSON."
FEEDBACK_TOOL_TAIL = "Call the {name} tool again with corrected input."
# Where JSON may begin in a streamed reply: prose before it is not fed to the parser.
_JSON_LEAD = re.compile(r"[{\[`]")


@dataclass(frozen=True)
class StructuredResult:
    """A validated structured reply.

    ``attempts`` counts model calls (1 + re-asks), ``response`` is the last reply,
    ``usage`` the sum over all attempts and ``raw_attempts`` each attempt's raw output.
    """

    value: Any
    attempts: int
    response: ChatResponse
    usage: Usage
    raw_attempts: tuple[str, ...]


@dataclass(frozen=True)
class StructuredUpdate:
    """One step of a structured stream.

    ``partial`` is the JSON parsed so far (live: it keeps growing, see the module notes),
    ``complete_fields`` the dot paths finished so far in order (``author.name``,
    ``tags.0``); on the last update ``done`` is True and ``value`` the validated instance.
    """

    partial: Any
    complete_fields: tuple[str, ...]
    done: bool
    value: Any = None


@dataclass(frozen=True)
class _Plan:
    mode: str  # resolved: json_schema, tool or json
    name: str
    schema: dict[str, Any]  # as sent (wrapped when the root is not an object)
    strict: bool
    wrapped: bool


def _summed(responses: list[ChatResponse]) -> Usage:
    usage = Usage()
    for response in responses:
        usage = usage + response.usage
    return usage


def _wrap(schema: dict[str, Any]) -> dict[str, Any]:
    inner = {k: v for k, v in schema.items() if k not in ("$defs", "$schema")}
    wrapper: dict[str, Any] = {
        "type": "object",
        "properties": {WRAP_KEY: inner},
        "required": [WRAP_KEY],
        "additionalProperties": False,
    }
    if "$defs" in schema:  # refs are "#/$defs/...", so the definitions move to the new root
        wrapper["$defs"] = schema["$defs"]
    return wrapper


# Names of response formats and tools that OpenAI and Anthropic accept.
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _plan(
    output_type: Any, adapter: Adapter, mode: str, strict: Optional[bool], name: Optional[str]
) -> _Plan:
    if mode not in MODES:
        raise ConfigError(f"structured mode must be one of {', '.join(MODES)}, got {mode!r}")
    # The adapter states its protocol's facts: which mode suits it, and whether it has a
    # response_format at all (Anthropic's Messages API has none).
    if mode == "auto":
        mode = adapter.structured_default_mode
    elif mode == "json_schema" and not adapter.supports_response_format:
        provider = adapter.display_name or adapter.name
        raise ConfigError(
            f"mode='json_schema' needs response_format, which {provider} lacks: use 'tool' or 'json'"
        )
    plain: dict[str, Any]
    strict_schema: Optional[dict[str, Any]]
    if isinstance(output_type, dict):
        check_schema(output_type)
        plain = strict_schema = output_type
    else:
        plain = json_schema(output_type)
        try:
            strict_schema = json_schema(output_type, strict=True)
        except ConfigError:
            strict_schema = None
    wrapped = plain.get("type") != "object"
    if wrapped:
        plain = _wrap(plain)
        strict_schema = _wrap(strict_schema) if strict_schema is not None else None
    compatible = strict_schema is not None and is_strict_compatible(strict_schema)
    if strict and not compatible:
        raise ConfigError(
            f"{schema_name(output_type)} cannot be expressed as a strict schema; pass strict=False"
        )
    use_strict = compatible if strict is None else strict
    schema = strict_schema if use_strict and mode == "json_schema" and strict_schema is not None else plain
    if name is not None and not _TOOL_NAME.match(name):
        raise ConfigError(f"structured name {name!r} must match ^[a-zA-Z0-9_-]{{1,64}}$ (an API limit)")
    return _Plan(mode, name or schema_name(output_type), schema, use_strict, wrapped)


class StructuredRequest:
    """A chat request whose reply must be JSON of ``output_type``; ``send()`` or ``stream()``.

    >>> result = client.chat(model).user("John Doe is 30").structured(Person).send()  # doctest: +SKIP
    >>> result.value  # doctest: +SKIP
    Person(name='John Doe', age=30)
    """

    def __init__(
        self,
        request: ChatRequest,
        output_type: Any,
        *,
        max_retries: int = 2,
        mode: str = "auto",
        strict: Optional[bool] = None,
        name: Optional[str] = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.request = request
        self.output_type = output_type
        self.max_retries = max_retries
        self._plan = _plan(output_type, request.client.adapter, mode, strict, name)
        self._shaped = self._shape(request)

    def __repr__(self) -> str:
        return (
            f"StructuredRequest({self._plan.name}, mode={self._plan.mode!r}, max_retries={self.max_retries})"
        )

    @property
    def mode(self) -> str:
        """The mode in use: json_schema, tool or json (``auto`` resolved)."""
        return self._plan.mode

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema as sent."""
        return self._plan.schema

    def _shape(self, request: ChatRequest) -> ChatRequest:
        plan = self._plan
        if plan.mode == "json_schema":
            spec = {"name": plan.name, "schema": plan.schema, "strict": plan.strict}
            return request.response_format({"type": "json_schema", "json_schema": spec})
        if plan.mode == "tool":
            if any(tool.name == plan.name for tool in request.params.tools):
                raise ConfigError(
                    f"the request already has a tool named {plan.name!r}; pass structured(..., name=...)"
                )
            tools = request.params.tools + (ToolSpec(plan.name, TOOL_DESCRIPTION, plan.schema),)
            return request.with_params(tools=tools, tool_choice=plan.name)
        instruction = Message(
            "system", JSON_INSTRUCTION.format(schema=json.dumps(plan.schema, ensure_ascii=False))
        )
        shaped = request.with_message(instruction)
        json_format = request.client.adapter.json_mode_format()
        if json_format is not None:
            shaped = shaped.response_format(json_format)
        return shaped

    # -- reading replies -------------------------------------------------------------------

    def _raw(self, response: ChatResponse) -> tuple[str, Optional[ToolCall]]:
        """The reply's raw output, and in tool mode the tool call it came from."""
        if self._plan.mode == "tool":
            for call in response.tool_calls:
                if call.name == self._plan.name:
                    return call.arguments_text, call
        return response.text, None

    def _parse(
        self, raw: str, call: Optional[ToolCall], response: Optional[ChatResponse] = None
    ) -> tuple[Any, Any]:
        """(the parsed JSON, the validated value); raises ``ValidationError``."""
        plan = self._plan
        if plan.mode == "tool" and call is None:
            raise ValidationError([ValidationIssue("$", f"the reply did not call the {plan.name} tool")])
        if plan.mode != "tool" and not raw.strip() and response is not None and response.tool_calls:
            names = ", ".join(c.name for c in response.tool_calls)
            raise ValidationError(
                [ValidationIssue("$", f"the model called {names} instead of replying with JSON")]
            )
        # The first candidate that validates wins; if none does, the errors reported (and
        # re-asked about) are those of the first JSON object, the root the schema asks for.
        reported: Optional[ValidationError] = None
        reported_is_object = False
        for data in json_candidates(raw):
            try:
                return self._validate_data(data)
            except ValidationError as exc:
                if reported is None or (isinstance(data, dict) and not reported_is_object):
                    reported, reported_is_object = exc, isinstance(data, dict)
        if reported is not None:
            raise reported
        message = json_error(raw) or "reply is not valid JSON"
        raise ValidationError([ValidationIssue("$", message)])

    def _validate_data(self, data: Any) -> tuple[Any, Any]:
        """(the JSON unwrapped, the validated value) for already parsed JSON."""
        plan = self._plan
        if plan.wrapped:
            if not isinstance(data, dict) or WRAP_KEY not in data:
                # A bare value (a list where {"value": [...]} was asked for) is common in
                # json mode; take it when it is valid as it is, else report the wrapper.
                try:
                    return data, validate(data, self.output_type)
                except ValidationError:
                    raise ValidationError(
                        [ValidationIssue("$", f'missing required field "{WRAP_KEY}"')]
                    ) from None
            data = data[WRAP_KEY]
        try:
            return data, validate(data, self.output_type)
        except ValidationError as exc:
            if not plan.wrapped:
                raise
            issues = [ValidationIssue(f"$.{WRAP_KEY}{i.path[1:]}", i.message) for i in exc.errors]
            raise ValidationError(issues) from None

    def _check_finish(
        self, response: ChatResponse, raws: list[str], errors: list[list[str]], responses: list[ChatResponse]
    ) -> None:
        """Raise at once for a refusal or a truncated reply: asking again would not help."""
        error_class: Optional[type[StructuredOutputError]] = None
        if response.refusal or response.finish_reason in ("refusal", "content_filter"):
            error_class = RefusalError
            message = f"the model refused to answer: {response.refusal or response.finish_reason}"
        elif response.finish_reason == "length":
            error_class = TruncatedOutputError
            message = "the reply was cut off by the token limit; raise max_tokens()"
        if error_class is not None:
            raise error_class(
                message,
                raw_attempts=raws,
                attempt_errors=[*errors, [f"$: {message}"]],
                responses=responses,
                attempts=len(raws),
            )

    def _feedback(self, messages: list[str]) -> str:
        tail = (
            FEEDBACK_TOOL_TAIL.format(name=self._plan.name)
            if self._plan.mode == "tool"
            else FEEDBACK_TEXT_TAIL
        )
        return "\n".join([FEEDBACK_HEAD, *(f"- {m}" for m in messages), tail])

    def _reask(
        self, conversation: ChatRequest, response: ChatResponse, call: Optional[ToolCall], messages: list[str]
    ) -> ChatRequest:
        feedback = self._feedback(messages)
        if call is not None:
            return conversation.assistant(response.text, tool_calls=[call]).tool_result(call.id, feedback)
        if response.tool_calls:
            # Every tool call needs an answer before the conversation may go on.
            conversation = conversation.assistant(response.text, tool_calls=response.tool_calls)
            for other in response.tool_calls:
                conversation = conversation.tool_result(other.id, "Not run: reply with the JSON instead.")
        elif response.text:  # an empty assistant turn is refused by some APIs
            conversation = conversation.assistant(response.text)
        return conversation.user(feedback)

    # -- execution -------------------------------------------------------------------------

    def send(self) -> StructuredResult:
        """Ask, validate, and re-ask with the errors up to ``max_retries`` times.

        Raises ``RefusalError``, ``TruncatedOutputError``, ``StructuredOutputError`` after
        the last attempt, or whatever transport/API error the call raised.
        """
        conversation = self._shaped
        raws: list[str] = []
        errors: list[list[str]] = []
        responses: list[ChatResponse] = []
        try:
            for attempt in range(1, self.max_retries + 2):
                response = conversation.client.send_chat(conversation.params, report_usage=False)
                responses.append(response)
                raw, call = self._raw(response)
                raws.append(raw)
                self._check_finish(response, raws, errors, responses)
                try:
                    _, value = self._parse(raw, call, response)
                except ValidationError as exc:
                    errors.append(exc.messages)
                    conversation = self._reask(conversation, response, call, exc.messages)
                    continue
                return StructuredResult(value, attempt, response, _summed(responses), tuple(raws))
            raise StructuredOutputError(
                f"the reply did not match {self._plan.name}: {'; '.join(errors[-1])}",
                raw_attempts=raws,
                attempt_errors=errors,
                responses=responses,
                attempts=len(raws),
            )
        finally:
            # One usage report for the whole structured call, whatever ended it: the
            # tokens of failed attempts were paid for too.
            if responses:
                last = responses[-1]
                conversation.client.report_usage(
                    _summed(responses), last.model, last.request_id, len(responses)
                )

    def stream(self) -> StructuredStream:
        """Stream the reply as ``StructuredUpdate``s (one request, no re-ask).

        >>> with request.structured(Article).stream() as updates:  # doctest: +SKIP
        ...     for update in updates:
        ...         render(update.partial, update.complete_fields)
        """
        if self._plan.mode == "json_schema":
            records = self._stream_records()
            if records is not None:
                return records
        return StructuredStream(self, self._shaped.stream())

    def _stream_records(self) -> Optional[StructuredStream]:
        """The protocol's own structured stream (ModelRelay: the same body, ``Accept`` NDJSON),
        or None where the adapter has none and the text stream is parsed here instead."""
        client = self._shaped.client
        params = client.check_chat_params(self._shaped.params)
        call = client.adapter.structured_stream_call(params)
        if call is None:
            return None
        http = client.open_call(params, call, stream=True)
        # An error record may echo the key: the stream scrubs what this call sent.
        return RecordStructuredStream(
            self, http, secrets=lambda: client.session.secrets_for(client.prepare_call(params, call))
        )


class StructuredStream:
    """An iterator of ``StructuredUpdate``s over one streamed reply; a context manager.

    The reply is read once and validated once, whichever comes first: iterating, or
    ``response``, which reads the rest of the stream and validates it just as iteration
    would. ``result`` holds the ``StructuredResult`` (usage included) once the reply has
    been read and validated, and is None before (or when validation failed). Iterating
    after ``response`` yields the last update (``done=True``, with ``value``) if it had
    not been yielded yet, or raises the error validation found.
    """

    result: Optional[StructuredResult]

    def __init__(self, request: StructuredRequest, stream: ChatStream) -> None:
        self._request = request
        self._stream = stream
        # complete_fields, kept incrementally: parser paths read so far, ours as a tuple
        self._seen = 0
        self._fields: list[str] = []
        self._fields_tuple: tuple[str, ...] = ()
        self._start()

    def _start(self) -> None:
        self.result = None
        self._response: Optional[ChatResponse] = None  # set by _run once the reply is complete
        self._ended_by: Optional[RelayError] = None  # the error that ended the updates
        self._owed_error: Optional[RelayError] = None  # raised while response read; iteration owes it
        self._held_last: Optional[StructuredUpdate] = None  # the last update, read by response
        self._updates = self._run()

    def __iter__(self) -> StructuredStream:
        return self

    def __next__(self) -> StructuredUpdate:
        if self._held_last is not None:
            update, self._held_last = self._held_last, None
            return update
        if self._owed_error is not None:
            error, self._owed_error = self._owed_error, None
            raise error
        try:
            return next(self._updates)
        except RelayError as exc:
            self._ended_by = exc
            raise

    def _read_to_end(self) -> None:
        """Run the updates to their end (validation included), keeping the last one and
        any error for a later iteration."""
        try:
            for update in self._updates:
                if update.done:
                    self._held_last = update
        except RelayError as exc:
            self._ended_by = self._owed_error = exc

    def _partial_so_far(self) -> Any:
        return self._stream.partial

    @property
    def response(self) -> ChatResponse:
        """The streamed ``ChatResponse``; reads (and validates) the rest if still open.

        Raises the transport, API or stream error that ended the stream; a reply that
        arrived whole is returned even when it failed validation (iteration raises that).
        """
        self._read_to_end()
        if self._response is not None:
            return self._response
        if self._ended_by is not None:
            raise self._ended_by
        raise StreamError(
            "structured stream was closed before its completion", partial=self._partial_so_far()
        )

    def _complete_fields(self, parser: PartialJSONParser, root: Any) -> tuple[str, ...]:
        completed = parser.complete_fields
        if len(completed) != self._seen:
            unwrap = _is_wrapper(self._request._plan, root)
            prefix = WRAP_KEY + "."
            for path in completed[self._seen :]:
                if not unwrap:
                    self._fields.append(path)
                elif path.startswith(prefix):
                    self._fields.append(path[len(prefix) :])
            self._seen = len(completed)
            self._fields_tuple = tuple(self._fields)
        return self._fields_tuple

    def _partial(self, root: Any) -> Any:
        return root.get(WRAP_KEY) if _is_wrapper(self._request._plan, root) else root

    def _run(self) -> Generator[StructuredUpdate, None, None]:
        request = self._request
        plan = request._plan
        tool_mode = plan.mode == "tool"
        parser = PartialJSONParser()
        started = False  # True once the JSON began: prose before it is not fed to the parser
        healthy = True  # False once the text stopped being JSON (prose after it, say)
        tool_index: Optional[int] = None
        try:
            for event in self._stream:
                if isinstance(event, Done):
                    self._response = event.response
                    continue
                if tool_mode and isinstance(event, ToolCallDelta):
                    if tool_index is None and event.name == plan.name:
                        tool_index = event.index
                    if event.index != tool_index:
                        continue
                    piece = event.arguments_delta
                elif not tool_mode and isinstance(event, TextDelta):
                    piece = event.text
                else:
                    continue
                if not piece or not healthy:
                    continue
                if not started:
                    lead = _JSON_LEAD.search(piece)
                    if lead is None:
                        continue
                    piece = piece[lead.start() :]
                    started = True
                try:
                    parser.feed(piece)
                except PartialJSONError:
                    healthy = False  # the whole text is still searched for JSON at the end
                    continue
                root = parser.value
                yield StructuredUpdate(self._partial(root), self._complete_fields(parser, root), False)
        finally:
            self._stream.close()
        response = self._response
        if response is None:  # a ChatStream always ends with Done or raises; never silent
            raise StreamError("structured stream ended without a response", partial=self._stream.partial)
        raw, call = request._raw(response)
        request._check_finish(response, [raw], [], [response])
        try:
            data, value = request._parse(raw, call)
        except ValidationError as exc:
            raise StructuredOutputError(
                f"the streamed reply did not match {plan.name}: {'; '.join(exc.messages)}",
                raw_attempts=[raw],
                attempt_errors=[exc.messages],
                responses=[response],
                attempts=1,
            ) from None
        if healthy:
            try:
                parser.finish()  # completes a number at the very end
            except PartialJSONError:
                pass
        self.result = StructuredResult(value, 1, response, response.usage, (raw,))
        yield StructuredUpdate(data, self._complete_fields(parser, parser.value), True, value)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._updates.close()
        self._stream.close()

    def __enter__(self) -> StructuredStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_wrapper(plan: _Plan, root: Any) -> bool:
    """Whether a streamed root is the ``{"value": ...}`` wrapper to look inside.

    A wrapped type's reply may also come bare (a list where the wrapper was asked for);
    an object root is taken as the wrapper, anything else as the bare value.
    """
    return plan.wrapped and isinstance(root, dict)


# How structured NDJSON streams are labelled (several spellings are in use).
NDJSON_STREAM_TYPES: tuple[str, ...] = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonl",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/json-lines",
    "application/x-json-lines",
    "application/x-json-stream",
    "text/x-ndjson",
)


class _RecordDecoder(NDJSONDecoder):
    """NDJSON under any of the labels structured streams use."""

    MEDIA_TYPES: ClassVar[tuple[str, ...]] = NDJSON_STREAM_TYPES
    #: Always False: ``close()`` parses a last line that had no newline itself.
    ended_mid_event = False


class _RecordEvents:
    """The protocol's structured record parser, as the stream pump drives it.

    ``feed`` returns the ``update`` or ``completion`` record (nothing for records without
    output) and keeps the last update's payload and fields, unwrapped: the partial.
    """

    def __init__(
        self,
        records: StructuredRecordParser,
        unwrap: Callable[[Any, tuple[str, ...]], tuple[Any, tuple[str, ...]]],
    ) -> None:
        self.records = records
        self._unwrap = unwrap
        self.last_partial: Any = None
        self.last_fields: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """True once the completion record was read."""
        return self.records.finished

    def feed(self, record: object) -> list[StructuredRecord]:
        """Read one NDJSON record."""
        piece = self.records.feed(record)
        if piece is None:
            return []
        if piece.kind != "completion":
            self.last_partial, self.last_fields = self._unwrap(piece.payload, piece.complete_fields)
        return [piece]

    def partial(self) -> object:
        """The last update's payload (unwrapped), None before the first."""
        return self.last_partial


class RecordStructuredStream(StructuredStream):
    """A ``StructuredStream`` over a protocol's structured records (ModelRelay's NDJSON)
    rather than a text stream.

    The server does the partial parsing: each ``update`` record's payload and
    ``complete_fields`` become an update as they are (a fresh object per record, not a
    live one), and the ``completion`` record's payload is validated into the last update.
    Reading is a ``StreamPump`` (its rules: ``relay_lite._stream``): an ``error`` record
    raises the mapped ``APIError``; a stream that ends without a completion raises
    ``StreamError``; every error raised while reading carries the last partial payload
    (unwrapped) as ``.partial``.
    """

    def __init__(
        self,
        request: StructuredRequest,
        http: StreamResponse,
        *,
        secrets: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self._request = request
        self._http = http
        adapter = request._shaped.client.adapter
        self._records = _RecordEvents(adapter.structured_record_parser(), self._unwrap)
        self._pump: StreamPump[object, StructuredRecord, object] = StreamPump(
            http,
            _RecordDecoder(),
            self._records,
            what="structured stream",
            ended_early="structured stream ended without a completion or error record",
            malformed="malformed structured stream record",
            whole=self._whole,
            on_error=self._name_request,
            secrets=secrets,
            request_id=adapter.request_id(http.headers),
        )
        self.request_id = self._pump.request_id
        self._start()

    def _unwrap(self, payload: Any, fields: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
        if not _is_wrapper(self._request._plan, payload):
            return payload, fields
        prefix = WRAP_KEY + "."
        return payload.get(WRAP_KEY), tuple(f[len(prefix) :] for f in fields if f.startswith(prefix))

    def _partial_so_far(self) -> Any:
        return self._records.last_partial

    def _whole(self, data: object) -> list[StructuredRecord]:
        """A whole JSON body instead of records: its APIError, or refused."""
        raise whole_json_error(
            data,
            self._http.headers,
            what="structured stream",
            expected="an NDJSON stream",
            map_error=self._request._shaped.client.adapter.map_error,
        )

    def _name_request(self, exc: RelayError) -> None:
        # The start record may name the request where the headers did not.
        if isinstance(exc, APIError) and exc.request_id is None:
            exc.request_id = self._records.records.request_id

    def _run(self) -> Generator[StructuredUpdate, None, None]:
        request = self._request
        records = self._records
        http = self._http
        completion: Optional[StructuredRecord] = None
        try:
            for piece in self._pump:
                if piece.kind == "completion":
                    completion = piece
                    continue
                yield StructuredUpdate(records.last_partial, records.last_fields, False)
        finally:
            if not self._pump.done:
                self._pump.close()
        if completion is None:  # the pump raises before this; kept for the type checker
            raise StreamError("structured stream ended without a completion or error record")
        fields = records.last_fields
        if completion.complete_fields:
            _, fields = self._unwrap(completion.payload, completion.complete_fields)
        raw = json.dumps(completion.payload, ensure_ascii=False)
        response = records.records.response(raw, request_id=self.request_id, attempts=http.attempts)
        self._response = response
        request._check_finish(response, [raw], [], [response])
        try:
            data, value = request._validate_data(completion.payload)
        except ValidationError as exc:
            raise StructuredOutputError(
                f"the streamed reply did not match {request._plan.name}: {'; '.join(exc.messages)}",
                raw_attempts=[raw],
                attempt_errors=[exc.messages],
                responses=[response],
                attempts=1,
            ) from None
        self.result = StructuredResult(value, 1, response, response.usage, (raw,))
        yield StructuredUpdate(data, fields, True, value)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._updates.close()
        self._pump.close()
