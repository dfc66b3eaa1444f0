"""Hooks: functions a client calls at points of every call, for metrics and tracing.

Theory of operation
-------------------
- Events come from the two places every API family goes through: the transport's retry
  loop (``request``, ``response``, ``retry``), reached through ``Session.send``, and the
  ``StreamPump`` (``first_token``, ``stream_end``); ``usage`` comes from the chat calls
  once their reply is parsed. Each event hands its hook one small record.
- Cost when nothing is registered: none per call. ``Session`` builds a ``CallEvents`` only
  when its ``Hooks`` hold a function, and the transport and the pump test for None.
- A hook that raises never breaks the call: the error is logged (with its traceback) the
  first time that hook fails for that event, then ignored.
- URLs handed to hooks are ``safe_url``'d (no user info); headers never are, so no
  credential reaches a hook.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Union

from ._errors import ConfigError, safe_url

if TYPE_CHECKING:
    from ._hook_events import (
        FirstToken,
        RequestStart,
        ResponseReceived,
        RetryScheduled,
        StreamStats,
        UsageReport,
        gap_stats,
    )

__all__ = [
    "HOOK_EVENTS",
    "CallEvents",
    "FirstToken",
    "Hooks",
    "RequestStart",
    "ResponseReceived",
    "RetryScheduled",
    "StreamStats",
    "UsageReport",
    "gap_stats",
]

logger = logging.getLogger("relay_lite")

#: Every event a hook may be registered for.
HOOK_EVENTS = ("request", "response", "retry", "first_token", "stream_end", "usage")

if TYPE_CHECKING:
    Hook = Callable[[Any], object]

# The event records (and gap_stats) live in ``_hook_events``, loaded on first use (PEP 562).
_EVENT_NAMES = frozenset(
    {
        "FirstToken",
        "RequestStart",
        "ResponseReceived",
        "RetryScheduled",
        "StreamStats",
        "UsageReport",
        "gap_stats",
    }
)


def __getattr__(name: str) -> Any:
    if name == "Hook":  # the alias, built only when asked for (type checkers read it above)
        value: Any = Callable[[Any], object]
    elif name in _EVENT_NAMES:
        from . import _hook_events

        value = getattr(_hook_events, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _EVENT_NAMES | {"Hook"})


class Hooks:
    """The hook functions registered on a client, by event name.

    >>> hooks = Hooks({"response": lambda info: print(info.status, info.elapsed)})
    >>> hooks.on("retry", lambda info: print("retrying in", info.wait))  # doctest: +ELLIPSIS
    <function <lambda> at ...>
    """

    __slots__ = ("_by_event", "_failed")

    def __init__(self, hooks: Optional[Mapping[str, Union[Hook, Iterable[Hook]]]] = None) -> None:
        self._by_event: dict[str, list[Hook]] = {}
        self._failed: set[tuple[str, int]] = set()
        for event, functions in (hooks or {}).items():
            for function in [functions] if callable(functions) else list(functions):
                self.on(event, function)

    def on(self, event: str, function: Hook) -> Hook:
        """Call ``function(info)`` at every ``event`` (one of ``HOOK_EVENTS``); returns it."""
        if event not in HOOK_EVENTS:
            raise ConfigError(f"no hook event {event!r}; known: {', '.join(HOOK_EVENTS)}")
        if not callable(function):
            raise ConfigError(f"a hook for {event!r} must be callable, got {type(function).__name__}")
        self._by_event.setdefault(event, []).append(function)
        return function

    def __bool__(self) -> bool:
        return bool(self._by_event)

    def wants(self, event: str) -> bool:
        """Whether a function is registered for ``event``."""
        return event in self._by_event

    def emit(self, event: str, info: object) -> None:
        """Call each function registered for ``event``; one that raises is logged once."""
        for function in self._by_event.get(event, ()):
            try:
                function(info)
            except Exception:
                key = (event, id(function))
                if key not in self._failed:
                    self._failed.add(key)
                    name = getattr(function, "__qualname__", type(function).__name__)
                    logger.warning(
                        "relay_lite %s hook %s raised; ignored (logged once)", event, name, exc_info=True
                    )

    def __repr__(self) -> str:
        counts = {event: len(functions) for event, functions in self._by_event.items()}
        return f"Hooks({counts})"


class CallEvents:
    """One call's link to its client's hooks: what the transport and the pump report to.

    Built by ``Session.send`` only when hooks are registered. ``started`` is when the
    call began (``time.monotonic()``), the origin of ``ttft`` and ``duration``.
    """

    __slots__ = ("hooks", "request_id_of", "started")

    def __init__(self, hooks: Hooks, request_id_of: Callable[[Mapping[str, str]], Optional[str]]) -> None:
        self.hooks = hooks
        self.request_id_of = request_id_of
        self.started = time.monotonic()

    def request(self, method: str, url: str, attempt: int, max_attempts: int) -> None:
        """An attempt is about to be sent."""
        if self.hooks.wants("request"):
            from ._hook_events import RequestStart

            self.hooks.emit("request", RequestStart(method, safe_url(url), attempt, max_attempts))

    def response(
        self, method: str, url: str, status: int, elapsed: float, headers: Mapping[str, str], attempt: int
    ) -> None:
        """An attempt got its status and headers (lower-cased names)."""
        if self.hooks.wants("response"):
            from ._hook_events import ResponseReceived

            request_id = self.request_id_of(headers)
            info = ResponseReceived(method, safe_url(url), status, elapsed, request_id, attempt)
            self.hooks.emit("response", info)

    def retry(
        self,
        method: str,
        url: str,
        attempt: int,
        wait: float,
        reason: str,
        status: Optional[int] = None,
        server_asked: bool = False,
    ) -> None:
        """A retry is about to wait ``wait`` seconds."""
        if self.hooks.wants("retry"):
            from ._hook_events import RetryScheduled

            info = RetryScheduled(method, safe_url(url), attempt, wait, reason, status, server_asked)
            self.hooks.emit("retry", info)

    def first_token(self, ttft: float, request_id: Optional[str]) -> None:
        """A stream's first event arrived."""
        if self.hooks.wants("first_token"):
            from ._hook_events import FirstToken

            self.hooks.emit("first_token", FirstToken(ttft, request_id))

    def stream_end(self, stats: StreamStats) -> None:
        """A stream ended (cleanly or not)."""
        if self.hooks.wants("stream_end"):
            self.hooks.emit("stream_end", stats)

    def usage(self, usage: Any, model: Optional[str], request_id: Optional[str], calls: int = 1) -> None:
        """A call's token usage is known."""
        if self.hooks.wants("usage"):
            from ._hook_events import UsageReport

            self.hooks.emit("usage", UsageReport(usage, model, request_id, calls))
