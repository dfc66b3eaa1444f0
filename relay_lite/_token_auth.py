"""``TokenProviderAuthorizer``: a bearer token from a caller's callable, fresh on every attempt.

Short-lived tokens (Microsoft Entra ID for Azure OpenAI, a workload identity, a gateway's
session token) expire while a client lives, and a retry after a 401 must not resend the
token that was refused. So the provider is asked on every attempt; caching and refreshing
are its business (``azure.identity.get_bearer_token_provider`` caches until near expiry).
relay_lite ships no identity library: any zero-argument callable returning a string works.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from ._errors import ConfigError, RelayError
from ._transport import OutgoingRequest

__all__ = ["TokenProviderAuthorizer"]

# Tokens remembered for scrubbing echoes from errors and logs (one per attempt at most).
_REMEMBERED_TOKENS = 8


class TokenProviderAuthorizer:
    """``Authorization: Bearer <token_provider()>`` on each attempt.

    A provider that raises has its error passed on as is when it is a ``RelayError``,
    else wrapped in ``ConfigError`` naming the provider (never the token).
    """

    __slots__ = ("_provider", "_issued")

    def __init__(self, token_provider: Callable[[], str]) -> None:
        if not callable(token_provider):
            raise ConfigError(f"a token provider must be callable, got {type(token_provider).__name__}")
        self._provider = token_provider
        self._issued: deque[str] = deque(maxlen=_REMEMBERED_TOKENS)

    def authorize(self, request: OutgoingRequest) -> dict[str, str]:
        """Ask the provider for a token and send it as a bearer credential."""
        try:
            token = self._provider()
        except RelayError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"the token provider {self._provider_name()} failed: {type(exc).__name__}"
            ) from exc
        if not isinstance(token, str) or not token.strip():
            raise ConfigError(
                f"the token provider {self._provider_name()} must return a non-empty string, "
                f"got {type(token).__name__}"
            )
        token = token.strip()
        if token not in self._issued:
            self._issued.append(token)
        return {"Authorization": f"Bearer {token}"}

    def secrets(self) -> tuple[str, ...]:
        """The tokens issued lately, for scrubbing."""
        return tuple(self._issued)

    def _provider_name(self) -> str:
        return getattr(self._provider, "__qualname__", type(self._provider).__name__)

    def __repr__(self) -> str:  # never a token
        return f"TokenProviderAuthorizer({self._provider_name()})"
