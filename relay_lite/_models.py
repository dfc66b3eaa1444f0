"""The neutral model: messages, tools, usage, responses and stream events.

Protocol adapters translate between these and each provider's wire shapes; user code
sees only these (and ``.raw`` when it asks for the provider's own JSON). All are
immutable ``Record``s (see ``_record``); the ones users build (messages, parts, tools) are frozen so a request
builder can share them safely.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from ._errors import ConfigError
from ._ratelimits import RateLimits
from ._record import Record, factory

__all__ = [
    "TextPart",
    "ImagePart",
    "TokenLogprob",
    "DocumentPart",
    "ContentPart",
    "Message",
    "ToolSpec",
    "ToolCall",
    "ThinkingBlock",
    "Usage",
    "ChatResponse",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallDelta",
    "UsageEvent",
    "Done",
    "StreamEvent",
    "FINISH_REASONS",
]

ROLES = ("system", "user", "assistant", "tool")
# The normalised finish reasons; a provider value outside these passes through unchanged.
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "refusal")


class TextPart(Record):
    """A piece of text inside a multi-part message."""

    text: str


# Leading bytes of the image formats the providers accept, for raw bytes given without a
# media type (PNG and GIF signatures; JPEG's SOI marker; WebP's RIFF....WEBP header).
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_type(data: bytes) -> Optional[str]:
    """The media type of image bytes from their signature (PNG, JPEG, GIF, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _IMAGE_SIGNATURES if data.startswith(magic)), None)


class ImagePart(Record):
    """An image, by ``url`` or as base64 ``data`` with its ``media_type`` (e.g. image/png).

    ``data`` may also be the raw bytes of the image: they are base64-encoded here, and the
    media type is read from the bytes' signature when not given (PNG, JPEG, GIF, WebP).
    """

    url: Optional[str] = None
    data: Optional[str] = None
    media_type: Optional[str] = None
    detail: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ConfigError("ImagePart needs exactly one of url= or data=")
        raw: Any = self.data
        if isinstance(raw, (bytes, bytearray, memoryview)):
            raw = bytes(raw)
            if not self.media_type:
                kind = sniff_image_type(raw)
                if kind is None:
                    raise ConfigError(
                        "ImagePart bytes are not PNG, JPEG, GIF or WebP; pass media_type= to send them anyway"
                    )
                object.__setattr__(self, "media_type", kind)
            import base64  # only where images are sent as bytes

            object.__setattr__(self, "data", base64.b64encode(raw).decode("ascii"))
        elif self.data is not None and not isinstance(self.data, str):
            raise ConfigError(f"ImagePart data= must be bytes or base64 text, got {type(self.data).__name__}")
        if self.data is not None and not self.media_type:
            raise ConfigError("ImagePart with data= needs media_type= (for example 'image/png')")


class DocumentPart(Record):
    """A PDF document, by ``url`` or as ``data``: raw bytes (base64-encoded here) or base64 text.

    ``filename`` is sent where the provider takes one (OpenAI's ``file`` parts).
    """

    url: Optional[str] = None
    data: Optional[str] = None
    media_type: str = "application/pdf"
    filename: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ConfigError("DocumentPart needs exactly one of url= or data=")
        if self.media_type != "application/pdf":
            raise ConfigError(f"DocumentPart takes PDF documents (application/pdf), got {self.media_type!r}")
        raw: Any = self.data
        if isinstance(raw, (bytes, bytearray, memoryview)):
            raw = bytes(raw)
            if not raw.startswith(b"%PDF-"):
                raise ConfigError("DocumentPart bytes are not a PDF (they do not start with %PDF-)")
            import base64  # only where documents are sent as bytes

            object.__setattr__(self, "data", base64.b64encode(raw).decode("ascii"))
        elif self.data is not None and not isinstance(self.data, str):
            raise ConfigError(
                f"DocumentPart data= must be bytes or base64 text, got {type(self.data).__name__}"
            )


ContentPart = Union[TextPart, ImagePart, DocumentPart]


class ToolCall(Record):
    """A tool call the model made: ``arguments`` parsed, ``arguments_json`` as sent.

    When the model's arguments are not a JSON object (cut off by the token limit, a
    model's mistake, ``"[1, 2]"``, ``"null"``), ``arguments_error`` says why and reading
    ``arguments`` raises ``ToolArgumentsError``: a tool is never run with arguments the
    model did not give. ``arguments_json`` always keeps the text as sent.
    """

    id: str
    name: str
    arguments: Mapping[str, Any]
    arguments_json: str = ""
    arguments_error: Optional[str] = None

    @property
    def arguments_text(self) -> str:
        """The arguments as JSON text: as sent when known, else serialised from ``arguments``."""
        return self.arguments_json or json.dumps(dict(self.__dict__["arguments"]))

    @property
    def wire_arguments(self) -> dict[str, Any]:
        """The arguments as an object for a provider that wants one back ({} when invalid)."""
        return {} if self.arguments_error is not None else dict(self.__dict__["arguments"])

    @classmethod
    def from_json(cls, id: str, name: str, arguments_json: str) -> ToolCall:  # noqa: A002
        """Build from raw JSON arguments; empty text means no arguments (``{}``)."""
        if not arguments_json.strip():
            return cls(id, name, {}, arguments_json)
        try:
            parsed = json.loads(arguments_json)
        except RecursionError:
            return cls(id, name, {}, arguments_json, "arguments are nested too deeply")
        except ValueError as exc:
            return cls(id, name, {}, arguments_json, f"arguments are not valid JSON ({exc})")
        return cls.from_value(id, name, parsed, arguments_json)

    @classmethod
    def from_value(cls, id: str, name: str, value: Any, arguments_json: str = "") -> ToolCall:  # noqa: A002
        """Build from arguments already parsed (e.g. Anthropic's ``input``)."""
        if not arguments_json:
            try:
                arguments_json = json.dumps(value)
            except (TypeError, ValueError, RecursionError):
                arguments_json = ""
        if isinstance(value, dict):
            return cls(id, name, value, arguments_json)
        kind = "null" if value is None else json_kind(value)
        return cls(id, name, {}, arguments_json, f"arguments are JSON {kind}, not an object")


def _read_arguments(call: ToolCall) -> Mapping[str, Any]:
    error = call.arguments_error
    if error is not None:
        from ._errors import ToolArgumentsError

        shown = call.arguments_json if len(call.arguments_json) <= 200 else call.arguments_json[:200] + "..."
        raise ToolArgumentsError(f"tool call {call.name!r} (id {call.id!r}): {error}: {shown!r}")
    arguments: Mapping[str, Any] = call.__dict__["arguments"]
    return arguments


# A data descriptor set after the class body, so Record still sees a plain field (its value
# lives in the instance dict) while reading it checks ``arguments_error`` first.
ToolCall.arguments = property(_read_arguments, doc="The parsed arguments (raises when invalid).")  # type: ignore[assignment]


def json_kind(value: Any) -> str:
    """A JSON value's type in words, for messages: "a string", "an array", "missing or null"."""
    if value is None:
        return "missing or null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class ThinkingBlock(Record):
    """A block of the model's reasoning as Anthropic sent it, signature included.

    An assistant turn that made tool calls after thinking must send its thinking blocks
    back unchanged in the next request; ``ChatResponse.message`` carries them for that.
    A redacted block has only ``redacted_data``.
    """

    thinking: str = ""
    signature: str = ""
    redacted_data: Optional[str] = None


class Message(Record):
    """One conversation turn.

    ``content`` is text or a tuple of parts (text and images). An assistant turn may carry
    ``tool_calls`` and the ``thinking`` blocks that preceded them; a ``tool`` turn answers
    the call named by ``tool_call_id``.
    """

    role: str
    content: Union[str, tuple[ContentPart, ...]] = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: Optional[str] = None
    name: Optional[str] = None
    thinking: tuple[ThinkingBlock, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"message role {self.role!r} is not one of {', '.join(ROLES)}")
        if isinstance(self.content, list):
            object.__setattr__(self, "content", tuple(self.content))

    @property
    def text(self) -> str:
        """The text of this message, parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @classmethod
    def coerce(cls, value: Union[Message, Mapping[str, Any]]) -> Message:
        """Accept a ``Message`` or an OpenAI-style dict (``{"role": ..., "content": ...}``)."""
        if isinstance(value, Message):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"a message must be a Message or a dict, got {type(value).__name__}")
        if "role" not in value:
            raise ConfigError(f"message dict {dict(value)!r} has no 'role'")
        content = value.get("content") or ""
        if isinstance(content, list):
            content = tuple(_part_from_dict(p) for p in content)
        calls = tuple(
            ToolCall.from_json(
                c.get("id", ""),
                c.get("function", c).get("name", ""),
                _arguments_text(c.get("function", c).get("arguments", "")),
            )
            for c in value.get("tool_calls") or ()
        )
        return cls(
            role=value["role"],
            content=content,
            tool_calls=calls,
            tool_call_id=value.get("tool_call_id"),
            name=value.get("name"),
        )


def _arguments_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _part_from_dict(part: Any) -> ContentPart:
    if isinstance(part, (TextPart, ImagePart, DocumentPart)):
        return part
    if isinstance(part, str):
        return TextPart(part)
    kind = part.get("type")
    if kind == "text":
        return TextPart(part["text"])
    if kind == "image_url":
        image = part["image_url"]
        url = image if isinstance(image, str) else image["url"]
        detail = None if isinstance(image, str) else image.get("detail")
        if url.startswith("data:") and ";base64," in url:
            media_type, data = url[5:].split(";base64,", 1)
            return ImagePart(data=data, media_type=media_type, detail=detail)
        return ImagePart(url=url, detail=detail)
    if kind == "image":  # Anthropic shape
        source = part["source"]
        if source.get("type") == "base64":
            return ImagePart(data=source["data"], media_type=source["media_type"])
        return ImagePart(url=source["url"])
    raise ConfigError(f"unsupported content part type {kind!r}")


class ToolSpec(Record):
    """A tool the model may call: a name, a description and a JSON Schema for arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = factory(default_factory=lambda: {"type": "object", "properties": {}})

    @classmethod
    def coerce(cls, value: Union[ToolSpec, Mapping[str, Any]]) -> ToolSpec:
        """Accept a ``ToolSpec``, an OpenAI tool dict, or an Anthropic tool dict."""
        if isinstance(value, ToolSpec):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"a tool must be a ToolSpec or a dict, got {type(value).__name__}")
        spec = value.get("function", value)
        if "name" not in spec:
            raise ConfigError(f"tool dict {dict(value)!r} has no 'name'")
        parameters = (
            spec.get("parameters") or spec.get("input_schema") or {"type": "object", "properties": {}}
        )
        return cls(spec["name"], spec.get("description", ""), parameters)


def _add(a: Optional[int], b: Optional[int]) -> Optional[int]:
    if a is None:
        return b
    return a if b is None else a + b


class Usage(Record):
    """Token counts; each is None when the provider did not report it."""

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    cached_input_tokens: Optional[int] = None
    cache_creation_input_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None

    def merge(self, later: Usage) -> Usage:
        """Counts reported ``later`` in a stream replace these; unreported ones are kept.

        The total is the later one if given, else input + output when both are known.
        """

        def pick(name: str) -> Optional[int]:
            value: Optional[int] = getattr(later, name)
            return getattr(self, name) if value is None else value

        input_tokens, output_tokens = pick("input_tokens"), pick("output_tokens")
        total = later.total_tokens
        if total is None:
            both = input_tokens is not None and output_tokens is not None
            total = input_tokens + output_tokens if both else self.total_tokens  # type: ignore[operator]
        return Usage(
            input_tokens,
            output_tokens,
            total,
            pick("cached_input_tokens"),
            pick("cache_creation_input_tokens"),
            pick("reasoning_tokens"),
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            _add(self.input_tokens, other.input_tokens),
            _add(self.output_tokens, other.output_tokens),
            _add(self.total_tokens, other.total_tokens),
            _add(self.cached_input_tokens, other.cached_input_tokens),
            _add(self.cache_creation_input_tokens, other.cache_creation_input_tokens),
            _add(self.reasoning_tokens, other.reasoning_tokens),
        )


class TokenLogprob(Record):
    """One output token's log-probability (OpenAI ``logprobs.content[i]``): the token, its
    log-probability, its UTF-8 bytes when given, and the ``top`` alternatives asked for."""

    token: str
    logprob: float
    bytes: Optional[tuple[int, ...]] = None
    top: tuple[TokenLogprob, ...] = ()


class ChatResponse(Record):
    """A whole reply, from ``send()`` or accumulated from a stream.

    ``finish_reason`` is normalised to stop / length / tool_calls / content_filter /
    refusal (other values pass through); ``raw_finish_reason`` is the provider's own.
    ``raw`` is the provider's JSON; ``status`` and ``headers`` (lower-cased names) are the
    HTTP response's. ``choices`` holds every choice of a reply asked for with ``n > 1``
    (each a ``ChatResponse``, in index order); the fields of the reply itself are choice 0's.
    ``raw``, ``status``, ``headers`` and ``all_choices`` are left out of ``repr`` and equality.
    """

    _hidden_in_repr = frozenset({"raw", "status", "headers", "all_choices", "rate_limits", "logprobs"})
    _not_compared = frozenset({"raw", "status", "headers", "all_choices", "rate_limits"})

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: Optional[str] = None
    raw_finish_reason: Optional[str] = None
    model: Optional[str] = None
    id: Optional[str] = None
    usage: Usage = factory(default_factory=Usage)
    request_id: Optional[str] = None
    refusal: Optional[str] = None
    thinking: str = ""
    thinking_blocks: tuple[ThinkingBlock, ...] = ()
    raw: Any = None
    attempts: int = 1
    status: Optional[int] = None
    headers: Mapping[str, str] = factory(default_factory=dict)
    #: Every choice when the reply had more than one; empty otherwise (see ``choices``).
    all_choices: tuple[ChatResponse, ...] = ()
    #: Per-token log-probabilities when asked for with ``ChatRequest.logprobs`` (else None).
    logprobs: Optional[tuple[TokenLogprob, ...]] = None
    #: The response's rate-limit headers, parsed (``RateLimits``); None when it sent none.
    rate_limits: Optional[RateLimits] = None

    @property
    def choices(self) -> tuple[ChatResponse, ...]:
        """Every choice of the reply, in index order; just this reply when it had one."""
        return self.all_choices or (self,)

    @property
    def message(self) -> Message:
        """The reply as an assistant ``Message``, ready to append to a conversation.

        It keeps the signed thinking blocks, which Anthropic requires back with tool calls.
        """
        return Message("assistant", self.text, self.tool_calls, thinking=self.thinking_blocks)


# -- stream events (small and plain: one is made per chunk on the hot path) ---------------


class TextDelta(Record):
    """A piece of reply text."""

    text: str


class ThinkingDelta(Record):
    """A piece of the model's visible reasoning (Anthropic ``thinking``)."""

    text: str


class ToolCallDelta(Record):
    """A fragment of a tool call; fragments with the same ``index`` belong together."""

    index: int
    id: Optional[str] = None
    name: Optional[str] = None
    arguments_delta: str = ""


class UsageEvent(Record):
    """Token usage reported during the stream (merged into the final response)."""

    usage: Usage


class Done(Record):
    """The stream finished properly; ``response`` is the accumulated whole."""

    response: ChatResponse


if TYPE_CHECKING:
    StreamEvent = Union[TextDelta, ThinkingDelta, ToolCallDelta, UsageEvent, Done]


def __getattr__(name: str) -> Any:
    # StreamEvent is built on first access (PEP 562): a typing Union costs about as much to
    # build as a class, and only stream code and annotations name it.
    if name == "StreamEvent":
        value = Union[TextDelta, ThinkingDelta, ToolCallDelta, UsageEvent, Done]
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def messages_from(values: Sequence[Union[Message, Mapping[str, Any]]]) -> tuple[Message, ...]:
    """Coerce a list of messages or dicts into a tuple of ``Message``."""
    return tuple(Message.coerce(v) for v in values)


class ChatParams(Record):
    """Everything a chat request says, independent of any provider (built by ``ChatRequest``).

    ``tool_choice`` is "auto", "none", "required" (alias "any"), a tool name, or a
    provider-shaped dict passed through. ``extra_body`` is merged last into the wire body.
    """

    model: Optional[str] = None
    messages: tuple[Message, ...] = ()
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    max_tokens: Optional[int] = None
    stop: tuple[str, ...] = ()
    seed: Optional[int] = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Union[str, Mapping[str, Any], None] = None
    response_format: Optional[Mapping[str, Any]] = None
    metadata: Optional[Mapping[str, str]] = None
    headers: Mapping[str, str] = factory(default_factory=dict)
    timeout: Any = None  # Timeouts or seconds (total); resolved by the client
    retry: Any = None  # a RetryPolicy for this request only (``ChatRequest.retries``)
    request_id: Optional[str] = None
    extra_body: Mapping[str, Any] = factory(default_factory=dict)
    customer_id: Optional[str] = None  # ModelRelay customer-attributed calls
    # Request features each protocol maps or refuses (ConfigError naming the provider).
    reasoning_effort: Optional[str] = None  # OpenAI: minimal/low/medium/high
    thinking_budget: Optional[int] = None  # Anthropic extended thinking, in tokens
    n: Optional[int] = None  # several choices (OpenAI)
    parallel_tool_calls: Optional[bool] = None
    # Prompt-cache breakpoints (Anthropic cache_control): indexes into ``messages``, and
    # whether the tool definitions end one.
    cache_marks: tuple[int, ...] = ()
    top_logprobs: Optional[int] = None  # log-probabilities asked for, with this many alternatives
    end_user: Optional[str] = None  # your id for the end user (abuse monitoring)
    cache_tools: bool = False
