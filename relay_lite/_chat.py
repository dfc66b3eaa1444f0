"""``ChatRequest``: an immutable builder bound to a client.

Every builder method returns a new request, so a partly built request can be reused::

    base = client.chat("gpt-4o-mini").system("Be brief.")
    a = base.user("Hello").send()
    b = base.user("Goodbye").temperature(0).send()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from ._config import RetryPolicy, Timeouts
from ._errors import ConfigError
from ._models import (
    ChatParams,
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolSpec,
    messages_from,
)

if TYPE_CHECKING:
    from ._client import Client
    from ._stream import ChatStream
    from ._structured import StructuredRequest


def _content(
    text: Optional[str],
    images: Sequence[Union[str, bytes, ImagePart]],
    documents: Sequence[Union[str, bytes, DocumentPart]] = (),
) -> Union[str, tuple[ContentPart, ...]]:
    if not images and not documents:
        return text or ""
    if documents:
        # Documents first: providers advise putting them before the question about them.
        before: list[ContentPart] = []
        for document in documents:
            if isinstance(document, DocumentPart):
                before.append(document)
            elif isinstance(document, (bytes, bytearray)):
                before.append(DocumentPart(data=document))  # type: ignore[arg-type]  # encoded by DocumentPart
            elif isinstance(document, str):
                before.append(DocumentPart(url=document))
            else:
                raise ConfigError(
                    f"a document is a URL, bytes or a DocumentPart, got {type(document).__name__}"
                )
        rest = _content(text, images)
        tail = ((TextPart(rest),) if rest else ()) if isinstance(rest, str) else rest
        return (*before, *tail)
    parts: list[ContentPart] = [TextPart(text)] if text else []
    for image in images:
        if isinstance(image, ImagePart):
            parts.append(image)
        elif isinstance(image, (bytes, bytearray)):
            parts.append(ImagePart(data=image))  # type: ignore[arg-type]  # encoded by ImagePart
        elif isinstance(image, str):
            parts.append(ImagePart(url=image))
        else:
            raise ConfigError(f"an image is a URL, bytes or an ImagePart, got {type(image).__name__}")
    return tuple(parts)


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")
    return value


#: OpenAI's reasoning_effort values.
REASONING_EFFORTS = ("minimal", "low", "medium", "high")


class ChatRequest:
    """A chat request under construction; ``send()`` or ``stream()`` it when ready."""

    __slots__ = ("_client", "params")

    def __init__(self, client: Client, params: ChatParams) -> None:
        self._client = client
        self.params = params

    @property
    def client(self) -> Client:
        """The client this request is sent through."""
        return self._client

    def with_params(self, **changes: Any) -> ChatRequest:
        """A copy with ``ChatParams`` fields changed (what every builder method does)."""
        return ChatRequest(self._client, self.params.replace(**changes))

    def with_message(self, message: Message) -> ChatRequest:
        """A copy with ``message`` appended."""
        return self.with_params(messages=self.params.messages + (message,))

    def __repr__(self) -> str:
        return f"ChatRequest(model={self.params.model!r}, messages={len(self.params.messages)})"

    # -- messages -----------------------------------------------------------------------

    def system(self, text: str, *, cache: bool = False) -> ChatRequest:
        """Add a system message; ``cache=True`` is ``.system(text).cache()``."""
        request = self.with_message(Message("system", text))
        return request.cache() if cache else request

    def cache(self) -> ChatRequest:
        """Mark the message added last as a prompt-cache breakpoint: everything up to and
        including it is cached (Anthropic ``cache_control: {"type": "ephemeral"}``; other
        protocols refuse the mark -- OpenAI caches long prompts by itself)."""
        if not self.params.messages:
            raise ConfigError("cache() marks the message added last; add a message first")
        index = len(self.params.messages) - 1
        if index in self.params.cache_marks:
            return self
        return self.with_params(cache_marks=(*self.params.cache_marks, index))

    def user(
        self,
        text: Optional[str] = None,
        *,
        images: Sequence[Union[str, bytes, ImagePart]] = (),
        documents: Sequence[Union[str, bytes, DocumentPart]] = (),
    ) -> ChatRequest:
        """Add a user message; ``images`` are URLs, raw image bytes or ``ImagePart``s, and
        ``documents`` PDFs as URLs, raw bytes or ``DocumentPart``s (sent before the text)."""
        return self.with_message(Message("user", _content(text, images, documents)))

    def assistant(
        self, text: str = "", *, tool_calls: Sequence[Any] = (), thinking: Sequence[Any] = ()
    ) -> ChatRequest:
        """Add an assistant message (an earlier reply), with its tool calls and thinking blocks.

        Passing a whole reply back is simplest: ``request.messages([reply.message])``.
        """
        return self.with_message(Message("assistant", text, tuple(tool_calls), thinking=tuple(thinking)))

    def tool_result(self, tool_call_id: str, content: Any, *, name: Optional[str] = None) -> ChatRequest:
        """Answer a tool call; a non-string ``content`` is sent as JSON."""
        if not isinstance(content, str):
            import json

            content = json.dumps(content, ensure_ascii=False)
        return self.with_message(Message("tool", content, tool_call_id=tool_call_id, name=name))

    def messages(self, messages: Sequence[Union[Message, Mapping[str, Any]]]) -> ChatRequest:
        """Append messages (``Message`` objects or OpenAI-style dicts)."""
        return self.with_params(messages=self.params.messages + messages_from(messages))

    # -- parameters -----------------------------------------------------------------------

    def model(self, model: str) -> ChatRequest:
        """Use another model."""
        return self.with_params(model=model)

    def temperature(self, value: float) -> ChatRequest:
        """Sampling temperature."""
        return self.with_params(temperature=value)

    def top_p(self, value: float) -> ChatRequest:
        """Nucleus sampling cut-off."""
        return self.with_params(top_p=value)

    def max_tokens(self, value: int) -> ChatRequest:
        """Upper bound on generated tokens."""
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"max_tokens must be a positive whole number, got {value!r}")
        return self.with_params(max_tokens=value)

    def stop(self, *sequences: str) -> ChatRequest:
        """Stop sequences."""
        return self.with_params(stop=tuple(sequences))

    def seed(self, value: int) -> ChatRequest:
        """Sampling seed, where the provider supports it."""
        return self.with_params(seed=value)

    def tools(
        self, tools: Sequence[Union[ToolSpec, Mapping[str, Any]]], *, cache: bool = False
    ) -> ChatRequest:
        """Tools the model may call (``ToolSpec``s or OpenAI/Anthropic tool dicts);
        ``cache=True`` makes the tool definitions a prompt-cache breakpoint (Anthropic)."""
        return self.with_params(tools=tuple(ToolSpec.coerce(t) for t in tools), cache_tools=bool(cache))

    def tool_choice(self, choice: Union[str, Mapping[str, Any]]) -> ChatRequest:
        """ "auto", "none", "required" (or "any"), a tool's name, or a provider dict."""
        return self.with_params(tool_choice=choice)

    def response_format(self, value: Mapping[str, Any]) -> ChatRequest:
        """Provider ``response_format`` (for dataclass output use ``structured()``)."""
        return self.with_params(response_format=dict(value))

    def metadata(self, value: Mapping[str, str]) -> ChatRequest:
        """Request metadata."""
        return self.with_params(metadata=dict(value))

    def headers(self, headers: Mapping[str, str]) -> ChatRequest:
        """Extra HTTP headers for this request."""
        return self.with_params(headers={**self.params.headers, **headers})

    def timeout(self, value: Union[Timeouts, float]) -> ChatRequest:
        """``Timeouts`` for this request, or a number: the total deadline in seconds."""
        if not isinstance(value, Timeouts):
            value = Timeouts(
                connect=self._client.config.timeouts.connect,
                read=self._client.config.timeouts.read,
                total=value,
            )
        return self.with_params(timeout=value)

    def retries(self, max_retries: int) -> ChatRequest:
        """Retry this request at most ``max_retries`` times (0: one attempt only).

        The client's other retry settings (backoff, ``Retry-After`` cap, statuses) stay.
        """
        policy = self._client.config.retry
        if isinstance(self.params.retry, RetryPolicy):
            policy = self.params.retry
        return self.with_params(retry=policy.replace(max_retries=max_retries))

    def reasoning_effort(self, effort: str) -> ChatRequest:
        """How hard a reasoning model thinks: "minimal", "low", "medium" or "high" (OpenAI's
        ``reasoning_effort``; Anthropic refuses it: use ``thinking``)."""
        if effort not in REASONING_EFFORTS:
            raise ConfigError(
                f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, got {effort!r}"
            )
        return self.with_params(reasoning_effort=effort)

    def thinking(self, budget_tokens: int) -> ChatRequest:
        """Anthropic extended thinking with ``budget_tokens`` (>= 1024, below ``max_tokens``);
        OpenAI refuses it: use ``reasoning_effort``."""
        return self.with_params(thinking_budget=_whole("thinking budget_tokens", budget_tokens, 1024))

    def n(self, count: int) -> ChatRequest:
        """Ask for ``count`` choices (``ChatResponse.choices``); Anthropic has one only."""
        return self.with_params(n=_whole("n", count, 1))

    def end_user(self, user_id: str) -> ChatRequest:
        """Your stable id for the person behind this request, for the provider's abuse
        monitoring (OpenAI ``user``; Anthropic ``metadata.user_id``). Never an email."""
        if not isinstance(user_id, str) or not user_id.strip():
            raise ConfigError(f"end_user needs a non-empty string id, got {user_id!r}")
        return self.with_params(end_user=user_id)

    def logprobs(self, top: int = 0) -> ChatRequest:
        """Return each output token's log-probability (``reply.logprobs``), with ``top``
        (0-20) most likely alternatives per token (OpenAI ``logprobs``/``top_logprobs``)."""
        if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 20:
            raise ConfigError(f"logprobs top must be a whole number from 0 to 20, got {top!r}")
        return self.with_params(top_logprobs=top)

    def parallel_tool_calls(self, enabled: bool) -> ChatRequest:
        """Whether the model may call several tools in one turn (OpenAI's
        ``parallel_tool_calls``; Anthropic's ``disable_parallel_tool_use``)."""
        if not isinstance(enabled, bool):
            raise ConfigError(f"parallel_tool_calls must be True or False, got {enabled!r}")
        return self.with_params(parallel_tool_calls=enabled)

    def request_id(self, value: str) -> ChatRequest:
        """Your own id for this request, sent where the provider accepts one."""
        return self.with_params(request_id=value)

    def extra_body(self, fields: Mapping[str, Any]) -> ChatRequest:
        """Provider-specific body fields, merged last; a None value removes a field.

        >>> request.extra_body({"stream_options": None})  # doctest: +SKIP
        """
        return self.with_params(extra_body={**self.params.extra_body, **fields})

    # -- execution ------------------------------------------------------------------------

    def send(self) -> ChatResponse:
        """Send and wait for the whole reply."""
        return self._client.send_chat(self.params)

    def count_tokens(self) -> int:
        """Input tokens this request would use, counted by the provider without running it
        (Anthropic only; OpenAI-compatible APIs raise ``ConfigError``: no such endpoint)."""
        return self._client.count_tokens(self.params)

    def stream(self) -> ChatStream:
        """Send and stream the reply; use as a context manager."""
        return self._client.stream_chat(self.params)

    def structured(self, output_type: Any, *, max_retries: int = 2, **options: Any) -> StructuredRequest:
        """Ask for output of ``output_type`` (a dataclass, TypedDict, ... or JSON Schema dict)."""
        from ._structured import StructuredRequest

        return StructuredRequest(self, output_type, max_retries=max_retries, **options)
