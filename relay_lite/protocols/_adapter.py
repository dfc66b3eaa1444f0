"""The adapter seam: everything a wire protocol provides to the layers above it.

An ``Adapter`` is sans-I/O. For each operation it supports it builds an ``HTTPCall``
(method, path, headers, JSON body) and parses what comes back: a whole response, the
events of a stream (with the decoder that frames them), and an error body. It names its
auth headers, the header that carries a caller's request id, and how structured output is
asked for. ``Client`` and the layers above it talk to adapters only through this class;
they never look inside a protocol module. The registry of adapters by protocol name is
in ``relay_lite.protocols`` (``ADAPTERS``, ``register_adapter``, ``adapter_for``).

How to add a provider
---------------------
An OpenAI-compatible server needs no code: ``Client.compatible(url)``, or a preset naming
the ``openai`` protocol: ``relay_lite.register_preset(Preset("local", "openai", url,
"LOCAL_API_KEY", "model-name"))`` (inside the package: an entry in
``relay_lite._config.PRESETS``).

A new wire protocol touches three places, and the toy provider in
``tests/test_toy_provider.py`` does all three from outside the package:

1. An ``Adapter`` subclass (in the package: one module in ``relay_lite/protocols/``,
   sans-I/O). Set the class facts (``name``, ``display_name``, ``request_id_header``,
   ``response_id_headers``, ``structured_default_mode``, ``supports_response_format``) and
   write ``auth_headers``, ``chat_call`` (an ``HTTPCall``), ``parse_chat``,
   ``stream_parser`` (a ``StreamParser``: ``feed``, ``finished``, ``partial()``; an
   ``Accumulator`` builds the reply), ``stream_decoder`` if the stream is not SSE, and
   ``map_error``: read the provider's error body (``read_error_body``, and
   ``describe_error_body`` for the common shapes) into ``ErrorFacts`` and call
   ``build_api_error`` with the provider's code table and request-id headers. All of
   these are importable from ``relay_lite.protocols``. ``json_mode_format``, ``structured_stream_call`` and
   ``structured_record_parser`` are optional.
2. Register it by name: an entry in ``relay_lite.protocols.ADAPTERS`` (a factory that
   imports the module on first use), or ``relay_lite.protocols.register_adapter``.
3. A ``Preset`` naming that protocol (base URL, key variable, default model), in
   ``PRESETS`` or with ``relay_lite.register_preset``.

The rest does not branch on protocol names: the request path, retries, the stream pump,
structured output and the error tree all ask the adapter. Optional: a renderer in
``relay_lite._fake_chat.RENDERERS`` lets ``FakeServer(protocol=...)`` speak the protocol
from ``ChatScript``s and echo, which ``relay-lite demo`` uses when no key is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Optional, Sequence

from .._errors import REQUEST_ID_HEADERS, APIError, ConfigError, api_error
from .._models import ChatParams, ChatResponse
from ._common import HTTPCall

if TYPE_CHECKING:
    from .._resources import Embeddings, ModelInfo
    from .._sse import SSEDecoder
    from ._framing import ChatDecoder, ChatStreamParser, Decoder, StreamParser
    from .modelrelay import StructuredRecordParser


def _new_sse_decoder() -> SSEDecoder:
    """A fresh ``SSEDecoder``.

    _sse loads with the first stream (a plain call never needs it): the first call imports
    it and rebinds this name to the class itself, so later streams run no import.
    """
    from .._sse import SSEDecoder as decoder_class

    globals()["_new_sse_decoder"] = decoder_class
    return decoder_class()


__all__ = [
    "Adapter",
    "ChatDecoder",
    "ChatStreamParser",
    "Decoder",
    "StreamParser",
]

# The stream seam's protocols live in ``_framing``, loaded on first access (PEP 562): building
# them cost a plain call's client about as much as the rest of this module.
_FRAMING_NAMES = frozenset({"ChatDecoder", "ChatStreamParser", "Decoder", "StreamParser"})


def __getattr__(name: str) -> Any:
    if name not in _FRAMING_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import _framing

    value = getattr(_framing, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FRAMING_NAMES)


class Adapter:
    """One wire protocol, as the layers above it see it (subclass per protocol).

    ``provider`` is the preset's name (``openai``, ``openrouter``, ``compatible``, ...), for
    adapters whose requests differ by server. Class attributes state the protocol's facts.
    """

    #: The name ``relay_lite.protocols.ADAPTERS`` knows it by (a ``Preset``'s ``protocol``).
    name: ClassVar[str] = ""
    #: The protocol's name for people, in error messages ("Anthropic").
    display_name: ClassVar[str] = ""
    #: Header through which a caller names its request (None: the protocol has none).
    request_id_header: ClassVar[Optional[str]] = None
    #: Response headers carrying the provider's request id, most specific first.
    response_id_headers: ClassVar[tuple[str, ...]] = REQUEST_ID_HEADERS
    #: Structured output: what ``mode="auto"`` becomes, and whether the protocol has a
    #: ``response_format`` (without it, ``json_schema`` mode is refused).
    structured_default_mode: ClassVar[str] = "json_schema"
    supports_response_format: ClassVar[bool] = True

    def __init__(self, provider: Optional[str] = None) -> None:
        self.provider = provider or self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r})"

    # -- requests -------------------------------------------------------------------------

    def request_base_url(self, base_url: str) -> str:
        """The configured base URL as calls are joined to it (a query string is kept).

        A protocol whose paths repeat a prefix users often include overrides this (the
        Anthropic adapter drops a trailing ``/v1``, since its paths start with ``/v1/``).
        """
        return base_url

    def auth_headers(self, api_key: Optional[str]) -> dict[str, str]:
        """The headers that carry ``api_key`` (and any fixed ones the protocol needs)."""
        raise NotImplementedError

    def chat_call(self, params: ChatParams, *, stream: bool) -> HTTPCall:
        """The HTTP call for a chat request."""
        raise NotImplementedError

    def json_mode_format(self) -> Optional[dict[str, Any]]:
        """A ``response_format`` asking for any JSON object, where the protocol has one."""
        return None

    # -- responses ------------------------------------------------------------------------

    def parse_chat(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> ChatResponse:
        """A whole chat response body (parsed JSON) as a ``ChatResponse``."""
        raise NotImplementedError

    def stream_decoder(self) -> ChatDecoder:
        """A fresh decoder for this protocol's stream framing (SSE unless overridden)."""
        return _new_sse_decoder()

    def stream_parser(self) -> ChatStreamParser:
        """A fresh parser for one chat stream."""
        raise NotImplementedError

    def request_id(self, headers: Mapping[str, str]) -> Optional[str]:
        """The provider's request id from response headers (lower-cased names)."""
        for name in self.response_id_headers:
            value = headers.get(name)
            if value:
                return str(value)
        return None

    def map_error(
        self,
        status: Optional[int],
        body: Any,
        headers: Optional[Mapping[str, str]] = None,
        *,
        attempts: int = 1,
    ) -> APIError:
        """The ``APIError`` for an error status (or, with ``status`` None, an in-stream error)."""
        return api_error(status, body, headers, attempts=attempts)

    # -- structured streams -----------------------------------------------------------------

    def structured_stream_call(self, params: ChatParams) -> Optional[HTTPCall]:
        """A call whose stream answers structured records instead of text (None: no such API)."""
        return None

    def structured_record_parser(self) -> StructuredRecordParser:
        """The parser for the records of ``structured_stream_call``."""
        raise ConfigError(f"the {self.name} protocol has no structured record stream")

    # -- operations beside chat: embeddings, model lists, token counts ----------------------
    #
    # A protocol that has one overrides its methods; the defaults raise ConfigError naming
    # the provider and the operation, so ``Client`` never branches on protocol names.

    #: The most inputs one embeddings request may carry (what ``Client.embed`` batches to).
    embedding_batch_limit: ClassVar[int] = 2048
    #: The most UTF-8 bytes of input one embeddings request may carry (None: no cap).
    #: OpenAI refuses a request over 300,000 tokens summed over its inputs; a token is at
    #: least one byte, so a batch cut at 300,000 bytes stays under it on any tokenizer.
    embedding_request_byte_limit: ClassVar[Optional[int]] = 300_000

    def unsupported(self, operation: str, hint: str = "") -> ConfigError:
        """The error for an ``operation`` this protocol does not offer."""
        who = self.display_name or self.name
        if self.provider and self.provider != self.name:
            subject = f"{self.provider} (the {who} protocol)"
        else:
            subject = f"the {who} API"
        return ConfigError(f"{subject} has no {operation}" + (f"; {hint}" if hint else ""))

    def embeddings_call(self, model: str, inputs: Sequence[str], *, dimensions: Optional[int]) -> HTTPCall:
        """The call embedding ``inputs`` (at most ``embedding_batch_limit`` of them)."""
        raise self.unsupported("embeddings endpoint")

    def parse_embeddings(
        self,
        payload: Any,
        expected: int,
        *,
        dimensions: Optional[int] = None,
        request_id: Optional[str] = None,
        attempts: int = 1,
    ) -> Embeddings:
        """An embeddings reply for ``expected`` inputs, vectors in input order."""
        raise self.unsupported("embeddings endpoint")

    def models_call(self, after: Optional[str], limit: Optional[int] = None) -> HTTPCall:
        """The call listing models: the first page (``after`` None) or the page after a cursor."""
        raise self.unsupported("model list")

    def parse_models(
        self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1
    ) -> tuple[list[ModelInfo], Optional[str]]:
        """One page of models and the next page's cursor (None on the last page)."""
        raise self.unsupported("model list")

    def count_tokens_call(self, params: ChatParams) -> HTTPCall:
        """The call counting the input tokens of the chat request ``params`` would send."""
        raise self.unsupported("token counting endpoint")

    def parse_token_count(self, payload: Any, *, request_id: Optional[str] = None, attempts: int = 1) -> int:
        """The input token count of a count-tokens reply."""
        raise self.unsupported("token counting endpoint")
