"""relay_lite: a small, blocking LLM client whose only dependency is urllib3.

    import relay_lite
    client = relay_lite.Client.openai()
    print(client.chat("gpt-4o-mini").user("Hello!").send().text)

Rarely used parts (structured output, test helpers, the CLI, the rusty-agent-sdk
compatible ``Provider``) load on first use, so ``import relay_lite`` stays cheap; the
stream machinery (``ChatStream``, the SSE decoder) loads with the first stream, so a
process that makes one plain call never pays for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._chat import ChatRequest
from ._client import Client
from ._config import VERSION as __version__
from ._config import ClientConfig, Preset, RetryPolicy, Timeouts, register_preset
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ReadTimeout,
    RefusalError,
    RelayError,
    ResponseError,
    ServerError,
    StreamError,
    StructuredOutputError,
    TimeoutError,
    ToolArgumentsError,
    TransportError,
    TruncatedOutputError,
    UnprocessableEntityError,
)
from ._models import (
    ChatResponse,
    DocumentPart,
    Done,
    ImagePart,
    Message,
    TextDelta,
    TextPart,
    ThinkingBlock,
    ThinkingDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageEvent,
)
from ._ratelimits import RateLimits  # already loaded by _errors: free to export here

if TYPE_CHECKING:
    from ._stream import ChatStream

# name -> module that defines it, imported on first access (PEP 562).
_LAZY = {
    # A core name, but a plain (non-stream) call never needs its module; the first stream
    # loads it anyway.
    "ChatStream": "relay_lite._stream",
    "Provider": "relay_lite.compat",
    "GenerateResult": "relay_lite.compat",
    "TextStream": "relay_lite.compat",
    "EmbeddingResult": "relay_lite.compat",
    "StructuredResult": "relay_lite._structured",
    "StructuredUpdate": "relay_lite._structured",
    "StructuredRequest": "relay_lite._structured",
    "StructuredStream": "relay_lite._structured",
    "json_schema": "relay_lite._schema",
    "lambda_deadline": "relay_lite._deadlines",
    "FakeServer": "relay_lite.testing",
    "MockTransport": "relay_lite.testing",
    # The agent platform. Its run events (RunError among them: an event a run yields when
    # the server reports a failure, not an exception) are listed apart in __all__.
    "AgentClient": "relay_lite.platform.agents",
    "HITLDecision": "relay_lite.platform.agents",
    "Conversation": "relay_lite.platform.agents",
    "ConversationMessage": "relay_lite.platform.agents",
    "AgentEvent": "relay_lite.platform.agent_events",
    "RunStart": "relay_lite.platform.agent_events",
    "RunEnd": "relay_lite.platform.agent_events",
    "MessageChunk": "relay_lite.platform.agent_events",
    "ToolStart": "relay_lite.platform.agent_events",
    "ToolEnd": "relay_lite.platform.agent_events",
    "SubagentStart": "relay_lite.platform.agent_events",
    "SubagentEnd": "relay_lite.platform.agent_events",
    "HITLInterrupt": "relay_lite.platform.agent_events",
    "RunError": "relay_lite.platform.agent_events",
    "Cancelled": "relay_lite.platform.agent_events",
    "Heartbeat": "relay_lite.platform.agent_events",
    "UnknownEvent": "relay_lite.platform.agent_events",
    # AWS SigV4 for any endpoint behind AWS auth, and the credentials it signs with.
    "aws_sigv4": "relay_lite._aws_credentials",
    "AWSCredentials": "relay_lite._sigv4",
    "SigV4Authorizer": "relay_lite._sigv4",
    # Provider batch APIs (client.batches).
    "Batch": "relay_lite._batch",
    "BatchCounts": "relay_lite._batch",
    "BatchResult": "relay_lite._batch",
    "Batches": "relay_lite._batches",
    "BatchError": "relay_lite._batch",
    "BatchNotEndedError": "relay_lite._batch",
    "BatchExpiredError": "relay_lite._batch",
    "BatchCanceledError": "relay_lite._batch",
    # What Client.embed and Client.models return.
    "Embeddings": "relay_lite._resources",
    "ModelInfo": "relay_lite._resources",
    # Bulk runs (Client.map).
    "MapRun": "relay_lite._bulk",
    "MapResult": "relay_lite._bulk",
    "MapProgress": "relay_lite._bulk",
    "ItemCancelled": "relay_lite._bulk",
}

__all__ = [
    "__version__",
    "Client",
    "ClientConfig",
    "ChatRequest",
    "ChatStream",
    "ChatResponse",
    "Message",
    "TextPart",
    "DocumentPart",
    "ImagePart",
    "TokenLogprob",
    "ToolSpec",
    "ToolCall",
    "ThinkingBlock",
    "Usage",
    "RateLimits",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallDelta",
    "UsageEvent",
    "Done",
    "Timeouts",
    "RetryPolicy",
    "Preset",
    "register_preset",
    "RelayError",
    "ConfigError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "RateLimitError",
    "ServerError",
    "OverloadedError",
    "TransportError",
    "ConnectError",
    "TimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "DeadlineExceeded",
    "ResponseError",
    "StreamError",
    "StructuredOutputError",
    "RefusalError",
    "TruncatedOutputError",
    "ToolArgumentsError",
    *_LAZY,
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'relay_lite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
