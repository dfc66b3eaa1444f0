"""Path routes for ``FakeServer``: the APIs a protocol speaks beside chat.

A protocol-speaking fake answers chat by default (``_fake_chat.RENDERERS``). Other
operations of the same provider (embeddings, models, token counting, the Responses API,
batches, files) register a route here: a method, a path pattern and a handler that gets
the queued script item (or ``None``) and the request. The modules that register routes
are imported on the first lookup, so a fake that serves chat only loads none of them.
"""

from __future__ import annotations

import importlib
import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from ._fake_wire import RecordedRequest, Reply

__all__ = ["RouteHandler", "register_route", "find_route", "answering", "answering_script", "ROUTE_MODULES"]

#: (queued item or None, request) -> the reply.
RouteHandler = Callable[[Any, RecordedRequest], Reply]

#: Modules whose import registers their routes (one line each; keep the list sorted).
ROUTE_MODULES: tuple[str, ...] = (
    "relay_lite._fake_batches",
    "relay_lite._fake_bedrock",
    "relay_lite._fake_operations",
    "relay_lite._fake_responses",
)

_ROUTES: dict[str, list[tuple[str, re.Pattern[str], RouteHandler]]] = {}
# The FakeServer/MockTransport answering on this thread (each request has its own thread).
_answering = threading.local()
_loaded = False
_load_lock = threading.Lock()


def register_route(protocol: str, method: str, pattern: str, handler: RouteHandler) -> None:
    """Serve ``method`` requests whose path (query string excluded) fully matches ``pattern``."""
    _ROUTES.setdefault(protocol, []).append((method.upper(), re.compile(pattern), handler))


def _load() -> None:
    global _loaded
    with _load_lock:
        if not _loaded:
            for name in ROUTE_MODULES:
                importlib.import_module(name)
            _loaded = True


def find_route(protocol: str, request: RecordedRequest) -> Optional[RouteHandler]:
    """The handler registered for ``request`` on ``protocol``, or ``None`` (then chat answers)."""
    if not _loaded:
        _load()
    path = request.path.split("?", 1)[0]
    for method, pattern, handler in _ROUTES.get(protocol, ()):
        if method == request.method and pattern.fullmatch(path):
            return handler
    return None


@contextmanager
def answering(script: Any) -> Iterator[None]:
    """Mark ``script`` (a ``FakeServer`` or ``MockTransport``) as answering on this thread."""
    previous = getattr(_answering, "script", None)
    _answering.script = script
    try:
        yield
    finally:
        _answering.script = previous


def answering_script() -> Optional[Any]:
    """The ``FakeServer``/``MockTransport`` answering the request a route handler serves.

    Route modules keep per-server state under it; ``None`` when a handler is called
    directly (a test calling it without a server).
    """
    return getattr(_answering, "script", None)
