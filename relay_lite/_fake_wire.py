"""The vocabulary of ``relay_lite.testing.FakeServer``: what a request was, what to reply.

Shared by ``testing`` (the server and ``MockTransport``) and ``_fake_chat`` (the protocol
renderers), so that neither imports the other's module. Import these from
``relay_lite.testing``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

__all__ = ["Body", "Handler", "RecordedRequest", "Reply", "sse_event", "to_bytes"]

Body = Union[bytes, str, dict[str, Any], list[Any], None]


def to_bytes(value: Union[bytes, str]) -> bytes:
    """``value`` as bytes (text as UTF-8)."""
    return value.encode("utf-8") if isinstance(value, str) else value


def sse_event(data: Union[str, dict[str, Any], list[Any]], event: Optional[str] = None) -> bytes:
    """One Server-Sent Event, JSON-encoding ``data`` unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return (head + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n").encode("utf-8")


@dataclass
class Reply:
    """What the server does for one request.

    ``body`` is sent whole (a dict or list as JSON). ``chunks`` (a list, or any iterable: a
    generator makes a body produced as it is sent) are sent one by one with
    chunked transfer encoding, ``chunk_delay`` seconds apart. ``delay`` waits before the
    status line. ``abort`` cuts the connection after the chunks without ending the body;
    ``drop`` closes the connection without answering at all.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = None
    chunks: Optional[Iterable[Union[bytes, str]]] = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    abort: bool = False
    drop: bool = False

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Reply:
        """A JSON reply."""
        return cls(status=status, headers=dict(headers or {}), body=json.dumps(payload).encode())

    @classmethod
    def sse(
        cls,
        events: list[Union[bytes, str]],
        *,
        chunk_delay: float = 0.0,
        abort: bool = False,
        headers: Optional[dict[str, str]] = None,
    ) -> Reply:
        """A ``text/event-stream`` reply, each item sent as its own chunk."""
        all_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        all_headers.update(headers or {})
        return cls(headers=all_headers, chunks=list(events), chunk_delay=chunk_delay, abort=abort)

    @classmethod
    def drip(cls, body: Union[bytes, str], interval: float, status: int = 200) -> Reply:
        """Send ``body`` one byte at a time, ``interval`` seconds apart (a slow server)."""
        data = to_bytes(body)
        return cls(status=status, chunks=[data[i : i + 1] for i in range(len(data))], chunk_delay=interval)


@dataclass
class RecordedRequest:
    """A request the server received, kept in ``FakeServer.requests``."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body)


#: What answers a request when no reply is queued.
Handler = Callable[[RecordedRequest], Reply]
