"""A blocking stand-in for prompti's model clients: ``run(messages, config)`` yields messages.

prompti's clients are async generators over ``Message(role, kind, content)``; this is the
sync equivalent for scripts and Lambda functions that cannot take httpx and an event loop::

    from relay_lite.prompti import Message, ModelConfig, run

    config = ModelConfig(provider="openai", model="gpt-4o-mini", api_key="sk-...")
    for message in run([Message("user", "Hello")], config):
        print(message.kind, message.content)

Request kinds read: ``text``, ``thinking`` (sent as text, as prompti does), ``image_url``
(a user image), ``tool_use`` (an assistant tool call: ``{"name", "arguments"}`` as a dict or
JSON text, with an optional ``"id"``) and ``tool_result`` (answers the latest tool call
unless its content names ``tool_call_id``). Reply kinds yielded: ``text`` (one per streamed
piece, or the whole text when ``config.stream`` is false), ``thinking``, then one
``tool_use`` per call (``{"id", "name", "arguments"}``).

Where prompti yields ``kind="error"`` with the body's text, this raises the typed
``relay_lite`` error (``APIError``, ``TransportError``, ...) so that no failure passes for
a reply; ``ModelClient(errors="message")`` yields prompti's error message instead (its text
scrubbed of the key like every relay_lite error). ``ModelClient.last_response`` holds the
last ``ChatResponse`` (usage, finish reason) once a run has ended.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterator, Mapping, Optional, Sequence

from ._chat import ChatRequest
from ._client import Client
from ._config import PRESETS
from ._errors import ConfigError, RelayError
from ._models import ChatResponse, ImagePart, TextDelta, ThinkingDelta, ToolCall, ToolSpec
from ._models import Message as ChatMessage
from ._record import Record, factory

__all__ = ["Message", "ModelConfig", "ModelClient", "run", "build_request", "to_messages"]

# parameters with a builder method (or a client setting) of their own; the rest go into the
# request body as they are.
_OWN_PARAMETERS = ("temperature", "max_tokens", "top_p", "stop", "seed", "api_base", "api_key")


class Message(Record):
    """prompti's message: ``role``, ``content`` and its ``kind`` (text, tool_use, ...)."""

    role: str
    content: Any = ""
    kind: str = "text"


class ModelConfig(Record):
    """prompti's model configuration.

    ``temperature`` and ``max_tokens`` are sent only when set (prompti's default 0.7 is
    not assumed); ``parameters`` carries anything else for the body (``top_p``, ``stop``,
    ``seed``, provider fields). ``api_base`` and ``api_key`` may also come in
    ``parameters``, as prompti's request files have them.
    """

    provider: str
    model: str
    parameters: Mapping[str, Any] = factory(default_factory=dict)
    api_key: Optional[str] = None
    api_base: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    stream: bool = True

    def __repr__(self) -> str:  # never the key
        key = "set" if self.api_key or self.parameters.get("api_key") else "None"
        return f"ModelConfig(provider={self.provider!r}, model={self.model!r}, api_key={key})"


def _tool_use(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            raise ConfigError(f"{where}: a tool_use content must be JSON, got {content[:60]!r}") from None
    if not isinstance(content, Mapping) or not isinstance(content.get("name"), str):
        raise ConfigError(f'{where}: a tool_use content must be an object with a "name"')
    arguments = content.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            raise ConfigError(f"{where}: the tool_use arguments are not JSON") from None
    if not isinstance(arguments, Mapping):
        raise ConfigError(f"{where}: the tool_use arguments must be a JSON object")
    return {"id": content.get("id"), "name": content["name"], "arguments": dict(arguments)}


def _coerce(message: Any, index: int) -> Message:
    """A ``Message`` from a prompti message, a relay_lite one, or a dict."""
    if isinstance(message, Message):
        return message
    if isinstance(message, Mapping):
        fields = message
    elif all(hasattr(message, name) for name in ("role", "content")):
        fields = {"role": message.role, "content": message.content, "kind": getattr(message, "kind", "text")}
    else:
        raise ConfigError(f"messages[{index}] must be a Message or a dict, got {type(message).__name__}")
    role, kind = fields.get("role"), fields.get("kind", "text")
    if not isinstance(role, str) or not isinstance(kind, str):
        raise ConfigError(f'messages[{index}] needs a string "role" (and "kind")')
    return Message(role, fields.get("content"), kind)


def to_messages(messages: Sequence[Any]) -> list[ChatMessage]:
    """prompti ``messages`` as relay_lite ``Message``s (``ConfigError`` names a bad one).

    Consecutive ``tool_use`` messages form one assistant turn; a ``tool_result`` answers
    the oldest call not answered yet unless its content names ``tool_call_id``.
    """
    if not messages:
        raise ConfigError("prompti run needs at least one message")
    out: list[ChatMessage] = []
    pending: list[str] = []  # ids of tool calls not answered yet, oldest first
    calls: list[ToolCall] = []
    for index, raw in enumerate(messages):
        message = _coerce(raw, index)
        where = f"messages[{index}]"
        if message.kind == "tool_use":
            call = _tool_use(message.content, where)
            call_id = call["id"] if isinstance(call["id"], str) else f"call_{index}"
            calls.append(ToolCall(call_id, call["name"], call["arguments"], json.dumps(call["arguments"])))
            pending.append(call_id)
            continue
        if calls:
            out.append(ChatMessage("assistant", "", tuple(calls)))
            calls = []
        content = message.content
        if message.kind in ("text", "thinking"):
            if not isinstance(content, str):
                raise ConfigError(f"{where}: a {message.kind} content must be a string")
            if message.role not in ("system", "user", "assistant"):
                raise ConfigError(f"{where}: role {message.role!r} is not system, user or assistant")
            out.append(ChatMessage(message.role, content))
        elif message.kind == "image_url":
            if not isinstance(content, str):
                raise ConfigError(f"{where}: an image_url content must be the URL")
            out.append(ChatMessage("user", (ImagePart(url=content),)))
        elif message.kind == "tool_result":
            named = content.get("tool_call_id") if isinstance(content, Mapping) else None
            if isinstance(named, str):
                call_id = named
                content = content.get("content", content)
            elif pending:
                call_id = pending[0]
            else:
                raise ConfigError(f"{where}: a tool_result with no tool_use before it")
            if call_id in pending:
                pending.remove(call_id)
            if not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False)
            out.append(ChatMessage("tool", content, tool_call_id=call_id))
        else:
            raise ConfigError(
                f"{where}: kind {message.kind!r} is not text, thinking, image_url, tool_use or tool_result"
            )
    if calls:
        out.append(ChatMessage("assistant", "", tuple(calls)))
    return out


def build_request(
    client: Client,
    messages: Sequence[Any],
    config: ModelConfig,
    tools: Optional[Sequence[Mapping[str, Any]]] = None,
) -> ChatRequest:
    """The ``ChatRequest`` prompti's ``run(messages, config, tools)`` describes."""
    parameters = dict(config.parameters)
    request = client.chat(config.model).messages(to_messages(messages))
    temperature = config.temperature if config.temperature is not None else parameters.get("temperature")
    max_tokens = config.max_tokens if config.max_tokens is not None else parameters.get("max_tokens")
    if temperature is not None:
        request = request.temperature(temperature)
    if max_tokens is not None:
        request = request.max_tokens(max_tokens)
    for name in ("top_p", "seed"):
        if parameters.get(name) is not None:
            request = getattr(request, name)(parameters[name])
    stop = parameters.get("stop")
    if stop:
        request = request.stop(*([stop] if isinstance(stop, str) else stop))
    if tools:
        request = request.tools([ToolSpec.coerce(tool) for tool in tools])
    extra = {k: v for k, v in parameters.items() if k not in _OWN_PARAMETERS}
    return request.extra_body(extra) if extra else request


def _tool_messages(response: ChatResponse) -> Iterator[Message]:
    for call in response.tool_calls:
        arguments: Any = call.arguments if call.arguments_error is None else call.arguments_json
        yield Message("assistant", {"id": call.id, "name": call.name, "arguments": arguments}, "tool_use")


class ModelClient:
    """Runs prompti requests, blocking; one relay_lite ``Client`` (and pool) per endpoint.

    ``errors="raise"`` (the default) raises relay_lite's typed errors; ``errors="message"``
    yields ``Message("assistant", str(error), "error")`` as prompti does.
    """

    def __init__(self, *, errors: str = "raise", **client_options: Any) -> None:
        if errors not in ("raise", "message"):
            raise ConfigError(f'errors must be "raise" or "message", got {errors!r}')
        self.errors = errors
        self._options = client_options
        self._clients: dict[tuple[str, Optional[str], Optional[str]], Client] = {}
        self._lock = threading.Lock()
        #: The last run's whole reply (usage, finish reason), once it has ended.
        self.last_response: Optional[ChatResponse] = None

    def __repr__(self) -> str:
        return f"ModelClient(errors={self.errors!r}, endpoints={len(self._clients)})"

    def client_for(self, config: ModelConfig) -> Client:
        """The relay_lite ``Client`` for ``config``'s provider, base URL and key (cached)."""
        provider = config.provider
        if provider not in PRESETS:
            raise ConfigError(f"unknown provider {provider!r}; known: {', '.join(sorted(PRESETS))}")
        base_url = config.api_base or config.parameters.get("api_base")
        api_key = config.api_key or config.parameters.get("api_key")
        key = (provider, base_url, api_key)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = Client(provider, base_url=base_url, api_key=api_key, **self._options)
                self._clients[key] = client
        return client

    def run(
        self,
        messages: Sequence[Any],
        config: ModelConfig,
        tools: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> Iterator[Message]:
        """Yield the reply as prompti ``Message``s: text (and thinking) pieces, then tool calls."""
        self.last_response = None
        try:
            request = build_request(self.client_for(config), messages, config, tools)
            if config.stream:
                with request.stream() as stream:
                    for event in stream:
                        if isinstance(event, TextDelta) and event.text:
                            yield Message("assistant", event.text, "text")
                        elif isinstance(event, ThinkingDelta) and event.text:
                            yield Message("assistant", event.text, "thinking")
                response = stream.response
            else:
                response = request.send()
                if response.thinking:
                    yield Message("assistant", response.thinking, "thinking")
                if response.text:
                    yield Message("assistant", response.text, "text")
        except RelayError as exc:
            if self.errors == "raise":
                raise
            yield Message("assistant", str(exc), "error")
            return
        self.last_response = response
        yield from _tool_messages(response)

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_default: Optional[ModelClient] = None
_default_lock = threading.Lock()


def run(
    messages: Sequence[Any], config: ModelConfig, tools: Optional[Sequence[Mapping[str, Any]]] = None
) -> Iterator[Message]:
    """``ModelClient().run`` on a module-wide client whose pools are reused between calls."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelClient()
        client = _default
    return client.run(messages, config, tools)
