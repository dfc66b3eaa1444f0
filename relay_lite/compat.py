"""``Provider``: the Python API of rusty-agent-sdk, served by relay_lite.

Code written for rusty-agent-sdk runs unchanged once its import names relay_lite::

    from relay_lite import Provider          # was: from rusty_agent_sdk import Provider

    provider = Provider("openai/gpt-4o-mini")            # OpenRouter, OPENROUTER_API_KEY
    print(provider.generate_text("Say hello in one sentence."))
    for chunk in provider.stream_text("Count to 3."):
        print(chunk, end="", flush=True)

What maps onto what:

- ``Provider(model, api_key=None, base_url=None)`` is an OpenRouter client (key from
  ``OPENROUTER_API_KEY``); ``Provider.openai``, ``Provider.anthropic`` and
  ``Provider.openrouter`` are the presets. ``Provider.anthropic`` speaks Anthropic's native
  Messages API rather than its OpenAI-compatible endpoint.
- ``generate_text`` is ``ChatRequest.send()``: a ``str``, or with ``include_usage=True`` a
  ``GenerateResult`` (``text``, ``prompt_tokens``, ``completion_tokens``, ``total_tokens``,
  ``finish_reason``, ``model``; ``str(result)`` is the text).
- ``stream_text`` is ``ChatRequest.stream()``: a ``TextStream`` yielding text pieces whose
  usage attributes are filled once it has been read to the end.
- ``embed`` / ``embed_many`` are ``Client.embed``: ``{base_url}/embeddings`` on
  OpenAI-compatible servers (batched, base64 vectors decoded), through the client's one
  request path, so configured headers, retries and key scrubbing are those of chat.

Errors are relay_lite's own, re-raised as classes that are *also* the built-in exception
the SDK raised, so both ``except relay_lite.RateLimitError`` and ``except RuntimeError``
work: transport failures are ``ConnectionError``; API errors and broken streams are
``RuntimeError``; a malformed response body is also a ``ValueError``; bad arguments, a
missing key and bad environment values raise ``relay_lite.ConfigError``, a ``ValueError``.
As in the SDK, anything that goes wrong after a stream has started is a ``RuntimeError``
(a transport failure there is a ``ConnectionError`` as well).

Environment, read once when a ``Provider`` is made: ``RUSTY_AGENT_REQUEST_TIMEOUT_SECS``
(default 60), ``RUSTY_AGENT_CONNECT_TIMEOUT_SECS`` (10), ``RUSTY_AGENT_MAX_RETRIES`` (2) and
``RUSTY_AGENT_RETRY_BACKOFF_MS`` (250). As the SDK documents it, the request timeout bounds
a whole ``generate_text`` call but only the silence between two chunks of a stream, so a
stream that keeps talking may run for as long as it likes: it becomes relay_lite's ``read``
timeout, and for ``generate_text`` also its ``total`` deadline. The matching
``RELAY_LITE_*`` variables win when both are set. A bad value raises ``ConfigError``
naming the variable and the value.

Where the SDK is known to go wrong, relay_lite keeps the API and does it right:

- retry waits get random jitter, so clients that failed together do not retry together;
- a server's ``Retry-After`` / ``retry-after-ms`` is obeyed (up to a cap) instead of ignored;
- streamed bytes are decoded incrementally, so a character whose UTF-8 bytes arrive in
  two network chunks is not turned into U+FFFD;
- ``finish_reason`` survives ``include_usage``: the SDK let the final usage-only chunk
  overwrite it with None;
- a stream cut off before its terminator raises instead of ending quietly short;
- the ``generate_text`` deadline covers the retries too, so a call cannot last
  (retries + 1) times the timeout; a stream's usage is filled whether or not
  ``include_usage`` was passed, and opening it is deferred to the first ``next()``, which
  is where the SDK reported its errors.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Mapping, Optional, Sequence, Union, cast, overload

from ._chat import ChatRequest
from ._client import Client
from ._config import RetryPolicy, Timeouts, retry_from_env, timeouts_from_env
from ._errors import ConfigError, RelayError, ResponseError, StreamError, TransportError
from ._models import ChatResponse
from ._stream import ChatStream
from ._transport import HTTPTransport

__all__ = ["Provider", "GenerateResult", "TextStream", "EmbeddingResult"]

# The SDK's documented defaults, used when neither RUSTY_AGENT_* nor RELAY_LITE_* is set.
SDK_REQUEST_TIMEOUT = 60.0
SDK_CONNECT_TIMEOUT = 10.0
SDK_MAX_RETRIES = 2
SDK_RETRY_BACKOFF_MS = 250.0
# The SDK doubled its backoff at most 8 times (base * 256); the same ceiling applies here.
SDK_MAX_BACKOFF_FACTOR = 2**8

REQUEST_TIMEOUT_ENV = "RUSTY_AGENT_REQUEST_TIMEOUT_SECS"
CONNECT_TIMEOUT_ENV = "RUSTY_AGENT_CONNECT_TIMEOUT_SECS"
MAX_RETRIES_ENV = "RUSTY_AGENT_MAX_RETRIES"
RETRY_BACKOFF_ENV = "RUSTY_AGENT_RETRY_BACKOFF_MS"

# Parameters the Anthropic Messages API has no field for. They are sampling hints, so
# they are left out rather than refused.
_ANTHROPIC_DROPPED = ("frequency_penalty", "presence_penalty", "seed")


# -- errors ---------------------------------------------------------------------------------

_compat_classes: dict[tuple[type[RelayError], tuple[type[Exception], ...]], type[RelayError]] = {}
_compat_lock = threading.Lock()


def compat_class(cls: type[RelayError], builtins: tuple[type[Exception], ...]) -> type[RelayError]:
    """A subclass of ``cls`` that is also each of ``builtins`` (one class per pair, cached)."""
    missing = tuple(b for b in builtins if not issubclass(cls, b))
    if not missing:
        return cls
    key = (cls, missing)
    with _compat_lock:
        found = _compat_classes.get(key)
        if found is None:
            namespace = {
                "__module__": __name__,
                "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__,
                # A generated class cannot be found by name, so pickling (for example
                # across a ProcessPoolExecutor) rebuilds it from its parts.
                "__reduce__": lambda self: (_rebuild, (cls, missing, self.args, dict(self.__dict__))),
            }
            found = cast("type[RelayError]", type(cls.__name__, (cls, *missing), namespace))
            _compat_classes[key] = found
        return found


def _rebuild(
    base: type[RelayError], missing: tuple[type[Exception], ...], args: tuple[Any, ...], state: dict[str, Any]
) -> RelayError:
    cls = compat_class(base, missing)
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def _builtins_for(exc: RelayError, *, streaming: bool) -> tuple[type[Exception], ...]:
    if isinstance(exc, TransportError):
        return (ConnectionError, RuntimeError) if streaming else (ConnectionError,)
    if isinstance(exc, (ResponseError, StreamError)) and not streaming:
        return (RuntimeError, ValueError)  # a body that could not be read or parsed
    return (RuntimeError,)


def as_builtin(exc: RelayError, *, streaming: bool = False) -> RelayError:
    """``exc`` as an instance of its compat class, every attribute kept.

    ``streaming`` is True for errors raised while reading a stream that had opened.
    """
    if isinstance(exc, ConfigError):
        return exc  # already a ValueError
    cls = compat_class(type(exc), _builtins_for(exc, streaming=streaming))
    if cls is type(exc):
        return exc
    converted = cls.__new__(cls, *exc.args)
    converted.args = exc.args
    converted.__dict__.update(exc.__dict__)
    return converted


# -- environment ----------------------------------------------------------------------------


def _env_value(env: Mapping[str, str], name: str) -> Optional[str]:
    raw = env.get(name, "").strip()
    return raw or None


def _env_positive(env: Mapping[str, str], name: str, unit: str) -> Optional[float]:
    raw = _env_value(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be a positive number of {unit}") from None
    if not (0 < value < float("inf")):
        raise ConfigError(f"{name}={raw!r} must be a positive number of {unit}")
    return value


def _env_retries(env: Mapping[str, str]) -> Optional[int]:
    raw = _env_value(env, MAX_RETRIES_ENV)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{MAX_RETRIES_ENV}={raw!r} must be a whole number >= 0")
    return int(raw)


def settings_from_env(env: Mapping[str, str]) -> tuple[Timeouts, RetryPolicy]:
    """Timeouts and retry policy: SDK defaults, then ``RUSTY_AGENT_*``, then ``RELAY_LITE_*``."""
    request = _env_positive(env, REQUEST_TIMEOUT_ENV, "seconds")
    connect = _env_positive(env, CONNECT_TIMEOUT_ENV, "seconds")
    backoff_ms = _env_positive(env, RETRY_BACKOFF_ENV, "milliseconds")
    retries = _env_retries(env)
    backoff = (SDK_RETRY_BACKOFF_MS if backoff_ms is None else backoff_ms) / 1000.0
    timeouts = Timeouts(
        connect=SDK_CONNECT_TIMEOUT if connect is None else connect,
        read=SDK_REQUEST_TIMEOUT if request is None else request,
        total=None,
    )
    retry = RetryPolicy(
        max_retries=SDK_MAX_RETRIES if retries is None else retries,
        backoff=backoff,
        max_backoff=backoff * SDK_MAX_BACKOFF_FACTOR,
    )
    return timeouts_from_env(env, timeouts), retry_from_env(env, retry)


# -- results --------------------------------------------------------------------------------


def _usage_fields(response: ChatResponse) -> tuple[Optional[int], Optional[int], Optional[int]]:
    usage = response.usage
    total = usage.total_tokens
    if total is None and usage.input_tokens is not None and usage.output_tokens is not None:
        total = usage.input_tokens + usage.output_tokens
    return usage.input_tokens, usage.output_tokens, total


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate_text(..., include_usage=True)`` returns; ``str(result)`` is the text.

    ``response`` is the full relay_lite ``ChatResponse`` (tool calls, request id, ...).
    """

    text: str
    prompt_tokens: Optional[int]
    completion_tokens: Optional[int]
    total_tokens: Optional[int]
    finish_reason: Optional[str]
    model: Optional[str]
    response: ChatResponse

    @classmethod
    def from_response(cls, response: ChatResponse) -> GenerateResult:
        """Build from a relay_lite response."""
        prompt, completion, total = _usage_fields(response)
        return cls(response.text, prompt, completion, total, response.finish_reason, response.model, response)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 50 else self.text[:50] + "..."
        return (
            f"GenerateResult(text={preview!r}, finish_reason={self.finish_reason!r}, "
            f"prompt_tokens={self.prompt_tokens!r}, completion_tokens={self.completion_tokens!r})"
        )


class TextStream:
    """The text of a streamed reply, piece by piece; returned by ``Provider.stream_text``.

    The request is sent on the first ``next()``. Once the stream has been read to the
    end, ``prompt_tokens``, ``completion_tokens``, ``total_tokens``, ``finish_reason`` and
    ``model`` are filled (None before that), and ``response`` holds the whole
    ``ChatResponse``. ``close()`` (or leaving a ``with`` block) stops it early.
    """

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._stream: Optional[ChatStream] = None
        self._pieces: Optional[Iterator[str]] = None
        self._finished = False
        self.response: Optional[ChatResponse] = None

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        if self._finished:
            raise StopIteration
        if self._stream is None:
            try:
                self._stream = self._request.stream()
            except RelayError as exc:
                self._finished = True
                raise as_builtin(exc) from exc
            self._pieces = self._stream.text()
        assert self._pieces is not None
        try:
            return next(self._pieces)
        except StopIteration:
            self._finished = True
            self.response = self._stream.response
            raise
        except RelayError as exc:
            self._finished = True
            raise as_builtin(exc, streaming=True) from exc

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._finished = True
        if self._stream is not None:
            self._stream.close()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _usage(self) -> tuple[Optional[int], Optional[int], Optional[int]]:
        return (None, None, None) if self.response is None else _usage_fields(self.response)

    @property
    def prompt_tokens(self) -> Optional[int]:
        """Tokens in the prompt, once the stream has ended."""
        return self._usage()[0]

    @property
    def completion_tokens(self) -> Optional[int]:
        """Tokens in the reply, once the stream has ended."""
        return self._usage()[1]

    @property
    def total_tokens(self) -> Optional[int]:
        """Prompt plus reply tokens, once the stream has ended."""
        return self._usage()[2]

    @property
    def finish_reason(self) -> Optional[str]:
        """Why the model stopped ("stop", "length", ...), once the stream has ended."""
        return None if self.response is None else self.response.finish_reason

    @property
    def model(self) -> Optional[str]:
        """The model that answered, as the API reported it, once the stream has ended."""
        return None if self.response is None else self.response.model


@dataclass(frozen=True)
class EmbeddingResult:
    """What ``embed`` / ``embed_many`` return: one vector per input, in input order."""

    embeddings: list[list[float]]
    prompt_tokens: Optional[int]
    total_tokens: Optional[int]
    model: Optional[str]

    def __repr__(self) -> str:
        return f"EmbeddingResult(count={len(self.embeddings)}, prompt_tokens={self.prompt_tokens!r})"


# -- the provider ---------------------------------------------------------------------------


class Provider:
    """A model at an LLM provider, with rusty-agent-sdk's methods.

    ``Provider(model)`` talks to OpenRouter with ``OPENROUTER_API_KEY``; ``base_url``
    points it at any other OpenAI-compatible server (the key still comes from
    ``OPENROUTER_API_KEY`` unless given). ``client`` is the underlying relay_lite
    ``Client``, for anything this API does not cover. ``transport=`` replaces the
    network as ``Client(transport=...)`` does (``relay_lite.testing.MockTransport``).
    """

    client: Client
    model: str

    def __init__(
        self,
        model: str,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        transport: Optional[HTTPTransport] = None,
    ) -> None:
        self._setup("openrouter", model, api_key, base_url, transport)

    @classmethod
    def _preset(
        cls,
        provider: str,
        model: str,
        api_key: Optional[str],
        base_url: Optional[str],
        transport: Optional[HTTPTransport] = None,
    ) -> Provider:
        self = cls.__new__(cls)
        self._setup(provider, model, api_key, base_url, transport)
        return self

    @classmethod
    def openai(
        cls,
        model: str,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        transport: Optional[HTTPTransport] = None,
    ) -> Provider:
        """OpenAI's API; the key defaults to ``OPENAI_API_KEY``."""
        return cls._preset("openai", model, api_key, base_url, transport)

    @classmethod
    def anthropic(
        cls,
        model: str,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        transport: Optional[HTTPTransport] = None,
    ) -> Provider:
        """Anthropic's Messages API; the key defaults to ``ANTHROPIC_API_KEY``."""
        return cls._preset("anthropic", model, api_key, base_url, transport)

    @classmethod
    def openrouter(
        cls,
        model: str,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        transport: Optional[HTTPTransport] = None,
    ) -> Provider:
        """OpenRouter; the key defaults to ``OPENROUTER_API_KEY``."""
        return cls._preset("openrouter", model, api_key, base_url, transport)

    def _setup(
        self,
        provider: str,
        model: str,
        api_key: Optional[str],
        base_url: Optional[str],
        transport: Optional[HTTPTransport] = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError(f"model must be a non-empty string, got {model!r}")
        timeouts, retry = settings_from_env(os.environ)
        self.model = model
        self.client = Client(
            provider,
            api_key=api_key,
            base_url=base_url,
            model=model,
            timeouts=timeouts,
            retry=retry,
            transport=transport,
        )
        # generate_text: the request timeout bounds the whole call (unless a total is set).
        if timeouts.total is None and timeouts.read is not None:
            self._generate_timeouts: Optional[Timeouts] = timeouts.replace(total=timeouts.read)
        else:
            self._generate_timeouts = None

    def __repr__(self) -> str:
        return f"Provider(model='{self.model}', base_url='{self.client.config.base_url}')"

    def close(self) -> None:
        """Close pooled connections (also done when the process exits)."""
        self.client.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def _build(
        self,
        prompt: Optional[str],
        system_prompt: Optional[str],
        messages: Optional[Sequence[Mapping[str, Any]]],
        options: Mapping[str, Any],
    ) -> ChatRequest:
        request = self.client.chat(self.model)
        if system_prompt is not None:
            request = request.system(system_prompt)
        if messages:  # a non-empty list wins over prompt
            if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
                raise ConfigError(f"messages must be a list of dicts, got {type(messages).__name__}")
            request = request.messages(messages)
        elif prompt is not None:
            request = request.user(prompt)
        else:
            raise ConfigError("pass a prompt or a non-empty messages list")
        anthropic = self.client.config.protocol == "anthropic"
        extra: dict[str, Any] = {}
        for name, value in options.items():
            if value is None or (anthropic and name in _ANTHROPIC_DROPPED):
                continue
            if name == "stop":
                if isinstance(value, str):
                    request = request.stop(value)
                elif isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
                    request = request.stop(*value)
                else:
                    raise ConfigError(f"stop must be a string or a list of strings, got {value!r}")
            elif name in ("frequency_penalty", "presence_penalty"):
                extra[name] = value
            elif name == "response_format":
                if not isinstance(value, Mapping):
                    raise ConfigError(f"response_format must be a dict, got {type(value).__name__}")
                request = request.response_format(value)
            else:
                request = getattr(request, name)(value)
        return request.extra_body(extra) if extra else request

    @overload
    def generate_text(
        self,
        prompt: Optional[str] = None,
        *,
        system_prompt: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, Any]]] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        seed: Optional[int] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        include_usage: Literal[False] = False,
    ) -> str: ...

    @overload
    def generate_text(
        self,
        prompt: Optional[str] = None,
        *,
        system_prompt: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, Any]]] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        seed: Optional[int] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        include_usage: Literal[True],
    ) -> GenerateResult: ...

    @overload
    def generate_text(
        self,
        prompt: Optional[str] = None,
        *,
        system_prompt: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, Any]]] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        seed: Optional[int] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        include_usage: bool = False,
    ) -> Union[str, GenerateResult]: ...

    def generate_text(
        self,
        prompt: Optional[str] = None,
        *,
        system_prompt: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, Any]]] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        seed: Optional[int] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        include_usage: bool = False,
    ) -> Union[str, GenerateResult]:
        """The whole reply as a ``str``, or a ``GenerateResult`` with ``include_usage=True``.

        ``messages`` (``[{"role": ..., "content": ...}]``) wins over ``prompt`` when it is
        non-empty; ``system_prompt`` is put first either way.
        """
        options = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_p": top_p,
            "stop": stop,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "seed": seed,
            "response_format": response_format,
        }
        request = self._build(prompt, system_prompt, messages, options)
        if self._generate_timeouts is not None:
            request = request.timeout(self._generate_timeouts)
        try:
            response = request.send()
        except RelayError as exc:
            raise as_builtin(exc) from exc
        return GenerateResult.from_response(response) if include_usage else response.text

    def stream_text(
        self,
        prompt: Optional[str] = None,
        *,
        system_prompt: Optional[str] = None,
        messages: Optional[Sequence[Mapping[str, Any]]] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        top_p: Optional[float] = None,
        stop: Union[str, Sequence[str], None] = None,
        frequency_penalty: Optional[float] = None,
        presence_penalty: Optional[float] = None,
        seed: Optional[int] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        include_usage: bool = False,
    ) -> TextStream:
        """Stream the reply as text pieces; takes the same arguments as ``generate_text``.

        Arguments are checked now; the request is sent on the first ``next()``. Usage is
        always collected, so ``include_usage`` is accepted for compatibility only.
        """
        options = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_p": top_p,
            "stop": stop,
            "frequency_penalty": frequency_penalty,
            "presence_penalty": presence_penalty,
            "seed": seed,
            "response_format": response_format,
        }
        return TextStream(self._build(prompt, system_prompt, messages, options))

    # -- embeddings -------------------------------------------------------------------------

    def embed(self, text: str) -> EmbeddingResult:
        """The embedding of one text (``embeddings`` holds a single vector)."""
        if not isinstance(text, str):
            raise ConfigError(f"embed() takes a string, got {type(text).__name__}")
        return self._embed([text])

    def embed_many(self, texts: Sequence[str]) -> EmbeddingResult:
        """The embeddings of several texts, in the order given (one request per 2048 texts)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ConfigError("embed_many() takes a list of strings")
        return self._embed(list(texts))

    def _embed(self, texts: list[str]) -> EmbeddingResult:
        # Client.embed: the client's one request path, batching, base64 vectors decoded;
        # a protocol without embeddings (Anthropic) raises ConfigError from its adapter.
        try:
            result = self.client.embed(texts, self.model, timeout=self._generate_timeouts)
        except RelayError as exc:
            raise as_builtin(exc) from exc
        usage = result.usage
        return EmbeddingResult(list(result.vectors), usage.input_tokens, usage.total_tokens, result.model)
