"""Sans-I/O wire protocols: one module per API, no sockets, and the registry of adapters.

Each protocol module (``openai``, ``anthropic``, ``modelrelay``) holds a subclass of
``Adapter`` (see ``_adapter`` for the seam and for "How to add a provider"). The registry
lives here rather than beside the base class so that it can import the protocol modules
(lazily, on first use) while they import the base class: no module imports back.

    from relay_lite.protocols import Adapter, register_adapter
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .._errors import ConfigError, ErrorFacts, build_api_error, describe_error_body, read_error_body
from ._adapter import Adapter
from ._common import Accumulator, HTTPCall

if TYPE_CHECKING:
    from ._framing import Decoder, StreamParser

# What an adapter written outside the package needs (see _adapter's "How to add a
# provider"): the base class and seam protocols, the call shape, the stream accumulator,
# and the generic half of error mapping.
__all__ = [
    "ADAPTERS",
    "Accumulator",
    "Adapter",
    "AdapterFactory",
    "Decoder",
    "ErrorFacts",
    "HTTPCall",
    "StreamParser",
    "adapter_for",
    "build_api_error",
    "describe_error_body",
    "read_error_body",
    "register_adapter",
]


def __getattr__(name: str) -> Any:
    # The stream seam's protocols (``_framing``) load on first access: a plain call's
    # client never needs them.
    if name in ("Decoder", "StreamParser"):
        from . import _framing

        value = getattr(_framing, name)
        globals()[name] = value
        return value
    if name == "AdapterFactory":  # a typing alias, built on first access like the above
        factory: Any = Callable[[str], Adapter]
        globals()[name] = factory
        return factory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"Decoder", "StreamParser", "AdapterFactory"})


if TYPE_CHECKING:
    #: Makes an adapter for a provider (a preset's name): ``factory("openrouter")``.
    AdapterFactory = Callable[[str], Adapter]


def _openai(provider: str) -> Adapter:
    from .openai import OpenAIAdapter

    return OpenAIAdapter(provider)


def _anthropic(provider: str) -> Adapter:
    from .anthropic import AnthropicAdapter

    return AnthropicAdapter(provider)


def _azure(provider: str) -> Adapter:
    from .azure import AzureOpenAIAdapter

    return AzureOpenAIAdapter(provider)


def _openai_responses(provider: str) -> Adapter:
    from .openai_responses import OpenAIResponsesAdapter

    return OpenAIResponsesAdapter(provider)


def _bedrock(provider: str) -> Adapter:
    from .bedrock import BedrockAdapter

    return BedrockAdapter(provider)


def _modelrelay(provider: str) -> Adapter:
    from .modelrelay import ModelRelayAdapter

    return ModelRelayAdapter(provider)


#: Adapters by protocol name. Each entry imports its module on first use, so a program
#: pays only for the protocols it speaks.
ADAPTERS: dict[str, AdapterFactory] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "modelrelay": _modelrelay,
    "azure": _azure,
    "openai_responses": _openai_responses,
    "bedrock": _bedrock,
}


def register_adapter(name: str, factory: AdapterFactory) -> None:
    """Make a protocol available to presets under ``name`` (``factory(provider)`` -> adapter).

    A ``Preset`` whose ``protocol`` is ``name`` (see ``relay_lite.register_preset``) then
    gets its adapter from ``factory``. Registering a name again replaces its factory.
    """
    if not name or not isinstance(name, str):
        raise ConfigError(f"an adapter needs a non-empty name, got {name!r}")
    if not callable(factory):
        raise ConfigError(f"the adapter factory for {name!r} must be callable, got {factory!r}")
    ADAPTERS[name] = factory


def adapter_for(protocol: str, provider: str) -> Adapter:
    """The adapter for ``protocol``, configured for ``provider``."""
    factory = ADAPTERS.get(protocol)
    if factory is None:
        raise ConfigError(f"no adapter for protocol {protocol!r}; known: {', '.join(sorted(ADAPTERS))}")
    return factory(provider)
