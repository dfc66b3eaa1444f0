"""The stream seam's protocols: ``Decoder`` frames bytes into items, ``StreamParser`` turns
items into events (see ``_adapter`` for the rest of the seam).

Apart from ``_adapter`` because building these generic ``Protocol`` classes costs more
than the rest of the adapter module, and only type checkers and stream code need them:
``_adapter`` (and ``relay_lite.protocols``) hand them out on first access.
"""

from __future__ import annotations

from typing import ClassVar, Optional, Protocol, TypeVar

from .._models import ChatResponse, StreamEvent
from .._sse import ServerSentEvent

__all__ = ["ChatDecoder", "ChatStreamParser", "Decoder", "StreamParser"]


# The item a decoder frames (an SSE event, a JSON value), the event a parser makes of it,
# and the partial result a parser holds (a ChatResponse, a run snapshot, a payload).
ItemT = TypeVar("ItemT")
ItemT_contra = TypeVar("ItemT_contra", contravariant=True)
EventT = TypeVar("EventT")
PartialT_co = TypeVar("PartialT_co", covariant=True)


class Decoder(Protocol[ItemT]):
    """Frames a byte stream into items (SSE events, NDJSON values, binary frames)."""

    #: Media types (lower case, no parameters) of a body in this framing.
    MEDIA_TYPES: ClassVar[tuple[str, ...]]

    @property
    def unterminated(self) -> Optional[ItemT]:
        """After ``close()``: an item the stream ended inside (e.g. an SSE event without its
        blank line), for the parser to judge; None when there is none."""
        ...

    @property
    def ended_mid_event(self) -> bool:
        """After ``close()``: whether the stream stopped inside an item."""
        ...

    def feed(self, data: bytes) -> list[ItemT]:
        """Consume a chunk; return the items it completed."""
        ...

    def close(self) -> list[ItemT]:
        """Signal end of stream; return any items still pending."""
        ...

    @classmethod
    def sniff(cls, head: bytes) -> Optional[bool]:
        """Whether a body starting with ``head`` is in this framing (None: undecided)."""
        ...


class StreamParser(Protocol[ItemT_contra, EventT, PartialT_co]):
    """Turns framed stream items into typed events; what ``relay_lite._stream.StreamPump`` drives.

    ``finished`` becomes True at the stream's terminator; ``partial()`` is the result
    accumulated so far, at any moment (what errors carry as ``.partial``). ``feed`` raises
    ``StreamError``/``APIError`` for a bad or error item.
    """

    @property
    def finished(self) -> bool:
        """Whether the terminator has been read."""
        ...

    def feed(self, item: ItemT_contra) -> list[EventT]:
        """Parse one framed item into the events it carries (often one, maybe none)."""
        ...

    def partial(self) -> PartialT_co:
        """The result so far."""
        ...


#: What an adapter's chat stream is made of: SSE events in, neutral events out, the
#: reply accumulated as a ``ChatResponse``.
ChatDecoder = Decoder[ServerSentEvent]
ChatStreamParser = StreamParser[ServerSentEvent, StreamEvent, ChatResponse]
